// Package xvfbtest runs a real X server (Xvfb) for tests and shows images on
// it, so that screen capture and the clipboard are tested against X11 itself.
// It is imported only by tests.
package xvfbtest

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/xproto"
)

func init() { xgb.Logger.SetOutput(io.Discard) }

// Required reports whether tests must fail rather than skip when Xvfb is
// missing: make test sets COUNTERSIGN_TEST_X11=1 after installing it.
func Required() bool { return os.Getenv("COUNTERSIGN_TEST_X11") == "1" }

// Start runs Xvfb and returns its DISPLAY; it is stopped when the test ends.
// Each size is one monitor; several are laid side by side, left to right, as
// RandR monitors on one screen (Xvfb's own +xinerama stacks screens at 0,0).
func Start(t testing.TB, sizes ...image.Point) string {
	t.Helper()
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		if Required() {
			t.Fatal("Xvfb not found (make deps installs the xvfb package)")
		}
		t.Skip("Xvfb not installed: run through make test")
	}
	if len(sizes) == 0 {
		sizes = []image.Point{{1920, 1080}}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var total image.Point
	for _, s := range sizes {
		total.X += s.X
		total.Y = max(total.Y, s.Y)
	}
	args := []string{"-displayfd", "3", "-nolisten", "tcp", "-noreset", "-screen", "0", fmt.Sprintf("%dx%dx24", total.X, total.Y)}
	cmd := exec.Command(path, args...)
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	number := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		number <- strings.TrimSpace(line)
	}()
	select {
	case n := <-number:
		if n == "" {
			t.Fatal("Xvfb did not report its display number")
		}
		display := ":" + n
		if len(sizes) > 1 {
			setMonitors(t, display, sizes)
		}
		return display
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
	}
	return ""
}

// setMonitors splits the screen into RandR monitors of the given sizes.
func setMonitors(t testing.TB, display string, sizes []image.Point) {
	t.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to %s: %v", display, err)
	}
	defer c.Close()
	if err := randr.Init(c); err != nil {
		t.Fatalf("RandR: %v", err)
	}
	root := xproto.Setup(c).DefaultScreen(c).Root
	// The first monitor takes over Xvfb's output, which retires the automatic
	// monitor that covers the whole screen (as xrandr --setmonitor does).
	res, err := randr.GetScreenResources(c, root).Reply()
	if err != nil || len(res.Outputs) == 0 {
		t.Fatalf("RandR screen resources: %v", err)
	}
	x := 0
	for i, s := range sizes {
		name := fmt.Sprintf("TEST-%d", i+1)
		atom, err := xproto.InternAtom(c, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatal(err)
		}
		info := randr.MonitorInfo{Name: atom.Atom, Primary: i == 0, X: int16(x), Width: uint16(s.X), Height: uint16(s.Y),
			WidthInMillimeters: uint32(s.X / 4), HeightInMillimeters: uint32(s.Y / 4)}
		if i == 0 {
			info.NOutput, info.Outputs = 1, res.Outputs[:1]
		}
		if err := randr.SetMonitorChecked(c, root, info).Check(); err != nil {
			t.Fatalf("define monitor %s: %v", name, err)
		}
		x += s.X
	}
}

// Show paints img onto the root window of display at position at, as a
// wallpaper would appear.
func Show(t testing.TB, display string, img image.Image, at image.Point) {
	t.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to %s: %v", display, err)
	}
	defer c.Close()
	screen := xproto.Setup(c).DefaultScreen(c)
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(screen.Root), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	// Send a few rows per request to stay under the core protocol's request size.
	rows := max(1, 60000/(b.Dx()*4))
	for y0 := b.Min.Y; y0 < b.Max.Y; y0 += rows {
		y1 := min(y0+rows, b.Max.Y)
		data := make([]byte, 0, (y1-y0)*b.Dx()*4)
		for y := y0; y < y1; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				data = append(data, byte(bl>>8), byte(g>>8), byte(r>>8), 0) // BGRX, ZPixmap depth 24
			}
		}
		err := xproto.PutImageChecked(c, xproto.ImageFormatZPixmap, xproto.Drawable(screen.Root), gc,
			uint16(b.Dx()), uint16(y1-y0), int16(at.X), int16(at.Y+y0-b.Min.Y), 0, 24, data).Check()
		if err != nil {
			t.Fatalf("draw on %s: %v", display, err)
		}
	}
}
