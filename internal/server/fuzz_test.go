package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeLogin: whatever people type in the login field, the result is
// either refused or a lower-case email / an E.164 number, and normalizing
// the result again gives the same.
func FuzzNormalizeLogin(f *testing.F) {
	for _, s := range []string{"ada@example.com", " Ada@Example.COM ", "+44 20 7946 0958", "+1 (555) 555-0123",
		"00447946", "a@b", "\"a b\"@example.com", "+0123456789", "ada@exa mple.com", "+१२३४५६७८९"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		email, phone, ok := normalizeLogin(in)
		if !ok {
			if email != "" || phone != "" {
				t.Fatalf("refused %q but returned %q, %q", in, email, phone)
			}
			return
		}
		if (email == "") == (phone == "") {
			t.Fatalf("%q: want exactly one of email %q and phone %q", in, email, phone)
		}
		if email != "" && (email != strings.ToLower(email) || !utf8.ValidString(email) || len(email) > 254) {
			t.Fatalf("%q: email %q is not a lower-case address", in, email)
		}
		if phone != "" {
			if phone[0] != '+' || len(phone) < 9 || len(phone) > 16 || strings.Trim(phone[1:], "0123456789") != "" {
				t.Fatalf("%q: phone %q is not E.164", in, phone)
			}
		}
		e2, p2, ok2 := normalizeLogin(email + phone)
		if !ok2 || e2 != email || p2 != phone {
			t.Fatalf("%q: normalizing %q again gave %q, %q, %v", in, email+phone, e2, p2, ok2)
		}
	})
}
