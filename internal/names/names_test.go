package names

import (
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"plain", "Ada's laptop", "Ada's laptop", nil},
		{"trimmed", "  Sam  ", "Sam", nil},
		{"accents and scripts", "Zoë · 山田 · محمد", "Zoë · 山田 · محمد", nil},
		{"emoji with joiners", "Family 👨\u200d👩\u200d👧", "Family 👨\u200d👩\u200d👧", nil},
		{"Persian with ZWNJ", "می\u200cخواهم", "می\u200cخواهم", nil},
		{"exactly max", "abcdefghijklmnop", "abcdefghijklmnop", nil},
		{"empty", "   ", "", ErrEmpty},
		{"too long", "abcdefghijklmnopq", "", ErrTooLong},
		{"newline", "Ada\nApproved", "", ErrHidden},
		{"tab", "Ada\tx", "", ErrHidden},
		{"NUL", "Ada\x00", "", ErrHidden},
		{"DEL", "Ada\x7f", "", ErrHidden},
		{"C1 (NEL)", "Ada\u0085x", "", ErrHidden},
		{"right-to-left override", "Ada\u202Egnp.exe", "", ErrHidden},
		{"left-to-right embedding", "\u202AAda", "", ErrHidden},
		{"pop directional formatting", "Ada\u202C", "", ErrHidden},
		{"right-to-left isolate", "Ada\u2067x", "", ErrHidden},
		{"pop directional isolate", "Ada\u2069", "", ErrHidden},
		{"right-to-left mark", "Ada\u200F", "", ErrHidden},
		{"left-to-right mark", "Ada\u200E", "", ErrHidden},
		{"arabic letter mark", "Ada\u061C", "", ErrHidden},
		{"zero-width space", "A\u200Bda", "", ErrHidden},
		{"byte order mark", "\uFEFFAda", "", ErrHidden},
		{"line separator", "Ada\u2028Sam", "", ErrHidden},
		{"invalid UTF-8", "Ada\xff", "", ErrHidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.in, 16)
			if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
				t.Errorf("Check(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestShow(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ada's laptop", "Ada's laptop"},
		{"Family 👨\u200d👩\u200d👧", "Family 👨\u200d👩\u200d👧"},
		{"Ada\nApproved", "Ada Approved"},
		{"Ada\r\n\tx", "Ada   x"},
		{"Ada\u2028Sam", "Ada Sam"},
		{"Photo \u202Egnp.exe", "Photo gnp.exe"},
		{"\u2067evil\u2069 \u200Fok\u200E", "evil ok"},
		{"A\u200Bd\uFEFFa", "Ada"},
		{"Ada\xff", "Ada\uFFFD"},
	} {
		if got := Show(tc.in); got != tc.want {
			t.Errorf("Show(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got, err := Check(Show(tc.in), 64); err != nil && !errors.Is(err, ErrEmpty) {
			t.Errorf("Check(Show(%q)) = %q, %v: what Show gives should pass Check", tc.in, got, err)
		}
	}
}
