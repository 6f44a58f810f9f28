package ui

import (
	"hash/fnv"
	"image/color"
	"strings"
	"unicode"
	"unicode/utf8"
)

// groupCode spaces a code for reading aloud and typing: groups of three from
// the right, a lone leading digit joined to the next group ("123 456",
// "1234 567", "12 345 678"). Steam's five characters, and anything that is
// not all digits, stay as they are.
func groupCode(code string) string {
	if len(code) < 6 || strings.IndexFunc(code, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return code
	}
	first := len(code) % 3
	switch first {
	case 0:
		first = 3
	case 1:
		first = 4
	}
	var b strings.Builder
	b.WriteString(code[:first])
	for i := first; i < len(code); i += 3 {
		b.WriteByte(' ')
		b.WriteString(code[i : i+3])
	}
	return b.String()
}

// initials are what an account's avatar shows: the first letters of the
// first two words of the issuer ("Hacker News" → "HN", "GitHub" → "G"), or of
// the account name when there is no issuer.
func initials(issuer, name string) string {
	words := strings.FieldsFunc(issuer, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		words = strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(words) > 1 {
			words = words[:1] // "alice@example.com" is one person, not "AE"
		}
	}
	var out []rune
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		out = append(out, unicode.ToUpper(r))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// avatarPalette are the avatar backgrounds: mid-dark tones that white
// initials read on (contrast at least 4.5:1, checked by a test), distinct
// enough to tell neighbouring accounts apart.
var avatarPalette = []color.NRGBA{
	{0xC6, 0x28, 0x28, 0xff}, // red
	{0xAD, 0x14, 0x57, 0xff}, // pink
	{0x6A, 0x1B, 0x9A, 0xff}, // purple
	{0x45, 0x27, 0xA0, 0xff}, // deep purple
	{0x28, 0x35, 0x93, 0xff}, // indigo
	{0x15, 0x65, 0xC0, 0xff}, // blue
	{0x01, 0x57, 0x9B, 0xff}, // light blue
	{0x00, 0x6A, 0x74, 0xff}, // cyan
	{0x00, 0x69, 0x5C, 0xff}, // teal
	{0x2E, 0x7D, 0x32, 0xff}, // green
	{0x33, 0x69, 0x1E, 0xff}, // light green
	{0xBF, 0x36, 0x0C, 0xff}, // deep orange
	{0x4E, 0x34, 0x2E, 0xff}, // brown
	{0x37, 0x47, 0x4F, 0xff}, // blue grey
}

// avatarColor picks the avatar background from the issuer (or the name when
// there is none), ignoring case and surrounding space, so that an account
// keeps its colour across runs and machines.
func avatarColor(issuer, name string) color.NRGBA {
	key := strings.ToLower(strings.TrimSpace(issuer))
	if key == "" {
		key = strings.ToLower(strings.TrimSpace(name))
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return avatarPalette[h.Sum32()%uint32(len(avatarPalette))]
}
