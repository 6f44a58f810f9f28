package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme is Countersign's theme: Fyne's default, light or dark as the system
// is, with the colours text is drawn in chosen so that all text meets WCAG
// AA (a contrast of at least 4.5:1 with what it is drawn on) in both
// variants. Fyne's own success, warning and error colours are bright
// enough for icons but not for words on white (its green is 1.5:1).
// Disabled controls, which WCAG exempts, still keep 3:1. TestThemeContrast
// holds every text colour to that against the backgrounds it is drawn on.
//
// app/countersign sets it on the app; the tests of this package run in
// Fyne's test theme, except those of the contrast.
func Theme() fyne.Theme { return readableTheme{base: theme.DefaultTheme()} }

type readableTheme struct{ base fyne.Theme }

// readableColors are the colours the theme changes, per variant.
var readableColors = map[fyne.ThemeVariant]map[fyne.ThemeColorName]color.NRGBA{
	theme.VariantLight: {
		theme.ColorNamePrimary:             {0x1A, 0x56, 0xC0, 0xff},
		theme.ColorNameHyperlink:           {0x1A, 0x56, 0xC0, 0xff},
		theme.ColorNameSelection:           {0x1A, 0x56, 0xC0, 0x26},
		theme.ColorNameForegroundOnPrimary: {0xff, 0xff, 0xff, 0xff},
		theme.ColorNameSuccess:             {0x1B, 0x65, 0x20, 0xff},
		theme.ColorNameWarning:             {0x8F, 0x45, 0x00, 0xff},
		theme.ColorNameError:               {0xB7, 0x1C, 0x1C, 0xff},
		theme.ColorNamePlaceHolder:         {0x6B, 0x6B, 0x6B, 0xff},
		theme.ColorNameDisabled:            {0x85, 0x85, 0x85, 0xff},
	},
	theme.VariantDark: {
		theme.ColorNamePrimary:             {0x6E, 0xA4, 0xFF, 0xff},
		theme.ColorNameHyperlink:           {0x6E, 0xA4, 0xFF, 0xff},
		theme.ColorNameForegroundOnPrimary: {0x17, 0x17, 0x18, 0xff},
		theme.ColorNameSuccess:             {0x5C, 0xD6, 0x5C, 0xff},
		theme.ColorNameWarning:             {0xFF, 0xA7, 0x26, 0xff},
		theme.ColorNameError:               {0xFF, 0x7A, 0x6E, 0xff},
		theme.ColorNameDisabled:            {0x80, 0x80, 0x84, 0xff},
	},
}

func (t readableTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if c, ok := readableColors[v][n]; ok {
		return c
	}
	return t.base.Color(n, v)
}

func (t readableTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.base.Font(s) }
func (t readableTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }
func (t readableTheme) Size(n fyne.ThemeSizeName) float32       { return t.base.Size(n) }
