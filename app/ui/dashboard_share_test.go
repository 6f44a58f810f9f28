package ui

import (
	"testing"
)

// Sharing the authenticator asks first, naming the member and what they
// get; Cancel shares nothing.
func TestBoardShareAsksFirst(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	h.tap(t, "Share authenticator")
	h.assertShows(t, "Share the authenticator of ada@example.com with Sam?",
		"Sam gets the codes of this account on Sam's desktop (Sam's laptop)")
	wantChanges(t, f)
	h.tap(t, "Cancel")
	wantChanges(t, f)

	h.tap(t, "Share authenticator")
	h.tap(t, "Share")
	wantChanges(t, f, call{"ShareAuthenticator", "m-sam"})
	if got := h.main.toast.visibleText(); got != "Offered the authenticator to Sam's 1 desktop" {
		t.Errorf("toast %q", got)
	}
}
