// Package names is the one rule for the names people give things — trusted
// devices, paired desktops, household members, apps, API tokens, security
// keys, the account's own name — and the one way to show a name that came
// from somewhere else.
//
// A name is refused, and shown without, the characters that make text say
// something other than what it looks like: controls (a newline turns one
// line of a prompt into two), bidirectional controls (U+202E RIGHT-TO-LEFT
// OVERRIDE shows "moc.elgoog" for "google.com" typed backwards) and
// invisible ones (U+200B ZERO WIDTH SPACE, U+FEFF). Joiners (U+200C, U+200D)
// stay: scripts and emoji need them.
//
// It is not for logins, email addresses or passwords, which have rules of
// their own.
package names

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule is the rule in words, for messages: "a name must be 1 to 64
// characters, " + Rule.
const Rule = "without control characters, text-direction marks or invisible characters"

// Why Check refused a name; the error it returns wraps one of these.
var (
	ErrEmpty   = errors.New("the name is empty")
	ErrTooLong = errors.New("the name is too long")
	ErrHidden  = errors.New("the name holds a control, text-direction or invisible character")
)

// Check trims name and checks it: valid UTF-8, 1 to max characters, none
// of them hidden (see the package comment). The error says which rule
// failed, in words that can follow "the app's" or stand alone.
func Check(name string, max int) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", ErrEmpty
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: it is not valid UTF-8", ErrHidden)
	case utf8.RuneCountInString(name) > max:
		return "", fmt.Errorf("%w: at most %d characters", ErrTooLong, max)
	}
	if i := strings.IndexFunc(name, hidden); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return "", fmt.Errorf("%w (U+%04X)", ErrHidden, r)
	}
	return name, nil
}

// Show is s as it can be shown safely: controls and line breaks become
// spaces, direction and invisible characters are dropped, invalid UTF-8
// becomes U+FFFD. Names the server refused can still come from an older
// server or another one, so every window and prompt shows names through it.
func Show(s string) string {
	if !strings.ContainsFunc(s, hidden) && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			return ' '
		case hidden(r):
			return -1
		}
		return r // utf8.RuneError for invalid bytes: shown as �
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// hidden reports a character no name may hold.
func hidden(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
		return true // C0, DEL, C1; U+2028, U+2029
	case r == '\u061C', r == '\u200E', r == '\u200F', // ARABIC LETTER MARK, LRM, RLM
		r >= '\u202A' && r <= '\u202E', // LRE, RLE, PDF, LRO, RLO
		r >= '\u2066' && r <= '\u2069': // LRI, RLI, FSI, PDI
		return true
	case r == '\u200B', r >= '\u2060' && r <= '\u2064', r == '\uFEFF', // zero-width space, word joiner, invisible operators, BOM
		r >= '\uFFF9' && r <= '\uFFFB': // interlinear annotation
		return true
	}
	return false
}
