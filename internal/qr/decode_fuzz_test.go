package qr

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/image/bmp"
)

// seedText is the text of every image in testdata/fuzz/seeds.
const seedText = "otpauth://totp/Seed?secret=JBSWY3DPEHPK3PXP"

// seedImages encodes a small code (2 px per module) in every format the
// standard library and x/image can write. WebP has no Go encoder: its seeds
// are committed files, made with
//
//	cwebp -quiet -lossless code.png -o code-lossless.webp
//	cwebp -quiet -q 80 code.png -o code-lossy.webp
func seedImages(t testing.TB) map[string][]byte {
	t.Helper()
	img := scaled(codeImage(t, seedText), 2)
	paletted := image.NewPaletted(img.Rect, color.Palette{color.Black, color.White})
	for i, v := range img.Pix {
		if v > 127 {
			paletted.Pix[i] = 1
		}
	}
	out := make(map[string][]byte)
	var buf bytes.Buffer
	encoders := map[string]func() error{
		"code.png": func() error { return png.Encode(&buf, img) },
		"code.jpg": func() error { return jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}) },
		"code.gif": func() error { return gif.Encode(&buf, paletted, nil) },
		"code.bmp": func() error { return bmp.Encode(&buf, paletted) },
	}
	for name, encode := range encoders {
		buf.Reset()
		if err := encode(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = bytes.Clone(buf.Bytes())
	}
	return out
}

const seedDir = "testdata/fuzz/seeds"

// TestWriteFuzzSeeds rewrites the committed seed images (all but WebP) when
// QR_WRITE_SEEDS is set; otherwise it checks they are what seedImages makes.
func TestWriteFuzzSeeds(t *testing.T) {
	write := os.Getenv("QR_WRITE_SEEDS") != ""
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seedImages(t) {
		path := filepath.Join(seedDir, name)
		if write {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if committed, err := os.ReadFile(path); err != nil || !bytes.Equal(committed, data) {
			t.Errorf("%s is not what seedImages makes (%v): run QR_WRITE_SEEDS=1 go test ./internal/qr/ -run TestWriteFuzzSeeds", path, err)
		}
	}
}

// TestDecodeBytesFormats reads the seed of every supported format.
func TestDecodeBytesFormats(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	formats := make(map[string]bool)
	for _, f := range files {
		formats[filepath.Ext(f)] = true
	}
	for _, ext := range []string{".png", ".jpg", ".gif", ".bmp", ".webp"} {
		if !formats[ext] {
			t.Errorf("no %s seed in %s", ext, seedDir)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			codes, err := DecodeFile(f)
			if err != nil {
				t.Fatalf("DecodeFile: %v", err)
			}
			if got := texts(codes); len(got) != 1 || got[0] != seedText {
				t.Errorf("got %q, want [%q]", got, seedText)
			}
		})
	}
}

// FuzzDecodeBytes feeds DecodeBytes damaged images: it must not panic, must
// fail only with the documented errors, and must finish in bounded time.
func FuzzDecodeBytes(f *testing.F) {
	for _, data := range seedImages(f) {
		f.Add(data)
	}
	files, _ := filepath.Glob(filepath.Join(seedDir, "*"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{})
	f.Add([]byte("GIF89a"))
	f.Add(bigPNGHeader(100000, 100000))

	f.Fuzz(func(t *testing.T, data []byte) {
		// A few hundred bytes can describe a 66 Mpx image, which is
		// correctly decoded but takes seconds; keep the fuzzer on small ones.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 300_000 && cfg.Width*cfg.Height <= MaxPixels {
			t.Skip("large image")
		}
		start := time.Now()
		codes, err := DecodeBytes(data)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("DecodeBytes took %v", d)
		}
		var nf *NotFoundError
		switch {
		case err == nil:
			if len(codes) == 0 {
				t.Error("no error and no codes")
			}
		case errors.As(err, &nf):
			if len(nf.Tried) == 0 {
				t.Error("NotFoundError.Tried is empty")
			}
		case errors.Is(err, ErrTooLarge), errors.Is(err, ErrUnsupportedImage), errors.Is(err, ErrCorruptImage):
		default:
			t.Errorf("undocumented error %T: %v", err, err)
		}
	})
}
