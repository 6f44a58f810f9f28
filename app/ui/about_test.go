package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

func TestAboutFromTheTrayAndSettings(t *testing.T) {
	tray := &fakeTray{}
	h, _ := newSessionHarness(t, fixture(), Session{Tray: tray}, "")
	h.main.deps.Version, h.main.deps.DataDir = "1.4.2", "/home/alice/.local/share/countersign"
	tray.click(t, "About Countersign")
	shown := shownText(h.win.Canvas())
	for _, want := range []string{"About Countersign", "1.4.2", "Apache License 2.0", repoURL,
		"/home/alice/.local/share/countersign", "COUNTERSIGN_HOME", "Keyboard shortcuts", "Ctrl+L", "Locks the window when an app passphrase is set."} {
		if !strings.Contains(shown, want) {
			t.Errorf("About lacks %q; it shows:\n%s", want, shown)
		}
	}
	h.win.Canvas().Overlays().Top().Hide()

	s := h.showSettings()
	tapped := false
	for _, o := range laidOut(h.win.Canvas().Content()) {
		if b, ok := o.(*widget.Button); ok && b.Text == "About Countersign…" {
			test.Tap(b)
			tapped = true
		}
	}
	if !tapped || s.about == nil || h.win.Canvas().Overlays().Top() == nil {
		t.Fatal("Settings' About Countersign… opened nothing")
	}
}

func TestAboutListsTheShortcutsItIsGiven(t *testing.T) {
	h, _ := newSessionHarness(t, nil, Session{}, "")
	given := []struct{ Keys, What string }{{"Ctrl+Q", "Quit"}, {"F1", "Help"}}
	a := newAbout(h.main, given)
	a.dialog.Show()
	if n := len(a.keys.Objects); n != 4 {
		t.Errorf("the shortcuts list has %d cells, want 2 shortcuts of 2", n)
	}
	shown := shownText(h.win.Canvas())
	if !strings.Contains(shown, "Ctrl+Q") || !strings.Contains(shown, "Help") || strings.Contains(shown, "Ctrl+L") {
		t.Errorf("About shows other shortcuts than it was given:\n%s", shown)
	}
}
