package qr

import "github.com/makiuchi-d/gozxing"

// binarizer names a way of turning luminance into black and white.
type binarizer int

const (
	hybrid    binarizer = iota // gozxing's: local thresholds over 8×8 blocks; robust to uneven light
	histogram                  // gozxing's: one global threshold; keeps fine detail hybrid drops
	local                      // localBinarize: min–max midpoints; for faint codes
)

func binarize(p plane, b binarizer) (*gozxing.BitMatrix, error) {
	if b == local {
		return localBinarize(p), nil
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.w, p.h, 0, 0, p.w, p.h, false)
	if err != nil {
		return nil, err
	}
	if b == histogram {
		return gozxing.NewGlobalHistgramBinarizer(src).GetBlackMatrix()
	}
	return gozxing.NewHybridBinarizer(src).GetBlackMatrix()
}

// Block geometry of localBinarize: thresholds are set per 8×8 block from
// the 5×5 blocks (40×40 pixels) around it.
const (
	localBlock  = 8
	localRadius = 2
	// localMinRange is the least luminance spread that counts as detail.
	// gozxing's hybrid binarizer needs more than 24, which loses codes drawn
	// grey on grey (#888 on #999 differ by 17) or washed out in a photo.
	localMinRange = 12
)

// localBinarize thresholds every block at the midpoint between the darkest
// and lightest pixel of its neighbourhood, so a faint code binarizes as
// cleanly as a black-on-white one. Neighbourhoods with less spread than
// localMinRange are flat background and stay white. Modules wider than
// about 20 pixels fall apart here; the other binarizers handle those.
func localBinarize(p plane) *gozxing.BitMatrix {
	bw, bh := (p.w+localBlock-1)/localBlock, (p.h+localBlock-1)/localBlock
	lo, hi := make([]byte, bw*bh), make([]byte, bw*bh)
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			mn, mx := byte(255), byte(0)
			for y := by * localBlock; y < min((by+1)*localBlock, p.h); y++ {
				for _, v := range p.pix[y*p.w+bx*localBlock : y*p.w+min((bx+1)*localBlock, p.w)] {
					mn, mx = min(mn, v), max(mx, v)
				}
			}
			lo[by*bw+bx], hi[by*bw+bx] = mn, mx
		}
	}
	lo, hi = spread(lo, hi, bw, bh)
	// Per-block thresholds: a pixel is black below its block's; flat
	// blocks get 0, so nothing in them is.
	thr := lo // reused: each entry is read once before being overwritten
	for i := range thr {
		if int(hi[i])-int(lo[i]) < localMinRange {
			thr[i] = 0
		} else {
			thr[i] = byte((int(lo[i]) + int(hi[i]) + 1) / 2)
		}
	}
	m, _ := gozxing.NewBitMatrix(p.w, p.h)
	row := gozxing.NewBitArray(p.w)
	for y := 0; y < p.h; y++ {
		row.Clear()
		pix := p.pix[y*p.w : (y+1)*p.w]
		t := thr[(y/localBlock)*bw:]
		for x0 := 0; x0 < p.w; x0 += 32 {
			var word uint32
			for x := x0; x < min(x0+32, p.w); x++ {
				if pix[x] < t[x/localBlock] {
					word |= 1 << (x - x0)
				}
			}
			row.SetBulk(x0, word)
		}
		m.SetRow(y, row)
	}
	return m
}

// spread replaces each block's min and max by those of the blocks within
// localRadius of it.
func spread(lo, hi []byte, bw, bh int) ([]byte, []byte) {
	tlo, thi := make([]byte, len(lo)), make([]byte, len(hi))
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			mn, mx := byte(255), byte(0)
			for x := max(bx-localRadius, 0); x <= min(bx+localRadius, bw-1); x++ {
				mn, mx = min(mn, lo[by*bw+x]), max(mx, hi[by*bw+x])
			}
			tlo[by*bw+bx], thi[by*bw+bx] = mn, mx
		}
	}
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			mn, mx := byte(255), byte(0)
			for y := max(by-localRadius, 0); y <= min(by+localRadius, bh-1); y++ {
				mn, mx = min(mn, tlo[y*bw+bx]), max(mx, thi[y*bw+bx])
			}
			lo[by*bw+bx], hi[by*bw+bx] = mn, mx
		}
	}
	return lo, hi
}
