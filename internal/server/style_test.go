package server

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStyleContrast: every pair of colours the pages' style sheet draws
// text, rings and borders with meets WCAG 2.2 AA, in the light scheme and in
// the dark one: 4.5:1 for text, 3:1 for the focus ring and input borders
// (non-text contrast).
func TestStyleContrast(t *testing.T) {
	css := string(staticFiles["style.css"].body)
	root := vars(t, css[strings.Index(css, ":root {"):])
	dark := vars(t, css[strings.Index(css, "@media (prefers-color-scheme: dark)"):])
	for name, v := range root {
		if _, ok := dark[name]; !ok && name != "radius" {
			dark[name] = v // the dark scheme keeps it
		}
	}
	dark["white"], root["white"] = "#ffffff", "#ffffff"
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"ink", "bg", 4.5}, {"ink", "card", 4.5}, {"muted", "card", 4.5}, {"muted", "bg", 4.5},
		{"accent", "card", 4.5}, {"accent", "bg", 4.5}, {"accent-ink", "accent", 4.5}, {"accent-ink", "primary-hover", 4.5},
		{"danger", "card", 4.5}, {"ok", "card", 4.5}, {"ink", "field", 4.5}, {"ink", "hover", 4.5},
		{"error-ink", "error-bg", 4.5}, {"ink", "flash-bg", 4.5}, {"ink", "note-bg", 4.5}, {"ink", "tag-bg", 4.5},
		{"white", "header", 4.5},
		{"focus", "bg", 3}, {"focus", "card", 3}, {"header-focus", "header", 3}, {"field-line", "card", 3}, {"field-line", "field", 3},
	}
	for scheme, vs := range map[string]map[string]string{"light": root, "dark": dark} {
		for _, p := range pairs {
			fg, bg := vs[p.fg], vs[p.bg]
			if fg == "" || bg == "" {
				t.Errorf("%s: --%s or --%s is not set", scheme, p.fg, p.bg)
				continue
			}
			if c := contrast(t, fg, bg); c < p.min {
				t.Errorf("%s: --%s %s on --%s %s is %.2f:1, want at least %.1f:1", scheme, p.fg, fg, p.bg, bg, c, p.min)
			}
		}
	}
}

var varRe = regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6}|\d+px)`)

// vars reads the custom properties of the first block in css.
func vars(t *testing.T, css string) map[string]string {
	t.Helper()
	block := css[:strings.Index(css, "}")]
	out := map[string]string{}
	for _, m := range varRe.FindAllStringSubmatch(block, -1) {
		out[m[1]] = strings.ToLower(m[2])
	}
	if len(out) < 10 {
		t.Fatalf("found %d colours in the block, want the scheme's", len(out))
	}
	return out
}

// contrast is WCAG's contrast ratio of two #rrggbb colours.
func contrast(t *testing.T, a, b string) float64 {
	l1, l2 := luminance(t, a), luminance(t, b)
	return (math.Max(l1, l2) + 0.05) / (math.Min(l1, l2) + 0.05)
}

func luminance(t *testing.T, hex string) float64 {
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		s := float64(v) / 255
		if s <= 0.04045 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
