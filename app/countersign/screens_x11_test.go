package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// screenshotName is the file a screenshot of name is kept in: name.png in
// the light theme, name-dark.png in the dark one (FYNE_THEME=dark, as make
// screenshots runs it).
func screenshotName(name string) string {
	if os.Getenv("FYNE_THEME") == "dark" {
		name += "-dark"
	}
	return name + ".png"
}

// TestWindowScreensOnX11 opens the real window on a real X server with the
// accounts of testdata/transfer/aegis-plain.json, on the Authenticator and
// the Settings screen, and looks at each once it stops changing: each must
// show something (many colours) and the two must differ. With
// COUNTERSIGN_SCREENSHOTS=DIR the pictures are written there, cut to the
// window (make screenshots, in both themes, for the README).
func TestWindowScreensOnX11(t *testing.T) {
	home := x11Home(t, image.Pt(1024, 768))
	var shots [][]byte
	for _, name := range []string{"authenticator", "settings"} {
		win := windowArea(settledScreen(t, home, name))
		if n := colours(win); n < 8 {
			t.Errorf("%s: the window shows %d colours: nothing drawn?", name, n)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, win); err != nil {
			t.Fatal(err)
		}
		for _, other := range shots {
			if bytes.Equal(other, buf.Bytes()) {
				t.Errorf("%s looks exactly like the screen before it", name)
			}
		}
		shots = append(shots, buf.Bytes())
		if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, screenshotName(name)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
