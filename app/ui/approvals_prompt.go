package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/names"
)

// promptTitle is the prompt window's title, and its question.
const promptTitle = "Is this you trying to sign in?"

// promptWidth is the prompt window's width.
const promptWidth = 440

// decideTimeout bounds a decision, which may wait for a security key's
// touch.
const decideTimeout = 2 * time.Minute

// promptState is where a prompt stands.
type promptState int

const (
	promptOpen     promptState = iota // waiting for the person
	promptDeciding                    // this desktop's answer is on its way
	promptDone                        // decided, here or elsewhere, or expired
)

// prompt is the window one sign-in request brings forward: who signs in,
// from where, and the three numbers, one of which the browser shows. It
// binds no key: Escape does not dismiss it and Enter approves nothing; the
// numbers take the focus with Tab and are pressed with Space. While the app
// is locked it shows the request but takes no answer: approving a sign-in
// is as sensitive as reading a code.
type prompt struct {
	s     *approvals
	req   approver.Request
	win   fyne.Window
	state promptState

	when      *widget.Label
	countdown *widget.Label
	numbers   []*widget.Button
	digits    []*canvas.Text // the numbers drawn on them
	picked    int            // the number picked, 0 for none
	deny      *widget.Button
	report    *widget.Button
	status    *widget.Label
	locked    *fyne.Container // says the app is locked, with a way to unlock
	progress  *widget.ProgressBarInfinite
	dialog    dialog.Dialog // the confirmation of This wasn't me

	cancelTick  func() bool
	cancelClose func() bool
	closed      bool
	overdue     int // ticks at 0:00 without the approver's word
}

// overdueTicks is how many seconds a prompt at 0:00 waits for the approver,
// which expires requests once a second and moves them when the desktop's
// clock is set, before it closes itself as expired.
const overdueTicks = 3

func newPrompt(s *approvals, r approver.Request) *prompt {
	p := &prompt{s: s, req: r}
	p.win = s.m.deps.NewWindow(promptTitle)

	// Every word from the server goes through names.Show: a name with a
	// right-to-left override or a line break must not read as another.
	who := &widget.Label{Text: names.Show(r.Account.Name), TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	if r.Account.Name == "" {
		who.Text = names.Show(r.Account.Email)
	}
	grid := container.New(layout.NewFormLayout())
	row := func(name string, value fyne.CanvasObject) {
		grid.Add(&widget.Label{Text: name, TextStyle: fyne.TextStyle{Bold: true}})
		grid.Add(value)
	}
	text := func(s string) *widget.Label { return &widget.Label{Text: names.Show(s), Wrapping: fyne.TextWrapWord} }
	if r.Account.Name != "" && r.Account.Email != "" {
		row("Account", text(r.Account.Email))
	}
	row("Browser", text(orUnknown(r.Browser, "Unknown browser")+" on "+orUnknown(r.OS, "an unknown system")))
	row("Where", text(orUnknown(r.Place, "Unknown place")+" · IP "+orUnknown(r.IP, "unknown")))
	if r.App != "" {
		row("App", text(r.App))
	}
	p.when = text("")
	p.countdown = text("")
	row("When", p.when)
	row("Expires", p.countdown)

	pick := &widget.Label{Text: "Pick the number shown in your browser", TextStyle: fyne.TextStyle{Bold: true},
		Alignment: fyne.TextAlignCenter}
	nums := container.NewGridWithColumns(len(r.Numbers))
	for _, n := range r.Numbers {
		b, digits, box := numberButton(n, func() { p.decide(approver.Approve, n) })
		p.numbers, p.digits = append(p.numbers, b), append(p.digits, digits)
		nums.Add(box)
	}
	p.deny = widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { p.decide(approver.Deny, 0) })
	p.report = widget.NewButtonWithIcon("This wasn't me", theme.WarningIcon(), p.confirmReport)
	p.report.Importance = widget.DangerImportance
	p.status = &widget.Label{Wrapping: fyne.TextWrapWord, Alignment: fyne.TextAlignCenter,
		TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
	p.status.Hide()
	p.progress = widget.NewProgressBarInfinite()
	p.progress.Stop()
	p.progress.Hide()
	unlock := widget.NewButtonWithIcon("Unlock…", theme.LoginIcon(), s.m.lock.bringForward)
	unlock.Importance = widget.HighImportance
	p.locked = container.NewVBox(
		&widget.Label{Text: "Countersign is locked. Unlock it to answer.", Wrapping: fyne.TextWrapWord,
			Alignment: fyne.TextAlignCenter, Importance: widget.WarningImportance},
		container.NewCenter(unlock))

	p.win.SetContent(container.NewPadded(container.NewVBox(
		&widget.Label{Text: promptTitle, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameHeadingText,
			Wrapping: fyne.TextWrapWord},
		who,
		grid,
		widget.NewSeparator(),
		pick,
		nums,
		p.locked,
		p.status,
		p.progress,
		layout.NewSpacer(),
		container.NewGridWithColumns(2, p.deny, p.report),
	)))
	p.win.SetCloseIntercept(p.onCloseWindow)
	p.lockChanged()
	p.win.Resize(fyne.NewSize(promptWidth, p.win.Content().MinSize().Height))
	p.tick()
	return p
}

// numberSize is the size of a number button.
var numberSize = fyne.NewSize(96, 72)

// numberText is the size of a number on its button.
const numberText = 34

// numberButton is a big button showing n; box is what to lay out. The
// button's own text is empty, its number drawn large over it.
func numberButton(n int, tapped func()) (b *widget.Button, digits *canvas.Text, box fyne.CanvasObject) {
	b = widget.NewButton("", tapped)
	digits = canvas.NewText(strconv.Itoa(n), theme.Color(theme.ColorNameForeground))
	digits.TextSize = numberText
	digits.TextStyle = fyne.TextStyle{Bold: true}
	digits.Alignment = fyne.TextAlignCenter
	space := canvas.NewRectangle(color.Transparent)
	space.SetMinSize(numberSize)
	return b, digits, container.NewStack(space, b, container.NewCenter(digits))
}

// bringForward shows the prompt above the other windows.
func (p *prompt) bringForward() {
	if p.closed {
		return
	}
	p.win.Show()
	p.win.RequestFocus()
}

// onCloseWindow hides the prompt of a request still waiting (the tray and
// the window bring it back) and closes one that is over.
func (p *prompt) onCloseWindow() {
	if p.state == promptDone {
		p.close()
		return
	}
	p.win.Hide()
}

// moved takes the request's new times, sent when the desktop's clock was
// set while it waited.
func (p *prompt) moved(r approver.Request) {
	p.req.CreatedAt, p.req.ExpiresAt = r.CreatedAt, r.ExpiresAt
	if p.state == promptDone {
		return
	}
	if p.cancelTick != nil {
		p.cancelTick()
	}
	p.tick()
}

// tick shows how long ago the request came and how long it has left, once
// a second, and expires it when its time is up.
func (p *prompt) tick() {
	p.cancelTick = nil
	if p.state == promptDone {
		return
	}
	now := p.s.m.deps.Now()
	p.when.SetText(ago(now.Sub(p.req.CreatedAt)))
	left := p.req.ExpiresAt.Sub(now)
	if left <= 0 {
		// The approver's "expired" ends it; the clock having been set, its
		// new times may come instead.
		if p.state == promptOpen && p.overdue < overdueTicks {
			p.overdue++
			p.countdown.SetText("in " + clockTime(0))
			p.cancelTick = p.s.m.deps.After(time.Second, p.tick)
		} else if p.state == promptOpen {
			p.finish("Expired", widget.WarningImportance)
			p.s.forget(p.req.ID)
		}
		return
	}
	p.overdue = 0
	p.countdown.SetText("in " + clockTime(left))
	wait := left % time.Second
	if wait == 0 {
		wait = time.Second
	}
	p.cancelTick = p.s.m.deps.After(wait, p.tick)
}

// ago says how long ago something happened: "just now", "1 min ago".
func ago(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m < 1:
		return "just now"
	case m == 1:
		return "1 min ago"
	default:
		return fmt.Sprintf("%d min ago", m)
	}
}

// clockTime is d rounded up to the second, as m:ss.
func clockTime(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// lockChanged takes the answers away while the app is locked, and gives
// them back when it is unlocked; an answer already on its way goes on.
func (p *prompt) lockChanged() {
	locked := p.s.m.lock.locked
	if locked && p.dialog != nil {
		p.dialog.Hide()
	}
	show(p.locked, locked && p.state == promptOpen)
	if p.state == promptOpen {
		p.enableChoices(!locked)
	}
	p.fit()
}

func (p *prompt) confirmReport() {
	if p.state != promptOpen || p.s.m.lock.locked {
		return
	}
	d := newDangerConfirm("This wasn't me",
		"The sign-in will be blocked and you will be asked to change your password.",
		"Block the sign-in", "Go back",
		func(ok bool) {
			if ok {
				p.decide(approver.Report, 0)
			}
		}, p.win)
	p.dialog = d
	d.Show()
}

// decide sends this desktop's answer; number is the number picked, 0 for
// Deny and Report.
func (p *prompt) decide(c approver.Choice, number int) {
	if p.state != promptOpen || p.s.m.lock.locked {
		return
	}
	p.state = promptDeciding
	p.picked = number
	p.enableChoices(false)
	wait := "Sending your answer…"
	if c == approver.Approve && p.req.RequireKey {
		wait = "Touch your security key…"
	}
	p.progress.Show()
	p.progress.Start()
	p.say(wait, widget.MediumImportance)
	req, svc := p.req, p.s.svc
	var status string
	p.s.run(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), decideTimeout)
		defer cancel()
		status, err = svc.Decide(ctx, req.Account.ID, req.ID, c, number)
		return err
	}, func(err error) { p.decided(c, status, err) })
}

// decided shows what came of this desktop's answer.
func (p *prompt) decided(c approver.Choice, status string, err error) {
	p.progress.Stop()
	p.progress.Hide()
	if p.state != promptDeciding {
		return
	}
	var taken *approver.DecidedError
	switch {
	case err == nil:
		p.finish(decisionText(c, status))
	case errors.As(err, &taken):
		p.finish(resolvedText(taken.Status, taken.DecidedBy))
	case errors.Is(err, approver.ErrNotPending):
		p.finish("This request is no longer waiting", widget.WarningImportance)
	default:
		p.state = promptOpen
		p.picked = 0
		p.lockChanged() // the lock may have engaged meanwhile
		p.say("Your answer was not sent. "+sentence(err)+" Try again.", widget.DangerImportance)
		return
	}
	p.s.forget(p.req.ID)
}

// resolvedElsewhere ends the prompt of a request that another device
// decided, or that expired; an answer of this desktop's own wins.
func (p *prompt) resolvedElsewhere(status, by string) {
	if p.state != promptOpen {
		return
	}
	p.finish(resolvedText(status, by))
}

// decisionText is what the server made of this desktop's answer.
func decisionText(c approver.Choice, status string) (string, widget.Importance) {
	switch status {
	case api.StatusApproved:
		return "Approved", widget.SuccessImportance
	case api.StatusDenied:
		if c == approver.Approve {
			return "Denied: wrong number picked", widget.DangerImportance
		}
		return "Denied", widget.WarningImportance
	case api.StatusReported:
		return "Blocked and reported: change your password", widget.DangerImportance
	}
	return resolvedText(status, "")
}

// resolvedText says how a request ended when another device decided it.
func resolvedText(status, by string) (string, widget.Importance) {
	on := " elsewhere"
	if by != "" {
		on = " on " + names.Show(by)
	}
	switch status {
	case api.StatusApproved:
		return "Approved" + on, widget.SuccessImportance
	case api.StatusDenied:
		return "Denied" + on, widget.WarningImportance
	case api.StatusReported:
		return "Blocked and reported" + on, widget.DangerImportance
	case api.StatusExpired:
		return "Expired", widget.WarningImportance
	case api.StatusCancelled:
		return "Cancelled: the sign-in was abandoned", widget.WarningImportance
	}
	return "Answered" + on, widget.MediumImportance
}

// finish shows how the request ended and closes the prompt a little later.
func (p *prompt) finish(text string, imp widget.Importance) {
	p.state = promptDone
	if p.dialog != nil {
		p.dialog.Hide()
	}
	p.enableChoices(false)
	p.locked.Hide()
	if p.cancelTick != nil {
		p.cancelTick()
		p.cancelTick = nil
	}
	p.countdown.SetText("—")
	p.say(text, imp)
	p.cancelClose = p.s.m.deps.After(resolvedLinger, p.close)
}

func (p *prompt) say(text string, imp widget.Importance) {
	p.status.Importance = imp
	p.status.SetText(text)
	p.status.Show()
	p.fit()
}

// fit grows the window to show everything.
func (p *prompt) fit() {
	p.win.Content().Refresh()
	size, min := p.win.Canvas().Size(), p.win.Content().MinSize()
	if size.Height < min.Height || size.Width < min.Width {
		p.win.Resize(size.Max(min))
	}
}

// enableChoices turns the buttons on or off; off, the numbers are greyed
// but the one picked, which is highlighted.
func (p *prompt) enableChoices(on bool) {
	for i, b := range p.numbers {
		enable(b, on)
		name := theme.ColorNameForeground
		b.Importance = widget.MediumImportance
		if !on && p.req.Numbers[i] == p.picked {
			b.Importance = widget.HighImportance
		} else if !on {
			name = theme.ColorNameDisabled
		}
		p.digits[i].Color = theme.Color(name)
		b.Refresh()
		p.digits[i].Refresh()
	}
	enable(p.deny, on)
	enable(p.report, on)
}

// close closes the window; the request, if still waiting, stays on the
// screen's list.
func (p *prompt) close() {
	if p.closed {
		return
	}
	p.closed = true
	for _, c := range []func() bool{p.cancelTick, p.cancelClose} {
		if c != nil {
			c()
		}
	}
	if p.s.prompts[p.req.ID] == p {
		delete(p.s.prompts, p.req.ID)
	}
	p.win.Close()
}
