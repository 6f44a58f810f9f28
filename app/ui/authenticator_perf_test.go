package ui

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// mixedAccounts is n TOTP accounts across a few issuers, like a long-used
// vault.
func mixedAccounts(n int) []vault.Account {
	issuers := []string{"GitHub", "GitLab", "Google", "DigitalOcean", "Proton", "Slack", "Example Bank"}
	accounts := make([]vault.Account, n)
	for i := range accounts {
		accounts[i] = vault.Account{ID: fmt.Sprintf("ac%010d", i), Key: otp.Key{Type: otp.TOTP,
			Issuer: issuers[i%len(issuers)], Name: fmt.Sprintf("user%d@example.com", i), Secret: rfcSecret,
			Digits: 6, Period: 30, Algorithm: otp.SHA1}}
	}
	return accounts
}

// countUpdates counts the rows the account list fills in (UpdateItem).
func countUpdates(l *accountList) *int {
	n := 0
	update := l.UpdateItem
	l.UpdateItem = func(i widget.ListItemID, o fyne.CanvasObject) {
		n++
		update(i, o)
	}
	return &n
}

// TestKeystrokeRedrawsRowsOnce checks that a keystroke in the search field
// fills in each row on screen once, not once for unselecting, once for the
// new accounts and once more for selecting the first (make bench-ui times
// the keystroke).
func TestKeystrokeRedrawsRowsOnce(t *testing.T) {
	h := newHarness(t, mixedAccounts(545))
	h.win.Resize(fyne.NewSize(500, 700))
	h.auth.shown()
	updates := countUpdates(h.auth.list)
	onScreen := 0
	for _, o := range laidOut(h.win.Canvas().Content()) {
		if r, ok := o.(*accountRow); ok && r.Visible() {
			onScreen++
		}
	}
	if onScreen < 5 {
		t.Fatalf("%d rows on screen, want a window full", onScreen)
	}

	for _, key := range []string{"g", "i", "t", "\b", "\b", "\b"} { // "\b" is BackSpace
		before := h.search()
		*updates = 0
		if key == "\b" {
			h.auth.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
		} else {
			test.Type(h.auth.search, key)
		}
		want := min(onScreen, len(h.auth.view))
		if *updates < want || *updates > want+1 { // the list may fill in one more row it keeps ready
			t.Errorf("%q then %q: %d rows filled in, want the %d on screen", before, key, *updates, want)
		}
		if first := h.auth.view[0].ID; h.selected() != first {
			t.Errorf("%q then %q: selected %q, want the first match %q", before, key, h.selected(), first)
		}
	}
}

// search is the search field's text.
func (h *harness) search() string { return h.auth.search.Text }

// TestKeystrokeScrollsToFirstMatch checks that the first match, which Enter
// copies, is in view after a keystroke even when the list was scrolled away
// and the accounts on view did not change.
func TestKeystrokeScrollsToFirstMatch(t *testing.T) {
	h := newHarness(t, mixedAccounts(545))
	h.win.Resize(fyne.NewSize(500, 700))
	h.auth.shown()
	test.Type(h.auth.search, "e") // every account: each name has example.com
	h.auth.list.ScrollToOffset(3000)
	test.Type(h.auth.search, "x")
	if got := h.auth.list.GetScrollOffset(); got != 0 {
		t.Errorf("after a keystroke the list is scrolled to %v, want 0 (the first match)", got)
	}
	if first := h.auth.view[0].ID; h.selected() != first {
		t.Errorf("selected %q, want the first match %q", h.selected(), first)
	}
}

// TestTickUpdatesOnlyTheRows checks that the once-a-second tick brings the
// rows on screen up to date by setting them, not by refreshing the list:
// Fyne then draws every text on screen anew (make bench-ui measures the
// idle window's CPU), and fills in each row again.
func TestTickUpdatesOnlyTheRows(t *testing.T) {
	h := newHarness(t, mixedAccounts(545))
	h.win.Resize(fyne.NewSize(500, 700))
	h.auth.shown()
	first := h.auth.list.rows[h.auth.view[0].ID] // as the list bound it
	if first == nil {
		t.Fatal("the list bound no row to the first account")
	}
	updates := countUpdates(h.auth.list)
	created := 0
	create := h.auth.list.CreateItem
	h.auth.list.CreateItem = func() fyne.CanvasObject { created++; return create() }

	// The ticks fire just after each second; forty of them pass ring steps
	// and a new period.
	h.clock.Advance(5 * time.Millisecond)
	for range 40 {
		before := first.state
		h.clock.Advance(time.Second)
		want := h.auth.rowState(h.auth.view[0], h.clock.Now())
		if first.state.code != want.code || first.ring.remaining != want.remaining || first.state.next != want.next {
			t.Fatalf("at %v: the first row shows code %q, ring %d, next %q; want %q, %d, %q",
				h.clock.Now().Format(time.TimeOnly), first.state.code, first.ring.remaining, first.state.next,
				want.code, want.remaining, want.next)
		}
		if before.code != want.code && (*updates > 0 || created > 0) {
			t.Errorf("a new period refreshed the list: %d rows filled in through it, %d rows made", *updates, created)
		}
	}
	if *updates > 0 || created > 0 {
		t.Errorf("ticking filled in %d rows through the list and made %d, want the rows set directly", *updates, created)
	}
}
