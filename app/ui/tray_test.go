package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// fakeTray is a system tray that keeps the last menu set.
type fakeTray struct {
	menu  *fyne.Menu
	menus int // how many times a menu was set
	icon  fyne.Resource
}

func (f *fakeTray) SetSystemTrayMenu(m *fyne.Menu)    { f.menu = m; f.menus++ }
func (f *fakeTray) SetSystemTrayIcon(r fyne.Resource) { f.icon = r }
func (f *fakeTray) SetSystemTrayWindow(fyne.Window)   {}

// labels are the menu's item labels, separators as "—", disabled items
// in brackets.
func (f *fakeTray) labels() []string {
	var out []string
	for _, it := range f.menu.Items {
		switch {
		case it.IsSeparator:
			out = append(out, "—")
		case it.Disabled:
			out = append(out, "["+it.Label+"]")
		default:
			out = append(out, it.Label)
		}
	}
	return out
}

func (f *fakeTray) click(t *testing.T, label string) {
	t.Helper()
	for _, it := range f.menu.Items {
		if it.Label == label && !it.Disabled {
			it.Action()
			return
		}
	}
	t.Fatalf("the tray menu has no %q: %q", label, f.labels())
}

func TestTrayShowsPinnedCodes(t *testing.T) {
	tray := &fakeTray{}
	accounts := fixture()
	accounts[1].Pinned = true // Acme, counter-based: never in the tray
	accounts[4].Pinned = true // Corp VPN
	h, _ := newSessionHarness(t, accounts, Session{Tray: tray}, "")
	want := []string{"Hide Countersign", "—", "Corp VPN · 4050 471", "GitHub · 050 471", "—", "About Countersign", "Quit"}
	if got := tray.labels(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tray menu %q, want %q", got, want)
	}

	// The menu follows the codes, set again only when they change: the
	// period of the RFC time step ends 29 s after start.
	menus := tray.menus
	h.clock.Advance(28 * time.Second)
	if tray.menus != menus {
		t.Errorf("the menu was set %d times within one period", tray.menus-menus)
	}
	h.clock.Advance(time.Second + 10*time.Millisecond)
	next := h.code(t, "gh0000000001", h.clock.Now())
	if got, want := tray.labels()[3], "GitHub · "+groupCode(next); got != want {
		t.Errorf("after the period rolled over the tray shows %q, want %q", got, want)
	}

	tray.click(t, "GitHub · "+groupCode(next))
	if h.clipboard() != next {
		t.Errorf("clicking the tray's GitHub copied %q, want %s", h.clipboard(), next)
	}
	h.clock.Advance(clipboardTTL)
	if h.clipboard() != "" {
		t.Errorf("the tray's copy is still in the clipboard after %s: %q", clipboardTTL, h.clipboard())
	}
}

func TestTrayWhenLocked(t *testing.T) {
	tray := &fakeTray{}
	h, _ := newSessionHarness(t, fixture(), Session{Tray: tray}, "pass")
	want := []string{"Hide Countersign", "—", "[Locked: show Countersign to unlock]", "—", "[Lock]", "[About Countersign]", "Quit"}
	if got := tray.labels(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("locked tray menu %q, want %q", got, want)
	}
	for _, it := range tray.menu.Items {
		if strings.Contains(it.Label, "050 471") {
			t.Errorf("the locked tray shows a code: %q", it.Label)
		}
	}
	h.unlockWith("pass")
	if got := tray.labels()[2]; got != "GitHub · 050 471" {
		t.Errorf("unlocked tray shows %q, want GitHub's code", got)
	}
	tray.click(t, "Lock")
	if !h.main.lock.locked {
		t.Error("the tray's Lock did not lock")
	}
}

func TestClosingHidesInTheTray(t *testing.T) {
	tray := &fakeTray{}
	_, win := newSessionHarness(t, fixture(), Session{Tray: tray}, "")
	if win.intercept == nil {
		t.Fatal("with a tray, closing the window is not intercepted")
	}
	test.AssertNotificationSent(t, fyne.NewNotification("Countersign is still running",
		"It stays in the tray with your pinned codes. Choose Quit there to close it."), win.intercept)
	if !win.hidden || tray.labels()[0] != "Show Countersign" {
		t.Errorf("after closing: hidden %v, tray offers %q", win.hidden, tray.labels()[0])
	}
	tray.click(t, "Show Countersign")
	if win.hidden || tray.labels()[0] != "Hide Countersign" {
		t.Errorf("after Show: hidden %v, tray offers %q", win.hidden, tray.labels()[0])
	}
	test.AssertNotificationSent(t, nil, win.intercept) // told once only

	// Without a tray closing closes.
	_, plain := newSessionHarness(t, fixture(), Session{}, "")
	if plain.intercept != nil {
		t.Error("without a tray, closing the window is intercepted")
	}
}

func TestTrayStartsHidden(t *testing.T) {
	tray := &fakeTray{}
	newSessionHarness(t, fixture(), Session{Tray: tray, Hidden: true}, "")
	if got := tray.labels()[0]; got != "Show Countersign" {
		t.Errorf("started hidden, the tray offers %q", got)
	}
}
