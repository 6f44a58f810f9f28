package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/vault"
)

func TestShowOpenError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		advice string
	}{
		{fmt.Errorf("%w: no Secret Service provider is running", keyring.ErrUnavailable), "Start or unlock your keyring"},
		{fmt.Errorf("%w: /x/vault.csv1: message authentication failed (the file was left as it is)", vault.ErrUnreadable), "Restore it from a backup"},
		{vault.ErrKeyMissing, "Restore from backup… in Settings"},
	} {
		a := newTestApp(t)
		w := test.NewTempWindow(t, nil)
		retried := 0
		ShowOpenError(a, w, tc.err, func() { retried++ }, nil, nil)
		shown := shownText(w.Canvas())
		for _, want := range []string{"Your accounts could not be opened", tc.err.Error(), tc.advice, "Nothing was changed", "Try again"} {
			if !strings.Contains(shown, want) {
				t.Errorf("%v: the window does not say %q", tc.err, want)
			}
		}
		if w.Canvas().Overlays().Top() == nil {
			t.Errorf("%v: no dialog", tc.err)
		}
		if retried != 0 {
			t.Errorf("%v: retried before being asked", tc.err)
		}
	}
}

func TestShowOpening(t *testing.T) {
	a := newTestApp(t)
	w := test.NewTempWindow(t, nil)
	ShowOpening(a, w, nil)
	if !strings.Contains(shownText(w.Canvas()), "Opening your accounts") {
		t.Error("the window does not say it is opening the accounts")
	}
	if got := w.Canvas().Size(); got != defaultWindowSize {
		t.Errorf("window %v, want %v", got, defaultWindowSize)
	}
}

// TestWindowOpensWithinTheScreen: at a scale of 1.5 the default size
// (1050 pixels high) would not fit a 1280×800 screen; the window opens
// within it instead, and never below its minimum size.
func TestWindowOpensWithinTheScreen(t *testing.T) {
	a := newTestApp(t)
	w := test.NewTempWindow(t, nil)
	w.Canvas().(interface{ SetScale(float32) }).SetScale(1.5)
	screen := func() (int, int, bool) { return 1280, 800, true }
	ShowOpening(a, w, screen)
	size := w.Canvas().Size()
	if px := size.Height * 1.5; px > 800*screenShare {
		t.Errorf("at scale 1.5 the window is %v high, %v pixels of the screen's 800", size.Height, px)
	}
	if size.Width != defaultWindowSize.Width {
		t.Errorf("the window is %v wide, want %v: it fits", size.Width, defaultWindowSize.Width)
	}
	tiny := func() (int, int, bool) { return 640, 480, true }
	ShowOpening(a, w, tiny)
	if got := w.Canvas().Size(); got != minWindowSize {
		t.Errorf("on a tiny screen the window is %v, want its minimum %v", got, minWindowSize)
	}
}
