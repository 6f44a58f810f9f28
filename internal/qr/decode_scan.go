package qr

import (
	"cmp"
	"image"
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// finder is a finder-pattern candidate (one of a code's three corner
// squares) in input coordinates.
type finder struct {
	x, y   float64
	module float64 // estimated module size in input pixels
	count  int     // how many scan lines confirmed it
}

// hit is a decoded code in input coordinates.
type hit struct {
	text string
	quad [4][2]float64 // corners: top-left, top-right, bottom-right, bottom-left (in code orientation)
}

func (h hit) bounds() image.Rectangle {
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, c := range h.quad {
		minX, maxX = math.Min(minX, c[0]), math.Max(maxX, c[0])
		minY, maxY = math.Min(minY, c[1]), math.Max(maxY, c[1])
	}
	return image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
}

// contains reports whether (x, y) lies inside the quad.
func (h hit) contains(x, y float64) bool {
	var pos, neg bool
	for i := range 4 {
		a, b := h.quad[i], h.quad[(i+1)%4]
		c := (b[0]-a[0])*(y-a[1]) - (b[1]-a[1])*(x-a[0])
		pos = pos || c > 0
		neg = neg || c < 0
	}
	return !(pos && neg)
}

// Limits on the work one scan does, so a busy image full of square-ish
// shapes cannot make the triple search explode.
const (
	maxFinders = 40 // candidates considered for triples, best-confirmed first
	maxTriples = 24 // triples handed to the grid sampler and decoder per scan
)

var decodeHints = map[gozxing.DecodeHintType]interface{}{
	// otpauth URIs are UTF-8; without this gozxing guesses per byte segment
	// and can read UTF-8 as Shift-JIS.
	gozxing.DecodeHintType_CHARACTER_SET: "UTF-8",
}

// scan binarizes v and decodes every code whose three finder patterns it
// can locate, except those inside the known codes (input coordinates). It
// also returns every finder candidate it saw, so the caller can tell
// whether some code is still undecoded.
//
// gozxing's own readers are not used: QRCodeReader decodes only the single
// best-looking triple of finder patterns, QRCodeMultiReader drops any triple
// whose sides differ by more than 10% (mild perspective), and both estimate
// a code's dimension once and give up when perspective makes it a version
// off. Here every plausible triple is ranked by how close it is to an
// isosceles right triangle, the best are tried, and the neighbouring
// dimensions too.
func scan(v view, b binarizer, known []hit) (hits []hit, finders []finder) {
	defer func() {
		// A panic in gozxing means nothing more is found in this view; what
		// was decoded before it stands.
		_ = recover()
	}()
	if v.w < 21 || v.h < 21 {
		return nil, nil
	}
	matrix, err := binarize(v.plane, b)
	if err != nil {
		return nil, nil
	}

	fps := findCandidates(matrix)
	for _, fp := range fps {
		x, y := v.toInput(fp.GetX(), fp.GetY())
		finders = append(finders, finder{x: x, y: y, module: fp.GetEstimatedModuleSize() * v.scale, count: fp.GetCount()})
	}

	det := detector.NewDetector(matrix)
	dec := decoder.NewDecoder()
	covered := func(fp *detector.FinderPattern) bool {
		x, y := v.toInput(fp.GetX(), fp.GetY())
		for _, h := range slices.Concat(known, hits) {
			if h.contains(x, y) {
				return true
			}
		}
		return false
	}
	// Each round ranks the triples of candidates no decoded code covers
	// yet; a round that decodes something earns another, so a page of many
	// codes is read in full while a busy page of false candidates costs at
	// most maxTriples attempts.
	for {
		open := slices.DeleteFunc(slices.Clone(fps), covered)
		before := len(hits)
		tries := 0
		for _, t := range triples(open) {
			if covered(t[0]) || covered(t[1]) || covered(t[2]) {
				continue
			}
			if tries++; tries > maxTriples {
				break
			}
			if h, ok := decodeTriple(det, dec, t, v); ok {
				hits = append(hits, h)
			}
		}
		if len(hits) == before {
			return hits, finders
		}
	}
}

// findCandidates collects every finder pattern in m, scanning every third
// row (gozxing's TRY_HARDER spacing, which still crosses the 3-module core of
// a pattern drawn at 1 px per module). It is the scan of gozxing's
// MultiFinderPatternFinder.FindMulti without the selection that follows it,
// whose cost grows with the cube of the candidates and whose result scan
// does not use.
func findCandidates(m *gozxing.BitMatrix) []*detector.FinderPattern {
	f := detector.NewFinderPatternFinder(m, nil)
	maxI, maxJ := m.GetHeight(), m.GetWidth()
	state := make([]int, 5)
	for i := detector.FinderPatternFinder_MIN_SKIP - 1; i < maxI; i += detector.FinderPatternFinder_MIN_SKIP {
		clear(state)
		cur := 0
		for j := 0; j < maxJ; j++ {
			if m.Get(j, i) {
				if cur&1 == 1 { // was counting white
					cur++
				}
				state[cur]++
				continue
			}
			if cur&1 == 1 { // counting white
				state[cur]++
				continue
			}
			if cur != 4 {
				cur++
				state[cur]++
				continue
			}
			if detector.FinderPatternFinder_foundPatternCross(state) && f.HandlePossibleCenter(state, i, j) {
				cur = 0
				clear(state)
			} else {
				detector.FinderPatternFinder_doShiftCounts2(state)
				cur = 3
			}
		}
		if detector.FinderPatternFinder_foundPatternCross(state) {
			f.HandlePossibleCenter(state, i, maxJ)
		}
	}
	return f.GetPossibleCenters()
}

// decodeTriple samples and decodes the code whose finder patterns are t.
// gozxing estimates the code's dimension from the distance between finder
// patterns over their module size; under perspective that estimate is
// often a version off, so when its grid does not decode, the nearest other
// dimensions are sampled too.
func decodeTriple(det *detector.Detector, dec *decoder.Decoder, t [3]*detector.FinderPattern, v view) (h hit, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(t[0], t[1], t[2])
	info := detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern))
	tried := 0
	if dr, err := det.ProcessFinderPatternInfo(info); err == nil {
		if h, ok := decodeGrid(dec, dr, v); ok {
			return h, true
		}
		tried = dr.GetBits().GetWidth()
	}
	side := (math.Sqrt(dist2(tl, tr)) + math.Sqrt(dist2(tl, bl))) / 2
	module := (t[0].GetEstimatedModuleSize() + t[1].GetEstimatedModuleSize() + t[2].GetEstimatedModuleSize()) / 3
	for _, dim := range nearDimensions(side/module+7, 3) {
		if dim == tried {
			continue
		}
		dr, err := sampleDimension(det.GetImage(), tl, tr, bl, dim)
		if err != nil {
			continue
		}
		if h, ok := decodeGrid(dec, dr, v); ok {
			return h, true
		}
	}
	return hit{}, false
}

func decodeGrid(dec *decoder.Decoder, dr *common.DetectorResult, v view) (hit, bool) {
	res, err := dec.Decode(dr.GetBits(), decodeHints)
	if err != nil || res.GetText() == "" {
		return hit{}, false
	}
	return hit{text: res.GetText(), quad: quad(dr, v)}, true
}

// nearDimensions returns the n valid code dimensions (21, 25, … 177) closest to est.
func nearDimensions(est float64, n int) []int {
	v := int(math.Round((est - 17) / 4))
	var dims []int
	for d := 0; len(dims) < n && d < 2*n; d++ {
		for _, c := range []int{v + d, v - d - 1} {
			if c >= 1 && c <= 40 && len(dims) < n && !slices.Contains(dims, 17+4*c) {
				dims = append(dims, 17+4*c)
			}
		}
	}
	slices.SortFunc(dims, func(a, b int) int { return cmp.Compare(math.Abs(float64(a)-est), math.Abs(float64(b)-est)) })
	return dims
}

// sampleDimension does what gozxing's Detector.ProcessFinderPatternInfo
// does, for a given dimension instead of an estimated one.
func sampleDimension(img *gozxing.BitMatrix, tl, tr, bl gozxing.ResultPoint, dim int) (*common.DetectorResult, error) {
	version, err := decoder.Version_GetProvisionalVersionForDimension(dim)
	if err != nil {
		return nil, err
	}
	between := float64(dim - 7)
	module := (math.Sqrt(dist2(tl, tr)) + math.Sqrt(dist2(tl, bl))) / 2 / between
	var ap *detector.AlignmentPattern
	if len(version.GetAlignmentPatternCenters()) > 0 {
		brX := tr.GetX() - tl.GetX() + bl.GetX()
		brY := tr.GetY() - tl.GetY() + bl.GetY()
		k := 1 - 3/between
		ex, ey := tl.GetX()+k*(brX-tl.GetX()), tl.GetY()+k*(brY-tl.GetY())
		for _, allowance := range []float64{4, 8, 16} {
			a := int(allowance * module)
			r := image.Rect(int(ex)-a, int(ey)-a, int(ex)+a, int(ey)+a).Intersect(image.Rect(0, 0, img.GetWidth(), img.GetHeight()))
			if float64(r.Dx()) < 3*module || float64(r.Dy()) < 3*module {
				break
			}
			if ap, err = detector.NewAlignmentPatternFinder(img, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), module, nil).Find(); err == nil {
				break
			}
		}
	}
	t := detector.Detector_createTransform(tl, tr, bl, ap, dim)
	bits, err := detector.Detector_sampleGrid(img, t, dim)
	if err != nil {
		return nil, err
	}
	points := []gozxing.ResultPoint{bl, tl, tr}
	if ap != nil {
		points = append(points, ap)
	}
	return common.NewDetectorResult(bits, points), nil
}

// quad maps the corners of the sampled module grid back to input coordinates.
func quad(dr *common.DetectorResult, v view) [4][2]float64 {
	pts := dr.GetPoints() // bottom-left, top-left, top-right[, alignment]
	var ap *detector.AlignmentPattern
	if len(pts) > 3 {
		ap, _ = pts[3].(*detector.AlignmentPattern)
	}
	dim := dr.GetBits().GetWidth()
	t := detector.Detector_createTransform(pts[1], pts[2], pts[0], ap, dim)
	n := float64(dim)
	xy := []float64{0, 0, n, 0, n, n, 0, n}
	t.TransformPoints(xy)
	var q [4][2]float64
	for i := range q {
		q[i][0], q[i][1] = v.toInput(xy[2*i], xy[2*i+1])
	}
	return q
}

// triples ranks the triples of finder candidates that could be the three
// corners of one code: similar module sizes, a plausible number of modules
// between them, and close to an isosceles right triangle.
func triples(fps []*detector.FinderPattern) [][3]*detector.FinderPattern {
	if len(fps) < 3 {
		return nil
	}
	if len(fps) > maxFinders {
		fps = slices.Clone(fps)
		slices.SortStableFunc(fps, func(a, b *detector.FinderPattern) int { return cmp.Compare(b.GetCount(), a.GetCount()) })
		fps = fps[:maxFinders]
	}
	type scored struct {
		t [3]*detector.FinderPattern
		d float64
	}
	var cands []scored
	for i := 0; i < len(fps)-2; i++ {
		for j := i + 1; j < len(fps)-1; j++ {
			for k := j + 1; k < len(fps); k++ {
				a, b, c := fps[i], fps[j], fps[k]
				ms := []float64{a.GetEstimatedModuleSize(), b.GetEstimatedModuleSize(), c.GetEstimatedModuleSize()}
				lo, hi := slices.Min(ms), slices.Max(ms)
				// Perspective makes the far corner's modules smaller: allow
				// more than gozxing's 1.4, but rank such triples lower.
				if hi > lo*3 {
					continue
				}
				sides := []float64{dist2(a, b), dist2(b, c), dist2(a, c)}
				slices.Sort(sides)
				// Finder centres of a version-1 code are 14 modules apart;
				// version 40's are 170.
				mod := (lo + hi) / 2
				if short := math.Sqrt(sides[0]) / mod; short < 10 || short > 180 {
					continue
				}
				d := (math.Abs(sides[2]-2*sides[1]) + math.Abs(sides[2]-2*sides[0])) / sides[2]
				if d > 0.6 {
					continue
				}
				d += (hi/lo - 1) / 4
				cands = append(cands, scored{[3]*detector.FinderPattern{a, b, c}, d})
			}
		}
	}
	slices.SortStableFunc(cands, func(x, y scored) int { return cmp.Compare(x.d, y.d) })
	out := make([][3]*detector.FinderPattern, 0, len(cands))
	for _, c := range cands {
		out = append(out, c.t)
	}
	return out
}

func dist2(a, b gozxing.ResultPoint) float64 {
	dx, dy := a.GetX()-b.GetX(), a.GetY()-b.GetY()
	return dx*dx + dy*dy
}
