package qr

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		text string
		want Kind
	}{
		{"otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example", KindOTPAuth},
		{"OTPAUTH://TOTP/x?secret=JBSWY3DPEHPK3PXP", KindOTPAuth},
		{"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", KindOTPAuth},
		{"otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGFRlc3QgYWNjb3VudA", KindMigration},
		{"OtpAuth-Migration://offline?data=x", KindMigration},
		{"https://example.com/otpauth://totp", KindOther},
		{" otpauth://totp/x", KindOther},
		{"otpauth:totp/x", KindOther},
		{"otpauthx://totp/x", KindOther},
		{"", KindOther},
		{"hello", KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := Classify(tt.text); got != tt.want {
				t.Errorf("Classify(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
