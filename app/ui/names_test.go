package ui

import (
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// hiddenRunes are characters that make a name show as something else: the
// direction overrides and isolates, the direction marks, a zero-width
// space. (Line breaks are checked by what is shown instead: the labels are
// joined with them.)
const hiddenRunes = "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u200B"

// TestPromptShowsNamesDefensively: the approval prompt shows what a server
// sent without the characters that would make it read as something else —
// an app named with a right-to-left override shows its letters in order.
func TestPromptShowsNamesDefensively(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	r := request("req-1")
	r.Account.Name = "Ada\u202E ecalevoL"
	r.App = "Photo \u202Eexe.koob\u202C"
	r.Browser = "Firefox 133\nApproved"
	r.Place = "\u2067Paris\u2069, France\u200F"
	p := h.arrive(t, r)
	h.send(t, approver.Event{Kind: approver.EventResolved, Account: r.Account,
		Resolved: &api.Resolved{ID: "req-1", Status: api.StatusApproved, DecidedBy: "Sam's \u202Epotpal"}})
	shown := promptText(p)
	if strings.ContainsAny(shown, hiddenRunes) {
		t.Errorf("the prompt shows a control or direction character:\n%q", shown)
	}
	for _, want := range []string{"Photo exe.koob", "Firefox 133 Approved", "Paris, France", "Approved on Sam's potpal"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the prompt does not show %q:\n%s", want, shown)
		}
	}
}

// TestDashboardShowsNamesDefensively: the Account screen shows the names
// the server sends — devices, members, apps, the activity — without
// control or direction characters.
func TestDashboardShowsNamesDefensively(t *testing.T) {
	dash := household()
	dash.devices[3].Name = "Sam's \u202Epotpal\u202C"
	dash.members[1].Name = "S\u200Bam\u2066"
	dash.apps[0].Name = "Photo\u202E kooB"
	dash.events[1].Detail = "Answered on \u202Epotpal s'maS\nApproved"
	h := newDashHarness(t, dash)
	for _, tc := range []struct{ tab, want string }{
		{"Devices", "Sam's potpal"},
		{"Apps", "Photo kooB"},
		{"Activity", "Answered on potpal s'maS Approved"},
		{"Household", "Sam's potpal"},
	} {
		h.tab(t, tc.tab)
		if shown := h.shown(); strings.ContainsAny(shown, hiddenRunes) || !strings.Contains(shown, tc.want) {
			t.Errorf("%s shows %q, want %q and no control or direction character", tc.tab, shown, tc.want)
		}
	}
}
