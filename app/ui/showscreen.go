package ui

import (
	"fmt"
	"strings"
)

// ScreenNames are the names ShowScreen takes: the navigation's screens and
// the Account screen's tabs.
var ScreenNames = []string{
	"authenticator", "settings", "security-keys", "approvals", "account",
	"overview", "devices", "apps", "sessions", "activity", "household",
}

// CheckScreenName reports a name ShowScreen would not know, naming those it
// knows.
func CheckScreenName(name string) error {
	for _, n := range ScreenNames {
		if n == name {
			return nil
		}
	}
	return fmt.Errorf("there is no screen %q: choose one of %s", name, strings.Join(ScreenNames, ", "))
}

// ShowScreen puts the screen called name on display (see ScreenNames): a
// screen of the navigation, or a tab of the Account screen.
func (m *Main) ShowScreen(name string) error {
	if err := CheckScreenName(name); err != nil {
		return err
	}
	for i, s := range m.screens {
		if slug(s.title()) == name {
			m.nav.SelectIndex(i)
			return nil
		}
	}
	m.dashboard.build()
	for i, t := range m.dashboard.tabs.Items {
		if slug(t.Text) == name {
			m.nav.Select(m.nav.Items[m.screenIndex(m.dashboard)])
			m.dashboard.tabs.SelectIndex(i)
			return nil
		}
	}
	return fmt.Errorf("the screen %q is not in this window", name)
}

func (m *Main) screenIndex(s screen) int {
	for i, x := range m.screens {
		if x == s {
			return i
		}
	}
	return 0
}

// slug is a title as a screen name: "Security keys" → "security-keys".
func slug(title string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(title)), " ", "-")
}
