package ui

import (
	"bytes"
	"image/png"
	"os"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/countersign/countersign/assets"
)

// The tray icon's badge reads the count: its pixels differ from one count
// to the next, and past nine it reads 9+.
func TestTrayBadgeDrawsTheCount(t *testing.T) {
	icon, err := assets.IconPNG(64)
	if err != nil {
		t.Fatal(err)
	}
	base := fyne.NewStaticResource("countersign.png", icon)
	seen := map[string]string{}
	for _, n := range []int{1, 2, 3, 9, 10, 42} {
		r := markIcon(base, n)
		if want := "countersign-pending-" + countLabel(n) + ".png"; r.Name() != want {
			t.Errorf("markIcon(%d) is %s, want %s", n, r.Name(), want)
		}
		if prev, ok := seen[string(r.Content())]; ok && countLabel(n) != prev {
			t.Errorf("the badges of %s and %s look the same", prev, countLabel(n))
		}
		seen[string(r.Content())] = countLabel(n)
		if _, err := png.Decode(bytes.NewReader(r.Content())); err != nil {
			t.Errorf("markIcon(%d) is no PNG: %v", n, err)
		}
	}
	if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
		_ = os.WriteFile("/tmp/h4-tray-3.png", markIcon(base, 3).Content(), 0o644)
	}
	if countLabel(10) != "9+" || countLabel(42) != "9+" || countLabel(7) != "7" {
		t.Errorf("count labels %q %q %q", countLabel(10), countLabel(42), countLabel(7))
	}
}
