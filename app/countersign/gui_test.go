package main

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/testkit"
)

func TestHaveDisplay(t *testing.T) {
	env := func(display string) func(string) string {
		return func(k string) string {
			if k == "DISPLAY" {
				return display
			}
			return ""
		}
	}
	if err := haveDisplay(env(":0")); err != nil {
		t.Errorf("DISPLAY=:0: %v", err)
	}
	if err := haveDisplay(env("")); err == nil || !strings.Contains(err.Error(), "--help") {
		t.Errorf("no DISPLAY: %v, want an error pointing at --help", err)
	}
}

// TestWindowWithoutDisplay: with no arguments (or only --hidden, which
// opens the window too, hidden in the tray) and no graphical session the
// program says so and exits 1, rather than crash in GLFW.
func TestWindowWithoutDisplay(t *testing.T) {
	for _, args := range [][]string{nil, {"--hidden"}} {
		r := run(t, t.TempDir(), []string{"DISPLAY=", "WAYLAND_DISPLAY="}, "", args...)
		if r.code != 1 || !strings.Contains(r.stderr, "countersign: no graphical session") {
			t.Errorf("args %q, no display: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// TestWindowShowsAccounts starts the real window on a real X server with a
// vault of six accounts and looks at the screen for GitHub's red avatar.
func TestWindowShowsAccounts(t *testing.T) {
	w := startWindow(t, x11Home(t, image.Pt(1024, 768)))
	w.waitScreen("account", 500*time.Millisecond, func(img image.Image) bool { return contains(img, avatarRed) })

	// A second start with the same data hands its screen to this window
	// and exits; it opens no second window.
	second := exec.Command(binary, "--show", "settings")
	second.Env = w.cmd.Env
	out, err := runWithin(second, 20*time.Second)
	if err != nil || !strings.Contains(out, "the window is open already") {
		t.Fatalf("a second start: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(w.stderr.String(), `another start asked for the window (screen "settings")`) {
		if time.Now().After(deadline) {
			t.Fatalf("the running window did not hear the second start:\n%s", w.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.running()
}

// TestEmojiFromTheDesktopFont: the window is built without Fyne's bundled
// emoji font (build-tags, no_emoji), so an emoji in an account's issuer is
// drawn from the desktop's emoji font, Noto Color Emoji here (make test
// installs fonts-noto-color-emoji): the yellow square U+1F7E8 shows in its
// yellow, which nothing else on the screen has. Without an emoji font the
// window draws a box in the text's colour, and the test fails.
func TestEmojiFromTheDesktopFont(t *testing.T) {
	home := x11Home(t, image.Pt(800, 600))
	list := filepath.Join(t.TempDir(), "accounts.txt")
	uri := "otpauth://totp/Lemons%20%F0%9F%9F%A8:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Lemons%20%F0%9F%9F%A8\n"
	if err := os.WriteFile(list, []byte(uri), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, home, "import", list)
	w := startWindow(t, home)
	w.waitScreen("yellow square of the account Lemons 🟨", 500*time.Millisecond, func(img image.Image) bool {
		return countPixels(img, isEmojiYellow) >= 40
	})
}

// isEmojiYellow is the yellow of Noto Color Emoji's U+1F7E8, and of no
// colour of the theme or the avatars.
func isEmojiYellow(c color.RGBA) bool { return c.R >= 0xE0 && c.G >= 0xB4 && c.B <= 0x60 }

// countPixels counts the pixels of img that match.
func countPixels(img image.Image, match func(color.RGBA) bool) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if match(color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)) {
				n++
			}
		}
	}
	return n
}

// TestWindowFitsTheScreen starts the real window at FYNE_SCALE=1.5 on a
// 1280×800 screen, where its default size (1050 pixels high) would not fit,
// and finds the bottom of the screen below the window.
func TestWindowFitsTheScreen(t *testing.T) {
	w := startWindow(t, x11Home(t, image.Pt(1280, 800)), "FYNE_SCALE=1.5")
	w.waitScreen("account", 500*time.Millisecond, func(img image.Image) bool { return contains(img, avatarRed) })
	// With no window manager the window sits at the top left; the X
	// server's black shows below it. The window takes its size as its
	// screens are built and laid out: the size it settles at counts.
	var last image.Image
	deadline := time.Now().Add(10 * time.Second)
	for {
		last = w.waitScreen("account", 0, func(image.Image) bool { return true })
		b := last.Bounds()
		bottom := last.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(b.Min.X, b.Max.Y-8, b.Max.X, b.Max.Y))
		if allBlack(bottom) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// What it is, for the one who reads the failure: the window's own
	// size (a screen of unknown size leaves it 840×1050; content that
	// needs more than the screen makes it grow), and what the screen
	// size query answers now.
	sw, sh, known := capture.ScreenSize()
	geometry, _ := exec.Command("xdotool", "search", "--name", "^Countersign$", "getwindowgeometry", "%@").CombinedOutput()
	t.Errorf("the window reaches the bottom of the 800-pixel screen at scale 1.5 (drawn: %v; the screen's size now: %dx%d, known %v; xdotool: %s)\n%s",
		drawn(last), sw, sh, known, strings.TrimSpace(string(geometry)), w.stderr.String())
}

// drawn is the smallest rectangle holding every pixel of img that is not
// black: with no window manager, the window.
func drawn(img image.Image) image.Rectangle {
	var window image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r|g|b != 0 {
				window = window.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return window
}

// allBlack reports whether every pixel of img is black.
func allBlack(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r|g|b != 0 {
				return false
			}
		}
	}
	return true
}

// runWithin runs cmd and returns its output, failing after d.
func runWithin(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("still running after %v (a second window?)", d)
	}
}

// contains reports whether some pixel of img has colour c.
func contains(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				return true
			}
		}
	}
	return false
}
