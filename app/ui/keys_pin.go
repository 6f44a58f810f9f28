package ui

import (
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
)

// pinKeep is how long the screen keeps a key's PIN after it proved right,
// so that Fingerprints after Passkeys does not ask again. The PIN is held
// in memory only, and forgotten sooner when the key goes, the screen is
// left or the window locks (hidden).
const pinKeep = 3 * time.Minute

// heldPIN is the PIN of the key at path, until stop.
type heldPIN struct {
	path, pin string
	stop      func() bool
}

// holdPIN keeps pin for the key at path for pinKeep.
func (k *keys) holdPIN(path, pin string) {
	k.forgetPIN()
	h := &heldPIN{path: path, pin: pin}
	h.stop = k.m.deps.After(pinKeep, func() {
		if k.held == h {
			k.held = nil
		}
	})
	k.held = h
}

// heldFor is the PIN held for the key at path, "" for none.
func (k *keys) heldFor(path string) string {
	if k.held == nil || k.held.path != path {
		return ""
	}
	return k.held.pin
}

func (k *keys) forgetPIN() {
	if k.held != nil {
		k.held.stop()
		k.held = nil
	}
}

// pinForm holds the fields of a PIN dialog; current is nil when setting a
// first PIN, next and repeat are nil when only asking for the PIN.
type pinForm struct {
	current, next, repeat *dialogEntry
	// problem says why the PIN typed was not accepted.
	problem *widget.Label
	// submit does what the dialog's action button does.
	submit func()
}

// withPIN runs op with the PIN of the key on display, then done with its
// error on the UI goroutine. The PIN is the one held for the key, or
// asked for in a dialog that stays open while the PIN typed is wrong.
func (k *keys) withPIN(title, action, hint string, op func(path, pin string) error, done func(path string, err error)) {
	cur, ok := k.current()
	if !ok {
		return
	}
	path := cur.loc.Path
	if pin := k.heldFor(path); pin != "" {
		k.run(func() error { return op(path, pin) }, func(err error) {
			if errors.Is(err, fido.ErrWrongPIN) {
				// Changed elsewhere meanwhile: ask for it.
				k.forgetPIN()
				k.refreshInfo()
				k.withPIN(title, action, hint, op, done)
				return
			}
			done(path, err)
		})
		return
	}
	pin := k.m.newDialogPasswordEntry()
	pin.Validator = func(p string) error {
		if p == "" {
			return errors.New("type the key's PIN")
		}
		return nil
	}
	f := &pinForm{current: pin}
	form := widget.NewForm(&widget.FormItem{Text: "PIN", Widget: pin, HintText: hint})
	var typed string
	k.pinDialog(title, action, f, form, func() func() error {
		typed = pin.Text
		return func() error { return op(path, typed) }
	}, func(err error) {
		if err == nil {
			k.holdPIN(path, typed)
		}
		done(path, err)
	})
}

// pinDialog shows form with Cancel, an action button that is enabled while
// the form is valid, and a line for a wrong PIN. The action calls prepare,
// which reads the fields, and runs the work it returns off the UI
// goroutine: a wrong f.current PIN keeps the dialog open, says how many
// tries are left and empties the field to type again; any other outcome
// closes the dialog and goes to done.
func (k *keys) pinDialog(title, action string, f *pinForm, form *widget.Form, prepare func() func() error, done func(err error)) {
	f.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	f.problem.Hide()
	bar := widget.NewProgressBarInfinite()
	bar.Stop()
	bar.Hide()
	var d *dialog.CustomDialog
	var ok *widget.Button
	busy := false
	ok = widget.NewButtonWithIcon(action, theme.ConfirmIcon(), func() {
		if busy || form.Validate() != nil {
			return
		}
		busy = true
		ok.Disable()
		bar.Show()
		bar.Start()
		k.run(prepare(), func(err error) {
			busy = false
			bar.Stop()
			bar.Hide()
			var wrong *fido.WrongPINError
			if f.current != nil && errors.As(err, &wrong) && k.form == f {
				k.refreshInfo() // the tries left, on the card too
				f.problem.SetText(wrongPINText(wrong))
				f.problem.Show()
				f.current.SetText("")
				ok.Enable()
				d.Refresh()
				k.m.win.Canvas().Focus(f.current)
				return
			}
			if k.form == f {
				k.form = nil
				d.Hide()
			}
			k.refreshInfo() // the tries left change either way
			done(err)
		})
	})
	ok.Importance = widget.HighImportance
	f.submit = ok.OnTapped
	form.SetOnValidationChanged(func(err error) { enable(ok, err == nil && !busy) })
	// Enter in a field presses the action (dialogEntry), Esc cancels.
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		k.form = nil
		d.Hide()
	})
	d = dialog.NewCustomWithoutButtons(title, container.NewVBox(form, f.problem, bar), k.m.win)
	d.SetButtons([]fyne.CanvasObject{cancel, ok})
	k.form, k.dialog = f, d
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	k.m.showDialogKeys(d, pressButton(ok), cancel.OnTapped)
	ok.Disable() // until the form is valid
	focus := f.current
	if focus == nil {
		focus = f.next
	}
	k.m.win.Canvas().Focus(focus)
}

// wrongPINText says a PIN was wrong and how many tries are left.
func wrongPINText(e *fido.WrongPINError) string {
	switch {
	case e.Retries < 0:
		return "Wrong PIN. Try again."
	case e.Retries == 1:
		return "Wrong PIN — 1 try left before the PIN is blocked."
	}
	return fmt.Sprintf("Wrong PIN — %d tries left before the PIN is blocked.", e.Retries)
}
