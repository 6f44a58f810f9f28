package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/testkit"
)

// keysHarness is the window on the Security keys screen. Work the screen
// hands back to the UI goroutine waits in queue until waitFor runs it on
// the test's goroutine.
type keysHarness struct {
	app   fyne.App
	win   fyne.Window
	main  *Main
	keys  *keys
	clock *testkit.Clock
	queue chan func()
}

func newKeysHarness(t *testing.T, svc KeyService) *keysHarness {
	t.Helper()
	h := &keysHarness{app: newTestApp(t), queue: make(chan func(), 64)}
	clock := testkit.NewClock(start)
	h.clock = clock
	h.win = test.NewWindow(nil)
	t.Cleanup(func() { h.win.Close() })
	h.main = NewMain(h.app, h.win, Deps{Vault: &fakeStore{}, Now: clock.Now, After: clock.After, Keys: svc})
	for i, s := range h.main.screens {
		if k, ok := s.(*keys); ok {
			h.keys = k
			k.ui = func(f func()) { h.queue <- f }
			h.main.nav.SelectIndex(i)
		}
	}
	if h.keys == nil {
		t.Fatal("the window has no Security keys screen")
	}
	return h
}

// waitFor runs the screen's background results until cond holds.
func (h *keysHarness) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatalf("timed out waiting for %s; the window shows:\n%s", what, h.shown())
		}
	}
}

func (h *keysHarness) shown() string { return shownText(h.win.Canvas()) }

func (h *keysHarness) shows(s string) func() bool {
	return func() bool { return strings.Contains(h.shown(), s) }
}

// tap taps the visible button labelled label in the window or a dialog.
func (h *keysHarness) tap(t *testing.T, label string) {
	t.Helper()
	c := h.win.Canvas()
	roots := append(c.Overlays().List(), c.Content())
	for i := len(roots) - 1; i >= 0; i-- { // the top dialog first
		for _, o := range laidOut(roots[i]) {
			if b, ok := o.(*widget.Button); ok && b.Text == label && b.Visible() && !b.Disabled() {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("no button %q; the window shows:\n%s", label, h.shown())
}

// fakeKeys is a KeyService with fixed keys that never change.
type fakeKeys struct {
	locs []fido.Location
	info map[string]*fido.Info
}

func (f *fakeKeys) Watch(ctx context.Context) (<-chan []fido.Location, error) {
	ch := make(chan []fido.Location, 1)
	ch <- f.locs
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

func (f *fakeKeys) Info(path string) (*fido.Info, error) {
	if in, ok := f.info[path]; ok {
		return in, nil
	}
	return nil, fido.ErrNoDevice
}

func (f *fakeKeys) SetPIN(string, string) error                   { return fido.ErrNotSupported }
func (f *fakeKeys) ChangePIN(string, string, string) error        { return fido.ErrNotSupported }
func (f *fakeKeys) DeleteCredential(string, string, []byte) error { return fido.ErrNotSupported }
func (f *fakeKeys) Reset(context.Context, string, func()) error   { return fido.ErrNotSupported }
func (f *fakeKeys) Passkeys(string, string) ([]fido.RelyingParty, error) {
	return nil, fido.ErrNotSupported
}

func (f *fakeKeys) Fingerprints(string, string) ([]fido.Fingerprint, error) {
	return nil, fido.ErrNotSupported
}

func (f *fakeKeys) EnrollFingerprint(context.Context, string, string, string, func(fido.EnrollProgress)) (fido.Fingerprint, error) {
	return fido.Fingerprint{}, fido.ErrNotSupported
}

func (f *fakeKeys) RenameFingerprint(string, string, []byte, string) error {
	return fido.ErrNotSupported
}
func (f *fakeKeys) DeleteFingerprint(string, string, []byte) error { return fido.ErrNotSupported }
