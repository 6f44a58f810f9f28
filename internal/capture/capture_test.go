package capture

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
)

func solid(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1>>8 == r2>>8 && g1>>8 == g2>>8 && b1>>8 == b2>>8
}

func TestX11CapturesEveryMonitor(t *testing.T) {
	display := xvfbtest.Start(t, image.Pt(640, 480), image.Pt(800, 600))
	red, blue := color.RGBA{200, 30, 30, 255}, color.RGBA{30, 30, 200, 255}
	xvfbtest.Show(t, display, solid(100, 100, red), image.Pt(10, 10))
	xvfbtest.Show(t, display, solid(100, 100, blue), image.Pt(640+20, 20))

	// kbinani/screenshot connects through $DISPLAY itself.
	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")
	screens, err := Screens(context.Background(), Options{})
	if err != nil {
		t.Fatalf("Screens: %v", err)
	}
	if len(screens) != 2 {
		t.Fatalf("got %d screens, want 2", len(screens))
	}
	for i, tc := range []struct {
		bounds image.Rectangle
		at     image.Point
		want   color.Color
	}{
		{image.Rect(0, 0, 640, 480), image.Pt(50, 50), red},
		{image.Rect(640, 0, 1440, 600), image.Pt(60, 60), blue},
	} {
		s := screens[i]
		if s.Bounds != tc.bounds {
			t.Errorf("screen %d bounds %v, want %v", i, s.Bounds, tc.bounds)
		}
		b := s.Image.Bounds()
		if got := s.Image.At(b.Min.X+tc.at.X, b.Min.Y+tc.at.Y); !sameColor(got, tc.want) {
			t.Errorf("screen %d pixel at %v = %v, want %v", i, tc.at, got, tc.want)
		}
	}
}

func TestNoGraphicalSession(t *testing.T) {
	_, err := Screens(context.Background(), Options{Getenv: func(string) string { return "" }})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no graphical session") || !strings.Contains(err.Error(), "qr decode") {
		t.Errorf("got %v, want ErrUnavailable explaining there is no session and what to do", err)
	}
	if _, err := Clipboard(Options{Getenv: func(string) string { return "" }}); err == nil || !strings.Contains(err.Error(), "DISPLAY") {
		t.Errorf("Clipboard without a session: got %v", err)
	}
}

func TestClipboardImageAndText(t *testing.T) {
	if _, err := exec.LookPath("xclip"); err != nil {
		if xvfbtest.Required() {
			t.Fatal("xclip not found (make deps installs it)")
		}
		t.Skip("xclip not installed: run through make test")
	}
	display := xvfbtest.Start(t, image.Pt(320, 240))
	t.Setenv("DISPLAY", display)

	var want bytes.Buffer
	png.Encode(&want, solid(8, 8, color.RGBA{1, 2, 3, 255}))
	file := t.TempDir() + "/clip.png"
	os.WriteFile(file, want.Bytes(), 0o600)
	// xclip serves the selection from the background until it is replaced.
	owner := exec.Command("xclip", "-selection", "clipboard", "-t", "image/png", "-i", file)
	owner.Env = append(os.Environ(), "DISPLAY="+display)
	// No pipes: xclip's background child keeps them open.
	if err := owner.Run(); err != nil {
		t.Fatalf("xclip: %v", err)
	}
	// xclip leaves when its X server stops at the end of the test.

	var clip Clip
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if clip, err = Clipboard(Options{}); err == nil && len(clip.PNG) > 0 {
			break
		}
	}
	if err != nil {
		t.Fatalf("Clipboard: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(clip.PNG))
	if err != nil {
		t.Fatalf("clipboard image is not a PNG: %v", err)
	}
	if !sameColor(img.At(3, 3), color.RGBA{1, 2, 3, 255}) {
		t.Errorf("clipboard image pixel = %v, want rgb(1,2,3)", img.At(3, 3))
	}

	text := exec.Command("xclip", "-selection", "clipboard", "-i")
	text.Env = owner.Env
	text.Stdin = strings.NewReader("otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQ")
	if err := text.Run(); err != nil {
		t.Fatalf("xclip text: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if clip, err = Clipboard(Options{}); err == nil && clip.Text != "" {
			break
		}
	}
	if clip.Text != "otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQ" {
		t.Errorf("clipboard text = %q, %v", clip.Text, err)
	}
}
