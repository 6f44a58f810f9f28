package ui

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
)

// resetWord is what the person types to confirm a reset.
const resetWord = "RESET"

// resetFlow is a reset under way: the "touch your key" prompt and the
// cancel of the library's context.
type resetFlow struct {
	cancel context.CancelFunc
	prompt *widget.Label
	dialog dialog.Dialog
}

// showReset explains what a reset does and when keys accept it, and asks
// for resetWord typed out before it starts.
func (k *keys) showReset() {
	cur, ok := k.current()
	if !ok {
		return
	}
	rule := &widget.Label{Text: fido.ResetRule, Wrapping: fyne.TextWrapWord}
	steps := &widget.Label{Wrapping: fyne.TextWrapWord, Text: "1. Remove the key and plug it in again.\n" +
		"2. At once, type " + resetWord + " below and choose Reset.\n" +
		"3. Touch the key when asked."}
	confirm := k.m.newDialogEntry()
	confirm.SetPlaceHolder(resetWord)
	var d *dialog.CustomDialog
	start := widget.NewButtonWithIcon("Reset", theme.DeleteIcon(), func() {
		k.form = nil
		d.Hide()
		k.startReset(cur.loc.Path)
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

// startReset resets the key, showing what it waits for, with a Cancel that
// cancels the request on the key.
func (k *keys) startReset(path string) {
	ctx, cancel := context.WithCancel(context.Background())
	f := &resetFlow{cancel: cancel}
	f.prompt = &widget.Label{Text: "Asking the key…", Wrapping: fyne.TextWrapWord}
	bar := widget.NewProgressBarInfinite()
	f.dialog = dialog.NewCustom("Resetting the key", "Cancel", container.NewVBox(f.prompt, bar), k.m.win)
	f.dialog.SetOnClosed(cancel) // Cancel, Escape: the key stops waiting
	f.dialog.Resize(fyne.NewSize(420, f.dialog.MinSize().Height))
	k.resetF, k.dialog = f, f.dialog
	k.m.showDialogKeys(f.dialog, nil, f.dialog.Dismiss)

	touch := func() {
		k.ui(func() { f.prompt.SetText("Touch your security key now to confirm the reset. It may blink.") })
	}
	k.run(func() error { return k.svc.Reset(ctx, path, touch) }, func(err error) {
		cancelled := ctx.Err() != nil
		cancel()
		bar.Stop()
		k.resetF = nil
		f.dialog.Hide()
		k.clearLists()
		k.refreshInfo()
		switch {
		case cancelled && errors.Is(err, context.Canceled):
			k.m.toast.show("Reset cancelled: the key is unchanged")
		case err != nil:
			k.showError("The key was not reset", err)
		default:
			k.m.toast.show("Key reset: it has no PIN and no passkeys now")
		}
	})
}
