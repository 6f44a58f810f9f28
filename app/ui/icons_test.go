package ui

import (
	"testing"

	"fyne.io/fyne/v2/theme"
)

// TestLockAndFingerprintIconsDiffer: Lock now shows a padlock and a key's
// Fingerprints… a fingerprint, not the open and the shut eye they shared.
func TestLockAndFingerprintIconsDiffer(t *testing.T) {
	h := newHarness(t, fixture())
	var k *keys
	for _, s := range h.main.screens {
		if s, ok := s.(*keys); ok {
			k = s
		}
	}
	if k == nil {
		t.Fatal("no Security keys screen")
	}
	eyes := map[string]bool{theme.VisibilityIcon().Name(): true, theme.VisibilityOffIcon().Name(): true}
	if lockIcon.Name() == fingerprintIcon.Name() {
		t.Fatal("the lock and the fingerprint share an icon")
	}
	for _, tc := range []struct{ what, got, want string }{
		{"Lock now", h.main.settings.lockNow.Icon.Name(), lockIcon.Name()},
		{"Fingerprints…", k.showFP.Icon.Name(), fingerprintIcon.Name()},
	} {
		if tc.got != tc.want || eyes[tc.got] {
			t.Errorf("%s shows %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}
