package wine

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Display starts a private X server of size for Windows programs' windows
// and returns its DISPLAY; it stops when the test ends. Like every test's
// Xvfb it takes the first free display number, unless
// COUNTERSIGN_TEST_DISPLAYS (e.g. "140-149") confines it to a range, for a
// machine whose other display numbers belong to someone else.
func Display(tb testing.TB, size image.Point) string {
	tb.Helper()
	r := os.Getenv("COUNTERSIGN_TEST_DISPLAYS")
	if r == "" {
		return xvfbtest.Start(tb, size)
	}
	first, last, err := parseRange(r)
	if err != nil {
		tb.Fatalf("COUNTERSIGN_TEST_DISPLAYS=%q: %v", r, err)
	}
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		if xvfbtest.Required() || Required() {
			tb.Fatal("Xvfb not found (make deps installs the xvfb package)")
		}
		tb.Skip("Xvfb not installed: run through make test")
	}
	for n := first; n <= last; n++ {
		if display, ok := startXvfb(tb, path, n, size); ok {
			return display
		}
	}
	tb.Fatalf("no Xvfb could start on the displays %s", r)
	return ""
}

// startXvfb starts Xvfb on display number n and reports whether it runs
// there; it stops when the test ends. Xvfb writes the number to -displayfd
// once it listens, and exits without writing when the number is taken.
func startXvfb(tb testing.TB, path string, n int, size image.Point) (string, bool) {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(path, ":"+strconv.Itoa(n), "-displayfd", "3", "-nolisten", "tcp", "-noreset",
		"-screen", "0", fmt.Sprintf("%dx%dx24", size.X, size.Y))
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// Stopped with SIGTERM, Xvfb removes its lock file.
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case got := <-line:
		if got == strconv.Itoa(n) {
			tb.Cleanup(stop)
			return ":" + got, true
		}
	case <-time.After(20 * time.Second):
	}
	stop() // the number is taken, or the server hangs: try the next
	return "", false
}

// parseRange reads "140-149" or "140".
func parseRange(s string) (first, last int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if first, err = strconv.Atoi(strings.TrimPrefix(a, ":")); err != nil {
		return 0, 0, fmt.Errorf("want FIRST-LAST display numbers: %w", err)
	}
	if last, err = strconv.Atoi(strings.TrimPrefix(b, ":")); err != nil || last < first {
		return 0, 0, fmt.Errorf("want FIRST-LAST display numbers, FIRST <= LAST")
	}
	return first, last, nil
}

// Screenshot is the whole screen of display, as the X server holds it.
func Screenshot(display string) (*image.RGBA, error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", display, err)
	}
	defer c.Close()
	screen := xproto.Setup(c).DefaultScreen(c)
	w, h := int(screen.WidthInPixels), int(screen.HeightInPixels)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// In bands of rows, to stay under the core protocol's reply size.
	rows := max(1, (1<<20)/(w*4))
	for y0 := 0; y0 < h; y0 += rows {
		n := min(rows, h-y0)
		reply, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(screen.Root),
			0, int16(y0), uint16(w), uint16(n), 0xffffffff).Reply()
		if err != nil {
			return nil, fmt.Errorf("read the screen of %s: %w", display, err)
		}
		if len(reply.Data) < w*n*4 {
			return nil, fmt.Errorf("read the screen of %s: %d bytes for %d×%d pixels (depth %d)", display, len(reply.Data), w, n, reply.Depth)
		}
		for i := 0; i < w*n; i++ {
			b, g, r := reply.Data[4*i], reply.Data[4*i+1], reply.Data[4*i+2] // BGRX at depth 24
			img.SetRGBA(i%w, y0+i/w, color.RGBA{r, g, b, 0xff})
		}
	}
	return img, nil
}

// Display starts a private X server (as the Display function does) and
// puts every command of the prefix on it until the test ends; it returns
// its DISPLAY. Wine's desktop process (explorer.exe: the desktop window,
// the tray), which any program linking user32 starts, lives as long as the
// wineserver and stays on the display it started with, so the prefix's
// processes are ended first, and again when the test ends, before the X
// server stops.
func (p *Prefix) Display(tb testing.TB, size image.Point) string {
	tb.Helper()
	display := Display(tb, size)
	if err := p.Kill(); err != nil {
		tb.Fatal(err)
	}
	p.display = display
	tb.Cleanup(func() {
		p.display = ""
		if err := p.Kill(); err != nil {
			tb.Error(err)
		}
	})
	return display
}
