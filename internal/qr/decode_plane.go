package qr

import (
	"image"
	"image/color"
)

// plane is an 8-bit luminance image, 0 black to 255 white, stored row by
// row without padding. Every decoding strategy works on planes: converting
// the input once is much cheaper than going through image.Image.At for
// every binarizer and scale.
type plane struct {
	pix  []byte
	w, h int
}

func newPlane(w, h int) plane {
	return plane{pix: make([]byte, w*h), w: w, h: h}
}

// luminance converts img to a plane, compositing transparent pixels over
// white (a QR code drawn on a transparent PNG is meant to be seen on a light
// page). The common concrete types are read straight from their pixel
// slices; anything else goes through At.
func luminance(img image.Image) plane {
	b := img.Bounds()
	p := newPlane(b.Dx(), b.Dy())
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < p.h; y++ {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(p.pix[y*p.w:(y+1)*p.w], m.Pix[i:i+p.w])
		}
	case *image.YCbCr:
		for y := 0; y < p.h; y++ {
			i := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(p.pix[y*p.w:(y+1)*p.w], m.Y[i:i+p.w])
		}
	case *image.NYCbCrA:
		for y := 0; y < p.h; y++ {
			yi := m.YOffset(b.Min.X, b.Min.Y+y)
			ai := m.AOffset(b.Min.X, b.Min.Y+y)
			row := p.pix[y*p.w : (y+1)*p.w]
			for x := range row {
				row[x] = overWhite(uint32(m.Y[yi+x]), uint32(m.A[ai+x]))
			}
		}
	case *image.RGBA:
		for y := 0; y < p.h; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := p.pix[y*p.w : (y+1)*p.w]
			for x := range row {
				px := s[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: the colour already carries alpha.
				l := (uint32(px[0]) + 2*uint32(px[1]) + uint32(px[2])) / 4
				row[x] = byte(l + 255 - uint32(px[3]))
			}
		}
	case *image.NRGBA:
		for y := 0; y < p.h; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := p.pix[y*p.w : (y+1)*p.w]
			for x := range row {
				px := s[4*x : 4*x+4 : 4*x+4]
				l := (uint32(px[0]) + 2*uint32(px[1]) + uint32(px[2])) / 4
				row[x] = overWhite(l, uint32(px[3]))
			}
		}
	case *image.Paletted:
		var lut [256]byte
		for i := range lut {
			lut[i] = 255 // indexes past the palette read as white
		}
		for i, c := range m.Palette {
			if i < len(lut) {
				lut[i] = lum16(c)
			}
		}
		for y := 0; y < p.h; y++ {
			s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			row := p.pix[y*p.w : (y+1)*p.w]
			for x := range row {
				row[x] = lut[s[x]]
			}
		}
	default:
		for y := 0; y < p.h; y++ {
			row := p.pix[y*p.w : (y+1)*p.w]
			for x := range row {
				row[x] = lum16(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
	}
	return p
}

// overWhite composites a non-premultiplied luminance l with alpha a over white.
func overWhite(l, a uint32) byte {
	return byte((l*a + 255*(255-a) + 127) / 255)
}

// lum16 is the luminance of c composited over white, with the weights
// gozxing uses ((R+2G+B)/4).
func lum16(c color.Color) byte {
	r, g, b, a := c.RGBA() // premultiplied, 16 bit
	l := (r + 2*g + b) / 4
	return byte((l + 0xffff - a) >> 8)
}

// inverted returns the photographic negative of p: a light code on a dark
// background becomes the dark-on-light code the detector expects.
func (p plane) inverted() plane {
	q := newPlane(p.w, p.h)
	for i, v := range p.pix {
		q.pix[i] = 255 - v
	}
	return q
}

// crop copies r (which must lie inside p) into a new plane.
func (p plane) crop(r image.Rectangle) plane {
	q := newPlane(r.Dx(), r.Dy())
	for y := 0; y < q.h; y++ {
		i := (r.Min.Y+y)*p.w + r.Min.X
		copy(q.pix[y*q.w:(y+1)*q.w], p.pix[i:i+q.w])
	}
	return q
}

// upscaled enlarges p by an integer factor with nearest-neighbour sampling:
// module edges stay sharp, and every module of a code drawn at 1–2 px gets
// enough pixels for the finder-pattern ratios and grid sampling.
func (p plane) upscaled(f int) plane {
	q := newPlane(p.w*f, p.h*f)
	for y := 0; y < p.h; y++ {
		src := p.pix[y*p.w : (y+1)*p.w]
		dst := q.pix[y*f*q.w : (y*f+1)*q.w]
		for x, v := range src {
			for k := 0; k < f; k++ {
				dst[x*f+k] = v
			}
		}
		for k := 1; k < f; k++ {
			copy(q.pix[(y*f+k)*q.w:(y*f+k+1)*q.w], dst)
		}
	}
	return q
}

// smoothUpscaled enlarges p by an integer factor with bilinear
// interpolation. Where a code was scaled by a fractional factor (HiDPI
// screenshots, photos) the anti-aliased edges then land between the new
// pixels and the binarizer recovers module boundaries with sub-pixel
// precision, which nearest-neighbour cannot do.
func (p plane) smoothUpscaled(f int) plane {
	q := newPlane(p.w*f, p.h*f)
	// Precompute the horizontal source index and weight of every column.
	x0 := make([]int, q.w)
	wx := make([]int, q.w) // weight of x0+1, in 1/256
	for x := range x0 {
		sx := (2*x+1)*256/(2*f) - 128 // centre of the target pixel in source space, ×256
		if sx < 0 {
			sx = 0
		}
		x0[x], wx[x] = sx>>8, sx&255
		if x0[x] >= p.w-1 {
			x0[x], wx[x] = p.w-1, 0
		}
	}
	for y := 0; y < q.h; y++ {
		sy := (2*y+1)*256/(2*f) - 128
		if sy < 0 {
			sy = 0
		}
		y0, wy := sy>>8, sy&255
		if y0 >= p.h-1 {
			y0, wy = p.h-1, 0
		}
		y1 := y0
		if wy > 0 {
			y1 = y0 + 1
		}
		r0, r1 := p.pix[y0*p.w:(y0+1)*p.w], p.pix[y1*p.w:(y1+1)*p.w]
		dst := q.pix[y*q.w : (y+1)*q.w]
		for x := range dst {
			a, w := x0[x], wx[x]
			b := a
			if w > 0 {
				b = a + 1
			}
			top := int(r0[a])*(256-w) + int(r0[b])*w
			bot := int(r1[a])*(256-w) + int(r1[b])*w
			dst[x] = byte((top*(256-wy) + bot*wy + 1<<15) >> 16)
		}
	}
	return q
}

// downscaled shrinks p by an integer factor, averaging each f×f box.
func (p plane) downscaled(f int) plane {
	q := newPlane(p.w/f, p.h/f)
	sums := make([]int, q.w)
	n := f * f
	for y := 0; y < q.h; y++ {
		clear(sums)
		for k := 0; k < f; k++ {
			src := p.pix[(y*f+k)*p.w : (y*f+k)*p.w+q.w*f]
			for x, v := range src {
				sums[x/f] += int(v)
			}
		}
		dst := q.pix[y*q.w : (y+1)*q.w]
		for x, s := range sums {
			dst[x] = byte((s + n/2) / n)
		}
	}
	return q
}

// view is a plane together with where it came from: plane pixel (x, y)
// covers input pixel (ox + x·scale, oy + y·scale).
type view struct {
	plane
	ox, oy float64
	scale  float64
}

func (v view) toInput(x, y float64) (float64, float64) {
	return v.ox + x*v.scale, v.oy + y*v.scale
}

// sub returns the view of r (in v's plane coordinates, clipped to it)
// resampled by factor: >1 enlarges, <-1 shrinks by -factor, smooth picks
// bilinear over nearest-neighbour enlargement.
func (v view) sub(r image.Rectangle, factor int, smooth bool) view {
	r = r.Intersect(image.Rect(0, 0, v.w, v.h))
	p := v.plane
	if r != image.Rect(0, 0, v.w, v.h) {
		p = p.crop(r)
	}
	out := view{plane: p, ox: v.ox + float64(r.Min.X)*v.scale, oy: v.oy + float64(r.Min.Y)*v.scale, scale: v.scale}
	switch {
	case factor > 1 && smooth:
		out.plane = p.smoothUpscaled(factor)
		out.scale /= float64(factor)
	case factor > 1:
		out.plane = p.upscaled(factor)
		out.scale /= float64(factor)
	case factor < -1:
		out.plane = p.downscaled(-factor)
		out.scale *= float64(-factor)
	}
	return out
}

func (p plane) rect() image.Rectangle { return image.Rect(0, 0, p.w, p.h) }
