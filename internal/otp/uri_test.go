package otp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURI(t *testing.T) {
	hello := []byte("Hello!\xde\xad\xbe\xef") // JBSWY3DPEHPK3PXP
	tests := []struct {
		name string
		uri  string
		want Key
	}{
		{
			"google-example",
			"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Name: "alice@google.com", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"all-parameters",
			"otpauth://totp/ACME%20Co:john.doe@email.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60",
			Key{Type: TOTP, Issuer: "ACME Co", Name: "john.doe@email.com", Secret: hello, Algorithm: SHA256, Digits: 8, Period: 60},
		},
		{
			"encoded-separator-and-space-after-colon",
			"otpauth://totp/ACME%20Co%3A%20%20john.doe@email.com?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "ACME Co", Name: "john.doe@email.com", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"literal-space-after-colon",
			"otpauth://totp/ACME Co: john?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "ACME Co", Name: "john", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"issuer-parameter-wins",
			"otpauth://totp/Other:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"issuer-parameter-only",
			"otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"empty-issuer-parameter-keeps-prefix",
			"otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=",
			Key{Type: TOTP, Issuer: "Example", Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"issuer-without-name",
			"otpauth://totp/?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: TOTP, Issuer: "Example", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"issuer-with-colon",
			"otpauth://totp/Big%3ACorp:alice?secret=JBSWY3DPEHPK3PXP&issuer=Big%3ACorp",
			Key{Type: TOTP, Issuer: "Big:Corp", Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"issuer-with-colon-all-encoded",
			"otpauth://totp/Big%3ACorp%3Aalice?secret=JBSWY3DPEHPK3PXP&issuer=big%3Acorp",
			Key{Type: TOTP, Issuer: "big:corp", Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"literal-colon-beats-encoded",
			"otpauth://totp/a%3Ab:c?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "a:b", Name: "c", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"name-with-colon-no-issuer",
			"otpauth://totp/:a%3Ab?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Name: "a:b", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"unicode-label",
			"otpauth://totp/B%C3%A4ckerei%20%E2%98%95:J%C3%BCrgen?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "Bäckerei ☕", Name: "Jürgen", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"raw-unicode-label",
			"otpauth://totp/Bäckerei:Jürgen?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "Bäckerei", Name: "Jürgen", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"lower-case-secret-with-padding-and-spaces",
			"otpauth://totp/alice?secret=jbsw%20y3dp+ehpk%203pxp%3D%3D%3D%3D",
			Key{Type: TOTP, Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"any-case-names-and-values",
			"OTPAUTH://TOTP/alice?SECRET=JBSWY3DPEHPK3PXP&Algorithm=sha512&Digits=7&PERIOD=15",
			Key{Type: TOTP, Name: "alice", Secret: hello, Algorithm: SHA512, Digits: 7, Period: 15},
		},
		{
			"hotp",
			"otpauth://hotp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example&counter=18446744073709551615&algorithm=SHA512&digits=7",
			Key{Type: HOTP, Issuer: "Example", Name: "alice", Secret: hello, Algorithm: SHA512, Digits: 7, Counter: 18446744073709551615},
		},
		{
			"hotp-ignores-period",
			"otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP&counter=0&period=60",
			Key{Type: HOTP, Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6},
		},
		{
			"totp-ignores-counter",
			"otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&counter=7",
			Key{Type: TOTP, Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
		{
			"steam-by-issuer",
			"otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&digits=5",
			Key{Type: TOTP, Issuer: "Steam", Name: "gaben", Secret: hello, Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam},
		},
		{
			"steam-by-label-prefix",
			"otpauth://totp/steam:gaben?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Issuer: "steam", Name: "gaben", Secret: hello, Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam},
		},
		{
			"steam-by-encoder",
			"otpauth://totp/gaben?secret=JBSWY3DPEHPK3PXP&encoder=Steam&digits=5",
			Key{Type: TOTP, Name: "gaben", Secret: hello, Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam},
		},
		{
			"steam-type-aegis",
			"otpauth://steam/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&algorithm=SHA1&digits=5&period=30",
			Key{Type: TOTP, Issuer: "Steam", Name: "gaben", Secret: hello, Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam},
		},
		{
			"steam-type-any-issuer-any-case",
			"otpauth://STEAM/gaben?secret=JBSWY3DPEHPK3PXP",
			Key{Type: TOTP, Name: "gaben", Secret: hello, Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam},
		},
		{
			"extra-parameters-kept",
			"otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&image=https%3A%2F%2Fexample.com%2Flogo.png&color=red&color=blue",
			Key{Type: TOTP, Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30,
				Extra: map[string][]string{"image": {"https://example.com/logo.png"}, "color": {"red", "blue"}}},
		},
		{
			"surrounding-space-and-fragment",
			"  otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP#ignored \n",
			Key{Type: TOTP, Name: "alice", Secret: hello, Algorithm: SHA1, Digits: 6, Period: 30},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURI(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if !keysEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseURIErrors(t *testing.T) {
	tests := []struct {
		name     string
		uri      string
		wantPart string // "" for ErrNotOTPAuth
		wantErr  error
		wantMsg  string
	}{
		{"not-otpauth", "https://example.com/?secret=JBSWY3DPEHPK3PXP", "", ErrNotOTPAuth, "not an otpauth:// URI"},
		{"migration-uri", "otpauth-migration://offline?data=CgA", "", ErrNotOTPAuth, "not an otpauth:// URI"},
		{"bad-escape", "otpauth://totp/100%?secret=JBSWY3DPEHPK3PXP", "syntax", nil, `invalid otpauth URI: invalid URL escape "%"`},
		{"unknown-type", "otpauth://motp/alice?secret=JBSWY3DPEHPK3PXP", "type", ErrUnknownType, `invalid otpauth URI: type must be totp or hotp, not "motp"`},
		{"no-type", "otpauth:///alice?secret=JBSWY3DPEHPK3PXP", "type", ErrUnknownType, `invalid otpauth URI: type must be totp or hotp, not ""`},
		{"semicolon", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP;x=y", "parameters", nil, "invalid otpauth URI: invalid semicolon separator in query"},
		{"missing-secret", "otpauth://totp/alice?issuer=Example", "secret", ErrMissingSecret, "invalid otpauth URI: missing secret"},
		{"empty-secret", "otpauth://totp/alice?secret=", "secret", ErrMissingSecret, "invalid otpauth URI: missing secret"},
		{"bad-base32", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PX1", "secret", ErrBadSecret, "invalid otpauth URI: secret is not valid base32: unexpected '1' at character 16"},
		{"secret-wrong-length", "otpauth://totp/alice?secret=JBSWY3DPEHPK3P", "secret", ErrBadSecret, "invalid otpauth URI: secret is not valid base32: 14 characters is not a whole number of bytes (a character missing or extra?)"},
		{"algorithm", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm", ErrBadAlgorithm, `invalid otpauth URI: algorithm must be SHA1, SHA256 or SHA512, not "MD5"`},
		{"digits-9", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&digits=9", "digits", ErrBadDigits, `invalid otpauth URI: digits must be 6, 7 or 8, not "9"`},
		{"digits-5", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&digits=5", "digits", ErrBadDigits, `invalid otpauth URI: digits must be 6, 7 or 8, not "5"`},
		{"digits-word", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&digits=six", "digits", ErrBadDigits, `invalid otpauth URI: digits must be 6, 7 or 8, not "six"`},
		{"digits-5-steam-hotp", "otpauth://hotp/Steam:alice?secret=JBSWY3DPEHPK3PXP&digits=5&counter=1", "digits", ErrBadDigits, `invalid otpauth URI: digits must be 6, 7 or 8, not "5"`},
		{"period-0", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&period=0", "period", ErrBadPeriod, `invalid otpauth URI: period must be between 1 and 86400 seconds, not "0"`},
		{"period-float", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&period=30.5", "period", ErrBadPeriod, `invalid otpauth URI: period must be between 1 and 86400 seconds, not "30.5"`},
		{"hotp-without-counter", "otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP", "counter", ErrMissingCounter, "invalid otpauth URI: missing counter (a hotp URI needs one)"},
		{"negative-counter", "otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP&counter=-1", "counter", ErrBadCounter, `invalid otpauth URI: counter must be a non-negative integer, not "-1"`},
		{"counter-overflow", "otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP&counter=18446744073709551616", "counter", ErrBadCounter, `invalid otpauth URI: counter must be a non-negative integer, not "18446744073709551616"`},
		{"unknown-encoder", "otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP&encoder=yandex", "encoder", ErrBadEncoder, `invalid otpauth URI: encoder must be steam or left out, not "yandex"`},
		{"steam-hotp", "otpauth://hotp/alice?secret=JBSWY3DPEHPK3PXP&encoder=steam&counter=1", "parameters", nil, "invalid otpauth URI: steam codes are time-based: type must be totp"},
		{"no-label", "otpauth://totp/?secret=JBSWY3DPEHPK3PXP", "label", ErrMissingName, "invalid otpauth URI: missing account name"},
		{"blank-label", "otpauth://totp/%20:%20?secret=JBSWY3DPEHPK3PXP", "label", ErrMissingName, "invalid otpauth URI: missing account name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseURI(tt.uri)
			if err == nil {
				t.Fatalf("got %+v, want an error", k)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err, tt.wantMsg)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			var uerr *URIError
			switch {
			case tt.wantPart == "" && errors.As(err, &uerr):
				t.Errorf("got a URIError for part %q, want none", uerr.Part)
			case tt.wantPart != "" && !errors.As(err, &uerr):
				t.Errorf("got %T, want a *URIError", err)
			case tt.wantPart != "" && uerr.Part != tt.wantPart:
				t.Errorf("got part %q, want %q", uerr.Part, tt.wantPart)
			}
			if strings.Contains(err.Error(), "JBSWY3DPEHPK3P") {
				t.Errorf("message %q repeats the secret", err)
			}
		})
	}
}

func TestURIRoundTrip(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name string
		key  Key
		want string // the URI, when it is worth pinning down
	}{
		{"plain", Key{Type: TOTP, Issuer: "Example", Name: "alice@example.com", Secret: []byte("Hello!\xde\xad\xbe\xef")},
			"otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example&algorithm=SHA1&digits=6&period=30"},
		{"no-issuer", Key{Type: TOTP, Name: "alice", Secret: secret, Algorithm: SHA256, Digits: 8, Period: 60},
			"otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=8&period=60"},
		{"issuer-only", Key{Type: TOTP, Issuer: "Example", Secret: secret}, ""},
		{"hotp", Key{Type: HOTP, Issuer: "Example", Name: "bob", Secret: secret, Algorithm: SHA512, Digits: 7, Counter: 1<<64 - 1},
			"otpauth://hotp/Example:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&algorithm=SHA512&digits=7&counter=18446744073709551615"},
		{"hotp-counter-0", Key{Type: HOTP, Name: "bob", Secret: secret}, ""},
		{"steam", Key{Type: TOTP, Issuer: "Steam", Name: "gaben", Secret: secret},
			"otpauth://totp/Steam:gaben?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Steam&algorithm=SHA1&digits=5&period=30&encoder=steam"},
		{"steam-encoder", Key{Type: TOTP, Issuer: "Valve", Name: "gaben", Secret: secret, Encoder: EncoderSteam}, ""},
		{"unicode-issuer", Key{Type: TOTP, Issuer: "Bäckerei ☕ 東京", Name: "Jürgen", Secret: secret}, ""},
		{"reserved-characters", Key{Type: TOTP, Issuer: "A&B?C#D%E/F", Name: "x:y/z?w#v&u=t%s+r", Secret: secret},
			"otpauth://totp/A&B%3FC%23D%25E%2FF:x%3Ay%2Fz%3Fw%23v&u=t%25s+r?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=A%26B%3FC%23D%25E%2FF&algorithm=SHA1&digits=6&period=30"},
		{"issuer-with-colon", Key{Type: TOTP, Issuer: "Big:Corp", Name: "al:ice", Secret: secret}, ""},
		{"name-with-colon-no-issuer", Key{Type: TOTP, Name: "a:b", Secret: secret},
			"otpauth://totp/:a%3Ab?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"},
		{"spaces", Key{Type: TOTP, Issuer: "ACME Co", Name: "john doe", Secret: secret},
			"otpauth://totp/ACME%20Co:john%20doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"},
		{"odd-secret-length", Key{Type: TOTP, Name: "a", Secret: []byte{0xff}}, ""},
		{"extra", Key{Type: TOTP, Name: "a", Secret: secret, Extra: map[string][]string{
			"image": {"https://example.com/a b.png?x=1&y=2"}, "color": {"red", "blue"}, "a b": {"+"}, "": {"empty name"}}},
			"otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30&=empty%20name&a%20b=%2B&color=red&color=blue&image=https%3A%2F%2Fexample.com%2Fa%20b.png%3Fx%3D1%26y%3D2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := tt.key.URI()
			if tt.want != "" && uri != tt.want {
				t.Errorf("URI:\ngot  %s\nwant %s", uri, tt.want)
			}
			got, err := ParseURI(uri)
			if err != nil {
				t.Fatalf("ParseURI(%s): %v", uri, err)
			}
			if want := tt.key.Normalize(); !keysEqual(got, want) {
				t.Errorf("ParseURI(%s):\ngot  %+v\nwant %+v", uri, got, want)
			}
		})
	}
}

func TestURIShadowingExtra(t *testing.T) {
	k := Key{Type: TOTP, Name: "a", Secret: []byte("12345678901234567890"),
		Extra: map[string][]string{"Secret": {"AAAAAAAA"}, "issuer": {"Evil"}, "DIGITS": {"8"}}}
	got, err := ParseURI(k.URI())
	if err != nil {
		t.Fatal(err)
	}
	want := k
	want.Extra = nil
	if want := want.Normalize(); !keysEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseURICodes(t *testing.T) {
	// The RFC 6238 SHA256 vector, reached through a URI.
	k, err := ParseURI("otpauth://totp/rfc6238?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&algorithm=SHA256&digits=8")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Code(k, time.Unix(1111111109, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := "68084774"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}

	// ValvePython/steam's vector (secret "superdupersecret", T = 3000030 s),
	// reached through an otpauth://steam/ URI as Aegis and Ente Auth write it.
	k, err = ParseURI("otpauth://steam/Steam:gaben?secret=ON2XAZLSMR2XAZLSONSWG4TFOQ&issuer=Steam")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = Code(k, time.Unix(3000030, 0)); err != nil {
		t.Fatal(err)
	}
	if want := "YRGQJ"; got != want {
		t.Errorf("steam: got %s, want %s", got, want)
	}
}

func FuzzParseURI(f *testing.F) {
	for _, line := range readLines(f, "uris.txt") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseURI(s)
		if err != nil {
			return
		}
		checkParsedKey(t, k)
	})
}

// checkParsedKey checks what must hold for any key a parser returns: it is
// normalized and valid, it has a code, and its URI reads back to it.
func checkParsedKey(t *testing.T, k Key) {
	t.Helper()
	if err := k.Validate(); err != nil {
		t.Fatalf("parsed key %+v does not validate: %v", k, err)
	}
	if n := k.Normalize(); !keysEqual(n, k) {
		t.Fatalf("parsed key is not normalized:\ngot  %+v\nwant %+v", k, n)
	}
	if _, err := Code(k, time.Unix(1700000000, 0)); err != nil {
		t.Fatalf("parsed key %+v has no code: %v", k, err)
	}
	uri := k.URI()
	back, err := ParseURI(uri)
	if err != nil {
		t.Fatalf("ParseURI(URI()) of %+v: %v\nURI: %s", k, err, uri)
	}
	if !keysEqual(back, k) {
		t.Fatalf("ParseURI(URI()) differs:\ngot  %+v\nwant %+v\nURI: %s", back, k, uri)
	}
}
