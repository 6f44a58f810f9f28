package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

func TestDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		text string
		size int
	}{
		{"otpauth", typicalURI, 300},
		{"otpauth with unicode", "otpauth://totp/Bücher Café:jürgen@例え.jp?secret=JBSWY3DPEHPK3PXP&issuer=Bücher Café", 400},
		{"otpauth with emoji", "otpauth://totp/🔐 Vault:zoë?secret=JBSWY3DPEHPK3PXP&issuer=🔐 Vault", 400},
		{"upper-case scheme", "OTPAUTH://TOTP/X?SECRET=JBSWY3DPEHPK3PXP", 200},
		{"long migration", migrationURI(0, 1000), 800},
		{"one character", "a", 0},
		{"digits only", "12345678901234567890", 100},
		{"plain URL", "https://example.com/enroll?token=abc", 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Encode(tt.text, tt.size)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			codes, err := DecodeBytes(data)
			if err != nil {
				t.Fatalf("DecodeBytes: %v", err)
			}
			if len(codes) != 1 {
				t.Fatalf("got %d codes %q, want 1", len(codes), texts(codes))
			}
			c := codes[0]
			if c.Text != tt.text {
				t.Errorf("got text %q, want %q", c.Text, tt.text)
			}
			if want := Classify(tt.text); c.Kind != want {
				t.Errorf("got kind %q, want %q", c.Kind, want)
			}
			img, _ := png.Decode(bytes.NewReader(data))
			if want := darkBounds(img); !near(c.Bounds, want, 2) {
				t.Errorf("got bounds %v, want %v", c.Bounds, want)
			}
		})
	}
}

// darkBounds encloses the dark pixels of img: the code without its quiet zone.
func darkBounds(img image.Image) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if l := lum16(img.At(x, y)); l < 128 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// near reports whether every edge of got is within tol pixels of want's.
func near(got, want image.Rectangle, tol int) bool {
	d := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	return d(got.Min.X, want.Min.X) && d(got.Min.Y, want.Min.Y) && d(got.Max.X, want.Max.X) && d(got.Max.Y, want.Max.Y)
}

// TestDecodeBounds checks that Bounds is in input coordinates whichever
// strategy found the code: each one scans a differently scaled, cropped or
// inverted copy of the image.
func TestDecodeBounds(t *testing.T) {
	const f = 4 // pixels per module of the pasted code
	code := scaled(codeImage(t, typicalURI), f)
	side := code.Rect.Dx() - 8*f
	tests := []struct {
		name     string
		build    func() image.Image
		want     image.Rectangle
		strategy string
		tol      int
	}{
		{"offset image", func() image.Image {
			img := image.NewGray(image.Rect(-300, 1000, 700, 1800))
			draw.Draw(img, img.Rect, image.NewUniform(color.White), img.Rect.Min, draw.Src)
			pasted(img, code, -100, 1200)
			return img
		}, image.Rect(-100+4*f, 1200+4*f, -100+4*f+side, 1200+4*f+side), "hybrid binarizer", 1},
		{"rotated 90", func() image.Image {
			img := screenshot(1280, 800, 1)
			pasted(img, rotated(code, 90, 0xff), 500, 200)
			return img
		}, image.Rect(500+4*f, 200+4*f, 500+4*f+side, 200+4*f+side), "hybrid binarizer", 1},
		{"inverted", func() image.Image {
			img := image.NewGray(image.Rect(0, 0, 800, 600))
			pasted(img, invertedGray(code), 300, 100)
			return img
		}, image.Rect(300+4*f, 100+4*f, 300+4*f+side, 100+4*f+side), "inverted", 1},
		{"downscaled 8K", func() image.Image {
			img := filled(7680, 4320, 0xff)
			pasted(img, scaled(code, 2), 6001, 3003)
			return img
		}, image.Rect(6001+8*f, 3003+8*f, 6001+8*f+2*side, 3003+8*f+2*side), "downscaled ×1/2", 2},
		{"regions", func() image.Image {
			g := codeImage(t, shortURI)
			small := resized(g, g.Rect.Dx()*3/2, g.Rect.Dy()*3/2)
			img := screenshot(3840, 2160, 1)
			pasted(img, small, 2601, 1501)
			return img
		}, image.Rect(2601+6, 1501+6, 2601+6+33*3/2, 1501+6+33*3/2), "regions", 2},
		{"tiles", func() image.Image {
			img := screenshot(3840, 2160, 1)
			r := rotated(scaled(codeImage(t, typicalURI), 2), 20, 0xff)
			pasted(img, leveled(r, 0x70, 0xb0), 2601, 1501)
			return img
		}, func() image.Rectangle {
			// The code (2 px modules) turned 20° about the centre of the pasted square.
			w := float64(rotated(scaled(codeImage(t, typicalURI), 2), 20, 0xff).Rect.Dx())
			cx, cy := 2601+w/2, 1501+w/2
			h := float64(modules(codeImage(t, typicalURI))) * (math.Cos(math.Pi/9) + math.Sin(math.Pi/9))
			return image.Rect(int(math.Round(cx-h)), int(math.Round(cy-h)), int(math.Round(cx+h)), int(math.Round(cy+h)))
		}(), "tiles", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			codes, tried, err := decode(tt.build(), frozen)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := tried[len(tried)-1]; got != tt.strategy {
				t.Fatalf("found by %q, want %q (the case no longer tests its strategy)", got, tt.strategy)
			}
			if len(codes) != 1 {
				t.Fatalf("got %d codes, want 1", len(codes))
			}
			if got := codes[0].Bounds; !near(got, tt.want, tt.tol) {
				t.Errorf("got bounds %v, want %v (±%d)", got, tt.want, tt.tol)
			}
		})
	}
}

func TestDecodeNoCode(t *testing.T) {
	tests := []struct {
		name string
		img  image.Image
	}{
		{"screenshot", screenshot(1280, 720, 4)},
		{"white", filled(640, 480, 0xff)},
		{"busy", busy(640, 480, 9)},
		{"tiny", image.NewGray(image.Rect(0, 0, 3, 2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := Decode(tt.img)
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("got %d codes and error %v, want a *NotFoundError", len(codes), err)
			}
			if !errors.Is(err, ErrNoCode) {
				t.Errorf("got %v, want it to wrap ErrNoCode", err)
			}
			if len(nf.Tried) == 0 || nf.Tried[0] != "hybrid binarizer" {
				t.Errorf("got Tried %q, want it to start with the hybrid binarizer", nf.Tried)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "no QR code found (tried: hybrid binarizer, ") {
				t.Errorf("got message %q, want \"no QR code found (tried: hybrid binarizer, …)\"", msg)
			}
		})
	}
}

// bigPNGHeader is the start of a PNG that claims w×h pixels: signature and
// IHDR, no pixel data.
func bigPNGHeader(w, h uint32) []byte {
	ihdr := make([]byte, 0, 25)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 13)
	ihdr = append(ihdr, "IHDR"...)
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale
	ihdr = binary.BigEndian.AppendUint32(ihdr, crc32.ChecksumIEEE(ihdr[4:]))
	return append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
}

// gifHeader is a GIF that claims a w×h logical screen and holds no frame.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0, ';')
}

// jpegHeader is the start of a baseline JPEG that claims w×h pixels.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8} // SOI
	// A JFIF APP0 (without it the reader looks further for an Adobe
	// marker), a quantization table, then SOF0 for one 8-bit component.
	b = append(b, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	b = append(b, 0xff, 0xdb, 0, 67, 0)
	b = append(b, bytes.Repeat([]byte{1}, 64)...)
	b = append(b, 0xff, 0xc0, 0, 11, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0)
}

func TestDecodeBytesErrors(t *testing.T) {
	valid, err := Encode("x", 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"png 100000×100000", bigPNGHeader(100000, 100000), ErrTooLarge},
		{"png just over MaxPixels", bigPNGHeader(7680*2+1, 4320), ErrTooLarge},
		{"png 1×(MaxPixels+1)", bigPNGHeader(1, MaxPixels+1), ErrTooLarge},
		{"gif 65535×65535", gifHeader(65535, 65535), ErrTooLarge},
		{"jpeg 65535×65535", jpegHeader(65535, 65535), ErrTooLarge},
		{"gif 0×0", gifHeader(0, 0), ErrCorruptImage},
		{"png 0×10", bigPNGHeader(0, 10), ErrCorruptImage},
		{"png truncated", valid[:len(valid)/2], ErrCorruptImage},
		{"garbage", []byte("this is not an image, just text"), ErrUnsupportedImage},
		{"empty", nil, ErrUnsupportedImage},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrUnsupportedImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			codes, err := DecodeBytes(tt.data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %d codes and error %v, want %v", len(codes), err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes before failing, want under 1 MiB", alloc)
			}
			if tt.want == ErrUnsupportedImage && !strings.Contains(err.Error(), SupportedFormats) {
				t.Errorf("got message %q, want it to name %s", err, SupportedFormats)
			}
		})
	}
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	data, err := Encode(typicalURI, 200)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "code.png")
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.png")
	// Sparse: the file claims MaxFileSize+1 bytes without taking the disk.
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxFileSize+1); err != nil {
		t.Fatal(err)
	}

	codes, err := DecodeFile(good)
	if err != nil || len(codes) != 1 || codes[0].Text != typicalURI {
		t.Errorf("DecodeFile(code.png) = %q, %v; want [%q]", texts(codes), err, typicalURI)
	}
	if _, err := DecodeFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeFile(big.png): got %v, want ErrTooLarge", err)
	}
	if _, err := DecodeFile(filepath.Join(dir, "missing.png")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("DecodeFile(missing.png): got %v, want fs.ErrNotExist", err)
	}
}

func TestDecodeImageTypes(t *testing.T) {
	code := scaled(codeImage(t, typicalURI), 3)
	b := code.Rect
	transparent := image.NewNRGBA(b) // black modules on a transparent page
	paletted := image.NewPaletted(b, color.Palette{color.Transparent, color.RGBA{0x20, 0x20, 0x80, 0xff}})
	gray16 := image.NewGray16(b)
	cmyk := image.NewCMYK(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dark := code.GrayAt(x, y).Y < 128
			gray16.SetGray16(x, y, color.Gray16{Y: uint16(code.GrayAt(x, y).Y) * 257})
			if dark {
				transparent.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0xff})
				paletted.SetColorIndex(x, y, 1)
				cmyk.SetCMYK(x, y, color.CMYK{0, 0, 0, 0xff})
			} else {
				transparent.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 0}) // black, but fully transparent
				cmyk.SetCMYK(x, y, color.CMYK{0, 0, 0, 0})
			}
		}
	}
	ycbcr := jpegged(t, code, 90)
	tests := []struct {
		name string
		img  image.Image
	}{
		{"gray", code},
		{"nrgba transparent", transparent},
		{"rgba", resized(code, b.Dx(), b.Dy())},
		{"paletted transparent", paletted},
		{"gray16", gray16},
		{"cmyk", cmyk},
		{"ycbcr", ycbcr},
		{"sub-image", code.SubImage(b.Inset(2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, err := Decode(tt.img)
			if err != nil {
				t.Fatalf("Decode(%T): %v", tt.img, err)
			}
			if got := texts(codes); len(got) != 1 || got[0] != typicalURI {
				t.Errorf("got %q, want [%q]", got, typicalURI)
			}
		})
	}
}

func TestLuminance(t *testing.T) {
	tests := []struct {
		name string
		c    color.Color
		want byte
	}{
		{"black", color.Black, 0},
		{"white", color.White, 255},
		{"transparent", color.Transparent, 255},
		{"half-transparent black", color.NRGBA{0, 0, 0, 128}, 127},
		{"green weighs double", color.RGBA{0, 255, 0, 255}, 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, img := range []image.Image{rgbaOf(tt.c), nrgbaOf(tt.c)} {
				p := luminance(img)
				if got := p.pix[0]; math.Abs(float64(got)-float64(tt.want)) > 1 {
					t.Errorf("%T: got %d, want %d", img, got, tt.want)
				}
			}
		})
	}
}

func rgbaOf(c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, c)
	return img
}

func nrgbaOf(c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, c)
	return img
}

// TestDecodeTimeLimit runs the search on a clock that jumps 10 s per
// reading: the cheap path still runs, then the search stops and says so.
func TestDecodeTimeLimit(t *testing.T) {
	var now time.Time
	clock := func() time.Time {
		now = now.Add(10 * time.Second)
		return now
	}
	_, _, err := decode(screenshot(640, 480, 1), clock)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("got %v, want a *NotFoundError", err)
	}
	if want := []string{"hybrid binarizer", "time limit reached"}; !slices.Equal(nf.Tried, want) {
		t.Errorf("got Tried %q, want %q", nf.Tried, want)
	}
}

// TestScanSurvivesPanics feeds gozxing inputs that make it panic: a plane
// whose pixels are fewer than its size says, and a triple decoded without a
// detector. Both must count as "nothing found".
func TestScanSurvivesPanics(t *testing.T) {
	broken := view{plane: plane{pix: make([]byte, 100), w: 300, h: 300}, scale: 1}
	for _, b := range []binarizer{hybrid, histogram, local} {
		if hits, _ := scan(broken, b, nil); len(hits) != 0 {
			t.Errorf("binarizer %d: got %d codes, want none", b, len(hits))
		}
	}
	fp := detector.NewFinderPattern1(10, 10, 1)
	if _, ok := decodeTriple(nil, nil, [3]*detector.FinderPattern{fp, fp, fp}, broken); ok {
		t.Error("decodeTriple without a detector: got a code, want none")
	}
}

func TestPlaneResampling(t *testing.T) {
	p := plane{pix: []byte{0, 255, 255, 0}, w: 2, h: 2}
	tests := []struct {
		name string
		got  plane
		want plane
	}{
		{"nearest ×2", p.upscaled(2), plane{pix: []byte{
			0, 0, 255, 255,
			0, 0, 255, 255,
			255, 255, 0, 0,
			255, 255, 0, 0}, w: 4, h: 4}},
		{"bilinear ×2", plane{pix: []byte{0, 255}, w: 2, h: 1}.smoothUpscaled(2), plane{pix: []byte{0, 64, 191, 255, 0, 64, 191, 255}, w: 4, h: 2}},
		{"box ×1/2", plane{pix: []byte{0, 10, 200, 255, 20, 30, 255, 255}, w: 4, h: 2}.downscaled(2), plane{pix: []byte{15, 241}, w: 2, h: 1}},
		{"crop", p.upscaled(2).crop(image.Rect(1, 1, 3, 2)), plane{pix: []byte{0, 255}, w: 2, h: 1}},
		{"inverted", p.inverted(), plane{pix: []byte{255, 0, 0, 255}, w: 2, h: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.w != tt.want.w || tt.got.h != tt.want.h || !bytes.Equal(tt.got.pix, tt.want.pix) {
				t.Errorf("got %d×%d %v, want %d×%d %v", tt.got.w, tt.got.h, tt.got.pix, tt.want.w, tt.want.h, tt.want.pix)
			}
		})
	}
}
