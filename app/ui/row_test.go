package ui

import (
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// middle is the vertical middle of o in its row r (of r itself when o is r).
func middle(r *accountRow, o fyne.CanvasObject) float32 {
	var find func(at fyne.CanvasObject, y float32) (float32, bool)
	find = func(at fyne.CanvasObject, y float32) (float32, bool) {
		if at == o {
			return y + o.Size().Height/2, true
		}
		var children []fyne.CanvasObject
		switch c := at.(type) {
		case *fyne.Container:
			children = c.Objects
		case fyne.Widget:
			children = test.WidgetRenderer(c).Objects()
		}
		for _, child := range children {
			if m, ok := find(child, y+child.Position().Y); ok {
				return m, true
			}
		}
		return 0, false
	}
	if o == r {
		return r.Size().Height / 2
	}
	m, _ := find(r.content, r.content.Position().Y)
	return m
}

// TestRowShowsPinAndTags: a pinned account's row shows the pin, and every
// row its tags after the name.
func TestRowShowsPinAndTags(t *testing.T) {
	h := newHarness(t, fixture())
	h.win.Resize(defaultWindowSize)
	gh, bank, vpn := h.row(t, "gh0000000001"), h.row(t, "bk0000000002"), h.row(t, "vp0000000003")
	if !gh.pin.Visible() || bank.pin.Visible() {
		t.Errorf("pin shown on GitHub (pinned) %v, on Example Bank (not) %v", gh.pin.Visible(), bank.pin.Visible())
	}
	for _, tc := range []struct {
		r    *accountRow
		tags string
	}{{gh, "Work"}, {bank, "Finance · Personal"}, {vpn, "work"}} {
		if !tc.r.tags.Visible() || tc.r.tags.Text != tc.tags {
			t.Errorf("%s: tags %q (shown %v), want %q", tc.r.state.issuer, tc.r.tags.Text, tc.r.tags.Visible(), tc.tags)
		}
		if w := tc.r.tags.Size().Width; w < fullWidth(tc.r.tags) {
			t.Errorf("%s: the tags have %v of the %v they need", tc.r.state.issuer, w, fullWidth(tc.r.tags))
		}
	}
	if acme := h.row(t, "ac0000000005"); acme.tags.Visible() {
		t.Errorf("Acme has no tags, yet shows %q", acme.tags.Text)
	}
}

// TestCodeIsCentredInItsRow: the code sits in the middle of its row, and
// moves up only to make room for the next code in a period's last seconds.
func TestCodeIsCentredInItsRow(t *testing.T) {
	h := newHarness(t, fixture())
	h.win.Resize(defaultWindowSize)
	r := h.row(t, "gh0000000001")
	if got, want := middle(r, r.code), middle(r, r); math.Abs(float64(got-want)) > 1 {
		t.Errorf("the code's middle is at %v, the row's at %v", got, want)
	}
	h.clock.Advance(25 * time.Second) // 4 s left: the next code shows beneath
	r = h.row(t, "gh0000000001")
	if !r.next.Visible() || middle(r, r.code) >= middle(r, r) || middle(r, r.next) <= middle(r, r) {
		t.Errorf("with the next code: code at %v, next at %v (shown %v), row's middle %v",
			middle(r, r.code), middle(r, r.next), r.next.Visible(), middle(r, r))
	}
	h.clock.Advance(5 * time.Second) // a new period: the code alone again
	r = h.row(t, "gh0000000001")
	if got, want := middle(r, r.code), middle(r, r); r.next.Visible() || math.Abs(float64(got-want)) > 1 {
		t.Errorf("in a new period: the code's middle is at %v, the row's at %v (next shown %v)", got, want, r.next.Visible())
	}
}

// TestRowLaysOutTheNextCodeAtOnce: a row moves its code when the next one
// shows or goes as it is set, not only when the window is next drawn, which
// would draw the window twice (a second time because the labels moved).
func TestRowLaysOutTheNextCodeAtOnce(t *testing.T) {
	test.NewTempApp(t)
	r := newAccountRow()
	r.Resize(r.MinSize().AddWidthHeight(200, 0))
	alone := rowState{id: "x", issuer: "GitHub", name: "kim", code: "050 471", remaining: 10, period: 30}
	r.set(alone)
	y := r.code.Position().Y
	withNext := alone
	withNext.next, withNext.remaining = "123 456", 4
	r.set(withNext)
	if got := r.code.Position().Y; got >= y || r.next.Position().Y <= got {
		t.Errorf("with the next code: code at y %v (alone %v), next at y %v", got, y, r.next.Position().Y)
	}
	r.set(alone)
	if got := r.code.Position().Y; got != y {
		t.Errorf("alone again: code at y %v, want %v", got, y)
	}
}

// TestWheelMovesARowANotch: a notch of the mouse wheel over the list moves
// it a row, and ten notches ten rows, not four.
func TestWheelMovesARowANotch(t *testing.T) {
	h := newHarness(t, fixturePlus(30))
	h.win.Resize(defaultWindowSize)
	r := h.row(t, "gh0000000001")
	row := r.Size().Height + theme.Padding()
	notch := &fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, -wheelNotch)} // down
	r.Scrolled(notch)
	if got := h.auth.list.GetScrollOffset(); math.Abs(float64(got-row)) > 0.5 {
		t.Errorf("a notch moved the list %v, want a row (%v)", got, row)
	}
	for range 9 {
		r.Scrolled(notch)
	}
	if got := h.auth.list.GetScrollOffset(); math.Abs(float64(got-10*row)) > 1 {
		t.Errorf("ten notches moved the list %v, want ten rows (%v)", got, 10*row)
	}
	r.Scrolled(&fyne.ScrollEvent{Scrolled: fyne.NewDelta(0, 20*wheelNotch)}) // far up
	if got := h.auth.list.GetScrollOffset(); got != 0 {
		t.Errorf("scrolling up past the top leaves the list at %v", got)
	}
}

// TestContentIsCentredOnWideWindows: on a window wider than the content
// needs, a screen is maxContentWidth wide, in the middle.
func TestContentIsCentredOnWideWindows(t *testing.T) {
	h := newHarness(t, fixture())
	h.win.Resize(fyne.NewSize(1800, 800))
	root, holder := h.auth.root, h.main.holders[0]
	if w := root.Size().Width; w != maxContentWidth {
		t.Errorf("on a 1800-wide window the accounts are %v wide, want %v", w, maxContentWidth)
	}
	left := root.Position().X
	right := holder.Size().Width - left - root.Size().Width
	if math.Abs(float64(left-right)) > 1 || left <= 0 {
		t.Errorf("the accounts are %v from the left and %v from the right, want them centred", left, right)
	}
	h.win.Resize(defaultWindowSize)
	if root.Size().Width != holder.Size().Width {
		t.Errorf("on a narrow window the accounts are %v of %v wide", root.Size().Width, holder.Size().Width)
	}
}
