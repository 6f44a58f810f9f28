package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// toastDuration is how long a toast stays; undoDuration one that offers
// to undo what was done.
const (
	toastDuration = 2 * time.Second
	undoDuration  = 6 * time.Second
)

// toast is a short message at the bottom of the window that goes away by
// itself. It takes no input, taps pass through to what lies below, except
// on its Undo when it has one.
type toast struct {
	after  func(time.Duration, func()) func() bool
	card   *toastCard
	layer  *fyne.Container
	cancel func() bool
}

func newToast(after func(time.Duration, func()) func() bool) *toast {
	t := &toast{after: after, card: newToastCard()}
	t.card.Hide()
	t.layer = container.NewVBox(layout.NewSpacer(),
		container.NewPadded(container.NewHBox(layout.NewSpacer(), t.card, layout.NewSpacer())))
	return t
}

// show replaces whatever toast is showing with text.
func (t *toast) show(text string) { t.showAction(text, nil, toastDuration) }

// showUndo shows text with an Undo that calls undo, once, and takes the
// toast away.
func (t *toast) showUndo(text string, undo func()) { t.showAction(text, undo, undoDuration) }

func (t *toast) showAction(text string, undo func(), d time.Duration) {
	if t.cancel != nil {
		t.cancel()
	}
	t.card.setText(text)
	t.card.setUndo(func() {
		if t.cancel != nil {
			t.cancel()
		}
		t.hide()
		undo()
	}, undo != nil)
	t.card.Show()
	t.layer.Refresh() // lay the card out at its new size
	t.cancel = t.after(d, t.hide)
}

func (t *toast) hide() {
	t.cancel = nil
	t.card.Hide()
}

// undo takes the toast's Undo, as a tap on it would; it reports whether
// there was one.
func (t *toast) undo() bool {
	if !t.card.Visible() || !t.card.undo.Visible() {
		return false
	}
	t.card.undo.Tapped(&fyne.PointEvent{})
	return true
}

// visibleText is the toast on display, or "" when none is.
func (t *toast) visibleText() string {
	if !t.card.Visible() {
		return ""
	}
	return t.card.text.Text
}

// toastCard draws the toast in the theme's colours inverted, so that it
// stands out from the window in light and dark themes alike.
type toastCard struct {
	widget.BaseWidget
	bg   *canvas.Rectangle
	text *canvas.Text
	undo *toastAction
}

func newToastCard() *toastCard {
	c := &toastCard{bg: canvas.NewRectangle(nil), text: canvas.NewText("", nil), undo: newToastAction("Undo")}
	c.text.TextStyle.Bold = true
	c.undo.Hide()
	c.ExtendBaseWidget(c)
	return c
}

func (c *toastCard) setUndo(f func(), on bool) {
	c.undo.onTapped = f
	show(c.undo, on)
	c.Refresh()
}

func (c *toastCard) setText(s string) {
	c.text.Text = s
	c.Refresh()
}

func (c *toastCard) CreateRenderer() fyne.WidgetRenderer {
	r := &toastRenderer{c: c}
	r.applyTheme()
	return r
}

type toastRenderer struct{ c *toastCard }

func (r *toastRenderer) padding() fyne.Size {
	p := r.c.Theme().Size(theme.SizeNamePadding)
	return fyne.NewSize(4*p, 2*p)
}

func (r *toastRenderer) Layout(size fyne.Size) {
	r.c.bg.Resize(size)
	pad := r.padding()
	r.c.text.Move(fyne.NewPos(pad.Width, pad.Height))
	text := r.c.text.MinSize()
	r.c.text.Resize(fyne.NewSize(text.Width, size.Height-2*pad.Height))
	if r.c.undo.Visible() {
		u := r.c.undo.MinSize()
		r.c.undo.Move(fyne.NewPos(size.Width-pad.Width/2-u.Width, (size.Height-u.Height)/2))
		r.c.undo.Resize(u)
	}
}

func (r *toastRenderer) MinSize() fyne.Size {
	pad := r.padding()
	s := r.c.text.MinSize().Add(pad).Add(pad)
	if r.c.undo.Visible() {
		u := r.c.undo.MinSize()
		s.Width += u.Width
		s.Height = max(s.Height, u.Height)
	}
	return s
}

func (r *toastRenderer) Refresh() {
	r.applyTheme()
	r.c.bg.Refresh()
	r.c.text.Refresh()
	r.c.undo.Refresh()
}

func (r *toastRenderer) applyTheme() {
	th := r.c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.c.bg.FillColor = th.Color(theme.ColorNameForeground, v)
	r.c.bg.CornerRadius = th.Size(theme.SizeNameInputRadius) * 2
	r.c.text.Color = th.Color(theme.ColorNameBackground, v)
	r.c.text.TextSize = th.Size(theme.SizeNameText)
	r.c.undo.text.Color = r.c.text.Color
	r.c.undo.line.StrokeColor = r.c.text.Color
}

func (r *toastRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.c.bg, r.c.text, r.c.undo}
}
func (r *toastRenderer) Destroy() {}

// toastAction is the toast's Undo: bold, underlined text in the toast's
// own colours, whose contrast is the theme's text on its background in
// either variant (a coloured word on the inverted card would not be:
// Fyne's blue on the light theme's grey is 1.6:1).
type toastAction struct {
	widget.BaseWidget
	text     *canvas.Text
	line     *canvas.Line
	onTapped func()
}

func newToastAction(label string) *toastAction {
	a := &toastAction{text: canvas.NewText(label, nil), line: canvas.NewLine(nil)}
	a.text.TextStyle.Bold = true
	a.line.StrokeWidth = 1
	a.ExtendBaseWidget(a)
	return a
}

func (a *toastAction) Tapped(*fyne.PointEvent) {
	if a.onTapped != nil {
		a.onTapped()
	}
}

func (a *toastAction) Cursor() desktop.Cursor { return desktop.PointerCursor }

func (a *toastAction) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewPadded(container.New(underline{}, a.text, a.line)))
}

// underline lays out a text with a line just beneath it.
type underline struct{}

func (underline) MinSize(objects []fyne.CanvasObject) fyne.Size { return objects[0].MinSize() }

func (underline) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	text, line := objects[0], objects[1]
	text.Resize(size)
	y := size.Height - 2
	line.Move(fyne.NewPos(0, y))
	line.Resize(fyne.NewSize(size.Width, 0))
}
