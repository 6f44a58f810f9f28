package capture

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.design/x/clipboard"
)

// ErrClipboardEmpty means the clipboard holds neither an image nor text.
var ErrClipboardEmpty = errors.New("the clipboard holds no image and no text")

// Clip is what the clipboard holds: a PNG image, text, or both.
type Clip struct {
	PNG  []byte
	Text string
}

var (
	clipboardOnce sync.Once
	clipboardErr  error
)

// Clipboard reads the clipboard's image (as PNG) and text.
func Clipboard(opts Options) (Clip, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if !nativeCapture && getenv("DISPLAY") == "" {
		if getenv("WAYLAND_DISPLAY") != "" {
			return Clip{}, errors.New("cannot read the clipboard: this Wayland session has no XWayland (DISPLAY is unset); save the image and use 'countersign qr decode FILE', or 'wl-paste --type image/png > qr.png' first")
		}
		return Clip{}, errors.New("cannot read the clipboard: no graphical session (DISPLAY is unset)")
	}
	clipboardOnce.Do(func() { clipboardErr = clipboard.Init() })
	if clipboardErr != nil {
		return Clip{}, fmt.Errorf("cannot read the clipboard: %v", clipboardErr)
	}
	c := Clip{PNG: clipboard.Read(clipboard.FmtImage), Text: string(clipboard.Read(clipboard.FmtText))}
	if len(c.PNG) == 0 && c.Text == "" {
		return Clip{}, ErrClipboardEmpty
	}
	return c, nil
}
