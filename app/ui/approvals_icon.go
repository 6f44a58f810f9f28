package ui

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"

	"fyne.io/fyne/v2"
)

// markRed is the dot that marks the tray icon while sign-in requests wait.
var markRed = color.NRGBA{R: 0xD3, G: 0x2F, B: 0x2F, A: 0xFF}

// markIcon is icon with a red dot, ringed in white, in its top right
// corner, showing n in white: the number of requests waiting, "9+" past
// nine. An icon that is not a PNG or JPEG image comes back as it is.
func markIcon(icon fyne.Resource, n int) fyne.Resource {
	src, _, err := image.Decode(bytes.NewReader(icon.Content()))
	if err != nil {
		return icon
	}
	b := src.Bounds()
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Bounds(), src, b.Min, draw.Src)

	size := float64(min(b.Dx(), b.Dy()))
	r := size * 0.3     // the dot
	ring := size * 0.04 // the white ring around it
	cx, cy := float64(b.Dx())-r-ring, r+ring
	white := color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	disc(img, cx, cy, r+ring, white)
	disc(img, cx, cy, r, markRed)
	label := countLabel(n)
	digits(img, cx, cy, r*1.1, label, white)

	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		return icon
	}
	return fyne.NewStaticResource("countersign-pending-"+label+".png", out.Bytes())
}

// countLabel is how a count of waiting requests reads on a badge: "3",
// "9+".
func countLabel(n int) string {
	if n > 9 {
		return "9+"
	}
	return strconv.Itoa(max(n, 0))
}

// glyphs are the digits and "+" in a 3×5 grid, drawn cell by cell: crisp
// at any size, without a font.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"},
	'1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"},
	'3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"},
	'5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"},
	'7': {"###", "..#", ".#.", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"},
	'9': {"###", "#.#", "###", "..#", "###"},
	'+': {"...", ".#.", "###", ".#.", "..."},
}

// digits paints text (digits and "+") centred on cx, cy, about height
// tall, in c.
func digits(img *image.NRGBA, cx, cy, height float64, text string, c color.NRGBA) {
	cell := max(1, math.Floor(height/5))
	runes := []rune(text)
	width := float64(len(runes)*4-1) * cell // 3 cells a glyph, 1 between
	x0, y0 := math.Round(cx-width/2), math.Round(cy-2.5*cell)
	for i, g := range runes {
		rows, ok := glyphs[g]
		if !ok {
			continue
		}
		for row, line := range rows {
			for col, on := range line {
				if on != '#' {
					continue
				}
				x, y := x0+float64(i*4+col)*cell, y0+float64(row)*cell
				draw.Draw(img, image.Rect(int(x), int(y), int(x+cell), int(y+cell)), image.NewUniform(c), image.Point{}, draw.Src)
			}
		}
	}
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
