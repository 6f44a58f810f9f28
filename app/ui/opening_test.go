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
		{vault.ErrKeyMissing, "the key that opens it is not in this keyring"},
	} {
		a := newTestApp(t)
		w := test.NewTempWindow(t, nil)
		retried := 0
		ShowOpenError(a, w, tc.err, func() { retried++ })
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
	ShowOpening(a, w)
	if !strings.Contains(shownText(w.Canvas()), "Opening your accounts") {
		t.Error("the window does not say it is opening the accounts")
	}
	if got := w.Canvas().Size(); got != defaultWindowSize {
		t.Errorf("window %v, want %v", got, defaultWindowSize)
	}
}
