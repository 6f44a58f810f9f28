package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register decoders for DecodeBytes
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"strings"
	"time"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

const (
	// MaxPixels is the largest image decoded: two 8K (7680×4320) screens'
	// worth, 66 Mpx. A screenshot of every monitor of a large desk fits; a
	// decompression bomb (a tiny file claiming 100000×100000) is refused
	// before its pixels are allocated. An image near the limit takes about
	// 400 MB and two seconds (without a code in it) to search.
	MaxPixels = 2 * 7680 * 4320

	// MaxFileSize is the most DecodeFile reads: 64 MiB, well above any
	// screenshot or photo of a QR code.
	MaxFileSize = 64 << 20
)

// SupportedFormats names the image formats DecodeBytes and DecodeFile read.
const SupportedFormats = "PNG, JPEG, GIF, BMP, WebP"

var (
	// ErrNoCode is wrapped by *NotFoundError.
	ErrNoCode = errors.New("no QR code found")
	// ErrTooLarge means the image (or file) exceeds MaxPixels (or MaxFileSize).
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupportedImage means the data is not in one of SupportedFormats.
	ErrUnsupportedImage = errors.New("unsupported image format")
	// ErrCorruptImage means the data looks like a supported format but cannot be
	// decoded (truncated, damaged, or with no pixels).
	ErrCorruptImage = errors.New("corrupt image")
)

// NotFoundError is returned when an image holds no readable QR code.
type NotFoundError struct {
	// Tried lists the strategies tried, in order, in words ("hybrid
	// binarizer", "inverted", "upscaled ×2", "regions", …).
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%v (tried: %s)", ErrNoCode, strings.Join(e.Tried, ", "))
}

func (e *NotFoundError) Unwrap() error { return ErrNoCode }

// Code is one QR code found in an image.
type Code struct {
	Text string
	Kind Kind
	// Bounds encloses the code (without its quiet zone) in the pixel
	// coordinates of the input image.
	Bounds image.Rectangle
}

// Decode finds every QR code in img: deduplicated by text, in reading order
// (top to bottom, then left to right). The cheap strategy runs first and the
// harder ones only when it finds nothing; see the package documentation.
// The harder strategies stop after about four seconds (an image that needs
// them all takes under one second at 1080p and about two at 8K on two
// cores). It returns a *NotFoundError when there is no code, and
// ErrTooLarge for an image over MaxPixels.
func Decode(img image.Image) ([]Code, error) {
	codes, _, err := decode(img, time.Now)
	return codes, err
}

// decode is Decode with the clock that limits the harder strategies to
// searchBudget; it also returns the strategies tried, the last of which
// found the codes.
func decode(img image.Image, now func() time.Time) ([]Code, []string, error) {
	b := img.Bounds()
	if b.Empty() {
		return nil, nil, fmt.Errorf("%w: image has no pixels", ErrCorruptImage)
	}
	if err := checkSize(b.Dx(), b.Dy()); err != nil {
		return nil, nil, err
	}
	hits, tried := newSearch(luminance(img), now).run()
	if len(hits) == 0 {
		return nil, tried, &NotFoundError{Tried: tried}
	}
	codes := make([]Code, len(hits))
	for i, h := range hits {
		codes[i] = Code{Text: h.text, Kind: Classify(h.text), Bounds: h.bounds().Add(b.Min).Intersect(b)}
	}
	return codes, tried, nil
}

// DecodeBytes decodes an encoded image (PNG, JPEG, GIF, BMP or WebP) and
// finds the QR codes in it like Decode. The header is checked first: an
// image over MaxPixels fails with ErrTooLarge before any pixel is decoded,
// data in another format with ErrUnsupportedImage.
func DecodeBytes(data []byte) ([]Code, error) { return decodeBytes(data, time.Now) }

func decodeBytes(data []byte, now func() time.Time) ([]Code, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, fmt.Errorf("%w (supported: %s)", ErrUnsupportedImage, SupportedFormats)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s header: %v", ErrCorruptImage, format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s image is %d×%d pixels", ErrCorruptImage, format, cfg.Width, cfg.Height)
	}
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: cannot decode %s: %v", ErrCorruptImage, format, err)
	}
	codes, _, err := decode(img, now)
	return codes, err
}

// DecodeFile reads an image file of at most MaxFileSize bytes and finds the
// QR codes in it like DecodeBytes.
func DecodeFile(path string) ([]Code, error) { return decodeFile(path, time.Now) }

func decodeFile(path string, now func() time.Time) ([]Code, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d MiB", ErrTooLarge, path, MaxFileSize>>20)
	}
	return decodeBytes(data, now)
}

func checkSize(w, h int) error {
	if w > MaxPixels/h {
		return fmt.Errorf("%w: %d×%d pixels, more than %d Mpx", ErrTooLarge, w, h, MaxPixels/1_000_000)
	}
	return nil
}
