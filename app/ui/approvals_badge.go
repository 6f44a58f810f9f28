package ui

// badgedTitle is the screen's name in the navigation: with the number of
// sign-in requests waiting, as the tray's icon shows it: "Approvals (3)",
// "Approvals (9+)"; the name alone when none wait.
func (s *approvals) badgedTitle() string {
	if n := s.waitingCount(); n > 0 {
		return s.title() + " (" + countLabel(n) + ")"
	}
	return s.title()
}

// showCount shows in the navigation how many requests wait.
func (s *approvals) showCount() {
	if s.m.nav == nil {
		return // the navigation is being made: it takes the title as it is
	}
	item := s.m.nav.Items[s.m.screenIndex(s)]
	if text := s.badgedTitle(); item.Text != text {
		item.Text = text
		s.m.nav.Refresh()
	}
}
