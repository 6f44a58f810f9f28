package qr

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		text string
		size int
	}{
		{"natural size", typicalURI, 0},
		{"exact multiple", shortURI, 41 * 5},
		{"not a multiple", typicalURI, 300},
		{"smaller than natural", typicalURI, 10},
		{"unicode", "otpauth://totp/Ünïcødé:例え?secret=JBSWY3DPEHPK3PXP", 256},
		{"large", migrationURI(0, 1000), 1024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(tt.text, tt.size)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("png.Decode: %v", err)
			}
			g, ok := img.(*image.Gray)
			if !ok {
				t.Fatalf("got %T, want *image.Gray", img)
			}
			w, h := g.Rect.Dx(), g.Rect.Dy()
			if w != h || w < tt.size {
				t.Errorf("got %d×%d pixels, want a square of at least %d", w, h, tt.size)
			}

			// One pixel per module, quiet zone included: every module of the
			// sized image must be a uniform square of that colour.
			unit := codeImage(t, tt.text)
			n := unit.Rect.Dx()
			scale := w / n
			if scale < 1 {
				t.Fatalf("got %d pixels for %d modules", w, n)
			}
			pad := (w - (n-8)*scale) / 2 // quiet zone plus centring, in pixels
			if pad < 4*scale {
				t.Errorf("got a quiet zone of %d pixels, want at least 4 modules (%d)", pad, 4*scale)
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					want := uint8(0xff)
					mx, my := (x-pad)/scale+4, (y-pad)/scale+4
					if x >= pad && y >= pad && mx < n-4 && my < n-4 {
						want = unit.GrayAt(mx, my).Y
					}
					if got := g.GrayAt(x, y).Y; got != want {
						t.Fatalf("pixel (%d,%d) = %#x, want %#x (module %d,%d at %d px)", x, y, got, want, mx, my, scale)
					}
				}
			}

			// An independent reader agrees on text and error correction level.
			bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
			res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{
				gozxing.DecodeHintType_PURE_BARCODE:  true,
				gozxing.DecodeHintType_CHARACTER_SET: "UTF-8",
			})
			if err != nil {
				t.Fatalf("gozxing cannot read it: %v", err)
			}
			if res.GetText() != tt.text {
				t.Errorf("gozxing read %q, want %q", res.GetText(), tt.text)
			}
			if got := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; got != "M" {
				t.Errorf("got error correction %v, want M", got)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		size int
		want error // nil: any error
	}{
		{"too long", strings.Repeat("a", 2332), 0, ErrTextTooLong}, // version 40-M holds 2331 bytes
		{"far too long", strings.Repeat("otpauth://", 1000), 0, ErrTextTooLong},
		{"empty", "", 100, nil},
		{"negative size", "x", -1, nil},
		{"huge size", "x", MaxEncodeSize + 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(tt.text, tt.size)
			if err == nil {
				t.Fatalf("got %d bytes and no error, want an error", len(data))
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := Encode(strings.Repeat("a", 2331), 0); err != nil {
		t.Errorf("Encode of 2331 bytes, the most version 40-M holds: %v", err)
	}
}
