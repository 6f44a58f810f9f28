package cli

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"strings"

	"github.com/countersign/countersign/internal/qr"
)

// Colours of a terminal QR code: black modules on white whatever the
// terminal's theme, so that cameras read it on dark terminals too.
const (
	qrColours = "\x1b[30;107m"
	qrReset   = "\x1b[0m"
)

// writeTerminalQR draws text as a QR code with half-block characters, two
// rows of modules per line, quiet zone included.
func writeTerminalQR(w io.Writer, text string) error {
	b, err := qr.Encode(text, 0) // one pixel per module
	if err != nil {
		return err
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("reading the QR code: %w", err)
	}
	r := img.Bounds()
	dark := func(x, y int) bool {
		if y >= r.Max.Y {
			return false
		}
		g, _, _, _ := img.At(x, y).RGBA()
		return g < 0x8000
	}
	var sb strings.Builder
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		sb.WriteString(qrColours)
		for x := r.Min.X; x < r.Max.X; x++ {
			sb.WriteString(halfBlock(dark(x, y), dark(x, y+1)))
		}
		sb.WriteString(qrReset + "\n")
	}
	_, err = io.WriteString(w, sb.String())
	return err
}

// halfBlock is the character for a top and a bottom module.
func halfBlock(top, bottom bool) string {
	switch {
	case top && bottom:
		return "█"
	case top:
		return "▀"
	case bottom:
		return "▄"
	}
	return " "
}
