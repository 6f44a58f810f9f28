//go:build cgo

package ui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// softkeyHarness is the Security keys screen over the real library, with
// the software key as the only configured device.
func softkeyHarness(t *testing.T, sk *softkey.Key) *keysHarness {
	t.Helper()
	return softkeyHarnessAt(t, sk.Path())
}

// softkeyHarnessAt is softkeyHarness with the key configured at path.
func softkeyHarnessAt(t *testing.T, path string) *keysHarness {
	t.Helper()
	h := newKeysHarness(t, FidoKeys(func(string) string { return path }))
	h.waitFor(t, "the software key's card", func() bool {
		return h.keys.body.Visible() && h.keys.card.Title == "Countersign software key"
	})
	return h
}

func TestKeysSoftkeyInfo(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := softkeyHarness(t, sk)
	if got := h.keys.card.Subtitle; !strings.Contains(got, sk.Path()) {
		t.Errorf("card subtitle %q, want the path %s", got, sk.Path())
	}
	for field, want := range map[string]string{"PIN": "not set (at least 4 characters)", "AAGUID": fido.SoftkeyAAGUID} {
		if got := h.keys.fields[field].Text; got != want {
			t.Errorf("%s: got %q, want %q", field, got, want)
		}
	}
	if !h.keys.setPIN.Visible() || h.keys.chgPIN.Visible() {
		t.Error("a key without a PIN should offer Set PIN only")
	}
}

func (h *keysHarness) submitPIN(t *testing.T, current, next, repeat string) {
	t.Helper()
	f := h.keys.form
	if f == nil {
		t.Fatal("no PIN dialog open")
	}
	if f.current != nil {
		test.Type(f.current, current)
	}
	test.Type(f.next, next)
	test.Type(f.repeat, repeat)
	f.submit()
}

func TestKeysSetAndChangePIN(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := softkeyHarness(t, sk)

	test.Tap(h.keys.setPIN)
	if err := h.keys.form.next.Validate(); err == nil || !strings.Contains(err.Error(), "at least 4 characters") {
		t.Errorf("an empty PIN validates with %v, want the length rule", err)
	}
	h.submitPIN(t, "", "123", "123")
	if h.keys.form == nil {
		t.Fatal("a 3-character PIN was accepted")
	}
	h.keys.dialog.Hide()

	test.Tap(h.keys.setPIN)
	h.submitPIN(t, "", "2468", "2468")
	h.waitFor(t, "the PIN set", func() bool { return h.keys.fields["PIN"].Text == "set, 8 tries left" })
	if got := h.main.toast.visibleText(); got != "PIN set" {
		t.Errorf("toast %q, want PIN set", got)
	}

	test.Tap(h.keys.chgPIN)
	h.submitPIN(t, "1357", "97531", "97531")
	h.waitFor(t, "the wrong PIN", h.shows("Wrong PIN — 7 tries left before the PIN is blocked."))
	if h.keys.form == nil || h.keys.form.current.Text != "" {
		t.Fatal("after a wrong PIN the dialog closed or kept the wrong PIN; want it open and empty to type again")
	}
	h.waitFor(t, "the tries left", func() bool { return h.keys.fields["PIN"].Text == "set, 7 tries left" })
	test.Type(h.keys.form.current, "2468")
	h.keys.form.submit()
	h.waitFor(t, "the PIN changed", func() bool { return h.main.toast.visibleText() == "PIN changed" })
	h.waitFor(t, "the tries reset", func() bool { return h.keys.fields["PIN"].Text == "set, 8 tries left" })
	if h.keys.form != nil {
		t.Error("the PIN dialog is still open after the change")
	}
}

func TestKeysPasskeys(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "2468"
	if err := k.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ rp, user string }{{"github.com", "alice"}, {"example.com", "bob"}, {"example.com", "carol"}} {
		_, err := k.Register(t.Context(), fido.RegistrationOptions{Origin: "https://" + u.rp, RPID: u.rp, RPName: u.rp,
			Challenge: []byte("c"), UserID: []byte("id-" + u.user), UserName: u.user, ResidentKey: true, PIN: pin})
		if err != nil {
			t.Fatal(err)
		}
	}
	h := softkeyHarness(t, sk)

	test.Tap(h.keys.showPK)
	test.Type(h.keys.form.current, pin)
	h.keys.form.submit()
	h.waitFor(t, "the passkeys", func() bool { return h.keys.pk.root.Visible() })
	if got := h.keys.pk.count.Text; got != "3 passkeys" {
		t.Errorf("count %q, want 3 passkeys", got)
	}

	test.Type(h.keys.pk.search, "exam")
	if got := h.keys.pk.count.Text; got != "2 of 3 passkeys" {
		t.Errorf("count after searching %q, want 2 of 3 passkeys", got)
	}
	var carol passkey
	for _, p := range h.keys.pk.all {
		if p.cred.UserName == "carol" {
			carol = p
		}
	}
	h.keys.pk.confirmDelete(carol)
	if got := h.shown(); !strings.Contains(got, "Delete the passkey of carol on example.com from the key?") {
		t.Errorf("the confirmation says\n%s\nwant the user and the site", got)
	}
	h.tap(t, "Delete")
	h.waitFor(t, "the deletion", func() bool { return h.keys.pk.count.Text == "1 of 2 passkeys" })
	if got := h.main.toast.visibleText(); got != "Passkey deleted" {
		t.Errorf("toast %q, want Passkey deleted", got)
	}
	rps, err := k.Passkeys(pin)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, rp := range rps {
		for _, c := range rp.Credentials {
			left = append(left, rp.ID+"/"+c.UserName)
		}
	}
	if strings.Join(left, " ") != "github.com/alice example.com/bob" && strings.Join(left, " ") != "example.com/bob github.com/alice" {
		t.Errorf("passkeys left on the key: %v, want alice's and bob's", left)
	}
}

// resetKey is a software key with a PIN, configured by a link that goes
// while it is unplugged, on the Security keys screen; nobody touches it
// unless the test sends on touches.
func resetKey(t *testing.T, presenceTimeout time.Duration) (*softkey.Key, *keysHarness, chan bool) {
	t.Helper()
	touches := make(chan bool)
	link := filepath.Join(t.TempDir(), "key")
	sk := softkeytest.Start(t, softkey.Options{Link: link, Presence: softkey.ManualPresence(touches), PresenceTimeout: presenceTimeout})
	k, err := fido.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPIN("2468"); err != nil {
		t.Fatal(err)
	}
	return sk, softkeyHarnessAt(t, link), touches
}

// replugForReset confirms a reset, unplugs the key and plugs it in again
// as the dialog asks, and waits for the key to want its touch.
func (h *keysHarness) replugForReset(t *testing.T, sk *softkey.Key) {
	t.Helper()
	test.Tap(h.keys.reset)
	if !strings.Contains(h.shown(), "A reset erases everything in the key's FIDO application") {
		t.Errorf("the reset dialog does not explain the rule:\n%s", h.shown())
	}
	test.Type(h.keys.form.current, "reset")
	h.keys.form.current.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if h.keys.resetF != nil {
		t.Fatal("a reset started without RESET typed")
	}
	h.keys.form.current.SetText("")
	test.Type(h.keys.form.current, "RESET")
	h.tap(t, "Start the reset")
	h.waitFor(t, "the removal prompt", h.shows("Remove the Countersign software key from the computer now."))
	if err := sk.Unplug(); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the plug-in prompt", h.shows("Now plug it in again."))
	if err := sk.Plug(); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the touch prompt", h.shows("Touch the key now to confirm the reset."))
}

func TestKeysResetAfterReplug(t *testing.T) {
	sk, h, touches := resetKey(t, 10*time.Second)
	h.replugForReset(t, sk)
	touches <- true
	h.waitFor(t, "the reset", func() bool { return h.main.toast.visibleText() == "Key reset: it has no PIN and no passkeys now" })
	if sk.PINSet() {
		t.Error("the key kept its PIN after the reset")
	}
	h.waitFor(t, "the card without a PIN", func() bool { return h.keys.setPIN.Visible() })
}

func TestKeysResetCancelledWhileTouching(t *testing.T) {
	sk, h, _ := resetKey(t, 10*time.Second)
	h.replugForReset(t, sk)
	begin := time.Now()
	h.tap(t, "Cancel")
	h.waitFor(t, "the cancelled reset", func() bool { return h.main.toast.visibleText() == "Reset cancelled: the key is unchanged" })
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("cancelling took %v", d)
	}
	if !sk.PINSet() {
		t.Error("the key lost its PIN although the reset was cancelled")
	}
}

func TestKeysResetNotTouched(t *testing.T) {
	sk, h, _ := resetKey(t, time.Second)
	h.replugForReset(t, sk)
	h.waitFor(t, "the timeout", h.shows("The key was not reset. No touch within 1 s: touch the key while it blinks"))
	if h.keys.resetF != nil {
		t.Error("the reset is still under way after the key gave up")
	}
	if !sk.PINSet() {
		t.Error("the key lost its PIN without a touch")
	}
}

func TestKeysFingerprints(t *testing.T) {
	samples := make(chan softkey.SampleStatus, 8)
	sk := softkeytest.Start(t, softkey.Options{Fingerprint: &softkey.FingerprintSensor{
		Sample: softkey.SamplesFrom(samples), SamplesPerEnrollment: 3}})
	k, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "2468"
	if err := k.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	h := softkeyHarness(t, sk)
	if !h.keys.showFP.Visible() {
		t.Fatal("a key with a sensor does not offer Fingerprints")
	}
	h.keys.askFingerprints()
	test.Type(h.keys.form.current, pin)
	h.keys.form.submit()
	h.waitFor(t, "the fingerprints", h.shows("No fingerprints on this key yet."))

	test.Tap(h.keys.fp.add)
	test.Type(h.keys.form.current, "Right index")
	h.keys.dialog.(*dialog.FormDialog).Submit()
	samples <- softkey.SampleGood
	h.waitFor(t, "the first touch", h.shows("Good. Lift your finger and touch the sensor again: 2 more."))
	samples <- softkey.SampleTooFast
	h.waitFor(t, "the bad touch", h.shows("That touch did not count"))
	if got := h.keys.fp.enroll.progress.Value; got < 0.3 || got > 0.34 {
		t.Errorf("progress after 1 of 3 good touches: %v, want 1/3", got)
	}
	samples <- softkey.SampleGood
	samples <- softkey.SampleGood
	h.waitFor(t, "the enrolled finger", func() bool { return h.keys.fp.count.Text == "1 fingerprint" })
	if got := h.main.toast.visibleText(); got != "Fingerprint added" {
		t.Errorf("toast %q, want Fingerprint added", got)
	}
	if !h.shows("Right index")() {
		t.Errorf("the list does not name the finger:\n%s", h.shown())
	}

	h.keys.fp.askRename(h.keys.fp.all[0])
	h.keys.form.current.SetText("Left thumb")
	h.keys.dialog.(*dialog.FormDialog).Submit()
	h.waitFor(t, "the renamed finger", func() bool { return len(h.keys.fp.all) == 1 && h.keys.fp.all[0].Name == "Left thumb" })

	h.keys.fp.confirmDelete(h.keys.fp.all[0], "Left thumb")
	h.tap(t, "Delete")
	h.waitFor(t, "the deleted finger", h.shows("No fingerprints on this key yet."))

	// An enrollment cancelled while the key waits for a touch.
	test.Tap(h.keys.fp.add)
	h.keys.dialog.(*dialog.FormDialog).Submit()
	h.waitFor(t, "the enrollment prompt", func() bool { return h.keys.fp.enroll != nil })
	h.tap(t, "Cancel")
	h.waitFor(t, "the cancelled enrollment", func() bool { return h.main.toast.visibleText() == "Fingerprint not added" })
}

func TestKeysPINAskedOnceAndWrongPINInline(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{Fingerprint: &softkey.FingerprintSensor{
		Sample: softkey.SamplesFrom(make(chan softkey.SampleStatus))}})
	link := sk.Path()
	k, err := fido.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	const pin = "2468"
	if err := k.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	h := softkeyHarnessAt(t, link)

	test.Tap(h.keys.showPK)
	test.Type(h.keys.form.current, "1111")
	h.keys.form.submit()
	h.waitFor(t, "the wrong PIN", h.shows("Wrong PIN — 7 tries left before the PIN is blocked."))
	h.waitFor(t, "the tries left", func() bool { return h.keys.fields["PIN"].Text == "set, 7 tries left" })
	if h.keys.form == nil || h.keys.pk.root.Visible() {
		t.Fatal("a wrong PIN closed the dialog or showed the passkeys")
	}
	if strings.Contains(h.shown(), "could not be read") {
		t.Errorf("a wrong PIN raised an error dialog:\n%s", h.shown())
	}
	test.Type(h.keys.form.current, pin)
	h.keys.form.submit()
	h.waitFor(t, "the passkeys", func() bool { return h.keys.pk.root.Visible() })
	h.waitFor(t, "the tries back after the right PIN", func() bool { return h.keys.fields["PIN"].Text == "set, 8 tries left" })

	h.keys.askFingerprints()
	if h.keys.form != nil {
		t.Fatal("Fingerprints asked for the PIN again right after Passkeys")
	}
	h.waitFor(t, "the fingerprints", h.shows("No fingerprints on this key yet."))

	// A few minutes later the PIN is forgotten.
	h.clock.Advance(pinKeep)
	h.keys.askFingerprints()
	if h.keys.form == nil {
		t.Fatalf("Fingerprints did not ask for the PIN %v later", pinKeep)
	}
	test.Type(h.keys.form.current, pin)
	h.keys.form.submit()
	h.waitFor(t, "the PIN held again", func() bool { return h.keys.heldFor(link) == pin })
}

func TestKeysNoticePINSetElsewhere(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := softkeyHarness(t, sk)
	h.waitFor(t, "the card", func() bool { return h.keys.setPIN.Visible() })
	k, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPIN("2468"); err != nil {
		t.Fatal(err)
	}
	h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyF5})
	h.waitFor(t, "the PIN set elsewhere", func() bool { return h.keys.fields["PIN"].Text == "set, 8 tries left" })
	if h.keys.setPIN.Visible() || !h.keys.chgPIN.Visible() {
		t.Error("after F5 a key with a PIN still offers Set PIN")
	}
	if err := k.ChangePIN("2468", "13579"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Passkeys("0000"); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	h.tap(t, "Refresh")
	h.waitFor(t, "the try spent elsewhere", func() bool { return h.keys.fields["PIN"].Text == "set, 7 tries left" })

	// Coming back to the screen reads the keys again too.
	keysTab := h.main.nav.SelectedIndex()
	h.main.nav.SelectIndex(0)
	if _, err := k.Passkeys("0000"); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	h.main.nav.SelectIndex(keysTab)
	h.waitFor(t, "the second try spent elsewhere", func() bool { return h.keys.fields["PIN"].Text == "set, 6 tries left" })
}
