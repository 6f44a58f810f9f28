package ui

import (
	"context"

	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// stepUpNeeded is the server asking to confirm it is the account's person.
var stepUpNeeded = &approver.APIError{Status: 403, Code: api.CodeStepUpRequired, Message: "For your safety, confirm it is you to invite a household member's desktop: POST /api/v1/step-up …"}

// StepUp and StepUpWithKey confirm unless errs says otherwise; once
// confirmed the fake server no longer asks.
func (f *fakeDashboard) StepUp(_ context.Context, password string) error {
	return f.confirmed(f.record("StepUp", password))
}

func (f *fakeDashboard) StepUpWithKey(context.Context) error {
	return f.confirmed(f.record("StepUpWithKey"))
}

func (f *fakeDashboard) confirmed(err error) error {
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for m, e := range f.errs {
		if approver.NeedsStepUp(e) {
			delete(f.errs, m)
		}
	}
	return nil
}

// TestStepUpDialog: when the server asks to confirm before an invitation,
// the window asks "Confirm it's you"; Cancel drops the change without an
// error dialog, a wrong password is said in the dialog, which stays, and a
// security key's touch confirms and the invitation is made.
func TestStepUpDialog(t *testing.T) {
	f := household()
	f.errs = map[string]error{"Invite": stepUpNeeded}
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	invite := func() {
		t.Helper()
		for _, c := range h.d.household.columns {
			if c.member.Name != "Sam" {
				continue
			}
			for _, it := range c.menuItems() {
				if it.Label == "Invite a desktop…" {
					it.Action()
					h.settle(t)
					return
				}
			}
		}
		t.Fatal("no Invite a desktop… for Sam")
	}

	invite()
	h.assertShows(t, "Confirm it's you", "the password of ada@example.com")
	h.tap(t, "Cancel")
	if got := h.shown(); strings.Contains(got, "Confirm it's you") || strings.Contains(got, "could not") {
		t.Errorf("after Cancel the window shows:\n%s", got)
	}
	wantChanges(t, f, call{"Invite", "m-sam"})
	// Esc cancels too.
	invite()
	press(h.win.Canvas(), fyne.KeyEscape)
	h.settle(t)
	if got := h.shown(); strings.Contains(got, "Confirm it's you") {
		t.Errorf("after Esc the window shows:\n%s", got)
	}

	invite()
	f.errs["StepUp"] = &approver.APIError{Status: 403, Code: api.CodeWrongPassword, Message: "That is not the account's password."}
	h.tap(t, "Confirm")
	h.assertShows(t, "Type the account's password, or use your security key.")
	h.d.stepUpOpen.password.SetText("guess")
	h.tap(t, "Confirm")
	h.assertShows(t, "That is not the account's password. Wrong passwords count as failed sign-ins")
	if h.d.stepUpOpen.password.Text != "" {
		t.Error("the wrong password stayed in the field")
	}
	h.tap(t, "Use security key")
	h.assertShows(t, "Invitation for Sam")
	wantChanges(t, f, call{"Invite", "m-sam"}, call{"Invite", "m-sam"}, call{"Invite", "m-sam"}, call{"StepUp", "guess"},
		call{"StepUpWithKey", ""}, call{"Invite", "m-sam"})
}
