package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Length limits, counted in characters (runes). MaxLength keeps a request
// from making the server hash megabytes; it is well above what any passphrase
// or password manager produces.
const (
	MinLength = 8
	MaxLength = 256
)

// Reasons Check refuses a password; the messages are meant to be shown to
// the person choosing it.
var (
	ErrTooShort    = fmt.Errorf("password is too short; use at least %d characters", MinLength)
	ErrTooLong     = fmt.Errorf("password is too long; use at most %d characters", MaxLength)
	ErrCommon      = errors.New("password is one of the most common passwords; choose another")
	ErrLikeAccount = errors.New("password is too like your name or email address; choose another")
)

// minRelated is the shortest part of a name or email address that a password
// may not contain.
const minRelated = 4

// Check applies the password policy to a new password:
//
//   - it has MinLength to MaxLength characters;
//   - it is not on the list of the 10,000 most common passwords, ignoring
//     case, and neither is what remains after trailing digits, spaces and
//     punctuation are removed ("Dragon2024!" is refused because "dragon" is
//     common);
//   - it does not contain any of related — typically the account's email
//     address and name — ignoring case. For an email address only the part
//     before the @ counts. Each related string is also split into words at
//     spaces, dots, dashes, underscores and plus signs, and a password
//     containing any word of at least 4 characters is refused ("Ada Lovelace"
//     rules out "lovelace99"). Whatever its length, the whole of a related
//     string — the email address itself, or its part before the @ — is
//     refused as the password or inside it ("pat@example.com" is not Pat's
//     password, nor is "pat" padded to length with digits).
//
// It returns ErrTooShort, ErrTooLong, ErrCommon or ErrLikeAccount, or nil.
func Check(password string, related ...string) error {
	n := utf8.RuneCountInString(password)
	if n < MinLength {
		return ErrTooShort
	}
	if n > MaxLength {
		return ErrTooLong
	}
	lower := strings.ToLower(password)
	if isCommon(lower) {
		return ErrCommon
	}
	if base := strings.TrimRightFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	}); utf8.RuneCountInString(base) >= minRelated && isCommon(base) {
		return ErrCommon
	}
	for _, r := range related {
		if likeWhole(lower, r) {
			return ErrLikeAccount
		}
		for _, w := range relatedWords(r) {
			if strings.Contains(lower, w) {
				return ErrLikeAccount
			}
		}
	}
	return nil
}

// likeWhole says whether the lower-cased password is the related string
// itself (an email address, or its local part) or contains the email
// address, or is its local part with only digits and punctuation added.
func likeWhole(lower, related string) bool {
	r := strings.ToLower(strings.TrimSpace(related))
	if r == "" {
		return false
	}
	if lower == r || strings.Contains(lower, r) && strings.Contains(r, "@") {
		return true
	}
	local, _, isEmail := strings.Cut(r, "@")
	if !isEmail || local == "" {
		return false
	}
	rest := strings.Replace(lower, local, "", 1)
	return len(rest) < len(lower) && strings.TrimFunc(rest, func(c rune) bool {
		return unicode.IsDigit(c) || unicode.IsPunct(c) || unicode.IsSymbol(c) || unicode.IsSpace(c)
	}) == ""
}

// relatedWords returns the lower-cased strings a password may not contain:
// the whole of s (its local part for an email address) and its words, each
// when at least minRelated characters long.
func relatedWords(s string) []string {
	s = strings.ToLower(strings.TrimSpace(s))
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[:at]
	}
	var words []string
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minRelated {
			words = append(words, w)
		}
	}
	add(s)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(".-_+", r)
	}) {
		add(w)
	}
	return words
}

//go:embed common-passwords.txt
var commonList string

var common = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	for line := range strings.Lines(commonList) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[line] = struct{}{}
	}
	return m
})

func isCommon(lower string) bool {
	_, ok := common()[lower]
	return ok
}
