package windows_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/wine"
)

// avatarRed is GitHub's avatar (app/ui avatarPalette[0]), on screen when
// the window lists the accounts of aegis-plain.json, as the Linux window
// tests look for it.
var avatarRed = color.RGBA{0xC6, 0x28, 0x28, 0xff}

// TestWindow starts countersign.exe under Wine on a private X server with
// a vault of six accounts: a window named Countersign appears and shows
// them; closing it (Alt+F4) leaves the program in the tray (Wine's), and
// Quit in the tray's menu ends it with exit 0. Started again, Ctrl+Q in
// its window ends it with exit 0 too.
func TestWindow(t *testing.T) {
	c := newCS(t)
	display := c.p.Display(t, image.Pt(1024, 768))
	c.ok("import", wine.Path(filepath.Join(repo, "testdata", "transfer", "aegis-plain.json")))

	w := startWindow(t, c, display)
	// Alt+F4 closes the window, as on Windows; with a tray the program
	// stays there.
	xdotool(t, display, "windowfocus", "--sync", w.win)
	xdotool(t, display, "key", "alt+F4")
	w.until("window hidden after Alt+F4", 10*time.Second, func() bool {
		return strings.TrimSpace(xdotool(t, display, "search", "--onlyvisible", "--name", "^Countersign$")) == ""
	})
	select {
	case <-w.exited:
		t.Fatalf("Alt+F4 ended the program (%v); it should stay in the tray\n%s", w.waitErr, w.stderr())
	case <-time.After(time.Second):
	}

	// The tray icon's menu (right click), its last item Quit.
	tray := strings.Fields(xdotool(t, display, "search", "--onlyvisible", "--name", "^Wine System Tray$"))
	if len(tray) != 1 {
		w.fail("xdotool finds the tray windows %q, want Wine's one", tray)
	}
	x, y := geometry(t, display, tray[0])
	lit := func() int {
		img, err := wine.Screenshot(display)
		if err != nil {
			t.Fatal(err)
		}
		return litPixels(img)
	}
	before := lit()
	xdotool(t, display, "mousemove", strconv.Itoa(x+12), strconv.Itoa(y+10), "click", "3")
	w.until("tray menu on the screen", 20*time.Second, func() bool { return lit() > before+5000 })
	xdotool(t, display, "key", "--delay", "200", "Up", "Return")
	w.ended("the tray menu's last item (Quit) was chosen")

	// Again, and Ctrl+Q.
	w = startWindow(t, c, display)
	xdotool(t, display, "windowfocus", "--sync", w.win)
	xdotool(t, display, "key", "ctrl+q")
	w.ended("Ctrl+Q was pressed in its window")
}

// window is countersign.exe's window under Wine, as a test follows it.
type window struct {
	t       *testing.T
	display string
	win     string        // the window's X id
	exited  chan struct{} // closed when the program has ended, with its error in waitErr
	waitErr error
	stderr  func() string
}

// startWindow starts c's program with no arguments on display and waits
// for its window to show the accounts (GitHub's red avatar).
func startWindow(t *testing.T, c *cs, display string) *window {
	t.Helper()
	cmd := c.p.Command(context.Background(), c.exe)
	cmd.Env = append(cmd.Env, "COUNTERSIGN_HOME="+wine.Path(c.home))
	// Its stderr goes to a file: a pipe would also be held by any process
	// of the prefix that inherits it, and keep Wait waiting.
	stderrFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderrFile.Close() })
	cmd.Stderr = stderrFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &window{t: t, display: display, exited: make(chan struct{}), stderr: func() string {
		b, _ := os.ReadFile(stderrFile.Name())
		return string(b)
	}}
	go func() { w.waitErr = cmd.Wait(); close(w.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.exited
	})
	w.until("window named Countersign", 60*time.Second, func() bool {
		ids := strings.Fields(xdotool(t, display, "search", "--onlyvisible", "--name", "^Countersign$"))
		if len(ids) > 1 {
			w.fail("xdotool finds %d windows named Countersign, want one", len(ids))
		}
		if len(ids) == 1 {
			w.win = ids[0]
		}
		return w.win != ""
	})
	w.until("account list on the screen (GitHub's red avatar)", 30*time.Second, func() bool {
		img, err := wine.Screenshot(display)
		if err != nil {
			t.Fatal(err)
		}
		return contains(img, avatarRed)
	})
	return w
}

// fail stops the test, keeping a screenshot for a person to look at.
func (w *window) fail(format string, args ...any) {
	w.t.Helper()
	if img, err := wine.Screenshot(w.display); err == nil {
		if f, err := os.CreateTemp("", "countersign-wine-window-*.png"); err == nil {
			png.Encode(f, img)
			f.Close()
			format += " (the screen: %s)"
			args = append(args, f.Name())
		}
	}
	w.t.Fatalf(format+"\nits stderr:\n%s", append(args, w.stderr())...)
}

// until polls cond for up to d, and fails if the program exits first.
func (w *window) until(what string, d time.Duration, cond func() bool) {
	w.t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(250 * time.Millisecond) {
		select {
		case <-w.exited:
			w.fail("the program exited (%v) while waiting for %s", w.waitErr, what)
		default:
		}
		if time.Now().After(deadline) {
			w.fail("no %s after %v", what, d)
		}
	}
}

// ended waits up to 20 s for the program to end, with exit 0, after what.
func (w *window) ended(after string) {
	w.t.Helper()
	select {
	case <-w.exited:
		if w.waitErr != nil {
			w.t.Errorf("after %s, the program exited with %v, want 0\n%s", after, w.waitErr, w.stderr())
		}
	case <-time.After(20 * time.Second):
		w.fail("the program still runs 20 s after %s", after)
	}
}

// xdotool runs xdotool on display and returns its output; a search that
// finds nothing returns "".
func xdotool(t *testing.T, display string, args ...string) string {
	t.Helper()
	path := testkit.Tool(t, "xdotool", "xdotool")
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && args[0] == "search" && exit.ExitCode() == 1 {
		return ""
	}
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// geometry is where a window's top left corner is on the screen.
func geometry(t *testing.T, display, win string) (x, y int) {
	t.Helper()
	out := xdotool(t, display, "getwindowgeometry", "--shell", win)
	vals := map[string]int{}
	for _, line := range strings.Fields(out) {
		if k, v, ok := strings.Cut(line, "="); ok {
			vals[k], _ = strconv.Atoi(v)
		}
	}
	if _, ok := vals["X"]; !ok {
		t.Fatalf("xdotool getwindowgeometry %s: %q", win, out)
	}
	return vals["X"], vals["Y"]
}

// litPixels counts the pixels of img that are not black (with no window
// manager, the screen is black where no window is).
func litPixels(img *image.RGBA) int {
	n := 0
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i]|img.Pix[i+1]|img.Pix[i+2] != 0 {
			n++
		}
	}
	return n
}

// contains reports whether some pixel of img has colour c.
func contains(img *image.RGBA, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				return true
			}
		}
	}
	return false
}
