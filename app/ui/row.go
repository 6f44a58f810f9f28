package ui

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// rowState is what one row of the account list shows.
type rowState struct {
	id, issuer, name string
	pinned           bool
	tags             []string
	code             string // grouped; "" when there is none to show (HOTP not asked yet)
	next             string // the following code, shown when the current one is about to expire
	hotp             bool
	focused          bool // the list has the keyboard focus and this is the selected row
	// remaining and period are the TOTP countdown, in whole seconds.
	remaining, period int
}

// accountRow is one account in the list. Tapping it copies its code; its
// menu button (or a right click) opens the account's menu.
type accountRow struct {
	widget.BaseWidget
	state rowState

	onTapped   func(id string)
	onMenu     func(id string, at fyne.Position)
	onNextHOTP func(id string)
	onScrolled func(ev *fyne.ScrollEvent)

	avatar       *avatar
	pin          *widget.Icon // shown on pinned accounts
	issuer, name *widget.Label
	tags         *widget.Label
	code, next   *widget.Label
	ring         *countdown
	nextHOTP     *widget.Button
	menu         *widget.Button
	// codes stacks the code and, in the last seconds, the next one.
	codes *fyne.Container
	// ringBox and nextHOTPBox centre the ring and the button vertically;
	// one of them is shown.
	ringBox, nextHOTPBox *fyne.Container
	focusRing            *canvas.Rectangle // shown while focused
	content              fyne.CanvasObject
}

func newAccountRow() *accountRow {
	r := &accountRow{
		avatar: newAvatar(),
		issuer: &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		name:   &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis},
		// Tags in the theme's primary colour, upright: an italic face
		// here was the window's only one and cost a whole font set,
		// about 9 MiB of the window's memory (see make bench-ui).
		tags: &widget.Label{SizeName: theme.SizeNameCaptionText, Importance: widget.HighImportance,
			Truncation: fyne.TextTruncateEllipsis},
		pin: widget.NewIcon(pinIcon),
		// Codes in the bold face the issuers already use: its digits are as
		// wide as each other, and a monospace face would cost another whole
		// font set in memory (see make bench-ui).
		code: &widget.Label{TextStyle: fyne.TextStyle{Bold: true},
			SizeName: theme.SizeNameSubHeadingText, Alignment: fyne.TextAlignTrailing},
		next: &widget.Label{Text: " ",
			SizeName: theme.SizeNameCaptionText, Alignment: fyne.TextAlignTrailing},
		ring: newCountdown(),
	}
	r.nextHOTP = widget.NewButtonWithIcon("Next code", theme.ViewRefreshIcon(), func() {
		if r.onNextHOTP != nil {
			r.onNextHOTP(r.state.id)
		}
	})
	r.nextHOTP.Importance = widget.LowImportance
	r.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), r.openMenu)
	r.menu.Importance = widget.LowImportance

	// The pin before the issuer; the tags after the name, cut short before
	// the name is.
	title := container.New(titleLine{}, r.pin, r.issuer)
	sub := container.New(subLine{}, r.name, r.tags)
	texts := container.New(lines{}, title, sub)
	// The next code's line is kept free while it is hidden, so that every
	// row is as tall; the code alone is centred in the row.
	r.codes = container.New(lines{reserve: true}, r.code, r.next)
	r.ringBox, r.nextHOTPBox = container.NewCenter(r.ring), container.NewCenter(r.nextHOTP)
	right := container.NewHBox(r.codes, r.ringBox, r.nextHOTPBox, container.NewCenter(r.menu))
	r.focusRing = &canvas.Rectangle{StrokeWidth: 2}
	r.focusRing.Hide()
	r.content = container.NewStack(
		container.NewBorder(nil, nil, container.NewCenter(r.avatar), right, texts), r.focusRing)
	r.ExtendBaseWidget(r)
	// Text in every line, so that a new row (which the list also uses to
	// measure its rows) is as tall as one showing an account.
	r.set(rowState{issuer: " ", name: " ", code: " "})
	return r
}

// set shows s; only what changed is refreshed.
func (r *accountRow) set(s rowState) {
	old := r.state
	r.state = s
	show(r.pin, s.pinned)
	if tags := strings.Join(s.tags, " · "); tags != r.tags.Text {
		r.tags.SetText(tags)
	}
	show(r.tags, len(s.tags) > 0)
	if s.issuer != old.issuer || s.name != old.name || r.avatar.text.Text == "" {
		title, sub := s.issuer, s.name
		if title == "" {
			title, sub = s.name, ""
		}
		r.issuer.SetText(title)
		r.name.SetText(sub)
		r.avatar.set(initials(s.issuer, s.name), avatarColor(s.issuer, s.name))
	}
	if s.code != r.code.Text {
		r.code.SetText(s.code)
	}
	next := " " // keeps the line's height while it is hidden
	if s.next != "" {
		next = "next " + s.next
	}
	if next != r.next.Text {
		r.next.SetText(next)
	}
	if shown := s.next != ""; shown != r.next.Visible() {
		show(r.next, shown)
		// The code moves up for the next one, or back: laid out now, not
		// when Fyne next draws the window, which would then draw it a
		// second time because the labels moved (see make bench-ui).
		r.codes.Layout.Layout(r.codes.Objects, r.codes.Size())
	}
	if s.focused != old.focused || s.focused && r.focusRing.StrokeColor == nil {
		r.showFocus(s.focused)
	}
	if s.hotp {
		r.ringBox.Hide()
		r.nextHOTPBox.Show()
	} else {
		r.nextHOTPBox.Hide()
		r.ringBox.Show()
		r.ring.set(s.remaining, s.period)
	}
}

// openMenu opens the account's menu under the row's menu button.
func (r *accountRow) openMenu() {
	if r.onMenu != nil && r.state.id != "" {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(r.menu)
		r.onMenu(r.state.id, pos.AddXY(0, r.menu.Size().Height))
	}
}

// showFocus draws the keyboard focus around the row, in the theme's
// primary colour: its focus colour, which Fyne fills a focused button with,
// is the selection's colour half-transparent and vanishes on a selected row.
func (r *accountRow) showFocus(on bool) {
	if !on {
		r.focusRing.Hide()
		return
	}
	th := r.Theme()
	r.focusRing.StrokeColor = th.Color(theme.ColorNamePrimary, fyne.CurrentApp().Settings().ThemeVariant())
	r.focusRing.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.focusRing.Show()
	r.focusRing.Refresh()
}

func (r *accountRow) Tapped(*fyne.PointEvent) {
	if r.onTapped != nil && r.state.id != "" {
		r.onTapped(r.state.id)
	}
}

func (r *accountRow) TappedSecondary(ev *fyne.PointEvent) {
	if r.onMenu != nil && r.state.id != "" {
		r.onMenu(r.state.id, ev.AbsolutePosition)
	}
}

// Scrolled hands the mouse wheel over a row to the list, which moves a
// row a notch (see accountList.scrollBy).
func (r *accountRow) Scrolled(ev *fyne.ScrollEvent) {
	if r.onScrolled != nil {
		r.onScrolled(ev)
	}
}

func (r *accountRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.content)
}

// lines stacks labels as lines of one block of text: each label's inner
// padding overlaps the next one's, so the gap between the lines is one
// padding, not two. The visible lines are centred vertically; with reserve,
// hidden ones keep their room in the minimum size.
type lines struct{ reserve bool }

func (lines) overlap() float32 { return theme.InnerPadding() }

func (l lines) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	n := 0
	for _, o := range objects {
		if !o.Visible() && !l.reserve {
			continue
		}
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height
		n++
	}
	if n > 1 {
		s.Height -= float32(n-1) * l.overlap()
	}
	return s
}

func (l lines) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	y := (size.Height - lines{}.MinSize(objects).Height) / 2 // centred vertically
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - l.overlap()
	}
}

// titleLine lays out the pin icon, at the size of a caption line and only
// while it shows, and the issuer after it.
type titleLine struct{}

func (titleLine) pin(objects []fyne.CanvasObject) float32 {
	if !objects[0].Visible() {
		return 0
	}
	return theme.CaptionTextSize() + theme.InnerPadding()/2
}

func (l titleLine) MinSize(objects []fyne.CanvasObject) fyne.Size {
	p, issuer := l.pin(objects), objects[1].MinSize()
	return fyne.NewSize(p+issuer.Width, max(p, issuer.Height))
}

func (l titleLine) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	p := l.pin(objects)
	objects[0].Move(fyne.NewPos(0, (size.Height-p)/2))
	objects[0].Resize(fyne.NewSquareSize(p))
	objects[1].Move(fyne.NewPos(p, 0))
	objects[1].Resize(fyne.NewSize(size.Width-p, size.Height))
}

// subLine lays out the name and, after it, the tags: the name takes the
// room it needs and the tags what is left, and when that is not enough
// both are cut short in proportion, the tags to no less than a third.
type subLine struct{}

func (subLine) MinSize(objects []fyne.CanvasObject) fyne.Size {
	name, tags := objects[0].MinSize(), objects[1].MinSize()
	return fyne.NewSize(name.Width, max(name.Height, tags.Height))
}

func (subLine) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	name, tags := objects[0], objects[1]
	if !tags.Visible() {
		name.Move(fyne.Position{})
		name.Resize(size)
		return
	}
	nameW, tagsW := fullWidth(name), fullWidth(tags)
	if nameW+tagsW > size.Width {
		tagsW = max(min(tagsW, size.Width/3), size.Width-nameW)
		nameW = size.Width - tagsW
	}
	name.Move(fyne.Position{})
	name.Resize(fyne.NewSize(nameW, size.Height))
	tags.Move(fyne.NewPos(nameW, 0))
	tags.Resize(fyne.NewSize(tagsW, size.Height))
}

// fullWidth is the width a label needs to show all its text.
func fullWidth(o fyne.CanvasObject) float32 {
	l, ok := o.(*widget.Label)
	if !ok || l.Truncation == fyne.TextTruncateOff {
		return o.MinSize().Width
	}
	// One unit more than measured: the label cuts its text short when it
	// would touch the padding.
	return fyne.MeasureText(l.Text, theme.Size(l.SizeName), l.TextStyle).Width + 2*theme.InnerPadding() + 1
}

// avatar is a coloured disc with an account's initials.
type avatar struct {
	widget.BaseWidget
	disc *canvas.Circle
	text *canvas.Text
}

const avatarSize = 40

func newAvatar() *avatar {
	a := &avatar{disc: canvas.NewCircle(color.Transparent), text: canvas.NewText("", color.White)}
	a.text.TextStyle.Bold = true
	a.text.Alignment = fyne.TextAlignCenter
	a.ExtendBaseWidget(a)
	return a
}

func (a *avatar) set(initials string, c color.Color) {
	a.text.Text = initials
	a.disc.FillColor = c
	a.disc.Refresh()
	a.text.Refresh()
}

func (a *avatar) CreateRenderer() fyne.WidgetRenderer {
	return &avatarRenderer{a: a}
}

type avatarRenderer struct{ a *avatar }

func (r *avatarRenderer) Layout(size fyne.Size) {
	d := min(size.Width, size.Height)
	pos := fyne.NewPos((size.Width-d)/2, (size.Height-d)/2)
	r.a.disc.Move(pos)
	r.a.disc.Resize(fyne.NewSquareSize(d))
	r.a.text.TextSize = d * 0.4
	h := r.a.text.MinSize().Height
	r.a.text.Move(fyne.NewPos(pos.X, pos.Y+(d-h)/2))
	r.a.text.Resize(fyne.NewSize(d, h))
}

func (r *avatarRenderer) MinSize() fyne.Size { return fyne.NewSquareSize(avatarSize) }
func (r *avatarRenderer) Refresh()           { r.Layout(r.a.Size()); r.a.disc.Refresh(); r.a.text.Refresh() }
func (r *avatarRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.a.disc, r.a.text}
}
func (r *avatarRenderer) Destroy() {}

// countdown is a ring that empties as a TOTP code's period runs out. It
// turns to the theme's warning colour for the last seconds, when the next
// code is shown too.
type countdown struct {
	widget.BaseWidget
	remaining, period int
	track, arc        *canvas.Arc
}

const countdownSize = 30

func newCountdown() *countdown {
	c := &countdown{
		track: canvas.NewArc(0, 360, 0.78, color.Transparent),
		arc:   canvas.NewArc(0, 0, 0.78, color.Transparent),
	}
	c.ExtendBaseWidget(c)
	return c
}

func (c *countdown) set(remaining, period int) {
	if remaining == c.remaining && period == c.period {
		return
	}
	c.remaining, c.period = remaining, period
	c.Refresh()
}

func (c *countdown) CreateRenderer() fyne.WidgetRenderer {
	r := &countdownRenderer{c: c}
	r.apply()
	return r
}

type countdownRenderer struct{ c *countdown }

func (r *countdownRenderer) apply() {
	c := r.c
	th := c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	c.track.FillColor = th.Color(theme.ColorNameInputBorder, v)
	fill := theme.ColorNamePrimary
	if c.remaining < expiringSoon {
		fill = theme.ColorNameWarning
	}
	c.arc.FillColor = th.Color(fill, v)
	c.arc.EndAngle = 0
	if c.period > 0 {
		c.arc.EndAngle = 360 * float32(c.remaining) / float32(c.period)
	}
}

func (r *countdownRenderer) Layout(size fyne.Size) {
	d := min(size.Width, size.Height)
	pos := fyne.NewPos((size.Width-d)/2, (size.Height-d)/2)
	for _, a := range []*canvas.Arc{r.c.track, r.c.arc} {
		a.Move(pos)
		a.Resize(fyne.NewSquareSize(d))
	}
}

func (r *countdownRenderer) MinSize() fyne.Size { return fyne.NewSquareSize(countdownSize) }

func (r *countdownRenderer) Refresh() {
	r.apply()
	r.Layout(r.c.Size())
	for _, o := range r.Objects() {
		o.Refresh()
	}
}

func (r *countdownRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{r.c.track, r.c.arc}
}
func (r *countdownRenderer) Destroy() {}
