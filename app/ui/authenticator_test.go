package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/vault"
)

func TestListRendersAccounts(t *testing.T) {
	h := newHarness(t, fixture())
	test.AssertRendersToMarkup(t, "authenticator/accounts.xml", h.win.Canvas())

	for _, tc := range []struct{ id, issuer, name, code string }{
		{"gh0000000001", "GitHub", "alice@example.com", "050 471"}, // RFC 6238 at 1111111111, 6 digits
		{"vp0000000003", "Corp VPN", "bob", "4050 471"},
		{"bk0000000002", "Example Bank", "alice", "14 050 471"},
		{"ac0000000005", "Acme", "carol", ""}, // HOTP: no code until asked
	} {
		r := h.row(t, tc.id)
		if r.issuer.Text != tc.issuer || r.name.Text != tc.name || r.code.Text != tc.code {
			t.Errorf("row %s shows %q, %q, %q; want %q, %q, %q", tc.id,
				r.issuer.Text, r.name.Text, r.code.Text, tc.issuer, tc.name, tc.code)
		}
	}
	if r := h.row(t, "st0000000004"); len(r.code.Text) != 5 || strings.Contains(r.code.Text, " ") {
		t.Errorf("Steam row shows %q, want five characters ungrouped", r.code.Text)
	}
	gh := h.row(t, "gh0000000001")
	// 29 s left: the ring shows the 5-second step, 30.
	if gh.ring.remaining != 30 || gh.ring.period != 30 || !gh.ringBox.Visible() || gh.nextHOTPBox.Visible() {
		t.Errorf("GitHub countdown: %d of %d s (shown %v, next-code button %v), want 30 of 30",
			gh.ring.remaining, gh.ring.period, gh.ringBox.Visible(), gh.nextHOTPBox.Visible())
	}
	if acme := h.row(t, "ac0000000005"); acme.ringBox.Visible() || !acme.nextHOTPBox.Visible() {
		t.Error("HOTP row: want a Next code button and no countdown")
	}
}

func TestPinnedFirst(t *testing.T) {
	h := newHarness(t, fixture())
	want := []string{"gh0000000001", "ac0000000005", "vp0000000003", "bk0000000002", "st0000000004"}
	if got := h.viewIDs(); !slices.Equal(got, want) {
		t.Errorf("order %v, want %v (pinned first, then by issuer)", got, want)
	}
	if h.selected() != "gh0000000001" {
		t.Errorf("selected %q at start, want the first account", h.selected())
	}
}

func TestSearch(t *testing.T) {
	h := newHarness(t, fixture())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"bank", []string{"bk0000000002"}},
		{"ALICE", []string{"gh0000000001", "bk0000000002"}}, // names, any case
		{"work", []string{"gh0000000001", "vp0000000003"}},  // tags "Work" and "work"
		{"alice personal", []string{"bk0000000002"}},        // every word must match
		{"nothing-like-this", nil},
		{"", []string{"gh0000000001", "ac0000000005", "vp0000000003", "bk0000000002", "st0000000004"}},
	} {
		h.auth.search.SetText("")
		test.Type(h.auth.search, tc.query)
		if got := h.viewIDs(); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %v, want %v", tc.query, got, tc.want)
		}
		if wantSel := ""; len(tc.want) > 0 {
			wantSel = tc.want[0]
			if h.selected() != wantSel {
				t.Errorf("search %q selects %q, want the first match %q", tc.query, h.selected(), wantSel)
			}
		}
	}

	test.Type(h.auth.search, "zzz")
	if !h.auth.empty.Visible() || h.auth.emptyTitle.Text != "No accounts match" {
		t.Errorf("no match: empty state %v %q", h.auth.empty.Visible(), h.auth.emptyTitle.Text)
	}
	h.auth.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if h.auth.search.Text != "" || len(h.auth.view) != 5 || h.auth.empty.Visible() {
		t.Errorf("Esc left search %q and %d accounts", h.auth.search.Text, len(h.auth.view))
	}
}

func TestTagFilter(t *testing.T) {
	h := newHarness(t, fixture())
	if want := []string{allTags, "Finance", "Personal", "Work"}; !slices.Equal(h.auth.tags.Options, want) {
		t.Errorf("tag choices %v, want %v (each tag once, whatever its case)", h.auth.tags.Options, want)
	}
	h.auth.tags.SetSelected("Work")
	if got, want := h.viewIDs(), []string{"gh0000000001", "vp0000000003"}; !slices.Equal(got, want) {
		t.Errorf("tag Work: %v, want %v", got, want)
	}
	test.Type(h.auth.search, "vpn")
	if got, want := h.viewIDs(), []string{"vp0000000003"}; !slices.Equal(got, want) {
		t.Errorf("tag Work and search vpn: %v, want %v", got, want)
	}
	h.auth.tags.SetSelected(allTags)
	if got := len(h.viewIDs()); got != 1 {
		t.Errorf("all tags and search vpn: %d accounts, want 1", got)
	}

	untagged := newHarness(t, fixture()[1:3])
	if untagged.auth.tags.Visible() {
		t.Error("the tag filter shows although no account has a tag")
	}
}

func TestTapCopiesCodeAndToasts(t *testing.T) {
	h := newHarness(t, fixture())
	test.Tap(h.row(t, "bk0000000002"))
	if got, want := h.clipboard(), "14050471"; got != want {
		t.Errorf("clipboard %q after a tap, want %q (ungrouped)", got, want)
	}
	if h.selected() != "bk0000000002" {
		t.Errorf("tap selected %q", h.selected())
	}
	if got := h.main.toast.visibleText(); got != "Code copied" {
		t.Errorf("toast %q, want Code copied", got)
	}
	test.AssertRendersToMarkup(t, "authenticator/copied.xml", h.win.Canvas())
	h.clock.Advance(toastDuration)
	if got := h.main.toast.visibleText(); got != "" {
		t.Errorf("toast %q still there after %s", got, toastDuration)
	}
}

func TestClipboardClearedAfter30s(t *testing.T) {
	h := newHarness(t, fixture())
	test.Tap(h.row(t, "gh0000000001"))
	code := h.clipboard()
	h.clock.Advance(clipboardTTL - time.Second)
	if h.clipboard() != code {
		t.Fatalf("clipboard %q after 29 s, want the code %q", h.clipboard(), code)
	}
	h.clock.Advance(time.Second)
	if h.clipboard() != "" {
		t.Errorf("clipboard %q after 30 s, want it cleared", h.clipboard())
	}

	// Something else copied meanwhile stays.
	test.Tap(h.row(t, "gh0000000001"))
	h.clock.Advance(10 * time.Second)
	h.app.Clipboard().SetContent("my password")
	h.clock.Advance(clipboardTTL)
	if h.clipboard() != "my password" {
		t.Errorf("clipboard %q: a later copy was cleared", h.clipboard())
	}

	// Two codes copied in turn: the first one's timer leaves the second.
	test.Tap(h.row(t, "gh0000000001"))
	h.clock.Advance(10 * time.Second)
	test.Tap(h.row(t, "bk0000000002"))
	h.clock.Advance(clipboardTTL - 5*time.Second)
	if h.clipboard() != h.code(t, "bk0000000002", h.clock.Now().Add(-25*time.Second)) {
		t.Errorf("clipboard %q: the second code was cleared by the first one's timer", h.clipboard())
	}
}

func TestClosingClearsCopiedCode(t *testing.T) {
	h := newHarness(t, fixture())
	test.Tap(h.row(t, "gh0000000001"))
	h.close()
	if h.clipboard() != "" {
		t.Errorf("clipboard %q after the window closed, want it cleared", h.clipboard())
	}
}

func TestHOTPNextCode(t *testing.T) {
	h := newHarness(t, fixture())
	const acme = "ac0000000005"
	test.Tap(h.row(t, acme))
	if h.clipboard() != "" || len(h.store.nextHOTP) != 0 {
		t.Fatalf("tapping an HOTP row before asking copied %q and advanced the counter %d times",
			h.clipboard(), len(h.store.nextHOTP))
	}
	test.Tap(h.row(t, acme).nextHOTP)
	if !slices.Equal(h.store.nextHOTP, []string{acme}) {
		t.Fatalf("NextHOTP calls %v, want [%s]", h.store.nextHOTP, acme)
	}
	if got := h.row(t, acme).code.Text; got != "755 224" { // RFC 4226, counter 0
		t.Errorf("HOTP row shows %q, want 755 224", got)
	}
	test.Tap(h.row(t, acme))
	if h.clipboard() != "755224" {
		t.Errorf("clipboard %q, want 755224", h.clipboard())
	}
	h.clock.Advance(10 * time.Second) // ticks and a reload keep the code on view
	test.Tap(h.row(t, acme).nextHOTP)
	if got := h.row(t, acme).code.Text; got != "287 082" { // counter 1
		t.Errorf("second code %q, want 287 082", got)
	}
}

func TestCountdownTicksAndShowsNextCode(t *testing.T) {
	h := newHarness(t, fixture())
	const gh = "gh0000000001"
	h.clock.Advance(24 * time.Second) // 5 s left
	r := h.row(t, gh)
	if r.ring.remaining != 10 || strings.TrimSpace(r.next.Text) != "" { // the ring's last 10-second step
		t.Errorf("5 s left: countdown %d, next %q; want 10 and no next code", r.ring.remaining, r.next.Text)
	}
	h.clock.Advance(time.Second)
	next := groupCode(h.code(t, gh, start.Add(29*time.Second)))
	if r := h.row(t, gh); r.ring.remaining != 4 || r.next.Text != "next "+next {
		t.Errorf("4 s left: countdown %d, next %q; want 4 and next %s", r.ring.remaining, r.next.Text, next)
	}
	h.clock.Advance(3 * time.Second) // the last seconds are one step
	if r := h.row(t, gh); r.ring.remaining != 4 || r.next.Text != "next "+next {
		t.Errorf("1 s left: countdown %d, next %q; want 4 and next %s", r.ring.remaining, r.next.Text, next)
	}
	h.clock.Advance(time.Second) // a new period
	if r := h.row(t, gh); r.ring.remaining != 30 || r.code.Text != next || strings.TrimSpace(r.next.Text) != "" {
		t.Errorf("new period: countdown %d, code %q, next %q; want 30, %s and none", r.ring.remaining, r.code.Text, r.next.Text, next)
	}
	if n := h.clock.Pending(); n != 1 {
		t.Errorf("%d timers pending while ticking, want the one ticker", n)
	}
	h.close()
	if n := h.clock.Pending(); n != 0 {
		t.Errorf("%d timers pending after the window closed, want none", n)
	}
}

func TestReloadShowsChangesFromElsewhere(t *testing.T) {
	h := newHarness(t, fixture())
	h.store.accounts = append(h.store.accounts, vault.Account{ID: "nw0000000006",
		Key: otp.Key{Type: otp.TOTP, Issuer: "Added Elsewhere", Name: "zoe", Secret: rfcSecret}})
	h.clock.Advance((reloadTicks + 1) * time.Second)
	if !slices.Contains(h.viewIDs(), "nw0000000006") {
		t.Errorf("an account added by another process is not shown after %d s", reloadTicks+1)
	}

	h.store.reloadErr = errors.New("vault cannot be opened: bad file")
	h.clock.Advance(reloadTicks * time.Second)
	if !h.auth.problem.Visible() || !strings.Contains(h.auth.problem.Text, "bad file") {
		t.Errorf("a failed reload shows %q", h.auth.problem.Text)
	}
	if len(h.viewIDs()) != 6 {
		t.Error("a failed reload emptied the list")
	}
	h.store.reloadErr = nil
	h.clock.Advance(reloadTicks * time.Second)
	if h.auth.problem.Visible() {
		t.Error("the problem stays after a reload succeeded")
	}
}

func TestKeyboard(t *testing.T) {
	h := newHarness(t, fixture())
	c := h.win.Canvas()
	if c.Focused() != nil {
		t.Fatalf("focus %T at start, want nothing (a focused entry's cursor keeps redrawing)", c.Focused())
	}
	test.TypeOnCanvas(c, "g")
	if c.Focused() != h.auth.search || h.auth.search.Text != "g" {
		t.Fatalf("typing in the window: focus %T, search %q; want the search field holding g", c.Focused(), h.auth.search.Text)
	}
	h.auth.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if c.Focused() != nil || h.auth.search.Text != "" {
		t.Fatalf("Esc: focus %T, search %q; want nothing focused and an empty search", c.Focused(), h.auth.search.Text)
	}
	h.auth.focusSearch()
	key := func(name fyne.KeyName) { h.auth.search.TypedKey(&fyne.KeyEvent{Name: name}) }

	key(fyne.KeyDown)
	key(fyne.KeyDown)
	if h.selected() != "vp0000000003" {
		t.Errorf("two Downs select %q, want the third account", h.selected())
	}
	key(fyne.KeyUp)
	if h.selected() != "ac0000000005" {
		t.Errorf("Up selects %q, want the second account", h.selected())
	}
	for range 10 {
		key(fyne.KeyUp)
	}
	if h.selected() != "gh0000000001" {
		t.Errorf("Up past the top selects %q", h.selected())
	}
	key(fyne.KeyReturn)
	if h.clipboard() != "050471" {
		t.Errorf("Enter copied %q, want 050471", h.clipboard())
	}

	key(fyne.KeyDown)
	key(fyne.KeyDown)
	h.auth.search.TypedShortcut(&fyne.ShortcutCopy{Clipboard: h.app.Clipboard()})
	if h.clipboard() != "4050471" {
		t.Errorf("Ctrl+C in the search field copied %q, want the selected code 4050471", h.clipboard())
	}

	// With nothing focused, the window routes keys and shortcuts to the screen.
	c.Unfocus()
	c.(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutCopy{})
	if h.clipboard() != "4050471" {
		t.Errorf("Ctrl+C copied %q", h.clipboard())
	}
	h.auth.typedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	c.(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault})
	if c.Focused() != h.auth.search {
		t.Errorf("Ctrl+F focused %T, want the search field", c.Focused())
	}
	// Keys typed behind a dialog stay there.
	h.menuAction(t, "gh0000000001", "Show as QR code…")
	c.Unfocus()
	before := h.selected()
	h.app.Clipboard().SetContent("")
	c.(fyne.Shortcutable).TypedShortcut(&fyne.ShortcutCopy{})
	test.TypeOnCanvas(c, "x")
	if h.clipboard() != "" || h.auth.search.Text != "" || h.selected() != before {
		t.Errorf("keys behind a dialog reached the list: clipboard %q, search %q", h.clipboard(), h.auth.search.Text)
	}
	h.auth.dialog.Hide()
	h.auth.focusSearch()

	test.Type(h.auth.search, "steam")
	key(fyne.KeyEnter)
	if len(h.clipboard()) != 5 {
		t.Errorf("typing steam and Enter copied %q, want the Steam code", h.clipboard())
	}
	key(fyne.KeyEscape)
	if h.auth.search.Text != "" {
		t.Errorf("Esc left %q in the search field", h.auth.search.Text)
	}
}

func TestEditDialogSaves(t *testing.T) {
	h := newHarness(t, fixture())
	const vpn = "vp0000000003"
	h.menuAction(t, vpn, "Edit…")
	f := h.auth.form
	if f == nil || f.issuer.Text != "Corp VPN" || f.name.Text != "bob" || f.tags.Text != "work" || f.pinned.Checked {
		t.Fatalf("edit form does not show the account: %+v", f)
	}
	test.AssertRendersToMarkup(t, "authenticator/edit.xml", h.win.Canvas())

	f.issuer.SetText("Corp VPN (new)")
	f.tags.SetText(" work, remote ,, ")
	f.notes.SetText("gateway vpn.example")
	f.pinned.SetChecked(true)
	h.auth.dialog.(*dialog.FormDialog).Submit()

	i := slices.IndexFunc(h.store.accounts, func(a vault.Account) bool { return a.ID == vpn })
	a := h.store.accounts[i]
	if a.Issuer != "Corp VPN (new)" || !slices.Equal(a.Tags, []string{"work", "remote"}) || !a.Pinned || a.Notes != "gateway vpn.example" {
		t.Errorf("saved %q %v pinned=%v notes=%q", a.Issuer, a.Tags, a.Pinned, a.Notes)
	}
	if got := h.viewIDs()[:2]; !slices.Equal(got, []string{vpn, "gh0000000001"}) {
		t.Errorf("after pinning, the list starts %v", got)
	}
	if r := h.row(t, vpn); r.issuer.Text != "Corp VPN (new)" {
		t.Errorf("row shows %q after the edit", r.issuer.Text)
	}
	if !slices.Contains(h.auth.tags.Options, "remote") {
		t.Errorf("new tag missing from the filter: %v", h.auth.tags.Options)
	}
}

func TestEditRefusesAnEmptyName(t *testing.T) {
	h := newHarness(t, fixture())
	h.menuAction(t, "vp0000000003", "Edit…")
	h.auth.form.name.SetText("  ")
	h.auth.dialog.(*dialog.FormDialog).Submit()
	if a := h.store.accounts[4]; a.Name != "bob" {
		t.Errorf("an empty name was saved: %q", a.Name)
	}
}

func TestDeleteAsksThenRemoves(t *testing.T) {
	h := newHarness(t, fixture())
	const bank = "bk0000000002"
	h.menuAction(t, bank, "Delete…")
	d, ok := h.auth.dialog.(*dangerConfirm)
	if !ok {
		t.Fatalf("Delete… shows %T, want a confirmation", h.auth.dialog)
	}
	if !strings.Contains(shownText(h.win.Canvas()), "Delete Example Bank (alice) from this computer?") {
		t.Error("the confirmation does not name the account")
	}
	if len(h.store.accounts) != 5 {
		t.Fatal("removed before the confirmation")
	}
	d.Dismiss() // Keep
	if len(h.store.accounts) != 5 {
		t.Fatal("removed although the person chose Keep")
	}

	h.menuAction(t, bank, "Delete…")
	h.auth.dialog.(*dangerConfirm).Confirm()
	if slices.ContainsFunc(h.store.accounts, func(a vault.Account) bool { return a.ID == bank }) {
		t.Error("still in the store after Delete")
	}
	if slices.Contains(h.viewIDs(), bank) {
		t.Error("still in the list after Delete")
	}
	if got := h.main.toast.visibleText(); got != "Deleted Example Bank (alice)" {
		t.Errorf("toast %q", got)
	}
	if slices.Contains(h.auth.tags.Options, "Finance") {
		t.Errorf("the deleted account's tags are still offered: %v", h.auth.tags.Options)
	}
}

func TestShowQR(t *testing.T) {
	h := newHarness(t, fixture())
	h.menuAction(t, "gh0000000001", "Show as QR code…")
	if !strings.Contains(shownText(h.win.Canvas()), "contains the account's secret") {
		t.Error("the QR dialog does not warn that it shows the secret")
	}
	var img *canvas.Image
	for _, o := range laidOut(h.win.Canvas().Overlays().Top()) {
		if i, ok := o.(*canvas.Image); ok && i.Resource != nil && i.Resource.Name() == "account-qr.png" {
			img = i
		}
	}
	if img == nil {
		t.Fatal("no QR image in the dialog")
	}
	codes, err := qr.DecodeBytes(img.Resource.Content())
	if err != nil {
		t.Fatal(err)
	}
	want := h.store.accounts[3].Key.URI()
	if len(codes) != 1 || codes[0].Text != want {
		t.Errorf("QR holds %v, want %s", codes, want)
	}
}

func TestEmptyVault(t *testing.T) {
	h := newHarness(t, nil)
	test.AssertRendersToMarkup(t, "authenticator/empty.xml", h.win.Canvas())
	if !h.auth.empty.Visible() || h.auth.emptyTitle.Text != "No accounts yet" {
		t.Errorf("empty vault shows %q", h.auth.emptyTitle.Text)
	}
	if !h.auth.emptyAdd.Visible() {
		t.Error("the empty vault does not offer the ways to add accounts")
	}
	h.auth.typedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // nothing to copy, nothing breaks
	if h.clipboard() != "" {
		t.Errorf("Enter in an empty vault copied %q", h.clipboard())
	}
}

func TestWindowSizeRemembered(t *testing.T) {
	h := newHarness(t, fixture())
	if got := h.win.Canvas().Size(); got != defaultWindowSize {
		t.Errorf("first start: %v, want %v", got, defaultWindowSize)
	}
	h.win.Resize(fyne.NewSize(700, 900))
	h.close()

	w := test.NewTempWindow(t, nil)
	NewMain(h.app, w, Deps{Vault: h.store, Now: h.clock.Now, After: h.clock.After})
	if got := w.Canvas().Size(); got != fyne.NewSize(700, 900) {
		t.Errorf("reopened at %v, want 700x900", got)
	}
	w.Resize(fyne.NewSize(100, 100))
	if got := w.Content().MinSize(); got.Width < minWindowSize.Width || got.Height < minWindowSize.Height {
		t.Errorf("content min size %v, want at least %v", got, minWindowSize)
	}
}

func TestCountdownSteps(t *testing.T) {
	a := vault.Account{Key: otp.Key{Type: otp.TOTP, Secret: []byte("12345678901234567890"), Period: 30}}
	for _, tc := range []struct {
		unix int64
		want int
	}{
		{60, 30}, {61, 30}, {69, 30}, {70, 20}, {71, 20}, {80, 10}, {84, 10}, {85, 10}, {86, 4}, {87, 4}, {88, 4}, {89, 4}, {90, 30},
	} {
		if got := ringSeconds(a, time.Unix(tc.unix, 0)); got != tc.want {
			t.Errorf("ringSeconds at %d = %d, want %d", tc.unix, got, tc.want)
		}
	}
}

// TestIdleTicksDoNotRedraw: the window is redrawn only when a row would
// show something new, so an idle window does not redraw every second.
func TestIdleTicksDoNotRedraw(t *testing.T) {
	h := newHarness(t, fixture())
	s := h.auth
	changes := 0
	prev := s.viewSignature(time.Unix(60, 0))
	for sec := int64(61); sec <= 90; sec++ {
		if sig := s.viewSignature(time.Unix(sec, 0)); sig != prev {
			changes++
			prev = sig
		}
	}
	// Over one 30 s period of 30 s accounts (and a 60 s one, whose steps
	// fall on the same seconds): steps at 70 and 80, the last seconds at 86
	// and the new period at 90.
	if changes != 4 {
		t.Errorf("%d redraws over 30 s, want 4 (not one a second)", changes)
	}
}

// TestDeleteAsksWithWords: the confirmation of a deletion has no tick to
// click by reflex: its action is a danger button that says Delete.
func TestDeleteAsksWithWords(t *testing.T) {
	h := newHarness(t, fixture())
	h.menuAction(t, "bk0000000002", "Delete…")
	var danger []string
	for _, o := range laidOut(h.win.Canvas().Overlays().Top()) {
		b, ok := o.(*widget.Button)
		if !ok {
			continue
		}
		if b.Icon != nil && b.Icon.Name() == theme.ConfirmIcon().Name() {
			t.Errorf("the button %q of the confirmation shows a tick", b.Text)
		}
		if b.Importance == widget.DangerImportance {
			danger = append(danger, b.Text)
		}
	}
	if !slices.Equal(danger, []string{"Delete"}) {
		t.Errorf("the confirmation's danger buttons are %q, want one that says Delete", danger)
	}
}
