package qr

import (
	"image"
	"testing"
)

func benchmarkDecode(b *testing.B, img image.Image, want int) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		codes, err := Decode(img)
		if len(codes) != want {
			b.Fatalf("got %d codes (%v), want %d", len(codes), err, want)
		}
	}
}

// BenchmarkDecodeScreenshot is the common case: one clean code in a
// 1920×1080 screenshot.
func BenchmarkDecodeScreenshot(b *testing.B) {
	img := screenshot(1920, 1080, 1)
	pasted(img, scaled(codeImage(b, typicalURI), 4), 800, 300)
	benchmarkDecode(b, img, 1)
}

// BenchmarkDecode4KSmallModules is the hard case: a 33×33-module code at
// 2 pixels per module in a 3840×2160 screenshot.
func BenchmarkDecode4KSmallModules(b *testing.B) {
	img := screenshot(3840, 2160, 1)
	pasted(img, scaled(codeImage(b, shortURI), 2), 2600, 1500)
	benchmarkDecode(b, img, 1)
}

// BenchmarkDecodeNoCode1080p is the worst case: every strategy runs and
// finds nothing.
func BenchmarkDecodeNoCode1080p(b *testing.B) {
	benchmarkDecode(b, screenshot(1920, 1080, 1), 0)
}

func BenchmarkDecodeNoCode4K(b *testing.B) {
	benchmarkDecode(b, screenshot(3840, 2160, 1), 0)
}

func BenchmarkDecodeNoCode8K(b *testing.B) {
	benchmarkDecode(b, screenshot(7680, 4320, 1), 0)
}
