//go:build cgo

package ui

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// uiQueue holds the work handed back to the UI goroutine until drain runs
// it on the test's goroutine.
type uiQueue chan func()

func (q uiQueue) do(f func()) { q <- f }

// drain runs the queued work until cond holds.
func (q uiQueue) drain(t *testing.T, what string, cond func() bool, shown func() string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !cond() {
		select {
		case f := <-q:
			f()
		case <-deadline:
			t.Fatalf("timed out waiting for %s; the window shows:\n%s", what, shown())
		}
	}
}

// pluggedKey is a software key configured by a link that exists while it
// is plugged in.
type pluggedKey struct {
	*softkey.Key
	link    string
	touches chan bool // nil: touched at once
}

func startPluggedKey(t *testing.T, name, pin string, manual bool) *pluggedKey {
	t.Helper()
	p := &pluggedKey{link: filepath.Join(t.TempDir(), name)}
	opts := softkey.Options{Link: p.link}
	if manual {
		p.touches = make(chan bool)
		opts.Presence = softkey.ManualPresence(p.touches)
	}
	p.Key = softkeytest.Start(t, opts)
	if pin != "" {
		k, err := fido.Open(p.link)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.SetPIN(pin); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *pluggedKey) plug(t *testing.T, in bool) {
	t.Helper()
	var err error
	if in {
		err = p.Plug()
	} else {
		err = p.Unplug()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// keysAt is the security keys at the links of keys, as COUNTERSIGN_FIDO_DEVICES names them.
func keysAt(keys ...*pluggedKey) KeyService {
	var links []string
	for _, k := range keys {
		links = append(links, k.link)
	}
	return FidoKeys(func(string) string { return strings.Join(links, ":") })
}

// TestSecurityKeySlots adds two software keys to a real vault from
// Settings (one with a PIN, two touches each, a wrong PIN and a cancel on
// the way), empties the keyring, opens the vault from the opening screen
// with a touch (the PIN asked for the PIN key's slot only, a key without a
// slot refused in words), and removes a key.
func TestSecurityKeySlots(t *testing.T) {
	const pin = "2468"
	blue := startPluggedKey(t, "blue", pin, true) // a PIN; touched by the test
	grey := startPluggedKey(t, "grey", "", false) // no PIN
	stray := startPluggedKey(t, "stray", "", false)
	grey.plug(t, false)
	stray.plug(t, false)
	all := keysAt(blue, grey, stray)

	h := newSlotHarnessWith(t, start, fixture(), nil, Deps{Keys: all})
	q := make(uiQueue, 64)
	ks := h.main.keySlots
	ks.ui = q.do
	h.openSettings()
	shown := func() string { return shownText(h.win.Canvas()) }
	if !ks.root.Visible() || ks.status.Text != "No security key opens your accounts." {
		t.Fatalf("Settings shows no security keys section, or says %q", ks.status.Text)
	}

	// The key with a PIN: a wrong PIN said in the dialog, then two touches.
	test.Tap(ks.add)
	a := ks.adding
	q.drain(t, "the key ready", func() bool { return strings.Contains(a.status.Text, "is ready") }, shown)
	if !a.pinItem.Visible() || a.warn.Visible() {
		t.Errorf("a key with a PIN: PIN asked %v, no-PIN warning %v; want the PIN asked and no warning", a.pinItem.Visible(), a.warn.Visible())
	}
	if a.name.Text != "Countersign software key" {
		t.Errorf("the name offered is %q, want the key's model", a.name.Text)
	}
	a.name.SetText("Blue key")
	test.Type(a.pin, "1357")
	a.onAdd()
	q.drain(t, "the wrong PIN", func() bool { return a.problem.Visible() }, shown)
	if want := "Wrong PIN — 7 tries left before the PIN is blocked."; a.problem.Text != want {
		t.Errorf("a wrong PIN says %q, want %q", a.problem.Text, want)
	}
	test.Type(a.pin, pin)
	a.onAdd()
	q.drain(t, "the first touch asked", func() bool { return strings.Contains(a.status.Text, "(1 of 2)") }, shown)
	blue.touches <- true
	q.drain(t, "the second touch asked", func() bool { return strings.Contains(a.status.Text, "(2 of 2)") }, shown)
	blue.touches <- true
	q.drain(t, "the key added", func() bool { return h.main.toast.visibleText() == "“Blue key” opens your accounts now" }, shown)
	if ks.adding != nil {
		t.Error("the Add dialog is still open")
	}

	// Cancel while the key waits for its touch: nothing is added.
	test.Tap(ks.add)
	a = ks.adding
	q.drain(t, "the key ready again", func() bool { return a.ok.Visible() && !a.ok.Disabled() }, shown)
	a.name.SetText("Blue again")
	test.Type(a.pin, pin)
	a.onAdd()
	q.drain(t, "the touch asked", func() bool { return strings.Contains(a.status.Text, "(1 of 2)") }, shown)
	tapDialog(t, h.win.Canvas(), "Cancel")
	if got := h.main.toast.visibleText(); got != "Cancelled: no security key was added" {
		t.Errorf("cancelling says %q", got)
	}
	ks.busy.Wait()

	// The key without a PIN: warned, added with its touches.
	blue.plug(t, false)
	grey.plug(t, true)
	test.Tap(ks.add)
	a = ks.adding
	q.drain(t, "the grey key ready", func() bool { return strings.Contains(a.status.Text, "is ready") }, shown)
	if a.pinItem.Visible() || !a.warn.Visible() {
		t.Errorf("a key without a PIN: PIN asked %v, warning %v; want no PIN and the warning", a.pinItem.Visible(), a.warn.Visible())
	}
	if a.name.Text != "Countersign software key" {
		t.Errorf("the name offered is %q", a.name.Text)
	}
	a.name.SetText("blue KEY")
	a.onAdd()
	if !strings.Contains(a.problem.Text, "opens your accounts already") {
		t.Errorf("a name taken says %q", a.problem.Text)
	}
	a.name.SetText("Grey key")
	a.onAdd()
	q.drain(t, "the grey key added", func() bool { return ks.adding == nil }, shown)
	slots, err := vault.SecurityKeySlots(h.dir)
	if err != nil || len(slots) != 2 || !slots[0].UV || slots[1].UV {
		t.Fatalf("slots after adding: %+v, %v; want Blue key with its PIN and Grey key without", slots, err)
	}
	if got := shown(); !strings.Contains(got, "These 2 security keys open your accounts:") || strings.Count(got, "This key has no PIN") != strings.Count(got, "Blue key") ||
		!strings.Contains(got, "opens with its PIN and a touch") || !strings.Contains(got, "opens with a touch, no PIN") {
		t.Errorf("Settings lists the keys as\n%s", got)
	}

	// A new keyring, as a reinstalled computer's: the keyring lacks the key.
	fresh := func() vault.KeyStore { return testkit.Keyring(t) }
	openScreen := func(keys vault.KeyStore) (*Recovery, func() *vault.Vault) {
		_, err := vault.Open(h.dir, vault.Options{Keys: keys})
		if !errors.Is(err, vault.ErrKeyMissing) {
			t.Fatalf("opening with a fresh keyring: %v, want ErrKeyMissing", err)
		}
		w := test.NewTempWindow(t, nil)
		var opened *vault.Vault
		rec := &Recovery{Dir: h.dir, Options: vault.Options{Keys: keys}, Keys: all, ui: q.do, Opened: func(v *vault.Vault) { opened = v }}
		showOpenError(h.app, w, err, nil, nil, rec)
		if rec.keys == nil {
			t.Fatalf("the opening screen offers no security key:\n%s", shownText(w.Canvas()))
		}
		t.Cleanup(rec.keys.busy.Wait)
		t.Cleanup(rec.keys.halt)
		return rec, func() *vault.Vault { return opened }
	}

	// A key without a slot, then the grey key: a touch, no PIN.
	grey.plug(t, false)
	stray.plug(t, true)
	keyring := fresh()
	rec, opened := openScreen(keyring)
	o := rec.keys
	oshown := func() string { return shownText(o.m.win.Canvas()) }
	q.drain(t, "the stray key refused", func() bool { return strings.Contains(o.status.Text, "not added to your accounts") }, oshown)
	if want := "This security key was not added to your accounts, so it cannot open them. Insert the one you added (“Blue key”, “Grey key”), or use the recovery key."; o.status.Text != want {
		t.Errorf("a key with no slot says\n%q, want\n%q", o.status.Text, want)
	}
	stray.plug(t, false)
	grey.plug(t, true)
	q.drain(t, "the grey key opening the vault", func() bool { return opened() != nil }, oshown)
	if o.pin.Visible() {
		t.Error("the PIN was asked for a slot made without one")
	}
	if got, want := len(opened().Accounts()), len(fixture()); got != want {
		t.Errorf("%d accounts open, want %d", got, want)
	}
	if _, err := vault.Open(h.dir, vault.Options{Keys: keyring}); err != nil {
		t.Errorf("the key is not back in the keyring: %v", err)
	}

	// The blue key: its PIN (a wrong one first), then a touch.
	grey.plug(t, false)
	blue.plug(t, true)
	rec, opened = openScreen(fresh())
	o = rec.keys
	q.drain(t, "the PIN asked", func() bool { return o.pin.Visible() }, oshown)
	test.Type(o.pin, "1357")
	tapDialog(t, o.m.win.Canvas(), "Unlock")
	q.drain(t, "the wrong PIN", func() bool { return o.problem.Visible() }, oshown)
	if want := "Wrong PIN — 7 tries left before the PIN is blocked."; o.problem.Text != want || o.pin.Text != "" {
		t.Errorf("a wrong PIN says %q and leaves %q in the field; want %q and an empty field", o.problem.Text, o.pin.Text, want)
	}
	test.Type(o.pin, pin)
	tapDialog(t, o.m.win.Canvas(), "Unlock")
	q.drain(t, "the touch asked", func() bool { return strings.HasPrefix(o.status.Text, "Touch the key “Blue key” now") }, oshown)
	blue.touches <- true
	q.drain(t, "the blue key opening the vault", func() bool { return opened() != nil }, oshown)

	// Remove the grey key, after a question.
	for _, s := range slots {
		if s.Name == "Grey key" {
			ks.confirmRemove(s)
		}
	}
	if got := shown(); !strings.Contains(got, "The key “Grey key” will no longer open your accounts.") {
		t.Errorf("the question says\n%s", got)
	}
	tapDialog(t, h.win.Canvas(), "Remove")
	if left, _ := vault.SecurityKeySlots(h.dir); len(left) != 1 || left[0].Name != "Blue key" {
		t.Errorf("slots after removing: %+v, want Blue key only", left)
	}
	if got := shown(); !strings.Contains(got, "This security key opens your accounts:") || strings.Contains(got, "Grey key") {
		t.Errorf("Settings after removing shows\n%s", got)
	}
}

// addKeySlot gives the vault v a slot for the key at link, straight
// through the library (no window).
func addKeySlot(t *testing.T, v *vault.Vault, link, name, pin string) {
	t.Helper()
	k, err := fido.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	salt, err := v.SecurityKeySalt()
	if err != nil {
		t.Fatal(err)
	}
	cred, secret, err := k.EnrollVault(t.Context(), salt, pin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.AddSecurityKeySlot(vault.SecurityKey{Name: name, AAGUID: cred.AAGUID, CredentialID: cred.ID, Salt: salt, UV: cred.UV}, secret); err != nil {
		t.Fatal(err)
	}
}

// TestOpenWithSecurityKeyNotResealed: a keyring that refuses the key
// leaves the vault open, and the window says the next start needs a
// security key again, as after the recovery key.
func TestOpenWithSecurityKeyNotResealed(t *testing.T) {
	key := startPluggedKey(t, "key", "", false)
	dir := t.TempDir()
	keys := &recordingKeys{Secrets: testkit.Keyring(t)}
	addKeySlot(t, openVault(t, dir, keys, nil, fixture()), key.link, "Grey key", "")
	fresh := testkit.Keyring(t)
	_, err := vault.Open(dir, vault.Options{Keys: fresh})
	q := make(uiQueue, 64)
	w := test.NewTempWindow(t, nil)
	var opened *vault.Vault
	rec := &Recovery{Dir: dir, Options: vault.Options{Keys: refusingKeys{fresh}}, Keys: keysAt(key), ui: q.do,
		Opened: func(v *vault.Vault) { opened = v }}
	showOpenError(newTestApp(t), w, err, nil, nil, rec)
	if rec.keys == nil {
		t.Fatalf("no security key offered:\n%s", shownText(w.Canvas()))
	}
	t.Cleanup(rec.keys.busy.Wait)
	q.drain(t, "the vault opened", func() bool { return opened != nil }, func() string { return shownText(w.Canvas()) })
	if shown := shownText(w.Canvas()); !strings.Contains(shown, "The next start needs a security key again") {
		t.Errorf("the window does not say the next start needs the key:\n%s", shown)
	}
}

// TestSecurityKeyScreensDrawTextInCheckedColours draws Settings with a key
// without a PIN, the Add dialog and the opening screen's dialog light and
// dark, and finds every text in a colour the contrast test checks.
func TestSecurityKeyScreensDrawTextInCheckedColours(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant.name, func(t *testing.T) {
			th := variantTheme{Theme(), variant.v}
			key := startPluggedKey(t, "key", "", false)
			h := newSlotHarnessWith(t, start, fixture(), func(_ string, v *vault.Vault) {
				addKeySlot(t, v, key.link, "Grey key", "")
			}, Deps{Keys: keysAt(key)})
			old := h.app.Settings().Theme()
			h.app.Settings().SetTheme(th)
			t.Cleanup(func() { h.app.Settings().SetTheme(old) })
			allowed := allowedTextColors(th, variant.v)
			h.win.Resize(defaultWindowSize)
			q := make(uiQueue, 64)
			ks := h.main.keySlots
			ks.ui = q.do
			h.openSettings()
			shown := func() string { return shownText(h.win.Canvas()) }
			if !strings.Contains(shown(), "This key has no PIN") {
				t.Fatalf("no warning to check:\n%s", shown())
			}
			// The section, scrolled into view.
			checkTextColors(t, "Settings with a key without a PIN", h.win.Canvas(), allowed)
			test.Tap(ks.add)
			a := ks.adding
			q.drain(t, "the key ready", func() bool { return a.warn.Visible() }, shown)
			checkTextColors(t, "adding a key without a PIN", h.win.Canvas(), allowed)
			a.name.SetText("Grey key")
			a.onAdd()
			checkTextColors(t, "a name taken", h.win.Canvas(), allowed)
			a.dialog.Hide()
			ks.busy.Wait()

			fresh := testkit.Keyring(t)
			_, err := vault.Open(h.dir, vault.Options{Keys: fresh})
			w := test.NewTempWindow(t, nil)
			w.Resize(defaultWindowSize)
			rec := &Recovery{Dir: h.dir, Options: vault.Options{Keys: fresh}, Keys: keysAt(key), ui: q.do, Opened: func(*vault.Vault) {}}
			key.plug(t, false)
			showOpenError(h.app, w, err, func() {}, nil, rec)
			t.Cleanup(rec.keys.busy.Wait)
			t.Cleanup(rec.keys.halt)
			q.drain(t, "the insert prompt", func() bool { return rec.keys.status.Text == "Insert your security key…" },
				func() string { return shownText(w.Canvas()) })
			checkTextColors(t, "the opening screen's security key", w.Canvas(), allowed)
		})
	}
}

// TestOpenWithSecurityKeyNotTouched: a key not touched in time says so and
// waits for Try again, rather than asking for a touch again at once.
func TestOpenWithSecurityKeyNotTouched(t *testing.T) {
	touches := make(chan bool)
	link := filepath.Join(t.TempDir(), "key")
	softkeytest.Start(t, softkey.Options{Link: link, Presence: softkey.ManualPresence(touches), PresenceTimeout: time.Second})
	key := &pluggedKey{link: link, touches: touches}
	dir := t.TempDir()
	v := openVault(t, dir, &recordingKeys{Secrets: testkit.Keyring(t)}, nil, fixture())
	go func() { touches <- true; touches <- true }() // adding the slot
	addKeySlot(t, v, link, "Grey key", "")
	fresh := testkit.Keyring(t)
	_, err := vault.Open(dir, vault.Options{Keys: fresh})
	q := make(uiQueue, 64)
	w := test.NewTempWindow(t, nil)
	var opened *vault.Vault
	rec := &Recovery{Dir: dir, Options: vault.Options{Keys: fresh}, Keys: keysAt(key), ui: q.do, Opened: func(v *vault.Vault) { opened = v }}
	showOpenError(newTestApp(t), w, err, nil, nil, rec)
	o := rec.keys
	t.Cleanup(o.busy.Wait)
	t.Cleanup(o.halt)
	shown := func() string { return shownText(w.Canvas()) }
	q.drain(t, "the timeout", func() bool { return o.retry.Visible() }, shown)
	if o.problem.Text != "The key was not touched in time. Choose Try again, then touch it while it blinks." {
		t.Errorf("a key not touched says %q", o.problem.Text)
	}
	select {
	case f := <-q:
		f()
		if !o.retry.Visible() {
			t.Fatalf("the dialog went on by itself after the timeout:\n%s", shown())
		}
	case <-time.After(500 * time.Millisecond):
	}
	tapDialog(t, w.Canvas(), "Try again")
	q.drain(t, "the touch asked again", func() bool { return strings.HasPrefix(o.status.Text, "Touch the key") }, shown)
	touches <- true
	q.drain(t, "the vault opened", func() bool { return opened != nil }, shown)
}
