package ui

import (
	"net/url"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Where Countersign lives, and its licence.
const (
	repoURL = "https://github.com/countersign/countersign"
	licence = "Apache License 2.0"
)

// aboutShortcuts are the keyboard shortcuts About lists: the window's own
// list (Shortcuts), the one the README's table is checked against.
func aboutShortcuts() []struct{ Keys, What string } {
	var out []struct{ Keys, What string }
	for _, sc := range Shortcuts() {
		out = append(out, struct{ Keys, What string }{sc.Keys, sc.What})
	}
	return out
}

// about is the About dialog: the version, the licence, where to read more,
// the data folder, and the keyboard shortcuts it is given.
type about struct {
	dialog dialog.Dialog
	keys   *fyne.Container // two cells a shortcut: its keys, what it does
}

// showAbout opens About over the window, from Settings or the tray.
func (m *Main) showAbout() *about {
	a := newAbout(m, aboutShortcuts())
	m.showDialog(a.dialog)
	a.dialog.Resize(fyne.NewSize(520, min(640, m.win.Canvas().Size().Height-40)))
	return a
}

func (s *settings) showAbout() {
	s.about = s.m.showAbout()
	s.dialog = s.about.dialog
}

func newAbout(m *Main, keys []struct{ Keys, What string }) *about {
	a := &about{}
	version := m.deps.Version
	if version == "" {
		version = "development build"
	}
	dataDir := m.deps.DataDir
	if dataDir == "" {
		dataDir = "not known to this window"
	}
	repo, _ := url.Parse(repoURL)
	readme, _ := url.Parse(repoURL + "#readme")
	info := container.New(layout.NewFormLayout(),
		bold("Version"), &widget.Label{Text: version, Selectable: true},
		bold("Licence"), widget.NewLabel(licence),
		bold("Source"), widget.NewHyperlink(repoURL, repo),
		bold("Help"), widget.NewHyperlink("README: how to use every screen", readme),
		bold("Data folder"), &widget.Label{Text: dataDir, Selectable: true, Wrapping: fyne.TextWrapBreak},
	)
	dataHint := &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
		Text: "Your vault and settings live there; the vault's key is in the system keyring. " +
			"Set COUNTERSIGN_HOME to use another folder."}

	a.keys = container.New(layout.NewFormLayout())
	for _, k := range keys {
		a.keys.Add(bold(k.Keys))
		a.keys.Add(&widget.Label{Text: k.What, Wrapping: fyne.TextWrapWord})
	}
	content := container.NewVScroll(container.NewVBox(info, dataHint, widget.NewSeparator(),
		heading("Keyboard shortcuts"), a.keys))
	a.dialog = dialog.NewCustom("About Countersign", "Close", content, m.win)
	return a
}

func bold(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}}
}
