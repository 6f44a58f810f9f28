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

	// Alex gets more devices, so that the rows are taller than the window.
	f := b.d.src.(shownNames).Dashboard.(*fakeDashboard)
	f.mu.Lock()
	for i := range 4 {
		f.devices = append(f.devices, api.Device{ID: fmt.Sprintf("tv-%d", i), Type: api.DeviceBrowser,
			Name: fmt.Sprintf("TV %d", i), Kind: "tv", MemberID: "m-alex", LastSeenAt: start.Add(-time.Hour)})
	}
	f.mu.Unlock()
	h.tap(t, "Refresh")

	// Wider, the three share one row, and the board is no taller than it;
	// narrower again, they wrap as before, and the board is tall enough to
	// scroll to the last row.
	for _, w := range []float32{1000, defaultWindowSize.Width} {
		h.win.Resize(fyne.NewSize(w, defaultWindowSize.Height))
		var tallest float32
		for _, c := range b.columns {
			tallest = max(tallest, c.root.MinSize().Height)
		}
		rows := map[float32]bool{}
		for _, c := range b.columns {
			rows[c.root.Position().Y] = true
			if bottom := c.root.Position().Y + c.root.Size().Height; bottom > b.strip.Size().Height+0.5 {
				t.Errorf("%v wide: %s's column ends at %v, below the board's end %v: it cannot be scrolled to",
					w, c.member.Name, bottom, b.strip.Size().Height)
			}
		}
		switch {
		case w == 1000 && (len(rows) != 1 || b.strip.Size().Height > max(tallest, b.scroll.Size().Height)+0.5):
			t.Errorf("%v wide: %d rows, the board %v tall for columns at most %v", w, len(rows), b.strip.Size().Height, tallest)
		case w != 1000 && len(rows) != 2:
			t.Errorf("%v wide: %d rows, want 2", w, len(rows))
		}
	}
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
