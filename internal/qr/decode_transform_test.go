package qr

// Image transforms that turn a clean encoded code into the kinds of images
// people really decode: screenshots, photos, scaled and re-compressed copies.

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing/common"
	xdraw "golang.org/x/image/draw"
)

// codeImage renders text at one pixel per module, quiet zone included.
func codeImage(t testing.TB, text string) *image.Gray {
	t.Helper()
	data, err := Encode(text, 0)
	if err != nil {
		t.Fatalf("Encode(%.40q): %v", text, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode Encode output: %v", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("Encode output is %T, want *image.Gray", img)
	}
	return g
}

// modules is the side of the code in modules, quiet zone excluded.
func modules(g *image.Gray) int { return g.Bounds().Dx() - 8 }

// scaled enlarges src by an integer factor, keeping modules sharp.
func scaled(src *image.Gray, f int) *image.Gray {
	b := src.Bounds()
	dst := image.NewGray(image.Rect(0, 0, b.Dx()*f, b.Dy()*f))
	for y := 0; y < dst.Rect.Dy(); y++ {
		for x := 0; x < dst.Rect.Dx(); x++ {
			dst.Pix[y*dst.Stride+x] = src.GrayAt(b.Min.X+x/f, b.Min.Y+y/f).Y
		}
	}
	return dst
}

// resized scales src to w×h with bilinear filtering, as a browser or image
// viewer does at a fractional zoom.
func resized(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(dst, dst.Rect, src, src.Bounds(), xdraw.Src, nil)
	return dst
}

// rotated turns src by deg degrees clockwise about its centre, on a canvas
// large enough to hold it, filling the corners with bg.
func rotated(src *image.Gray, deg float64, bg uint8) *image.Gray {
	b := src.Bounds()
	sin, cos := math.Sincos(deg * math.Pi / 180)
	w := int(math.Ceil(math.Abs(float64(b.Dx())*cos) + math.Abs(float64(b.Dy())*sin)))
	h := int(math.Ceil(math.Abs(float64(b.Dx())*sin) + math.Abs(float64(b.Dy())*cos)))
	dst := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)+0.5-float64(w)/2, float64(y)+0.5-float64(h)/2
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			dst.Pix[y*dst.Stride+x] = bilinear(src, sx, sy, bg)
		}
	}
	return dst
}

// warped maps src onto the quadrilateral q (top-left, top-right,
// bottom-right, bottom-left) of a w×h canvas filled with bg: a photo taken
// at an angle.
func warped(src *image.Gray, q [4][2]float64, w, h int, bg uint8) *image.Gray {
	b := src.Bounds()
	sw, sh := float64(b.Dx()), float64(b.Dy())
	t := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
		q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1],
		0, 0, sw, 0, sw, sh, 0, sh)
	dst := image.NewGray(image.Rect(0, 0, w, h))
	xs, ys := make([]float64, w), make([]float64, w)
	for y := 0; y < h; y++ {
		for x := range xs {
			xs[x], ys[x] = float64(x)+0.5, float64(y)+0.5
		}
		t.TransformPointsXY(xs, ys)
		for x := range xs {
			dst.Pix[y*dst.Stride+x] = bilinear(src, xs[x]-0.5, ys[x]-0.5, bg)
		}
	}
	return dst
}

func bilinear(src *image.Gray, x, y float64, bg uint8) uint8 {
	b := src.Bounds()
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= b.Dx() || y >= b.Dy() {
			return float64(bg)
		}
		return float64(src.Pix[y*src.Stride+x])
	}
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	v := at(ix, iy)*(1-fx)*(1-fy) + at(ix+1, iy)*fx*(1-fy) + at(ix, iy+1)*(1-fx)*fy + at(ix+1, iy+1)*fx*fy
	return uint8(math.Round(v))
}

// leveled maps black to dark and white to light (and grey in between).
func leveled(src *image.Gray, dark, light uint8) *image.Gray {
	dst := image.NewGray(src.Rect)
	for i, v := range src.Pix {
		dst.Pix[i] = uint8(int(dark) + (int(light)-int(dark))*int(v)/255)
	}
	return dst
}

// noisy adds Gaussian noise of standard deviation sigma.
func noisy(src *image.Gray, sigma float64, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 1))
	dst := image.NewGray(src.Rect)
	for i, v := range src.Pix {
		dst.Pix[i] = uint8(min(max(float64(v)+r.NormFloat64()*sigma, 0), 255))
	}
	return dst
}

// blurred applies a 3×3 box blur: a slightly out-of-focus photo.
func blurred(src *image.Gray) *image.Gray {
	b := src.Bounds()
	dst := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sum, n := 0, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if (image.Point{x + dx, y + dy}).In(b) {
						sum += int(src.GrayAt(x+dx, y+dy).Y)
						n++
					}
				}
			}
			dst.SetGray(x, y, color.Gray{uint8(sum / n)})
		}
	}
	return dst
}

// jpegged re-encodes img as a JPEG of the given quality and decodes it again.
func jpegged(t testing.TB, img image.Image, quality int) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatalf("jpeg.Encode: %v", err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatalf("jpeg.Decode: %v", err)
	}
	return out
}

// screenshot draws a w×h desktop-like picture: a title bar, panels, lines of
// "text" (dark dashes of glyph height), icons and a photo-ish gradient, so
// that the decoder meets the edges and small squares real screens have.
func screenshot(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(x0, y0, x1, y1 int, c color.Color) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	fill(0, 0, w, h, color.RGBA{0xf3, 0xf4, 0xf6, 0xff})
	fill(0, 0, w, h/27+1, color.RGBA{0x2b, 0x2d, 0x31, 0xff}) // title bar
	fill(0, h/27+1, w/6, h, color.RGBA{0xe6, 0xe8, 0xeb, 0xff})
	glyph := max(h/90, 6) // text x-height in pixels, ~12 px at 1080p
	for y := h / 10; y < h-2*glyph; y += glyph * 2 {
		x := w/6 + w/40
		end := w - w/40 - r.IntN(w/4)
		for x < end {
			word := glyph/2 + r.IntN(glyph*5)
			fill(x, y, min(x+word, end), y+glyph, color.RGBA{0x30, 0x30, 0x38, 0xff})
			x += word + glyph/2
		}
		if r.IntN(6) == 0 {
			y += glyph * 2 // paragraph break
		}
	}
	// Icons: small dark squares with a light centre, finder-pattern look-alikes.
	for i := 0; i < 12; i++ {
		s := glyph + r.IntN(glyph*2)
		x, y := r.IntN(w/6-s-4)+2, h/10+r.IntN(h*8/10)
		fill(x, y, x+s, y+s, color.RGBA{0x40, 0x60, 0xa0, 0xff})
		fill(x+s/4, y+s/4, x+s-s/4, y+s-s/4, color.RGBA{0xff, 0xff, 0xff, 0xff})
	}
	// A photo: a smooth gradient with some blobs.
	px, py, pw, ph := w*2/3, h/8, w/4, h/4
	for y := py; y < py+ph; y++ {
		for x := px; x < px+pw; x++ {
			v := uint8(128 + 100*math.Sin(float64(x)/37)*math.Cos(float64(y)/23))
			img.SetRGBA(x, y, color.RGBA{v, uint8(255 - int(v)/2), v / 2, 0xff})
		}
	}
	return img
}

// busy fills a w×h canvas with random overlapping rectangles of every size
// and shade: a photo or a patterned page behind a code.
func busy(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 3))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h/200; i++ {
		s := 2 + r.IntN(40)
		x, y := r.IntN(w), r.IntN(h)
		c := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 0xff}
		draw.Draw(img, image.Rect(x, y, x+s, y+s*(1+r.IntN(3))/2), image.NewUniform(c), image.Point{}, draw.Src)
	}
	return img
}

// filled is a w×h canvas of one grey level.
func filled(w, h int, v uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

// pasted draws src onto dst with its top-left corner at (x, y).
func pasted(dst draw.Image, src image.Image, x, y int) {
	b := src.Bounds()
	draw.Draw(dst, image.Rect(x, y, x+b.Dx(), y+b.Dy()), src, b.Min, draw.Src)
}

// trimmed removes all but q modules of quiet zone from a code drawn at f
// pixels per module.
func trimmed(src *image.Gray, q, f int) *image.Gray {
	cut := (4 - q) * f
	b := src.Bounds().Inset(cut)
	return src.SubImage(b).(*image.Gray)
}

// inverted swaps dark and light.
func invertedGray(src *image.Gray) *image.Gray {
	return leveled(src, 255, 0)
}
