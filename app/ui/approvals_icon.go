package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"

	"fyne.io/fyne/v2"
)

// markRed is the dot that marks the tray icon while sign-in requests wait.
var markRed = color.NRGBA{R: 0xD3, G: 0x2F, B: 0x2F, A: 0xFF}

// markIcon is icon with a red dot, ringed in white, in its top right
// corner. An icon that is not a PNG or JPEG image comes back as it is.
func markIcon(icon fyne.Resource) fyne.Resource {
	src, _, err := image.Decode(bytes.NewReader(icon.Content()))
	if err != nil {
		return icon
	}
	b := src.Bounds()
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), src, b.Min, draw.Src)

	size := float64(min(b.Dx(), b.Dy()))
	r := size * 0.22    // the dot
	ring := size * 0.05 // the white ring around it
	cx, cy := float64(b.Dx())-r-ring, r+ring
	disc(img, cx, cy, r+ring, color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF})
	disc(img, cx, cy, r, markRed)

	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return icon
	}
	return fyne.NewStaticResource("countersign-pending.png", out.Bytes())
}

// disc paints a filled circle over img, its edge anti-aliased.
func disc(img *image.NRGBA, cx, cy, r float64, c color.NRGBA) {
	b := img.Bounds()
	for y := max(b.Min.Y, int(cy-r-1)); y < min(b.Max.Y, int(cy+r+2)); y++ {
		for x := max(b.Min.X, int(cx-r-1)); x < min(b.Max.X, int(cx+r+2)); x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			cover := math.Max(0, math.Min(1, r+0.5-d))
			if cover == 0 {
				continue
			}
			// c over the pixel, with cover as c's alpha.
			dst := img.NRGBAAt(x, y)
			da := float64(dst.A) / 255 * (1 - cover)
			outA := cover + da
			blend := func(s, d uint8) uint8 { return uint8(math.Round((float64(s)*cover + float64(d)*da) / outA)) }
			img.SetNRGBA(x, y, color.NRGBA{R: blend(c.R, dst.R), G: blend(c.G, dst.G), B: blend(c.B, dst.B),
				A: uint8(math.Round(255 * outA))})
		}
	}
}
