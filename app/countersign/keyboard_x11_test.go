package main

import (
	"image"
	"image/color"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
)

// TestKeyboardOnX11 drives the real window on a real X server with keys
// alone, typed by xdotool through XTEST as a keyboard would type them:
// Ctrl+2 and Ctrl+1 change screens, a search and Enter copy GitHub's code,
// End, Shift+F10 and the menu's keys copy the last account's code, the
// Menu key opens the QR code of an account and Esc closes it. What was
// copied is read back from the X clipboard (xclip) and checked against
// countersign code.
func TestKeyboardOnX11(t *testing.T) {
	if _, err := exec.LookPath("xdotool"); err != nil {
		if xvfbtest.Required() {
			t.Fatal("xdotool not found (make deps installs it)")
		}
		t.Skip("xdotool not installed: run through make test")
	}
	home := x11Home(t, image.Pt(1024, 768))
	w := startWindow(t, home)
	waitFor := func(what string, cond func(image.Image) bool) {
		t.Helper()
		w.waitScreen(what, 200*time.Millisecond, cond)
	}
	githubShown := func(img image.Image) bool { return contains(img, avatarRed) }
	waitFor("account", githubShown)

	win := strings.Fields(xdotool(t, "search", "--name", "^Countersign$"))
	if len(win) != 1 {
		t.Fatalf("xdotool finds the windows %q, want one", win)
	}
	xdotool(t, "windowfocus", "--sync", win[0])
	keys := func(keys ...string) {
		t.Helper()
		xdotool(t, append([]string{"key", "--delay", "80"}, keys...)...)
	}

	keys("ctrl+2")
	waitFor("Settings screen", func(img image.Image) bool { return !githubShown(img) })
	keys("ctrl+1")
	waitFor("Authenticator screen", githubShown)

	// Typing searches; Enter copies the code of the account found.
	since := time.Now()
	xdotool(t, "type", "--delay", "80", "github")
	keys("Return")
	copied := checkCopied(t, home, "GitHub", "", since)

	// Esc clears the search; End selects the last account (Steam), and
	// Shift+F10 opens its menu, whose first item copies the code.
	keys("Escape")
	waitFor("full list", func(img image.Image) bool { return githubShown(img) })
	since = time.Now()
	keys("End", "shift+F10", "Down", "Return")
	checkCopied(t, home, "Steam", copied, since)

	// Home and the Menu key: the first account's menu (GitHub's, pinned);
	// its third item shows the QR code (white modules), and Esc closes it.
	white := func(img image.Image) int {
		n := 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y += 2 {
			for x := b.Min.X; x < b.Max.X; x += 2 {
				if color.RGBAModel.Convert(img.At(x, y)) == (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
					n++
				}
			}
		}
		return n
	}
	var plain int
	waitFor("screen", func(img image.Image) bool { plain = white(img); return true })
	keys("Home", "Menu", "Down", "Down", "Down", "Return")
	waitFor("QR code", func(img image.Image) bool { return white(img) > plain+5000 })
	keys("Escape")
	waitFor("screen without the QR code", func(img image.Image) bool { return white(img) < plain+1000 })

	// Ctrl+Q quits, with exit status 0.
	keys("ctrl+q")
	select {
	case err := <-w.exited:
		w.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("after Ctrl+Q: %v\n%s", err, w.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Ctrl+Q did not quit within 10 s\n%s", w.stderr.String())
	}
}

// xdotool runs xdotool with args and returns what it printed.
func xdotool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("xdotool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkCopied waits for the X clipboard to change from what it held
// before, and checks that it then holds the code of issuer, as countersign
// code gives it for a moment between since and now.
func checkCopied(t *testing.T, home, issuer, before string, since time.Time) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for got == "" || got == before {
		if time.Now().After(deadline) {
			t.Fatalf("the clipboard still holds %q after copying %s's code", got, issuer)
		}
		time.Sleep(200 * time.Millisecond)
		out, _ := exec.Command("xclip", "-o", "-selection", "clipboard").Output()
		got = strings.TrimSpace(string(out))
	}
	// Codes last 20 s or more; the copy was made between the two.
	var want []string
	for _, at := range []int64{since.Unix() - 1, time.Now().Unix() + 1} {
		want = append(want, strings.TrimSpace(ok(t, home, "code", "--at", strconv.FormatInt(at, 10), issuer)))
	}
	if !slices.Contains(want, got) {
		t.Errorf("the clipboard holds %q, want %s's code, one of %q", got, issuer, want)
	}
	return got
}
