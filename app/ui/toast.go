package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// toastDuration is how long a toast stays.
const toastDuration = 2 * time.Second

// toast is a short message at the bottom of the window that goes away by
// itself. It takes no input: taps pass through to what lies below.
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
func (t *toast) show(text string) {
	if t.cancel != nil {
		t.cancel()
	}
	t.card.setText(text)
	t.card.Show()
	t.layer.Refresh() // lay the card out at its new size
	t.cancel = t.after(toastDuration, t.hide)
}

func (t *toast) hide() {
	t.cancel = nil
	t.card.Hide()
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
}

func newToastCard() *toastCard {
	c := &toastCard{bg: canvas.NewRectangle(nil), text: canvas.NewText("", nil)}
	c.text.TextStyle.Bold = true
	c.ExtendBaseWidget(c)
	return c
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
	r.c.text.Resize(size.Subtract(pad).Subtract(pad))
}

func (r *toastRenderer) MinSize() fyne.Size {
	pad := r.padding()
	return r.c.text.MinSize().Add(pad).Add(pad)
}

func (r *toastRenderer) Refresh() {
	r.applyTheme()
	r.c.bg.Refresh()
	r.c.text.Refresh()
}

func (r *toastRenderer) applyTheme() {
	th := r.c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.c.bg.FillColor = th.Color(theme.ColorNameForeground, v)
	r.c.bg.CornerRadius = th.Size(theme.SizeNameInputRadius) * 2
	r.c.text.Color = th.Color(theme.ColorNameBackground, v)
	r.c.text.TextSize = th.Size(theme.SizeNameText)
}

func (r *toastRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.c.bg, r.c.text} }
func (r *toastRenderer) Destroy()                     {}
