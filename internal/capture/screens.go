package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jezek/xgb"
	"github.com/kbinani/screenshot"
)

// The X protocol library logs to stderr by default; our errors say enough.
func init() { xgb.Logger.SetOutput(io.Discard) }

// x11Screens captures each active display through kbinani/screenshot: the
// Xinerama heads on X11, the displays on macOS and Windows.
func x11Screens() (screens []Screen, err error) {
	defer func() {
		if r := recover(); r != nil { // the X protocol library panics on some broken connections
			screens, err = nil, fmt.Errorf("capture failed: %v", r)
		}
	}()
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, errors.New("cannot connect, or the display reports no monitors (is the Xinerama extension missing?)")
	}
	for i := range n {
		bounds := screenshot.GetDisplayBounds(i)
		img, err := screenshot.CaptureRect(bounds)
		if err != nil {
			return nil, fmt.Errorf("monitor %d: %w", i+1, err)
		}
		screens = append(screens, Screen{Name: fmt.Sprintf("monitor %d", i+1), Bounds: bounds, Image: img})
	}
	return screens, nil
}

// ScreenSize is the size, in pixels, of the first monitor, as the display
// reports it (the Xinerama heads on X11, the displays on macOS and
// Windows); ok is false when it cannot say (Wayland, no display). An X
// display (DISPLAY set) that does not answer is asked again, up to five
// times over a quarter of a second: a window sized without it may not fit
// the screen.
func ScreenSize() (width, height int, ok bool) {
	tries := 1
	if os.Getenv("DISPLAY") != "" {
		tries = 5
	}
	for i := range tries {
		if width, height, ok = screenSize(); ok || i == tries-1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return width, height, ok
}

func screenSize() (width, height int, ok bool) {
	defer func() {
		if recover() != nil { // the X protocol library panics on some broken connections
			width, height, ok = 0, 0, false
		}
	}()
	b := screenshot.GetDisplayBounds(0)
	return b.Dx(), b.Dy(), !b.Empty()
}
