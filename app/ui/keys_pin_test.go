package ui

import (
	"errors"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/fido"
)

// pinKeys is pluggedKeys whose passkeys open with pin, and whose Info
// fails failInfo times before it answers.
type pinKeys struct {
	*pluggedKeys
	pin      string
	failInfo atomic.Int32
}

func (f *pinKeys) Passkeys(_, pin string) ([]fido.RelyingParty, error) {
	if pin != f.pin {
		return nil, &fido.WrongPINError{Retries: 7}
	}
	return nil, nil
}

func (f *pinKeys) Info(path string) (*fido.Info, error) {
	if f.failInfo.Add(-1) >= 0 {
		return nil, errors.New("reading the key's info: failed to open: rx error")
	}
	return f.pluggedKeys.Info(path)
}

func newPINKeys() *pinKeys {
	info := yubiInfo("/dev/hidraw0", yubiAAGUID, "YubiKey 5")
	info.Options["credMgmt"] = true
	return &pinKeys{pluggedKeys: newPluggedKeys(map[string]*fido.Info{"/dev/hidraw0": info}), pin: "2468"}
}

// showPasskeys opens Passkeys, typing pin if the PIN is asked.
func (h *keysHarness) showPasskeys(t *testing.T, pin string) (asked bool) {
	t.Helper()
	h.keys.askPasskeys()
	if h.keys.form != nil {
		asked = true
		test.Type(h.keys.form.current, pin)
		h.keys.form.submit()
	}
	h.waitFor(t, "the passkeys", func() bool { return h.keys.pk.root.Visible() })
	return asked
}

func TestKeysPINForgottenWhenTheKeyGoesOrTheScreenIsLeft(t *testing.T) {
	svc := newPINKeys()
	svc.plugged <- at("/dev/hidraw0")
	h := newKeysHarness(t, svc)
	h.waitFor(t, "the key", func() bool { return h.keys.body.Visible() })
	if !h.showPasskeys(t, svc.pin) || h.showPasskeys(t, svc.pin) {
		t.Fatal("want the PIN asked the first time only")
	}

	svc.plugged <- at()
	h.waitFor(t, "the key gone", func() bool { return !h.keys.body.Visible() })
	if h.keys.held != nil {
		t.Error("the PIN is still held after the key was removed")
	}
	svc.plugged <- at("/dev/hidraw0")
	h.waitFor(t, "the key back", func() bool { return h.keys.body.Visible() })
	if !h.showPasskeys(t, svc.pin) {
		t.Error("the PIN was not asked after the key came back")
	}

	h.main.nav.SelectIndex(0) // another screen; locking hides the screen too
	if h.keys.held != nil {
		t.Error("the PIN is still held after the screen was left")
	}
}

func TestKeysInfoAskedAgainAfterAFailure(t *testing.T) {
	svc := newPINKeys()
	svc.failInfo.Store(2)
	svc.plugged <- at("/dev/hidraw0")
	h := newKeysHarness(t, svc)
	h.waitFor(t, "the first failure", h.shows("failed to open: rx error"))
	h.waitFor(t, "the card after asking again", func() bool { return h.keys.body.Visible() })
}

func TestKeysResetWaitsForTheKeyToAnswer(t *testing.T) {
	svc := newPINKeys()
	h := startedReset(t, svc, svc.plugged)
	svc.plugged <- at()
	h.waitFor(t, "the plug-in prompt", h.shows("Now plug it in again."))
	svc.failInfo.Store(1) // back, but not answering at first
	svc.plugged <- at("/dev/hidraw0")
	h.waitFor(t, "the key not answering", h.shows("A key was plugged in but cannot be used."))
	h.waitFor(t, "the touch prompt once it answers", h.shows("Touch the key now to confirm the reset."))
	if got := <-svc.resetAt; got != "/dev/hidraw0" {
		t.Errorf("reset asked of %s", got)
	}
	svc.resetErr <- nil
	h.waitFor(t, "the reset", func() bool { return h.main.toast.visibleText() == "Key reset: it has no PIN and no passkeys now" })
}
