// Package capture takes images from the desktop: a screenshot of every
// monitor, and the clipboard's contents.
//
// On X11 it captures through github.com/kbinani/screenshot (each Xinerama
// head); on Wayland through the xdg-desktop-portal Screenshot interface over
// D-Bus, which asks the compositor for the whole desktop. When neither is
// possible the error says why and what to do instead. The clipboard is read
// through golang.design/x/clipboard (X11, and XWayland on Wayland).
//
// It does not look for QR codes in what it captures (see package qr), and it
// keeps nothing: a screenshot file the portal leaves behind is deleted after
// it is read, since it may show a secret.
package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
)

// ErrUnavailable wraps every reason the screen cannot be captured.
var ErrUnavailable = errors.New("cannot capture the screen")

// fallback is the advice every capture error ends with.
const fallback = "save the QR code as an image (or copy it) and use 'countersign qr decode FILE' or 'countersign add --qr FILE'"

// Screen is the picture of one monitor, or of the whole desktop when the
// backend gives one image for all monitors (the portal does).
type Screen struct {
	Name   string          // "X11 head 1", "desktop (portal)"
	Bounds image.Rectangle // position in the desktop's coordinates
	Image  image.Image
}

// Options select the backend; the zero value reads the process environment.
type Options struct {
	Getenv func(string) string
}

// Screens captures every monitor.
func Screens(ctx context.Context, opts Options) ([]Screen, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch session(getenv) {
	case "wayland":
		shot, err := portalScreenshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v; %s", ErrUnavailable, err, fallback)
		}
		return []Screen{{Name: "desktop (portal)", Bounds: shot.Bounds(), Image: shot}}, nil
	case "x11":
		screens, err := x11Screens()
		if err != nil {
			return nil, fmt.Errorf("%w: X11 display %s: %v; %s", ErrUnavailable, getenv("DISPLAY"), err, fallback)
		}
		return screens, nil
	case "native":
		screens, err := x11Screens() // kbinani/screenshot's macOS and Windows backends
		if err != nil {
			return nil, fmt.Errorf("%w: %v; %s", ErrUnavailable, err, fallback)
		}
		return screens, nil
	}
	return nil, fmt.Errorf("%w: no graphical session (neither WAYLAND_DISPLAY nor DISPLAY is set); %s", ErrUnavailable, fallback)
}

// session names the capture backend the environment calls for.
func session(getenv func(string) string) string {
	if nativeCapture {
		return "native"
	}
	if getenv("WAYLAND_DISPLAY") != "" || getenv("XDG_SESSION_TYPE") == "wayland" {
		return "wayland"
	}
	if getenv("DISPLAY") != "" {
		return "x11"
	}
	return ""
}
