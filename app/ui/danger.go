package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// dangerConfirm asks before a change that cannot be taken back (deleting,
// removing, unpairing, blocking): the message, a button that keeps things
// as they are, and one in the danger colour that says what it does in
// words, with no tick, so that nobody confirms by reflex as with an OK.
// It is the one way the screens ask this.
type dangerConfirm struct {
	*dialog.CustomDialog
	keep, act *widget.Button
	callback  func(ok bool)
	answered  bool
}

// newDangerConfirm makes the dialog; callback learns whether action was
// chosen (true) or keep, Esc or a close (false), once.
func newDangerConfirm(title, message, action, keep string, callback func(ok bool), win fyne.Window) *dangerConfirm {
	d := &dangerConfirm{callback: callback}
	text := &widget.Label{Text: message, Wrapping: fyne.TextWrapWord}
	d.CustomDialog = dialog.NewCustomWithoutButtons(title, text, win)
	d.keep = widget.NewButtonWithIcon(keep, theme.CancelIcon(), func() { d.answer(false) })
	d.act = &widget.Button{Text: action, Importance: widget.DangerImportance, OnTapped: func() { d.answer(true) }}
	d.SetButtons([]fyne.CanvasObject{d.keep, d.act})
	d.SetOnClosed(func() { d.answer(false) })
	// A wrapped label is as tall as its lines at the width it was last
	// given: lay the dialog out at its width once, then fit its height.
	w := dangerWidth(win)
	d.Resize(fyne.NewSize(w, d.MinSize().Height))
	d.Resize(fyne.NewSize(w, 0))
	return d
}

// dangerWidth is the width of a danger dialog in win: 440, or less in a
// narrow window.
func dangerWidth(win fyne.Window) float32 {
	w := float32(440)
	if c := win.Canvas(); c != nil && c.Size().Width > 0 {
		w = min(w, c.Size().Width-2*theme.Padding())
	}
	return w
}

// Confirm chooses the action, as its button does.
func (d *dangerConfirm) Confirm() { d.answer(true) }

// Dismiss keeps things as they are, as the keep button does.
func (d *dangerConfirm) Dismiss() { d.answer(false) }

func (d *dangerConfirm) answer(ok bool) {
	if d.answered {
		return
	}
	d.answered = true
	d.Hide()
	if d.callback != nil {
		d.callback(ok)
	}
}
