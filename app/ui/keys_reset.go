package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
)

// resetWord is what the person types to confirm a reset.
const resetWord = "RESET"

// resetWait is how long a reset waits for the key to be removed, and then
// for it to be plugged in again.
const resetWait = time.Minute

// resetStage is where a reset under way is. Keys accept a reset only
// seconds after they are plugged in, so the order is: confirm, remove the
// key, plug it in again, and the reset is asked the moment it is back.
type resetStage int

const (
	resetRemove resetStage = iota // waiting for the key to go
	resetInsert                   // waiting for it to come back
	resetAsking                   // the key was asked and waits for its touch
)

// resetFlow is a reset under way: the key chosen, the stage, and the
// dialog that says what to do.
type resetFlow struct {
	stage  resetStage
	path   string // the key chosen; once back, the path it came back on
	model  string
	aaguid string
	// before are the usable keys' paths at the last list, to tell a key
	// that arrives (or becomes usable) from one that was there.
	before    map[string]bool
	stopTimer func() bool
	cancel    context.CancelFunc // ends the request on the key; nil before it
	ended     bool
	prompt    *widget.Label
	dialog    dialog.Dialog
}

// showReset explains what a reset does and how it goes, and asks for
// resetWord typed out before it starts.
func (k *keys) showReset() {
	cur, ok := k.current()
	if !ok {
		return
	}
	rule := &widget.Label{Text: fido.ResetRule, Wrapping: fyne.TextWrapWord}
	steps := &widget.Label{Wrapping: fyne.TextWrapWord, Text: "What happens next:\n" +
		"1. You remove the key from the computer.\n" +
		"2. You plug it in again: Countersign asks it to reset at once.\n" +
		"3. You touch the key when it blinks."}
	confirm := k.m.newDialogEntry()
	confirm.SetPlaceHolder(resetWord)
	var d *dialog.CustomDialog
	start := widget.NewButtonWithIcon("Start the reset", theme.DeleteIcon(), func() {
		k.form = nil
		d.Hide()
		k.beginReset(cur)
	})
	start.Importance = widget.DangerImportance
	start.Disable()
	confirm.OnChanged = func(s string) { enable(start, strings.TrimSpace(s) == resetWord) }
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		k.form = nil
		d.Hide()
	})
	content := container.NewVBox(rule, steps,
		widget.NewForm(&widget.FormItem{Text: "Confirm", Widget: confirm, HintText: "Type " + resetWord + " in capitals"}))
	d = dialog.NewCustomWithoutButtons("Reset "+cur.info.Model, content, k.m.win)
	d.SetButtons([]fyne.CanvasObject{cancel, start})
	k.form, k.dialog = &pinForm{current: confirm}, d
	d.Resize(fyne.NewSize(500, d.MinSize().Height))
	k.m.showDialogKeys(d, pressButton(start), pressButton(cancel))
	// The labels wrap to the width just set; the height follows them.
	d.Resize(fyne.NewSize(500, d.MinSize().Height))
	k.m.win.Canvas().Focus(confirm)
}

// beginReset asks for the key to be removed and follows the keys present
// (resetSaw) from there.
func (k *keys) beginReset(cur keyState) {
	f := &resetFlow{stage: resetRemove, path: cur.loc.Path, model: cur.info.Model, aaguid: cur.info.AAGUID,
		before: usablePaths(k.present)}
	f.prompt = &widget.Label{Wrapping: fyne.TextWrapWord,
		Text: "Remove the " + f.model + " from the computer now."}
	bar := widget.NewProgressBarInfinite()
	f.dialog = dialog.NewCustom("Resetting the key", "Cancel", container.NewVBox(f.prompt, bar), k.m.win)
	f.dialog.SetOnClosed(func() {
		bar.Stop()
		if f.cancel != nil {
			f.cancel() // the key stops waiting; the request's end reports it
			return
		}
		k.endReset(f, "Reset cancelled: the key is unchanged", nil)
	})
	f.dialog.Resize(fyne.NewSize(440, f.dialog.MinSize().Height))
	k.resetF, k.dialog = f, f.dialog
	k.m.showDialogKeys(f.dialog, nil, f.dialog.Dismiss)
	k.waitReset(f, "the key was not removed within a minute: start the reset again when you are ready")
}

// waitReset gives the stage under way resetWait, then ends the reset with
// the message why.
func (k *keys) waitReset(f *resetFlow, why string) {
	if f.stopTimer != nil {
		f.stopTimer()
	}
	f.stopTimer = k.m.deps.After(resetWait, func() {
		k.endReset(f, "", errors.New(why))
	})
}

// usablePaths are the paths of the keys in states that answered.
func usablePaths(states []keyState) map[string]bool {
	m := map[string]bool{}
	for _, s := range states {
		if s.err == nil {
			m[s.loc.Path] = true
		}
	}
	return m
}

// resetSaw moves the reset on as the keys present change: the chosen key
// gone, then a key arriving, which is reset if it is the same model.
func (k *keys) resetSaw(states []keyState) {
	f := k.resetF
	if f == nil || f.ended {
		return
	}
	before := f.before
	f.before = usablePaths(states)
	switch f.stage {
	case resetRemove:
		if !slices.ContainsFunc(states, func(s keyState) bool { return s.loc.Path == f.path }) {
			f.stage = resetInsert
			f.prompt.SetText("Now plug it in again. Countersign resets it as soon as it is back.")
			k.waitReset(f, "the key was not plugged in again within a minute: start the reset again when you are ready")
		}
	case resetInsert:
		for _, s := range states {
			if before[s.loc.Path] {
				continue
			}
			switch {
			case s.err != nil:
				f.prompt.SetText("A key was plugged in but cannot be used. " + sentence(s.err))
			case f.aaguid != "" && s.info.AAGUID != "" && s.info.AAGUID != f.aaguid:
				f.prompt.SetText("That is another key (" + s.info.Model + "): it is left alone. " +
					"Plug in the " + f.model + " you chose to reset.")
			default:
				k.askReset(f, s.loc.Path)
				return
			}
		}
	}
}

// askReset asks the key that came back to reset, which it accepts only
// seconds after being plugged in and confirms with a touch.
func (k *keys) askReset(f *resetFlow, path string) {
	f.stage, f.path = resetAsking, path
	f.stopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.prompt.SetText("Asking the key…")
	touch := func() {
		k.ui(func() {
			if !f.ended {
				f.prompt.SetText("Touch the key now to confirm the reset. It may blink.")
			}
		})
	}
	k.run(func() error { return k.svc.Reset(ctx, path, touch) }, func(err error) {
		cancelled := ctx.Err() != nil
		cancel()
		switch {
		case cancelled && errors.Is(err, context.Canceled):
			k.endReset(f, "Reset cancelled: the key is unchanged", nil)
		case errors.Is(err, fido.ErrResetNotAllowed):
			// Too slow after the plug-in, or a key that had been in all
			// along: once more from the removal.
			f.stage, f.cancel = resetRemove, nil
			f.prompt.SetText("The key refused the reset: it accepts one only within seconds of being plugged in. " +
				"Remove it once more and plug it in again.")
			k.waitReset(f, "the key was not removed within a minute: start the reset again when you are ready")
		case err != nil:
			k.endReset(f, "", err)
		default:
			k.endReset(f, "Key reset: it has no PIN and no passkeys now", nil)
		}
	})
}

// endReset closes the reset's dialog once, with a toast for done or an
// error dialog for err.
func (k *keys) endReset(f *resetFlow, done string, err error) {
	if f.ended {
		return
	}
	f.ended = true
	if f.stopTimer != nil {
		f.stopTimer()
	}
	if k.resetF == f {
		k.resetF = nil
	}
	f.dialog.Hide()
	k.clearLists()
	if k.path != "" {
		k.refreshInfo()
	}
	if err != nil {
		k.showError("The key was not reset", err)
		return
	}
	k.m.toast.show(done)
}
