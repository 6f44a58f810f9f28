package ui

import (
	"testing"
)

// With no account paired, the Account screen says so under its heading
// and offers to pair; once paired, it shows the account's tabs.
func TestDashboardUnpairedOffersPairing(t *testing.T) {
	f := household()
	h := newDashHarness(t, f, carolAccount) // removed on the server
	h.dashes[adaAccount.ID] = f
	h.svc.pairAccount = adaAccount
	if !h.d.heading.Visible() || h.d.heading.Text != "Account" {
		t.Errorf("the unpaired screen's heading: %q, shown %v", h.d.heading.Text, h.d.heading.Visible())
	}
	h.assertShows(t, "Account", "The account dashboard needs a paired account.")
	h.capture(t, "house-unpaired")
	h.tap(t, "Pair with an account…")
	p := h.main.approvals.pair
	if p == nil {
		t.Fatal("Pair with an account… opened no pairing dialog")
	}
	p.server.SetText("https://accounts.example.com")
	p.code.SetText("K7Q9-M2XD")
	p.onPair()
	h.main.approvals.busy.Wait()
	h.settle(t)
	if h.main.approvals.pair != nil {
		t.Fatal("the pairing dialog stays open")
	}
	if !h.d.tabs.Visible() || h.d.heading.Visible() || h.d.pair.Visible() {
		t.Errorf("once paired: tabs shown %v, heading %v, Pair button %v; want the tabs alone",
			h.d.tabs.Visible(), h.d.heading.Visible(), h.d.pair.Visible())
	}
	h.assertShows(t, "Ada Lovelace — ada@example.com")
}

// Without sign-in approvals there is nothing to pair with: no button.
func TestDashboardNoApprovalsNoPairButton(t *testing.T) {
	h := &dashHarness{dashes: map[string]*fakeDashboard{}}
	h.start(t, nil, func(string) Dashboard { return nil }, start)
	if h.d.pair.Visible() {
		t.Error("a Pair button shows where approvals are not available")
	}
	h.assertShows(t, "Account", "sign-in approvals are not available here")
}
