package ui

import (
	"image/color"
	"math"
	"testing"
)

func TestGroupCode(t *testing.T) {
	for _, tc := range []struct{ code, want string }{
		{"123456", "123 456"},
		{"1234567", "1234 567"},
		{"12345678", "12 345 678"},
		{"H8HRH", "H8HRH"},   // Steam: five characters, never split
		{"12345", "12345"},   // too short to group
		{"12A456", "12A456"}, // not all digits
		{"", ""},
	} {
		if got := groupCode(tc.code); got != tc.want {
			t.Errorf("groupCode(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

func TestInitials(t *testing.T) {
	for _, tc := range []struct{ issuer, name, want string }{
		{"GitHub", "alice", "G"},
		{"Hacker News", "alice", "HN"},
		{"Corp VPN gateway", "bob", "CV"},
		{"example.com", "x", "EC"},
		{"  ", "alice@example.com", "A"},
		{"", "@erin@social.example", "E"},
		{"Ünïcode", "", "Ü"},
		{"", "", "?"},
		{"ácme", "", "Á"},
	} {
		if got := initials(tc.issuer, tc.name); got != tc.want {
			t.Errorf("initials(%q, %q) = %q, want %q", tc.issuer, tc.name, got, tc.want)
		}
	}
}

func TestAvatarColorIsDeterministic(t *testing.T) {
	// The colour must not change between runs or releases: people learn it.
	// FNV-1a of "github" picks palette entry 0; of "example bank", entry 11.
	if got, want := avatarColor("GitHub", "alice"), avatarPalette[0]; got != want {
		t.Errorf("avatarColor(GitHub) = %v, want %v", got, want)
	}
	if got, want := avatarColor("Example Bank", "alice"), avatarPalette[11]; got != want {
		t.Errorf("avatarColor(Example Bank) = %v, want %v", got, want)
	}
	for _, same := range [][2]string{{"GitHub", " github "}, {"GITHUB", "GitHub"}} {
		if a, b := avatarColor(same[0], "x"), avatarColor(same[1], "y"); a != b {
			t.Errorf("avatarColor(%q) = %v but avatarColor(%q) = %v", same[0], a, same[1], b)
		}
	}
	if a, b := avatarColor("", "alice"), avatarColor("", "Alice"); a != b {
		t.Errorf("issuer-less accounts: %v and %v for the same name", a, b)
	}
	seen := map[color.NRGBA]bool{}
	for _, issuer := range []string{"GitHub", "GitLab", "Google", "Microsoft", "Amazon", "Dropbox", "Steam", "Example Bank"} {
		seen[avatarColor(issuer, "")] = true
	}
	if len(seen) < 5 {
		t.Errorf("8 common issuers share %d colours", len(seen))
	}
}

func TestAvatarPaletteContrast(t *testing.T) {
	white := relativeLuminance(color.NRGBA{0xff, 0xff, 0xff, 0xff})
	for _, c := range avatarPalette {
		if ratio := (white + 0.05) / (relativeLuminance(c) + 0.05); ratio < 4.5 {
			t.Errorf("white on %v: contrast %.2f, want at least 4.5", c, ratio)
		}
	}
}

// relativeLuminance is WCAG 2's relative luminance of an sRGB colour.
func relativeLuminance(c color.NRGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}
