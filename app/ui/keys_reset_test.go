package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/fido"
)

// pluggedKeys is a KeyService whose keys come and go as the test sends
// lists on plugged, and whose Reset reports the path asked and answers
// what the test sends on resetErr.
type pluggedKeys struct {
	fakeKeys
	plugged  chan []fido.Location
	resetAt  chan string
	resetErr chan error
}

func newPluggedKeys(info map[string]*fido.Info) *pluggedKeys {
	return &pluggedKeys{fakeKeys: fakeKeys{info: info},
		plugged: make(chan []fido.Location, 8), resetAt: make(chan string, 8), resetErr: make(chan error, 8)}
}

func (f *pluggedKeys) Watch(ctx context.Context) (<-chan []fido.Location, error) {
	ch := make(chan []fido.Location)
	go func() {
		defer close(ch)
		for {
			select {
			case locs := <-f.plugged:
				select {
				case ch <- locs:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (f *pluggedKeys) Reset(ctx context.Context, path string, onTouch func()) error {
	f.resetAt <- path
	onTouch()
	select {
	case err := <-f.resetErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func at(paths ...string) []fido.Location {
	var locs []fido.Location
	for _, p := range paths {
		locs = append(locs, fido.Location{Path: p})
	}
	return locs
}

const yubiAAGUID = "ee882879-721c-4913-9775-3dfcce97072a"

// startedReset is the screen over svc with a YubiKey at /dev/hidraw0, its
// reset confirmed and waiting for the key to go.
func startedReset(t *testing.T, svc KeyService, plugged chan<- []fido.Location) *keysHarness {
	t.Helper()
	plugged <- at("/dev/hidraw0")
	h := newKeysHarness(t, svc)
	h.waitFor(t, "the key", func() bool { return h.keys.body.Visible() })
	test.Tap(h.keys.reset)
	test.Type(h.keys.form.current, resetWord)
	h.tap(t, "Start the reset")
	h.waitFor(t, "the removal prompt", h.shows("Remove the YubiKey 5 from the computer now."))
	return h
}

func yubiInfo(path, aaguid, model string) *fido.Info {
	return &fido.Info{Path: path, AAGUID: aaguid, Model: model,
		Options: map[string]bool{"clientPin": true}, PINRetries: 8, RemainingDiscoverable: -1}
}

func TestKeysResetOnlyTheKeyChosen(t *testing.T) {
	svc := newPluggedKeys(map[string]*fido.Info{
		"/dev/hidraw0": yubiInfo("/dev/hidraw0", yubiAAGUID, "YubiKey 5"),
		"/dev/hidraw1": yubiInfo("/dev/hidraw1", "0bb43545-fd2c-4185-87dd-feb0b2916ace", "Security Key NFC by Yubico"),
		"/dev/hidraw2": yubiInfo("/dev/hidraw2", yubiAAGUID, "YubiKey 5"),
	})
	h := startedReset(t, svc, svc.plugged)

	svc.plugged <- at()
	h.waitFor(t, "the plug-in prompt", h.shows("Now plug it in again."))
	svc.plugged <- at("/dev/hidraw1")
	h.waitFor(t, "the other key noticed", h.shows("That is another key (Security Key NFC by Yubico): it is left alone. Plug in the YubiKey 5 you chose to reset."))
	if len(svc.resetAt) > 0 {
		t.Fatalf("the other key was asked to reset (%s)", <-svc.resetAt)
	}

	svc.plugged <- at("/dev/hidraw1", "/dev/hidraw2")
	h.waitFor(t, "the touch prompt", h.shows("Touch the key now to confirm the reset."))
	if got := <-svc.resetAt; got != "/dev/hidraw2" {
		t.Errorf("reset asked of %s, want the key that came back at /dev/hidraw2", got)
	}
	// Too late after the plug-in: once more from the removal.
	svc.resetErr <- fido.ErrResetNotAllowed
	h.waitFor(t, "the refusal", h.shows("The key refused the reset: it accepts one only within seconds of being plugged in. Remove it once more"))
	svc.plugged <- at("/dev/hidraw1")
	h.waitFor(t, "the plug-in prompt", h.shows("Now plug it in again."))
	svc.plugged <- at("/dev/hidraw1", "/dev/hidraw0")
	h.waitFor(t, "the touch prompt", h.shows("Touch the key now to confirm the reset."))
	if got := <-svc.resetAt; got != "/dev/hidraw0" {
		t.Errorf("reset asked of %s, want /dev/hidraw0", got)
	}
	svc.resetErr <- nil
	h.waitFor(t, "the reset", func() bool { return h.main.toast.visibleText() == "Key reset: it has no PIN and no passkeys now" })
}

func TestKeysResetGivesUpWaiting(t *testing.T) {
	for _, tt := range []struct {
		name   string
		remove bool
		want   string
	}{
		{"never removed", false, "The key was not reset. The key was not removed within a minute: start the reset again when you are ready."},
		{"never back", true, "The key was not reset. The key was not plugged in again within a minute: start the reset again when you are ready."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := newPluggedKeys(map[string]*fido.Info{"/dev/hidraw0": yubiInfo("/dev/hidraw0", yubiAAGUID, "YubiKey 5")})
			h := startedReset(t, svc, svc.plugged)
			if tt.remove {
				svc.plugged <- at()
				h.waitFor(t, "the plug-in prompt", h.shows("Now plug it in again."))
			}
			h.clock.Advance(resetWait - 1)
			if h.keys.resetF == nil {
				t.Fatal("the reset gave up before a minute")
			}
			h.clock.Advance(1)
			if got := h.shown(); !strings.Contains(got, tt.want) {
				t.Errorf("the window shows\n%s\nwant %q", got, tt.want)
			}
			if h.keys.resetF != nil || len(svc.resetAt) > 0 {
				t.Error("the reset went on after it gave up")
			}
		})
	}
}
