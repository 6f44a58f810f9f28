package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// card is the card on the board that shows the device named name.
func (h *dashHarness) card(t *testing.T, name string) *boardCard {
	t.Helper()
	for _, c := range h.d.household.columns {
		for _, k := range c.cards {
			if k.Visible() && k.dv.Name == name {
				return k
			}
		}
	}
	t.Fatalf("no card shows %s", name)
	return nil
}

// columnOf is the name of the member whose column shows the device.
func (h *dashHarness) columnOf(t *testing.T, name string) string {
	t.Helper()
	for _, c := range h.d.household.columns {
		if slices.ContainsFunc(c.devices, func(d apiDevice) bool { return d.Name == name }) {
			return c.member.Name
		}
	}
	return ""
}

// dragTo drags the card of a device by its middle onto the middle of a
// member's column, through the canvas as a pointer would.
func (h *dashHarness) dragTo(t *testing.T, device, member string) {
	t.Helper()
	drv := fyne.CurrentApp().Driver()
	k := h.card(t, device)
	from := drv.AbsolutePositionForObject(k).AddXY(k.Size().Width/2, k.Size().Height/2)
	var to fyne.Position
	for _, c := range h.d.household.columns {
		if c.member.Name == member {
			to = drv.AbsolutePositionForObject(c.root).AddXY(c.root.Size().Width/2, c.root.Size().Height/2)
		}
	}
	test.Drag(h.win.Canvas(), from, to.X-from.X, to.Y-from.Y)
	h.settle(t)
}

func TestBoardDragMovesDevice(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	if got := h.columnOf(t, "Firefox on Linux"); got != "Ada" {
		t.Fatalf("Firefox on Linux is in %q's column", got)
	}
	h.dragTo(t, "Firefox on Linux", "Sam")
	wantChanges(t, f, call{"UpdateDevice", "br-fx  m-sam"})
	if got := h.columnOf(t, "Firefox on Linux"); got != "Sam" {
		t.Errorf("after the drop Firefox on Linux is in %q's column, want Sam's", got)
	}
	if got := h.main.toast.visibleText(); got != "Gave Firefox on Linux to Sam" {
		t.Errorf("toast %q", got)
	}
	if len(h.d.layer.Objects) != 0 {
		t.Error("the dragged copy stays on screen")
	}
	h.capture(t, "household-moved")

	h.main.toast.undo()
	h.settle(t)
	wantChanges(t, f, call{"UpdateDevice", "br-fx  m-sam"}, call{"UpdateDevice", "br-fx  m-ada"})
	if got := h.columnOf(t, "Firefox on Linux"); got != "Ada" {
		t.Errorf("after Undo Firefox on Linux is in %q's column", got)
	}
}

func TestBoardDropElsewhereReturns(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	// Dropped in its own column, and above the board.
	h.dragTo(t, "Firefox on Linux", "Ada")
	k := h.card(t, "YubiKey 5")
	test.Drag(h.win.Canvas(), fyne.CurrentApp().Driver().AbsolutePositionForObject(k).AddXY(10, 10), 0, -400)
	h.settle(t)
	wantChanges(t, f)
	if h.columnOf(t, "Firefox on Linux") != "Ada" || h.columnOf(t, "YubiKey 5") != "Ada" {
		t.Error("a card dropped nowhere moved")
	}
	if len(h.d.layer.Objects) != 0 {
		t.Error("the dragged copy stays on screen")
	}
}

func TestBoardRefusedMoveReturns(t *testing.T) {
	f := household()
	f.setErr("UpdateDevice", forbidden("This device belongs to Sam: only Sam or the account's owner can change it."))
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	f.setOffline(nil)
	h.dragTo(t, "Sam's laptop", "Ada")
	wantChanges(t, f, call{"UpdateDevice", "ap-sam  m-ada"})
	if got := h.columnOf(t, "Sam's laptop"); got != "Sam" {
		t.Errorf("a refused move left the card in %q's column", got)
	}
	h.assertShows(t, "The device could not be moved. This device belongs to Sam: only Sam or the account's owner can change it.")
}

func TestBoardMoveOfflineReturns(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	f.setOffline(offlineErr())
	h.dragTo(t, "Sam's laptop", "Ada")
	if got := h.columnOf(t, "Sam's laptop"); got != "Sam" {
		t.Errorf("a move the server never got left the card in %q's column", got)
	}
	h.assertShows(t, "Can't reach accounts.example.com: showing what was loaded at")
}

func TestBoardMemberActions(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	menu := func(member, item string) {
		t.Helper()
		for _, c := range h.d.household.columns {
			if c.member.Name != member {
				continue
			}
			for _, it := range c.menuItems() {
				if it.Label == item {
					if it.Disabled {
						t.Fatalf("%s's %q is disabled", member, item)
					}
					it.Action()
					h.settle(t)
					return
				}
			}
		}
		t.Fatalf("%s's column has no %q", member, item)
	}

	// Rename, and Undo.
	menu("Sam", "Rename…")
	entryIn(t, h.win.Canvas()).SetText("Samuel")
	h.tap(t, "Rename")
	h.assertShows(t, "Samuel")
	if got := h.main.toast.visibleText(); got != "Renamed Sam to Samuel" {
		t.Errorf("toast %q", got)
	}
	h.main.toast.undo()
	h.settle(t)
	wantChanges(t, f, call{"RenameMember", "m-sam Samuel"}, call{"RenameMember", "m-sam Sam"})

	// Share with Sam, whose laptop is paired, once confirmed.
	h.tap(t, "Share authenticator")
	h.tap(t, "Share")
	if got := h.main.toast.visibleText(); got != "Offered the authenticator to Sam's 1 desktop" {
		t.Errorf("toast %q", got)
	}

	// Remove says what goes with them.
	menu("Sam", "Remove…")
	h.assertShows(t, "Remove Sam and sign out Sam's 2 devices?")
	h.tap(t, "Remove")
	if h.columnOf(t, "Sam's laptop") != "" {
		t.Error("Sam's devices are still on the board")
	}

	// Stop sharing with Alex, who has no paired desktop: sharing again
	// waits until one is invited.
	h.tap(t, "Stop sharing")
	for _, c := range h.d.household.columns {
		if c.member.Name == "Alex" && (c.share == nil || !c.share.Disabled() || c.share.Text != "Share authenticator") {
			t.Errorf("Alex, with no desktop, can be shared with: %+v", c.share)
		}
	}
	wantChanges(t, f, call{"RenameMember", "m-sam Samuel"}, call{"RenameMember", "m-sam Sam"},
		call{"ShareAuthenticator", "m-sam"}, call{"RemoveMember", "m-sam"}, call{"StopSharing", "m-alex"})
}

func TestBoardAddMemberShowsInvitation(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	h.tap(t, "Add member…")
	entryIn(t, h.win.Canvas()).SetText("Robin")
	h.tap(t, "Add")
	wantChanges(t, f, call{"AddMember", "Robin"}, call{"Invite", "m-robin"})
	h.assertShows(t, "Invitation for Robin", "https://accounts.example.com", "K7Q9-M2XD", "Works once, until", "in 10 minutes")
	h.capture(t, "invitation")
	h.tap(t, "Done")
	h.assertShows(t, "Robin")
}

// Enter in the name field adds the member, as the Add button does; an
// empty name does nothing.
func TestBoardAddMemberWithEnter(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	h.tap(t, "Add member…")
	e := entryIn(t, h.win.Canvas())
	test.Type(e, "  ")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle(t)
	wantChanges(t, f)
	e.SetText("")
	test.Type(e, "Robin")
	e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.settle(t)
	wantChanges(t, f, call{"AddMember", "Robin"}, call{"Invite", "m-robin"})
	h.assertShows(t, "Invitation for Robin")
}

func TestBoardMemberCannotManage(t *testing.T) {
	f := household()
	f.you = "m-sam"
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	if !h.d.household.add.Disabled() {
		t.Error("a member may add members")
	}
	for _, c := range h.d.household.columns {
		for _, it := range c.menuItems() {
			mayRename := it.Label == "Rename…" && c.member.ID == "m-sam"
			if it.Label != "" && it.Disabled == mayRename {
				t.Errorf("%s's %q: disabled %v", c.member.Name, it.Label, it.Disabled)
			}
		}
	}
	// Only the owner moves devices: a member's card does not come loose.
	k := h.card(t, "Firefox on Linux")
	k.Dragged(&fyne.DragEvent{Dragged: fyne.NewDelta(300, 0)})
	if h.d.household.drag != nil {
		t.Error("a member's window lets a device be dragged to another member")
	}
	k.DragEnd()
	h.settle(t)
	wantChanges(t, f)
}

// Six members do not fit side by side: the columns wrap into rows and the
// board scrolls down; a card held at the bottom edge scrolls it.
func TestBoardScrollsDown(t *testing.T) {
	f := household()
	for _, name := range []string{"Robin", "Kim", "Lou"} {
		f.members = append(f.members, apiMember(name))
	}
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	b := h.d.household
	if b.strip.Size().Height <= b.scroll.Size().Height {
		t.Fatalf("six members' rows (%v) fit in %v", b.strip.Size().Height, b.scroll.Size().Height)
	}
	if b.strip.Size().Width > b.scroll.Size().Width {
		t.Errorf("the board (%v) is wider than the window shows (%v)", b.strip.Size().Width, b.scroll.Size().Width)
	}
	k := h.card(t, "Firefox on Linux")
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(k)
	bottom := fyne.CurrentApp().Driver().AbsolutePositionForObject(b.scroll).Y + b.scroll.Size().Height - 5
	k.Dragged(&fyne.DragEvent{Dragged: fyne.NewDelta(0, bottom-at.Y-k.Size().Height/2)})
	if b.scroll.Offset.Y == 0 {
		t.Error("holding a card at the bottom edge did not scroll the board")
	}
	h.capture(t, "household-dragging")
	k.DragEnd()
	h.settle(t)
}

func TestBoardReloadWaitsForTheDrop(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Household")
	k := h.card(t, "YubiKey 5")
	k.Dragged(&fyne.DragEvent{Dragged: fyne.NewDelta(5, 5)})
	f.mu.Lock()
	f.devices[0].Name = "Renamed elsewhere"
	f.mu.Unlock()
	h.send(t, approver.Event{Kind: approver.EventChanged, Account: adaAccount, Changed: &api.Changed{What: api.ChangedDevices}})
	if h.d.household.drag == nil || h.columnOf(t, "Ada's desktop") != "Ada" {
		t.Fatal("a reload during the drag dropped the card or redrew the board")
	}
	k.DragEnd()
	h.settle(t)
	if h.columnOf(t, "Renamed elsewhere") != "Ada" {
		t.Error("what loaded during the drag does not show after it")
	}
	wantChanges(t, f)
}
