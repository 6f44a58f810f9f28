package qr

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"
	"time"

	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// search runs the decoding strategies on one image, cheapest first, and
// collects what they find.
type search struct {
	now      func() time.Time
	deadline time.Time // no new strategy, crop or tile starts after this

	full    view     // the whole input
	inv     *view    // its negative, made on first use
	tried   []string // strategy names, for NotFoundError
	hits    []hit    // decoded codes, unique by text
	finders []finder // every finder-pattern candidate the scans saw
}

// searchBudget is how long the harder strategies may take in all. The
// cheap path always runs; past the budget the search reports what it tried.
// It is a safety net: a 4K screenshot without a code takes under a second
// on two cores.
const searchBudget = 4 * time.Second

func newSearch(p plane, now func() time.Time) *search {
	return &search{now: now, deadline: now().Add(searchBudget), full: view{plane: p, scale: 1}}
}

// late reports whether the budget is spent.
func (s *search) late() bool { return s.now().After(s.deadline) }

// strategy is one way of looking at the image.
type strategy struct {
	name string
	run  func()
}

// run tries the strategies in order until one finds a code, then makes sure
// no other code in the image was missed.
func (s *search) run() ([]hit, []string) {
	for i, st := range s.strategies() {
		if i > 0 && s.late() {
			s.tried = append(s.tried, "time limit reached")
			break
		}
		s.tried = append(s.tried, st.name)
		seen := len(s.finders)
		st.run()
		if len(s.hits) > 0 {
			s.complete(s.finders[seen:])
			break
		}
	}
	return readingOrder(s.hits), s.tried
}

// Sizes that switch strategies on and off, in pixels.
const (
	// workPixels is the most the first scan looks at: bigger images (beyond
	// 4K) are first scanned at half size or less, where a code shown at a
	// normal size is still plenty large.
	workPixels = 3840 * 2160 * 5 / 4
	// upscaleLimit caps whole-image enlargement ×2; bigger images are
	// enlarged tile by tile.
	upscaleLimit = 2_500_000
	// smallLimit is where a whole-image enlargement ×3 is still cheap.
	smallLimit = 500_000
	// tileSize and tileStep lay out the tiled sweep: tiles overlap by a
	// quarter, so any code up to tileSize-tileStep pixels lies whole in one.
	tileSize = 640
	tileStep = 480
	// maxRegions bounds the crops decoded around finder candidates.
	maxRegions = 6
)

func (s *search) strategies() []strategy {
	full := s.full
	n := full.w * full.h
	var sts []strategy
	if n > workPixels {
		f := 2
		for n/(f*f) > workPixels {
			f++
		}
		sts = append(sts, strategy{fmt.Sprintf("downscaled ×1/%d", f), func() {
			s.scan(full.sub(full.rect(), -f, false), hybrid)
		}})
	}
	sts = append(sts,
		strategy{"hybrid binarizer", func() { s.scan(full, hybrid) }},
		strategy{"inverted", func() { s.scan(s.inverted(), hybrid) }},
		strategy{"histogram binarizer", func() { s.scan(full, histogram) }},
		strategy{"local contrast", func() {
			if !s.scan(full, local) {
				s.scan(s.inverted(), local)
			}
		}},
	)
	if min(full.w, full.h) >= 100 {
		sts = append(sts, strategy{"denoised", func() {
			s.scan(full.sub(full.rect(), -2, false), histogram, local)
		}})
	}
	if n <= upscaleLimit {
		sts = append(sts, strategy{"upscaled ×2", func() {
			s.scan(full.sub(full.rect(), 2, true), hybrid, local)
		}})
	}
	sts = append(sts, strategy{"regions", s.regions})
	if n <= smallLimit {
		sts = append(sts, strategy{"upscaled ×3", func() {
			// Both resamplings: bilinear recovers the edges of codes drawn
			// at a fractional scale, nearest-neighbour keeps 1-pixel modules
			// from blurring into their neighbours.
			if !s.scan(full.sub(full.rect(), 3, true), hybrid, local) {
				s.scan(full.sub(full.rect(), 3, false), hybrid, local)
			}
		}})
	} else if n > upscaleLimit && n <= workPixels {
		// Beyond 4K the screen is HiDPI and codes are drawn large: a tiled
		// sweep would cost seconds for nothing.
		sts = append(sts, strategy{"tiles", s.tiles})
	}
	return sts
}

func (s *search) inverted() view {
	if s.inv == nil {
		s.inv = &view{plane: s.full.inverted(), scale: 1}
	}
	return *s.inv
}

// scan runs the binarizers over v in turn until one finds a new code,
// records the codes and every finder candidate seen, and reports whether it
// found any.
func (s *search) scan(v view, bs ...binarizer) bool {
	before := len(s.hits)
	for _, b := range bs {
		hits, finders := scan(v, b, s.hits)
		s.finders = append(s.finders, finders...)
		for _, h := range hits {
			s.add(h)
		}
		if len(s.hits) > before {
			return true
		}
	}
	return false
}

func (s *search) add(h hit) {
	for _, old := range s.hits {
		if old.text == h.text {
			return
		}
	}
	s.hits = append(s.hits, h)
}

// regions decodes crops around clusters of finder candidates that earlier
// scans saw but could not decode, enlarged so modules are about 6 pixels.
func (s *search) regions() {
	for _, r := range clusters(s.finders, s.hits, s.full.rect()) {
		if s.late() {
			return
		}
		s.decodeRegion(r)
	}
}

// complete looks again at the finder candidates of the successful strategy
// that no decoded code explains: where an image holds several codes, one
// drawn smaller or fainter than the rest may need a closer look at its
// region. A single clean code leaves no such candidates, so the common case
// costs nothing here.
func (s *search) complete(finders []finder) {
	for _, r := range clusters(finders, s.hits, s.full.rect()) {
		if s.late() {
			return
		}
		s.decodeRegion(r)
	}
}

// region is a part of the image (input coordinates) that may hold a code.
type region struct {
	r       image.Rectangle
	module  float64
	finders int // candidates in it: three is a whole code
	count   int // scan lines that confirmed them
	// plausible means three of the candidates are placed and sized like
	// the corners of one code.
	plausible bool
}

// clusters groups the finder candidates not inside a decoded code into
// regions that could each hold one code, most promising first.
func clusters(finders []finder, hits []hit, bounds image.Rectangle) []region {
	var open []finder
	for _, f := range finders {
		if f.module < 0.5 || slices.ContainsFunc(hits, func(h hit) bool { return h.contains(f.x, f.y) }) {
			continue
		}
		open = append(open, f)
	}
	slices.SortStableFunc(open, func(a, b finder) int { return cmp.Compare(b.count, a.count) })

	type group struct {
		seed           finder
		x0, y0, x1, y1 float64
		members        []finder
	}
	var groups []*group
next:
	for _, f := range open {
		for _, g := range groups {
			ratio := f.module / g.seed.module
			// Finder centres of one code are at most 170 modules apart.
			if ratio > 0.5 && ratio < 2 && math.Hypot(f.x-g.seed.x, f.y-g.seed.y) < 170*g.seed.module {
				// The same pattern seen again by another scan.
				if slices.ContainsFunc(g.members, func(m finder) bool { return math.Hypot(f.x-m.x, f.y-m.y) < 3*m.module }) {
					continue next
				}
				g.members = append(g.members, f)
				g.x0, g.y0 = math.Min(g.x0, f.x), math.Min(g.y0, f.y)
				g.x1, g.y1 = math.Max(g.x1, f.x), math.Max(g.y1, f.y)
				continue next
			}
		}
		groups = append(groups, &group{seed: f, x0: f.x, y0: f.y, x1: f.x, y1: f.y, members: []finder{f}})
	}

	var rs []region
	for _, g := range groups {
		if len(g.members) < 2 {
			continue // one pattern says too little about where a code would be
		}
		m := g.seed.module
		side := math.Max(g.x1-g.x0, g.y1-g.y0)
		half := 0.75*side + 8*m
		if len(g.members) == 2 {
			// The third corner may lie on either side of the two seen.
			half = side + 8*m
		}
		cx, cy := (g.x0+g.x1)/2, (g.y0+g.y1)/2
		r := image.Rect(int(cx-half), int(cy-half), int(cx+half), int(cy+half)).Intersect(bounds)
		count := 0
		fps := make([]*detector.FinderPattern, len(g.members))
		for i, f := range g.members {
			count += f.count
			fps[i] = detector.NewFinderPattern(f.x, f.y, f.module, f.count)
		}
		rs = append(rs, region{r: r, module: m, finders: len(g.members), count: count, plausible: len(triples(fps)) > 0})
	}
	slices.SortStableFunc(rs, func(a, b region) int {
		return cmp.Or(
			cmp.Compare(b2i(b.plausible), b2i(a.plausible)),
			cmp.Compare(min(b.finders, 3), min(a.finders, 3)),
			cmp.Compare(b.count, a.count))
	})
	return rs[:min(len(rs), maxRegions)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxRegionPixels bounds one enlarged crop.
const maxRegionPixels = 1_500_000

// decodeRegion tries the binarizers on a crop of the image around r,
// enlarged so a module is about 6 pixels, then on its negative.
func (s *search) decodeRegion(r region) {
	f := min(max(int(math.Round(6/r.module)), 1), 4)
	for f > 1 && r.r.Dx()*r.r.Dy()*f*f > maxRegionPixels {
		f--
	}
	if !s.scan(s.full.sub(r.r, f, true), hybrid, local, histogram) {
		s.scan(s.inverted().sub(r.r, f, true), hybrid)
	}
}

// tiles sweeps a large image in overlapping tiles, each enlarged ×2: codes
// with modules too small for any whole-image scan to find their finder
// patterns.
func (s *search) tiles() {
	full := s.full
	for y := 0; y < full.h; y += tileStep {
		for x := 0; x < full.w; x += tileStep {
			if s.late() {
				return
			}
			// A sliver at the right or bottom edge lies within the tile
			// before it.
			r := image.Rect(x, y, x+tileSize, y+tileSize).Intersect(full.rect())
			if r.Dx() < tileSize-tileStep || r.Dy() < tileSize-tileStep || !full.detailed(r) {
				continue
			}
			s.scan(full.sub(r, 2, true), hybrid, local)
		}
	}
}

// detailed reports whether r holds enough contrasty 8×8 blocks to hold a
// code of 21×21 modules at 1.5 pixels per module; blank areas of a
// screenshot are not worth a tile's enlargement.
func (p plane) detailed(r image.Rectangle) bool {
	const block, need = 8, 16
	n := 0
	for y := r.Min.Y; y+block <= r.Max.Y; y += block {
		for x := r.Min.X; x+block <= r.Max.X; x += block {
			lo, hi := byte(255), byte(0)
			for yy := y; yy < y+block; yy++ {
				for _, v := range p.pix[yy*p.w+x : yy*p.w+x+block] {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			if hi-lo > 24 {
				if n++; n >= need {
					return true
				}
			}
		}
	}
	return false
}

// readingOrder sorts codes top to bottom, then left to right. Codes whose
// vertical spans overlap by at least half the shorter one share a row, so
// side-by-side codes read left to right whatever their sizes and alignment.
func readingOrder(hits []hit) []hit {
	type placed struct {
		h   hit
		r   image.Rectangle
		row int
	}
	ps := make([]placed, len(hits))
	for i, h := range hits {
		ps[i] = placed{h: h, r: h.bounds()}
	}
	slices.SortStableFunc(ps, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.r.Min.Y, b.r.Min.Y), cmp.Compare(a.r.Min.X, b.r.Min.X))
	})
	var first image.Rectangle // the top code of the current row
	for i := range ps {
		r := ps[i].r
		overlap := min(r.Max.Y, first.Max.Y) - max(r.Min.Y, first.Min.Y)
		if i == 0 || 2*overlap < min(r.Dy(), first.Dy()) {
			first = r
			if i > 0 {
				ps[i].row = ps[i-1].row + 1
			}
		} else {
			ps[i].row = ps[i-1].row
		}
	}
	slices.SortStableFunc(ps, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.row, b.row), cmp.Compare(a.r.Min.X, b.r.Min.X))
	})
	out := make([]hit, len(ps))
	for i, p := range ps {
		out[i] = p.h
	}
	return out
}
