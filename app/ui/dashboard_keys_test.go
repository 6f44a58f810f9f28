package ui

import (
	"testing"

	"fyne.io/fyne/v2"
)

// Ctrl+Tab and Ctrl+Shift+Tab go round the Account screen's tabs, and
// load the tab they show; not while a dialog is open, nor on another
// screen.
func TestDashboardCtrlTabCyclesTabs(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	press := func(s fyne.Shortcut) string {
		t.Helper()
		h.win.Canvas().(fyne.Shortcutable).TypedShortcut(s)
		h.settle(t)
		return h.d.tabs.Selected().Text
	}
	want := []string{"Devices", "Apps", "Sessions", "Activity", "Household", "Overview"}
	for _, w := range want {
		if got := press(nextTab); got != w {
			t.Fatalf("Ctrl+Tab showed %s, want %s", got, w)
		}
	}
	if got := press(previousTab); got != "Household" {
		t.Fatalf("Ctrl+Shift+Tab from Overview showed %s, want Household", got)
	}
	if got := press(previousTab); got != "Activity" {
		t.Fatalf("Ctrl+Shift+Tab showed %s, want Activity", got)
	}
	if len(h.d.household.columns) != 3 {
		t.Error("the Household tab shown by Ctrl+Tab did not load")
	}

	h.d.confirm("Remove device", "Remove it?", "Remove", func() {})
	if got := press(nextTab); got != "Activity" {
		t.Errorf("Ctrl+Tab under a dialog showed %s", got)
	}
	h.d.dialog.Hide()

	h.main.nav.SelectIndex(0)
	if got := press(nextTab); got != "Activity" {
		t.Errorf("Ctrl+Tab on the Authenticator screen showed the Account screen's %s", got)
	}
}
