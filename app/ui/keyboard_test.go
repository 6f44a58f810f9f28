package ui

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

// press types key as the desktop driver hands it over: to the focused
// widget, else to the window.
func press(c fyne.Canvas, key fyne.KeyName) {
	ev := &fyne.KeyEvent{Name: key}
	if f := c.Focused(); f != nil {
		f.TypedKey(ev)
	} else if on := c.OnTypedKey(); on != nil {
		on(ev)
	}
}

// pressShift types Shift+key: the Shift key down, key, Shift up.
func pressShift(c fyne.Canvas, key fyne.KeyName) {
	shift := &fyne.KeyEvent{Name: desktop.KeyShiftLeft}
	k, ok := c.Focused().(desktop.Keyable)
	if !ok {
		panic(fmt.Sprintf("%T does not follow Shift", c.Focused()))
	}
	k.KeyDown(shift)
	press(c, key)
	k.KeyUp(shift)
}

// shortcut types s as the desktop driver hands it over: to the focused
// widget when it takes shortcuts, else to the window.
func shortcut(c fyne.Canvas, s fyne.Shortcut) {
	if f, ok := c.Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(s)
		return
	}
	c.(fyne.Shortcutable).TypedShortcut(s)
}

func ctrl(key fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: key, Modifier: fyne.KeyModifierShortcutDefault}
}

// manyAccounts are n time-based accounts, Account 01 … in the list's order.
func manyAccounts(n int) []vault.Account {
	var as []vault.Account
	for i := range n {
		as = append(as, vault.Account{ID: fmt.Sprintf("id%010d", i+1), Key: otp.Key{Type: otp.TOTP,
			Issuer: fmt.Sprintf("Account %02d", i+1), Name: "me", Secret: rfcSecret, Digits: 6, Period: 30, Algorithm: otp.SHA1}})
	}
	return as
}

func TestShortcutsTableInReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ShortcutsMarkdown()) {
		t.Errorf("README.md does not show the keyboard table as it is; put this in its place:\n%s", ShortcutsMarkdown())
	}
	// The table names the screens in the rail's order.
	h := newHarness(t, fixture())
	var titles []string
	for _, s := range h.main.screens {
		titles = append(titles, s.title())
	}
	i := slices.IndexFunc(Shortcuts(), func(s Shortcut) bool { return s.Keys == "Ctrl+1 … Ctrl+5" })
	if i < 0 || len(titles) != 5 || !strings.Contains(Shortcuts()[i].What, strings.Join(titles, ", ")+".") {
		t.Errorf("the shortcuts do not list the %d screens %q as Ctrl+1 … Ctrl+5", len(titles), titles)
	}
}

func TestCtrlNumberShowsScreens(t *testing.T) {
	h := newHarness(t, fixture())
	c := h.win.Canvas()
	for i := len(h.main.screens) - 1; i >= 0; i-- {
		shortcut(c, ctrl(screenKeys[i]))
		if h.main.current != h.main.screens[i] || h.main.nav.SelectedIndex() != i {
			t.Errorf("Ctrl+%d shows %s, want %s", i+1, h.main.current.title(), h.main.screens[i].title())
		}
	}
	// From the search field, which takes shortcuts itself.
	h.auth.focusSearch()
	shortcut(c, ctrl(fyne.Key2))
	if h.main.current != h.main.settings {
		t.Errorf("Ctrl+2 in the search field shows %s, want Settings", h.main.current.title())
	}
	// Not behind a dialog.
	shortcut(c, ctrl(fyne.Key1))
	h.auth.showQR("gh0000000001")
	shortcut(c, ctrl(fyne.Key3))
	if h.main.current != h.auth {
		t.Errorf("Ctrl+3 behind a dialog shows %s", h.main.current.title())
	}
}

// focusable is every widget under o, as the window draws it, that Tab
// should reach: visible and enabled.
func focusable(o fyne.CanvasObject) []fyne.Focusable {
	var out []fyne.Focusable
	var visit func(o fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		if f, ok := o.(fyne.Focusable); ok {
			if d, ok := o.(fyne.Disableable); !ok || !d.Disabled() {
				out = append(out, f)
			}
		}
		switch o := o.(type) {
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(o).Objects() {
				visit(child)
			}
		case *fyne.Container:
			for _, child := range o.Objects {
				visit(child)
			}
		}
	}
	visit(o)
	return out
}

// tabCycle presses Tab from nothing focused until the focus comes back to
// where it started, and returns what had it, in order.
func tabCycle(t *testing.T, c fyne.Canvas, back bool) []fyne.Focusable {
	t.Helper()
	c.Unfocus()
	var seen []fyne.Focusable
	for range 200 {
		if back {
			test.FocusPrevious(c)
		} else {
			test.FocusNext(c)
		}
		f := c.Focused()
		if f == nil {
			t.Fatalf("Tab after %d widgets lost the focus", len(seen))
		}
		if len(seen) > 0 && f == seen[0] {
			return seen
		}
		seen = append(seen, f)
	}
	t.Fatal("Tab did not come round in 200 presses")
	return nil
}

// checkTabReaches checks that Tab and Shift+Tab, from nothing focused,
// reach every control of what the window shows.
func checkTabReaches(t *testing.T, c fyne.Canvas, name string) {
	t.Helper()
	want := focusable(c.Content())
	if len(want) == 0 {
		t.Errorf("%s: nothing to focus", name)
		return
	}
	for _, back := range []bool{false, true} {
		got := tabCycle(t, c, back)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: Tab (back %v) never reaches the %T", name, back, w)
			}
		}
	}
}

func TestTabReachesEveryControl(t *testing.T) {
	t.Run("Authenticator and Settings", func(t *testing.T) {
		h := newHarness(t, fixture())
		c := h.win.Canvas()
		checkTabReaches(t, c, "Authenticator")
		shortcut(c, ctrl(fyne.Key2))
		checkTabReaches(t, c, "Settings")
	})
	t.Run("Security keys", func(t *testing.T) {
		h := newKeyWithPIN(t)
		checkTabReaches(t, h.win.Canvas(), "Security keys")
	})
	t.Run("Approvals", func(t *testing.T) {
		h := newApprovalsHarness(t, newFakeApprovals(adaAccount, carolAccount))
		checkTabReaches(t, h.win.Canvas(), "Approvals")
	})
	t.Run("Account", func(t *testing.T) {
		h := newDashHarness(t, household())
		for _, it := range h.d.tabs.Items {
			h.tab(t, it.Text)
			checkTabReaches(t, h.win.Canvas(), "Account, "+it.Text)
		}
	})
}

func TestAccountsListTakesTheFocus(t *testing.T) {
	h := newHarness(t, fixture())
	c := h.win.Canvas()
	h.auth.focusSearch()
	for range 4 { // the tag filter and Add come between
		if test.FocusNext(c); c.Focused() == h.auth.list {
			break
		}
	}
	if c.Focused() != h.auth.list {
		t.Fatalf("Tab from the search field goes to %T, not the accounts list", c.Focused())
	}
	ring := func(id string) bool { return h.auth.list.rows[id].focusRing.Visible() }
	if !ring(h.selected()) {
		t.Error("the focused list shows no focus on the selected row")
	}
	press(c, fyne.KeyDown)
	press(c, fyne.KeyDown)
	if c.Focused() != h.auth.list || h.selected() != "vp0000000003" {
		t.Errorf("Down twice in the list: focus %T, selected %s; want the list, the third account", c.Focused(), h.selected())
	}
	if !ring("vp0000000003") || ring("gh0000000001") {
		t.Errorf("the focus ring did not follow the selection: on the third row %v, on the first %v", ring("vp0000000003"), ring("gh0000000001"))
	}
	press(c, fyne.KeyReturn)
	if h.clipboard() != h.code(t, "vp0000000003", start) {
		t.Errorf("Enter in the list copied %q", h.clipboard())
	}
	test.TypeOnCanvas(c, "v")
	if c.Focused() != h.auth.search || h.auth.search.Text != "v" {
		t.Errorf("typing in the list: focus %T, search %q; want the search holding v", c.Focused(), h.auth.search.Text)
	}
	c.Focus(h.auth.list)
	test.FocusNext(c)
	if ring(h.selected()) {
		t.Error("the focus ring stays after Tab left the list")
	}
}

func TestPageHomeEndMoveTheSelection(t *testing.T) {
	h := newHarness(t, manyAccounts(40))
	c := h.win.Canvas()
	page := h.auth.list.page()
	if page < 3 || page > 20 {
		t.Fatalf("a page is %d rows in a list %v high", page, h.auth.list.Size())
	}
	want := func(key string, i int) {
		t.Helper()
		if got := h.selected(); got != h.auth.view[i].ID {
			t.Errorf("%s selects %s, want %s (row %d)", key, got, h.auth.view[i].ID, i)
		}
	}
	for _, focus := range []fyne.Focusable{h.auth.search, h.auth.list, nil} {
		c.Focus(focus)
		if focus == nil {
			c.Unfocus()
		}
		press(c, fyne.KeyHome)
		want("Home", 0)
		press(c, fyne.KeyPageDown)
		want("Page Down", page)
		press(c, fyne.KeyPageDown)
		want("Page Down twice", 2*page)
		press(c, fyne.KeyPageUp)
		want("Page Up", page)
		press(c, fyne.KeyEnd)
		want("End", 39)
		press(c, fyne.KeyPageDown)
		want("Page Down at the end", 39)
		press(c, fyne.KeyPageUp)
		want("Page Up from the end", 39-page)
	}
	// Home and End in a search field with text move its cursor.
	h.auth.focusSearch()
	test.Type(h.auth.search, "account")
	press(c, fyne.KeyEnd)
	press(c, fyne.KeyHome)
	if h.auth.search.CursorColumn != 0 || h.selected() != h.auth.view[0].ID {
		t.Errorf("Home in the search text: cursor %d, selected %s", h.auth.search.CursorColumn, h.selected())
	}
	press(c, fyne.KeyEnd)
	if h.auth.search.CursorColumn != len("account") || h.selected() != h.auth.view[0].ID {
		t.Errorf("End in the search text: cursor %d, selected %s", h.auth.search.CursorColumn, h.selected())
	}
}

func TestRowMenuByKey(t *testing.T) {
	h := newHarness(t, fixture())
	c := h.win.Canvas()
	labels := func(m *widget.PopUpMenu) []string {
		var l []string
		for _, it := range m.Items {
			// Fyne's menu item keeps its *fyne.MenuItem in an unexported type.
			if item := reflect.ValueOf(it).Elem().FieldByName("Item"); item.IsValid() && !item.IsNil() {
				l = append(l, item.Elem().FieldByName("Label").String())
			}
		}
		return l
	}
	type open struct {
		name string
		key  func()
	}
	for _, o := range []open{
		{"Menu in the search field", func() { h.auth.focusSearch(); press(c, desktop.KeyMenu) }},
		{"Shift+F10 in the search field", func() { h.auth.focusSearch(); pressShift(c, fyne.KeyF10) }},
		{"Shift+F10 in the list", func() { c.Focus(h.auth.list); pressShift(c, fyne.KeyF10) }},
		{"Menu with nothing focused", func() { c.Unfocus(); press(c, desktop.KeyMenu) }},
	} {
		h.auth.list.Select(1) // Acme, counter-based
		o.key()
		m := popUpMenu(c)
		if m == nil {
			t.Fatalf("%s opens %T, want the account's menu", o.name, c.Overlays().Top())
		}
		want := []string{"Copy code", "Next code", "Edit…", "Show as QR code…", "Delete…"}
		if got := labels(m); !slices.Equal(got, want) {
			t.Errorf("%s: menu %q, want %q", o.name, got, want)
		}
		// Where the row's menu button opens it.
		btn := h.auth.list.rows["ac0000000005"].menu
		at := fyne.CurrentApp().Driver().AbsolutePositionForObject(btn).AddXY(0, btn.Size().Height)
		if got := m.Position(); got.Y != at.Y {
			t.Errorf("%s: menu at %v, want under the row's menu button at %v", o.name, got, at)
		}
		press(c, fyne.KeyEscape)
		if c.Overlays().Top() != nil {
			t.Fatalf("Esc left the menu open")
		}
	}

	// The mouse's menu is the same list; Next code from it.
	test.TapSecondary(h.row(t, "ac0000000005"))
	m := popUpMenu(c)
	if m == nil || !slices.Contains(labels(m), "Next code") {
		t.Fatal("the right-click menu of a counter-based account has no Next code")
	}
	m.Hide()
	h.menuAction(t, "ac0000000005", "Next code")
	if !slices.Equal(h.store.nextHOTP, []string{"ac0000000005"}) {
		t.Errorf("Next code from the menu asked for %q", h.store.nextHOTP)
	}

	// F10 alone is not the menu.
	h.auth.focusSearch()
	press(c, fyne.KeyF10)
	if c.Overlays().Top() != nil {
		t.Error("F10 without Shift opened a menu")
	}
}

func TestCtrlNOpensAddMenuAtTheButton(t *testing.T) {
	h := newAddHarness(t, fixture())
	c := h.win.Canvas()
	for _, from := range []int{0, 1, 4} {
		shortcut(c, ctrl(screenKeys[from]))
		shortcut(c, ctrl(fyne.KeyN))
		m := popUpMenu(c)
		if m == nil {
			t.Fatalf("Ctrl+N on %s shows %T, want the Add menu", h.main.screens[from].title(), c.Overlays().Top())
		}
		btn := fyne.CurrentApp().Driver().AbsolutePositionForObject(h.add.button)
		if h.main.current != h.auth || btn.Y == 0 || m.Position().Y != btn.Y+h.add.button.Size().Height {
			t.Errorf("Ctrl+N on %s: menu at %v on %s, want under the Add button at %v on the Authenticator",
				h.main.screens[from].title(), m.Position(), h.main.current.title(), btn)
		}
		press(c, fyne.KeyEscape)
	}
}

// newKeyWithPIN is the Security keys screen showing a key with a PIN set.
func newKeyWithPIN(t *testing.T) *keysHarness {
	t.Helper()
	const path = "/dev/hidraw7"
	info := &fido.Info{Path: path, Model: "YubiKey 5", Versions: []string{"FIDO_2_1"},
		Options: map[string]bool{"rk": true, "clientPin": true, "credMgmt": true}, PINRetries: 8, MinPINLength: 4}
	h := newKeysHarness(t, &fakeKeys{locs: []fido.Location{{Path: path}}, info: map[string]*fido.Info{path: info}})
	h.waitFor(t, "the info card", func() bool { return h.keys.body.Visible() })
	return h
}

// dialogCase opens one dialog of the window.
type dialogCase struct {
	name string
	open func()
	// focused is the field the dialog opens with the focus in, or a field
	// to put it in; nil for none.
	focused func() fyne.Focusable
}

// authDialogs are the dialogs of the Authenticator screen and of adding
// accounts.
func authDialogs(h *addHarness) []dialogCase {
	gh := "gh0000000001"
	return []dialogCase{
		{"edit", func() { h.auth.showEdit(gh) }, func() fyne.Focusable { return h.auth.form.tags }},
		{"edit, notes", func() { h.auth.showEdit(gh) }, func() fyne.Focusable { return h.auth.form.notes }},
		{"delete", func() { h.auth.confirmDelete(gh) }, nil},
		{"QR code", func() { h.auth.showQR(gh) }, nil},
		{"error", func() { h.auth.showError("The account could not be saved", os.ErrPermission) }, nil},
		{"enter by hand", h.add.enterByHand, func() fyne.Focusable { return h.add.form.issuer }},
		{"review", func() { h.add.showReview(fixture()[:1], nil) }, nil},
		{"problem", func() { h.add.showProblem("No QR code", "The image holds none.", "Try another.") }, nil},
		{"import passphrase", func() { h.add.askPassphrase("backup.json", nil, transfer.Options{}, "") },
			func() fyne.Focusable { return h.win.Canvas().Focused() }}, // it opens with its field focused
		{"open image", h.add.chooseImage, nil},
		{"settings passphrase", func() { shortcut(h.win.Canvas(), ctrl(fyne.Key2)); h.main.settings.showPassphrase(false, true) },
			func() fyne.Focusable { return h.main.settings.form.next }},
	}
}

func TestEscClosesEveryDialog(t *testing.T) {
	h := newAddHarness(t, fixture())
	c := h.win.Canvas()
	for _, focus := range []bool{false, true} {
		for _, dc := range authDialogs(h) {
			if focus && dc.focused == nil {
				continue
			}
			shortcut(c, ctrl(fyne.Key1))
			dc.open()
			if c.Overlays().Top() == nil {
				t.Fatalf("%s: no dialog opened", dc.name)
			}
			if focus {
				c.Focus(dc.focused())
			} else {
				c.Unfocus()
			}
			press(c, fyne.KeyEscape)
			if top := c.Overlays().Top(); top != nil {
				t.Errorf("%s (a field focused: %v): Esc left %T open", dc.name, focus, top)
				for c.Overlays().Top() != nil {
					c.Overlays().Remove(c.Overlays().Top())
				}
			}
		}
	}
	// Esc is Cancel: nothing was saved, deleted or added, and the forms
	// know they are closed.
	if len(h.store.accounts) != len(fixture()) || h.auth.form != nil || h.add.form != nil || h.add.review != nil {
		t.Errorf("Esc did more than cancel: %d accounts, edit form %v, add form %v, review %v",
			len(h.store.accounts), h.auth.form != nil, h.add.form != nil, h.add.review != nil)
	}
	if !h.storedVerifier(t).IsZero() {
		t.Error("Esc set a passphrase")
	}

	// Pop-up menus: the row's, the Add menu and the tag filter's.
	shortcut(c, ctrl(fyne.Key1))
	for _, m := range []struct {
		name string
		open func()
	}{
		{"tags", func() { test.Tap(h.auth.tags) }},
		{"row menu", func() { h.auth.list.Select(0); press(c, desktop.KeyMenu) }},
		{"Add menu", func() { shortcut(c, ctrl(fyne.KeyN)) }},
	} {
		name := m.name
		c.Unfocus()
		m.open()
		if c.Overlays().Top() == nil {
			t.Fatalf("%s did not open (selected %q, current %s)", name, h.selected(), h.main.current.title())
		}
		press(c, fyne.KeyEscape)
		if top := c.Overlays().Top(); top != nil {
			t.Errorf("%s: Esc left %T open", name, top)
			c.Overlays().Remove(top)
		}
	}
}

func TestEscClosesDialogsOfOtherScreens(t *testing.T) {
	t.Run("Approvals", func(t *testing.T) {
		h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
		c := h.win.Canvas()
		h.s.showPair()
		if c.Focused() == nil {
			t.Fatal("the pairing dialog opens with no field focused")
		}
		press(c, fyne.KeyEscape)
		if c.Overlays().Top() != nil || h.s.pair != nil {
			t.Error("Esc in the pairing dialog did not close it")
		}
		h.s.confirmUnpair(adaAccount.ID, "ada@example.com", adaAccount.Server)
		press(c, fyne.KeyEscape)
		if c.Overlays().Top() != nil || len(h.svc.unpaired) != 0 {
			t.Errorf("Esc on Unpair: dialog %T, unpaired %q", c.Overlays().Top(), h.svc.unpaired)
		}
	})
	t.Run("Account", func(t *testing.T) {
		h := newDashHarness(t, household())
		c := h.win.Canvas()
		saved := false
		h.d.askName("Rename", "Name", "Rename", "Firefox", func(string) { saved = true })
		press(c, fyne.KeyEscape)
		h.d.confirm("Remove device", "Remove it?", "Remove", func() { saved = true })
		press(c, fyne.KeyEscape)
		if c.Overlays().Top() != nil || saved {
			t.Errorf("Esc: dialog %T left open, saved %v", c.Overlays().Top(), saved)
		}
	})
	t.Run("Security keys", func(t *testing.T) {
		h := newKeyWithPIN(t)
		c := h.win.Canvas()
		for name, open := range map[string]func(){
			"change PIN": func() { h.keys.showPIN(true) },
			"ask PIN": func() {
				h.keys.withPIN("Passkeys", "Show", "", func(string, string) error { t.Error("Esc went on"); return nil }, func(string, error) {})
			},
			"reset": h.keys.showReset,
		} {
			open()
			if c.Focused() == nil {
				t.Errorf("%s opens with no field focused", name)
			}
			press(c, fyne.KeyEscape)
			if c.Overlays().Top() != nil || h.keys.form != nil {
				t.Errorf("%s: Esc left %T open", name, c.Overlays().Top())
			}
		}
	})
}

func TestEnterPressesTheDefaultButton(t *testing.T) {
	h := newAddHarness(t, fixture())
	c := h.win.Canvas()

	// Edit: Enter in a single-line field saves; in Notes it starts a line.
	h.auth.showEdit("gh0000000001")
	test.Type(h.auth.form.notes, "first")
	c.Focus(h.auth.form.notes)
	press(c, fyne.KeyReturn)
	h.auth.form.tags.SetText("Work, Code")
	c.Focus(h.auth.form.tags)
	press(c, fyne.KeyReturn)
	if a, _ := h.auth.account("gh0000000001"); c.Overlays().Top() != nil || !slices.Equal(a.Tags, []string{"Work", "Code"}) || a.Notes != "first" {
		t.Errorf("Enter in Tags: dialog %T, tags %q, notes %q", c.Overlays().Top(), a.Tags, a.Notes)
	}

	// By hand: Enter does nothing while a field is missing (Next is
	// disabled), then goes on to the review.
	h.add.enterByHand()
	f := h.add.form
	test.Type(f.name, "dave")
	press(c, fyne.KeyReturn) // the issuer field has the focus
	if h.add.review != nil || h.add.form == nil {
		t.Fatal("Enter went on with no secret")
	}
	c.Focus(f.secret)
	test.Type(f.secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	press(c, fyne.KeyReturn)
	if h.add.review == nil {
		t.Fatalf("Enter in the secret field did not go on to the review; the window shows:\n%s", h.shown())
	}
	c.Unfocus()
	press(c, fyne.KeyEnter) // the review's Add
	if c.Overlays().Top() != nil || len(h.store.accounts) != len(fixture())+1 {
		t.Errorf("Enter on the review: dialog %T, %d accounts", c.Overlays().Top(), len(h.store.accounts))
	}

	// Delete: on a question that cannot be taken back the safe answer is
	// the default: Enter keeps the account, and the dialog closes.
	h.auth.confirmDelete("st0000000004")
	press(c, fyne.KeyReturn)
	if _, ok := h.auth.account("st0000000004"); !ok || c.Overlays().Top() != nil {
		t.Error("Enter on Delete did not keep the account")
	}
	// QR: Enter closes it.
	h.auth.showQR("gh0000000001")
	press(c, fyne.KeyReturn)
	if c.Overlays().Top() != nil {
		t.Error("Enter did not close the QR code")
	}

	// Set passphrase: Enter in either field sets it, once they agree.
	s := h.main.settings
	shortcut(c, ctrl(fyne.Key2))
	s.showPassphrase(false, true)
	test.Type(s.form.next, "open sesame")
	test.Type(s.form.repeat, "open sesam")
	c.Focus(s.form.repeat)
	press(c, fyne.KeyReturn)
	if !h.storedVerifier(t).IsZero() || c.Overlays().Top() == nil {
		t.Fatal("Enter set a passphrase typed differently twice")
	}
	test.Type(s.form.repeat, "e")
	press(c, fyne.KeyReturn)
	if !h.storedVerifier(t).Check("open sesame") || c.Overlays().Top() != nil {
		t.Error("Enter in Repeat it did not set the passphrase")
	}
}

func TestEnterInOtherScreensDialogs(t *testing.T) {
	t.Run("pair", func(t *testing.T) {
		h := newApprovalsHarness(t, newFakeApprovals())
		c := h.win.Canvas()
		h.s.showPair()
		test.Type(h.s.pair.server, "https://accounts.example.com")
		test.Type(h.s.pair.code, "K7Q9-M2XD")
		c.Focus(h.s.pair.code)
		press(c, fyne.KeyReturn)
		h.s.busy.Wait()
		if len(h.svc.paired) != 1 {
			t.Errorf("Enter in the pairing code paired %v", h.svc.paired)
		}
	})
	t.Run("rename", func(t *testing.T) {
		h := newDashHarness(t, household())
		c := h.win.Canvas()
		var got string
		h.d.askName("Rename", "Name", "Rename", "Firefox", func(n string) { got = n })
		c.Focused().(*dialogEntry).SetText("Firefox at home")
		press(c, fyne.KeyReturn)
		if got != "Firefox at home" || c.Overlays().Top() != nil {
			t.Errorf("Enter in the name: saved %q, dialog %T", got, c.Overlays().Top())
		}
	})
	t.Run("PIN", func(t *testing.T) {
		h := newKeyWithPIN(t)
		c := h.win.Canvas()
		got := make(chan string, 1)
		h.keys.withPIN("Passkeys", "Show", "", func(_, p string) error { got <- p; return nil }, func(string, error) {})
		test.Type(c.Focused(), "1234")
		press(c, fyne.KeyReturn)
		select {
		case pin := <-got:
			if pin != "1234" {
				t.Errorf("Enter in the PIN went on with %q", pin)
			}
		case <-time.After(5 * time.Second):
			t.Error("Enter in the PIN did not go on")
		}
	})
}

func TestCtrlZTakesTheToastsUndo(t *testing.T) {
	h := newHarness(t, fixture())
	c := h.win.Canvas()
	undone := 0
	h.main.toast.showUndo("Moved Firefox to Sam", func() { undone++ })
	shortcut(c, &fyne.ShortcutUndo{})
	if undone != 1 || h.main.toast.visibleText() != "" {
		t.Errorf("Ctrl+Z: undone %d times, toast %q; want once and gone", undone, h.main.toast.visibleText())
	}
	shortcut(c, &fyne.ShortcutUndo{})
	if undone > 1 {
		t.Errorf("a second Ctrl+Z undid again")
	}
}
