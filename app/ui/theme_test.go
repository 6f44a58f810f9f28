package ui

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
)

// contrast is the WCAG 2 contrast ratio of two opaque colours, 1 to 21.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is the WCAG 2 relative luminance of c.
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// over is c drawn over the opaque bg.
func over(c, bg color.Color) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	b := color.NRGBAModel.Convert(bg).(color.NRGBA)
	mix := func(x, y uint8) uint8 { return uint8((int(x)*int(n.A) + int(y)*(255-int(n.A)) + 127) / 255) }
	return color.NRGBA{R: mix(n.R, b.R), G: mix(n.G, b.G), B: mix(n.B, b.B), A: 0xff}
}

// surface is a background text is drawn on: a theme colour, or one laid
// over another (hover, selection).
type surface struct{ name, under fyne.ThemeColorName }

func (s surface) String() string {
	if s.under == "" {
		return string(s.name)
	}
	return string(s.name) + " over " + string(s.under)
}

func (s surface) color(th fyne.Theme, v fyne.ThemeVariant) color.Color {
	if s.under == "" {
		return th.Color(s.name, v)
	}
	return over(th.Color(s.name, v), th.Color(s.under, v))
}

// The surfaces of the screens: the window, dialogs and menus, fields,
// buttons, list headers, and a list row hovered or selected.
var (
	onWindow   = surface{name: theme.ColorNameBackground}
	onDialog   = surface{name: theme.ColorNameOverlayBackground}
	onMenu     = surface{name: theme.ColorNameMenuBackground}
	onField    = surface{name: theme.ColorNameInputBackground}
	onButton   = surface{name: theme.ColorNameButton}
	onHeader   = surface{name: theme.ColorNameHeaderBackground}
	onHover    = surface{name: theme.ColorNameHover, under: theme.ColorNameBackground}
	onSelected = surface{name: theme.ColorNameSelection, under: theme.ColorNameBackground}
	everywhere = []surface{onWindow, onDialog, onMenu, onField, onButton, onHeader, onHover, onSelected}
)

// textColors are the theme colours the screens draw text in (a label's
// importance picks one: low is Disabled, high Primary, danger Error …),
// each with the surfaces it is drawn on and the contrast it needs.
var textColors = []struct {
	name     fyne.ThemeColorName
	on       []surface
	minRatio float64
}{
	{theme.ColorNameForeground, everywhere, 4.5},
	{theme.ColorNamePrimary, everywhere, 4.5},
	{theme.ColorNameHyperlink, everywhere, 4.5},
	{theme.ColorNameSuccess, everywhere, 4.5},
	{theme.ColorNameWarning, everywhere, 4.5},
	{theme.ColorNameError, everywhere, 4.5},
	{theme.ColorNamePlaceHolder, []surface{onField, onWindow, onDialog}, 4.5},
	// Disabled controls: WCAG asks nothing of them; 3:1 keeps them legible.
	{theme.ColorNameDisabled, []surface{onWindow, onDialog, onField, {name: theme.ColorNameDisabledButton}}, 3},
	// Buttons of high, success, warning and danger importance.
	{theme.ColorNameForegroundOnPrimary, []surface{{name: theme.ColorNamePrimary}}, 4.5},
	{theme.ColorNameForegroundOnSuccess, []surface{{name: theme.ColorNameSuccess}}, 4.5},
	{theme.ColorNameForegroundOnWarning, []surface{{name: theme.ColorNameWarning}}, 4.5},
	{theme.ColorNameForegroundOnError, []surface{{name: theme.ColorNameError}}, 4.5},
	// The toast: the theme's colours inverted.
	{theme.ColorNameBackground, []surface{{name: theme.ColorNameForeground}}, 4.5},
}

var variants = []struct {
	name string
	v    fyne.ThemeVariant
}{{"light", theme.VariantLight}, {"dark", theme.VariantDark}}

// TestThemeContrast holds every text colour of the theme to WCAG AA
// against every surface it is drawn on, in the light and the dark variant.
func TestThemeContrast(t *testing.T) {
	newTestApp(t)
	th := Theme()
	for _, variant := range variants {
		for _, tc := range textColors {
			for _, s := range tc.on {
				fg, bg := th.Color(tc.name, variant.v), s.color(th, variant.v)
				if r := contrast(fg, bg); r < tc.minRatio {
					t.Errorf("%s: %s text %v on %s %v has a contrast of %.2f:1, want at least %.1f:1",
						variant.name, tc.name, fg, s, bg, r, tc.minRatio)
				}
			}
		}
	}
	// The avatars' initials, white on each colour of the palette.
	for _, c := range avatarPalette {
		if r := contrast(color.White, c); r < 4.5 {
			t.Errorf("white initials on the avatar colour %v have a contrast of %.2f:1, want at least 4.5:1", c, r)
		}
	}
}

// variantTheme is a theme that always answers in one variant, so that the
// screens can be drawn light and dark under the test driver.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// allowedTextColors are the colours of textColors in th and variant v,
// and white (the avatars' initials, checked against their palette).
func allowedTextColors(th fyne.Theme, v fyne.ThemeVariant) []color.NRGBA {
	allowed := []color.NRGBA{{0xff, 0xff, 0xff, 0xff}}
	for _, tc := range textColors {
		allowed = append(allowed, color.NRGBAModel.Convert(th.Color(tc.name, v)).(color.NRGBA))
	}
	return allowed
}

// checkTextColors fails t for every text on c (and its overlays) drawn in
// a colour that textColors does not hold to a contrast: a colour made up in
// the code, or a theme colour never checked.
func checkTextColors(t *testing.T, where string, c fyne.Canvas, allowed []color.NRGBA) {
	t.Helper()
	seen := map[string]bool{}
	roots := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	for _, root := range roots {
		for _, o := range laidOut(root) {
			text, ok := o.(*canvas.Text)
			if !ok || text.Text == "" || !text.Visible() {
				continue
			}
			col := color.NRGBAModel.Convert(text.Color).(color.NRGBA)
			if slices.Contains(allowed, col) {
				continue
			}
			key := fmt.Sprint(col)
			if !seen[key] {
				seen[key] = true
				t.Errorf("%s: %q is drawn in %v, a colour whose contrast no test checks: "+
					"use a colour of textColors, or add it there with the surfaces it is drawn on",
					where, text.Text, col)
			}
		}
	}
}

// TestScreensDrawTextInCheckedColours draws the screens in the light and
// the dark variant of Theme and finds every text on them in a colour that
// TestThemeContrast checks.
func TestScreensDrawTextInCheckedColours(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant.name, func(t *testing.T) {
			th := variantTheme{Theme(), variant.v}
			a := newTestApp(t)
			old := a.Settings().Theme()
			a.Settings().SetTheme(th)
			t.Cleanup(func() { a.Settings().SetTheme(old) })
			allowed := allowedTextColors(th, variant.v)

			h := newHarness(t, fixture())
			h.win.Resize(defaultWindowSize)
			checkTextColors(t, "Authenticator", h.win.Canvas(), allowed)
			h.menuAction(t, "gh0000000001", "Delete…")
			checkTextColors(t, "a confirmation", h.win.Canvas(), allowed)
			h.auth.dialog.Hide()
			h.main.toast.showUndo("Renamed to Laptop", func() {})
			checkTextColors(t, "a toast", h.win.Canvas(), allowed)
			card := h.main.toast.card
			for _, text := range []*canvas.Text{card.text, card.undo.text} {
				if r := contrast(text.Color, card.bg.FillColor); r < 4.5 {
					t.Errorf("the toast's %q has a contrast of %.2f:1 with the toast, want at least 4.5:1", text.Text, r)
				}
			}
			h.main.show(h.main.settings)
			checkTextColors(t, "Settings", h.win.Canvas(), allowed)

			dash := newDashHarness(t, household())
			for _, tab := range []string{"Overview", "Devices", "Apps", "Sessions", "Activity", "Household"} {
				dash.tab(t, tab)
				checkTextColors(t, "Account, "+tab, dash.win.Canvas(), allowed)
			}
			dash.main.nav.SelectIndex(slices.Index(dash.main.screens, screen(dash.main.approvals)))
			dash.settle(t)
			checkTextColors(t, "Approvals", dash.win.Canvas(), allowed)

			locked, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
			locked.unlockWith("wrong")
			checkTextColors(t, "the lock", locked.win.Canvas(), allowed)
		})
	}
}
