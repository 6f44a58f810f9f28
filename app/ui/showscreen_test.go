package ui

import "testing"

// Every name ShowScreen takes reaches a screen, and the one on display is
// then that screen (or the Account screen with that tab).
func TestShowScreen(t *testing.T) {
	m := newHarness(t, fixture()).main
	for _, name := range ScreenNames {
		if err := m.ShowScreen(name); err != nil {
			t.Fatalf("ShowScreen(%q): %v", name, err)
		}
		got := slug(m.current.title())
		if got == "account" {
			got = slug(m.dashboard.tabs.Selected().Text)
			if name == "account" {
				got = "account"
			}
		}
		if got != name {
			t.Errorf("ShowScreen(%q) shows %q", name, got)
		}
	}
	if err := m.ShowScreen("nope"); err == nil {
		t.Error("ShowScreen(nope) did not fail")
	}
}
