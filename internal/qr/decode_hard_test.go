package qr

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	// shortURI fits version 4 (33×33 modules) at error correction M.
	shortURI = "otpauth://totp/Ex:alice?secret=JBSWY3DPEHPK3PXP&issuer=Ex"
	// typicalURI is what a web site shows when enrolling an account.
	typicalURI = "otpauth://totp/GitHub:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub&algorithm=SHA1&digits=6&period=30"
)

// hardCase is one kind of image people decode, built from a clean code.
type hardCase struct {
	name  string
	build func(t testing.TB) image.Image
	want  []string // texts, in reading order
}

func hardCases() []hardCase {
	onScreen := func(w, h int, code func(t testing.TB) image.Image, x, y int) func(t testing.TB) image.Image {
		return func(t testing.TB) image.Image {
			img := screenshot(w, h, uint64(w))
			pasted(img, code(t), x, y)
			return img
		}
	}
	typical := func(f int) func(t testing.TB) image.Image {
		return func(t testing.TB) image.Image { return scaled(codeImage(t, typicalURI), f) }
	}
	turned := func(deg float64) func(t testing.TB) image.Image {
		return onScreen(1280, 800, func(t testing.TB) image.Image {
			return rotated(scaled(codeImage(t, typicalURI), 4), deg, 0xff)
		}, 400, 150)
	}
	return []hardCase{
		{"screenshot 1080p", onScreen(1920, 1080, typical(4), 800, 300), []string{typicalURI}},
		{"small modules 2px in 4K", onScreen(3840, 2160, func(t testing.TB) image.Image {
			g := codeImage(t, shortURI)
			if m := modules(g); m != 33 {
				t.Fatalf("short code has %d modules, want 33", m)
			}
			return scaled(g, 2)
		}, 2600, 1500), []string{shortURI}},
		{"rotated 90", turned(90), []string{typicalURI}},
		{"rotated 180", turned(180), []string{typicalURI}},
		{"rotated 270", turned(270), []string{typicalURI}},
		{"rotated 15", turned(15), []string{typicalURI}},
		{"perspective", func(t testing.TB) image.Image {
			code := scaled(codeImage(t, typicalURI), 6)
			return warped(code, [4][2]float64{{120, 90}, {560, 140}, {540, 520}, {100, 560}}, 680, 640, 0xc8)
		}, []string{typicalURI}},
		{"inverted dark theme", func(t testing.TB) image.Image {
			img := screenshot(1600, 900, 7)
			pasted(img, scaled(codeImage(t, typicalURI), 4), 700, 250)
			return invertedRGBA(img)
		}, []string{typicalURI}},
		{"low contrast #777 on #999", func(t testing.TB) image.Image {
			img := filled(1280, 800, 0x99)
			pasted(img, leveled(scaled(codeImage(t, typicalURI), 4), 0x77, 0x99), 500, 200)
			return img
		}, []string{typicalURI}},
		{"jpeg quality 30", func(t testing.TB) image.Image {
			img := screenshot(1920, 1080, 3)
			pasted(img, scaled(codeImage(t, typicalURI), 3), 900, 400)
			return jpegged(t, img, 30)
		}, []string{typicalURI}},
		{"noise sigma 50", func(t testing.TB) image.Image {
			img := filled(900, 700, 0xf0)
			pasted(img, scaled(codeImage(t, typicalURI), 4), 250, 150)
			return noisy(img, 50, 1)
		}, []string{typicalURI}},
		{"busy background", func(t testing.TB) image.Image {
			img := busy(1280, 800, 5)
			pasted(img, trimmed(scaled(codeImage(t, typicalURI), 4), 1, 4), 420, 160)
			return img
		}, []string{typicalURI}},
		{"HiDPI 1.5x scaling", onScreen(2880, 1620, func(t testing.TB) image.Image {
			g := scaled(codeImage(t, typicalURI), 3)
			return resized(g, g.Rect.Dx()*3/2, g.Rect.Dy()*3/2)
		}, 1300, 600), []string{typicalURI}},
		{"small modules 2.5px", onScreen(2560, 1440, func(t testing.TB) image.Image {
			g := codeImage(t, shortURI)
			return resized(g, g.Rect.Dx()*5/2, g.Rect.Dy()*5/2)
		}, 1500, 800), []string{shortURI}},
		{"photo", func(t testing.TB) image.Image {
			code := rotated(scaled(codeImage(t, typicalURI), 5), 8, 0xe0)
			w := code.Rect.Dx()
			img := warped(code, [4][2]float64{{60, 40}, {float64(w) + 20, 70}, {float64(w), float64(w) + 10}, {50, float64(w) + 60}}, w+100, w+120, 0x90)
			return jpegged(t, noisy(blurred(leveled(img, 0x30, 0xd0)), 8, 2), 60)
		}, []string{typicalURI}},
		{"8K screenshot", onScreen(7680, 4320, typical(8), 5000, 2000), []string{typicalURI}},
		// Beyond the list above: cases zbarimg 0.23 misses.
		{"very low contrast #888 on #999", func(t testing.TB) image.Image {
			img := filled(1280, 800, 0x99)
			pasted(img, leveled(scaled(codeImage(t, typicalURI), 4), 0x88, 0x99), 500, 200)
			return img
		}, []string{typicalURI}},
		{"dark theme, low contrast", func(t testing.TB) image.Image {
			img := filled(1280, 800, 0x30)
			pasted(img, leveled(scaled(codeImage(t, typicalURI), 4), 0x80, 0x30), 500, 200)
			return img
		}, []string{typicalURI}},
		{"noise sigma 80", func(t testing.TB) image.Image {
			img := filled(900, 700, 0xf0)
			pasted(img, scaled(codeImage(t, typicalURI), 4), 250, 150)
			return noisy(img, 80, 1)
		}, []string{typicalURI}},
		{"small modules 1.5px", onScreen(1920, 1080, func(t testing.TB) image.Image {
			g := codeImage(t, shortURI)
			return resized(g, g.Rect.Dx()*3/2, g.Rect.Dy()*3/2)
		}, 1200, 500), []string{shortURI}},
		{"small modules 1.5px in 4K", onScreen(3840, 2160, func(t testing.TB) image.Image {
			g := codeImage(t, typicalURI)
			return resized(g, g.Rect.Dx()*3/2, g.Rect.Dy()*3/2)
		}, 2600, 1500), []string{typicalURI}},
		{"small modules 2px, rotated 20°, low contrast in 4K", onScreen(3840, 2160, func(t testing.TB) image.Image {
			return leveled(rotated(scaled(codeImage(t, typicalURI), 2), 20, 0xff), 0x70, 0xb0)
		}, 2601, 1501), []string{typicalURI}},
		{"logo over the centre", func(t testing.TB) image.Image {
			img := screenshot(1600, 900, 8)
			code := scaled(codeImage(t, typicalURI), 5)
			c := code.Rect.Dx() / 2
			logo := filled(50, 50, 0x40)
			pasted(code, logo, c-25, c-25) // 10×10 modules, within error correction M
			pasted(img, code, 600, 200)
			return img
		}, []string{typicalURI}},
	}
}

func invertedRGBA(src *image.RGBA) *image.RGBA {
	dst := image.NewRGBA(src.Rect)
	for i, v := range src.Pix {
		if i%4 == 3 {
			dst.Pix[i] = v
		} else {
			dst.Pix[i] = 255 - v
		}
	}
	return dst
}

func TestDecodeHardCases(t *testing.T) {
	for _, tc := range hardCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := tc.build(t)
			keepCase(t, tc.name, img)
			start := time.Now()
			codes, tried, err := decode(img, frozen)
			t.Logf("%v×%v in %v, tried %q", img.Bounds().Dx(), img.Bounds().Dy(), time.Since(start), tried)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := texts(codes); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// keepCase writes a hard case's image as a PNG into $QR_CASES_DIR when it
// is set, to compare with other decoders (zbarimg -q --raw FILE).
func keepCase(t *testing.T, name string, img image.Image) {
	t.Helper()
	dir := os.Getenv("QR_CASES_DIR")
	if dir == "" {
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	file := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, name) + ".png"
	if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// frozen is a clock that never advances, so that no test depends on the
// speed of the machine (or the race detector) to reach a strategy.
func frozen() time.Time { return time.Time{} }

func texts(codes []Code) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c.Text
	}
	return out
}
