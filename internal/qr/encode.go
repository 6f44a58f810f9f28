package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// MaxEncodeSize bounds the size argument of Encode (in pixels per side).
const MaxEncodeSize = 4096

// ErrTextTooLong is returned by Encode for text that does not fit in the
// largest QR code (version 40) at error correction level M.
var ErrTextTooLong = errors.New("text too long for a QR code")

var encodeHints = map[gozxing.EncodeHintType]interface{}{
	gozxing.EncodeHintType_ERROR_CORRECTION: decoder.ErrorCorrectionLevel_M,
	gozxing.EncodeHintType_MARGIN:           4,
}

// Encode renders text as a black-on-white QR code PNG (error correction M,
// 4-module quiet zone). The image is size×size pixels, or larger when the
// code needs more than size pixels at one pixel per module; every module is
// the same whole number of pixels, so the code stays sharp. Text is encoded
// as UTF-8 bytes.
func Encode(text string, size int) ([]byte, error) {
	if text == "" {
		return nil, errors.New("cannot encode empty text")
	}
	if size < 0 || size > MaxEncodeSize {
		return nil, fmt.Errorf("size %d out of range 0–%d", size, MaxEncodeSize)
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, encodeHints)
	if err != nil {
		if strings.Contains(err.Error(), "too big") {
			return nil, fmt.Errorf("%w (%d bytes)", ErrTextTooLong, len(text))
		}
		return nil, fmt.Errorf("failed to encode QR code: %w", err)
	}
	img := image.NewGray(image.Rect(0, 0, m.GetWidth(), m.GetHeight()))
	for y := 0; y < m.GetHeight(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+m.GetWidth()]
		for x := range row {
			if !m.Get(x, y) {
				row[x] = 0xff
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("failed to encode png: %w", err)
	}
	return buf.Bytes(), nil
}
