package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// menuLabels are the labels of a card's Move to… menu.
func menuLabels(k *boardCard) []string {
	var out []string
	for _, it := range k.moves() {
		out = append(out, it.Label)
	}
	return out
}

// moveWithMenu opens the card's menu with its button and chooses label.
func (h *dashHarness) moveWithMenu(t *testing.T, device, label string) {
	t.Helper()
	k := h.card(t, device)
	if !k.menu.Visible() {
		t.Fatalf("the card of %s has no menu button", device)
	}
	test.Tap(k.menu)
	menu := h.win.Canvas().Overlays().Top()
	if menu == nil {
		t.Fatalf("the menu button of %s opened nothing", device)
	}
	h.capture(t, "household-menu")
	h.win.Canvas().Overlays().Remove(menu)
	for _, it := range k.moves() {
		if it.Label == label {
			it.Action()
			h.settle(t)
			return
		}
	}
	t.Fatalf("the menu of %s has no %q: %q", device, label, menuLabels(k))
}

// A device moved with its card's menu ends where a drag puts it: the
// same call to the server, the same column, the same toast and Undo.
func TestBoardMoveToMenuEqualsDrag(t *testing.T) {
	dragged, moved := household(), household()
	hd := newDashHarness(t, dragged)
	hd.tab(t, "Household")
	hd.dragTo(t, "Firefox on Linux", "Sam")

	hm := newDashHarness(t, moved)
	hm.tab(t, "Household")
	if got, want := menuLabels(hm.card(t, "Firefox on Linux")), []string{"Move to Sam", "Move to Alex"}; !slices.Equal(got, want) {
		t.Errorf("the menu of Ada's Firefox: %q, want %q", got, want)
	}
	hm.moveWithMenu(t, "Firefox on Linux", "Move to Sam")

	if got, want := moved.changes(), dragged.changes(); !slices.Equal(got, want) || len(got) != 1 {
		t.Errorf("the menu made %q, a drag %q", got, want)
	}
	if got, want := hm.columnOf(t, "Firefox on Linux"), hd.columnOf(t, "Firefox on Linux"); got != want || got != "Sam" {
		t.Errorf("moved with the menu to %q's column, dragged to %q's", got, want)
	}
	if got, want := hm.main.toast.visibleText(), hd.main.toast.visibleText(); got != want {
		t.Errorf("toast %q after the menu, %q after a drag", got, want)
	}
	// Now Sam's: the menu offers Ada and Alex.
	if got, want := menuLabels(hm.card(t, "Firefox on Linux")), []string{"Move to Ada", "Move to Alex"}; !slices.Equal(got, want) {
		t.Errorf("the menu of the moved Firefox: %q, want %q", got, want)
	}
	hm.main.toast.undo()
	hm.settle(t)
	if got := hm.columnOf(t, "Firefox on Linux"); got != "Ada" {
		t.Errorf("after Undo Firefox on Linux is in %q's column", got)
	}
}

// A right click on a card opens the same menu.
func TestBoardCardRightClickMenu(t *testing.T) {
	h := newDashHarness(t, household())
	h.tab(t, "Household")
	test.TapSecondary(h.card(t, "Sam's laptop"))
	if h.win.Canvas().Overlays().Top() == nil {
		t.Fatal("a right click on a card opened no menu")
	}
}

// A member's desktop may move no device (permit's table): no card has a
// menu, a right click opens nothing, and the board says who can.
func TestBoardMemberIsOfferedNoMoves(t *testing.T) {
	f := household()
	f.you = "m-sam"
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	for _, c := range h.d.household.columns {
		for _, k := range c.cards {
			if k.menu.Visible() || len(k.moves()) != 0 {
				t.Errorf("%s is offered moves: %q", k.dv.Name, menuLabels(k))
			}
		}
	}
	test.TapSecondary(h.card(t, "Sam's laptop"))
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("a right click opened %T", top)
	}
	h.assertShows(t, "Only the account's owner can move a device to another member.")
	k := h.card(t, "Sam's laptop")
	k.Dragged(&fyne.DragEvent{Dragged: fyne.NewDelta(-300, 0)})
	if h.d.household.drag != nil {
		t.Error("a member's own device comes loose to be dragged")
	}
	k.DragEnd()
	h.settle(t)
	wantChanges(t, f)
}
