package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/countersign/countersign/internal/api"
)

// At the window's default size the three members' columns all show
// whole, none cut off at the right, and this desktop's card shows its
// whole name with its mark.
func TestBoardColumnsFitTheWindow(t *testing.T) {
	h := newDashHarness(t, household())
	h.tab(t, "Household")
	b := h.d.household
	drv := fyne.CurrentApp().Driver()
	right := drv.AbsolutePositionForObject(b.scroll).X + b.scroll.Size().Width
	if len(b.columns) != 3 {
		t.Fatalf("%d columns, want 3", len(b.columns))
	}
	for _, c := range b.columns {
		at := drv.AbsolutePositionForObject(c.root)
		if end := at.X + c.root.Size().Width; end > right+0.5 || c.root.Size().Width < minColumnWidth {
			t.Errorf("%s's column runs from %v to %v, the board shows up to %v", c.member.Name, at.X, end, right)
		}
		if c.root.Size().Height < c.root.MinSize().Height-0.5 {
			t.Errorf("%s's column is %v tall, its content %v", c.member.Name, c.root.Size().Height, c.root.MinSize().Height)
		}
	}
	k := h.card(t, "Ada's desktop")
	if k.name.Text != "Ada's desktop (this desktop)" || k.name.Truncation != fyne.TextTruncateOff {
		t.Errorf("this desktop's card is named %q (truncation %v)", k.name.Text, k.name.Truncation)
	}
	if got, need := k.name.Size().Height, k.name.MinSize().Height; got < need-0.5 {
		t.Errorf("this desktop's name is %v tall, needs %v: it is cut", got, need)
	}
	h.capture(t, "household-fits")
}

// A member with many devices shows the first few cards and a button for
// the rest; once asked, the rest stay shown across reloads.
func TestBoardShowsMoreCardsOnRequest(t *testing.T) {
	f := household()
	for i := range 12 {
		f.devices = append(f.devices, api.Device{ID: fmt.Sprintf("br-%d", i), Type: api.DeviceBrowser,
			Name: fmt.Sprintf("Browser %d", i), Kind: "browser", MemberID: "m-alex", LastSeenAt: start.Add(-time.Hour)})
	}
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	alex := func() *memberColumn {
		for _, c := range h.d.household.columns {
			if c.member.Name == "Alex" {
				return c
			}
		}
		t.Fatal("no column for Alex")
		return nil
	}
	if n := len(alex().cards); n != columnCards {
		t.Errorf("Alex's 13 devices show %d cards, want %d", n, columnCards)
	}
	h.assertShows(t, "13 devices")
	h.tap(t, "Show 5 more")
	if n := len(alex().cards); n != 13 {
		t.Errorf("after Show 5 more, %d cards", n)
	}
	h.d.household.set(h.d.household.data)
	if n := len(alex().cards); n != 13 {
		t.Errorf("after a reload, %d cards", n)
	}
}
