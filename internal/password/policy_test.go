package password

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		name     string
		password string
		related  []string
		want     error
	}{
		{"empty", "", nil, ErrTooShort},
		{"seven", "Xk9#mQ2", nil, ErrTooShort},
		{"seven runes in more bytes", "ünïcödé", nil, ErrTooShort},
		{"eight runes", "ünïcödéx", nil, nil},
		{"max length", strings.Repeat("ab1", MaxLength/3) + "z", nil, nil},
		{"too long", strings.Repeat("x", MaxLength+1), nil, ErrTooLong},
		{"common", "password", nil, ErrCommon},
		{"common password1", "password1", nil, ErrCommon},
		{"common iloveyou", "iloveyou", nil, ErrCommon},
		{"common any case", "ILoveYou", nil, ErrCommon},
		{"common with digits added", "Dragon2024", nil, ErrCommon},
		{"common with symbols added", "sunshine!!", nil, ErrCommon},
		{"digits only, not listed", "73916482", nil, nil},
		{"like name", "lovelace1815", []string{"ada@example.com", "Ada Lovelace"}, ErrLikeAccount},
		{"like email local part", "xX-ada.l-Xx", []string{"ada.l@example.com"}, ErrLikeAccount},
		{"like email word", "countess-augusta", []string{"augusta.king@example.com"}, ErrLikeAccount},
		{"equal to name", "Ada Lovelace", []string{"Ada Lovelace"}, ErrLikeAccount},
		{"equal to the email", "pat@example.com", []string{"pat@example.com", "Pat"}, ErrLikeAccount},
		{"the email in any case", "PAT@Example.com!", []string{"pat@example.com"}, ErrLikeAccount},
		{"short local part padded", "pat12345", []string{"pat@example.com"}, ErrLikeAccount},
		{"short local part padded with symbols", "!!pat-2024!!", []string{"pat@example.com"}, ErrLikeAccount},
		{"short local part inside words", "pat-rides-a-horse", []string{"pat@example.com"}, nil},
		{"short related ignored", "ada-rides-at-dawn", []string{"ada@example.com", "Ada"}, nil},
		{"email domain ignored", "example-horse-battery", []string{"ada@example.com"}, nil},
		{"empty related ignored", "correct horse battery staple", []string{"", "  "}, nil},
		{"good", "correct horse battery staple", []string{"ada@example.com", "Ada Lovelace"}, nil},
		{"good short", "k7$Vq!e2Lp", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.password, tt.related...); !errors.Is(got, tt.want) {
				t.Errorf("Check(%q, %q) = %v, want %v", tt.password, tt.related, got, tt.want)
			}
		})
	}
}

func TestCommonListLoaded(t *testing.T) {
	m := common()
	if len(m) != 10000 {
		t.Errorf("common list has %d entries, want 10000", len(m))
	}
	for w := range m {
		if w != strings.ToLower(w) || strings.HasPrefix(w, "#") || strings.TrimSpace(w) != w {
			t.Errorf("common list entry %q is not a clean lower-case word", w)
		}
	}
}

func TestMessagesForPeople(t *testing.T) {
	for _, err := range []error{ErrTooShort, ErrTooLong, ErrCommon, ErrLikeAccount} {
		msg := err.Error()
		if !strings.HasPrefix(msg, "password ") || !strings.Contains(msg, ";") {
			t.Errorf("message %q should say what is wrong and what to do", msg)
		}
	}
	if !strings.Contains(ErrTooShort.Error(), "8") || !strings.Contains(ErrTooLong.Error(), "256") {
		t.Errorf("length messages should name the limits: %q, %q", ErrTooShort, ErrTooLong)
	}
}
