package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// Every dialog of the window is shown through showDialog, so that the
// keyboard works the same in all of them: Esc does what the dialog's Cancel
// or Close button does, and Enter presses its default button. The keys
// reach the dialog from the window when nothing in the dialog has the focus,
// and from its text fields (dialogEntry) when one has it. Pop-up menus close
// on Esc by themselves (Fyne's PopUpMenu takes the focus when it opens).
//
// What they cannot reach: Fyne hands a key only to the widget with the
// focus, and its buttons, checks and selects do nothing with Esc or Enter
// (Space presses a focused button). A dialog's own buttons are Fyne's.

// shownDialog is a dialog over the window and what its keys do.
type shownDialog struct {
	overlay fyne.CanvasObject // the pop-up Fyne shows the dialog in
	enter   func()            // the default button; nil when Enter does nothing
	esc     func()            // the Cancel or Close button; nil when Esc does nothing
}

// showDialog shows d over the window with Enter on its default button:
// Submit of a form dialog (while its fields are valid), the confirm button
// of a confirmation, and otherwise its only button (Close, OK), which is
// also what Esc does.
func (m *Main) showDialog(d dialog.Dialog) {
	enter := d.Dismiss
	switch d := d.(type) {
	case *dialog.FormDialog:
		enter = d.Submit
	case *dialog.ConfirmDialog:
		enter = d.Confirm
	}
	m.showDialogKeys(d, enter, d.Dismiss)
}

// showDialogKeys shows d over the window; enter and esc are what the
// dialog's default and Cancel buttons do, for a dialog that brings its own
// buttons (nil: the key does nothing there, as in a progress note whose
// only button cancels the work, which Enter must not do by accident).
func (m *Main) showDialogKeys(d dialog.Dialog, enter, esc func()) {
	d.Show()
	top := m.win.Canvas().Overlays().Top()
	if top == nil {
		return
	}
	m.prune()
	m.dialogs = append(m.dialogs, shownDialog{overlay: top, enter: enter, esc: esc})
}

// prune forgets the dialogs no longer over the window: closed, or taken
// away by the lock.
func (m *Main) prune() {
	on := m.win.Canvas().Overlays().List()
	m.dialogs = slices.DeleteFunc(m.dialogs, func(d shownDialog) bool { return !slices.Contains(on, d.overlay) })
}

// topDialog is the dialog on top of the window, if it is one showDialog
// showed.
func (m *Main) topDialog() (shownDialog, bool) {
	m.prune()
	top := m.win.Canvas().Overlays().Top()
	for _, d := range m.dialogs {
		if d.overlay == top {
			return d, true
		}
	}
	return shownDialog{}, false
}

// dialogKey runs what key does in the dialog on top, and reports whether
// there is a dialog on top (which then takes every key).
func (m *Main) dialogKey(key fyne.KeyName) bool {
	if m.win.Canvas().Overlays().Top() == nil {
		return false
	}
	d, ok := m.topDialog()
	if !ok {
		return true
	}
	var f func()
	switch key {
	case fyne.KeyEscape:
		f = d.esc
	case fyne.KeyReturn, fyne.KeyEnter:
		f = d.enter
	}
	if f != nil {
		f()
	}
	return true
}

// dialogEntry is a text field of a dialog: Esc there closes the dialog as
// Cancel would, and Enter in a single-line field presses the default button
// unless the field has an OnSubmitted of its own. (A Fyne Entry with the
// focus takes every key and does nothing with Esc.)
type dialogEntry struct {
	widget.Entry
	m *Main
}

// newDialogEntry is a single-line field of a dialog of m's window.
func (m *Main) newDialogEntry() *dialogEntry {
	e := &dialogEntry{m: m}
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip) // as widget.NewEntry
	e.ExtendBaseWidget(e)
	return e
}

// newDialogPasswordEntry is a field of a dialog whose text is hidden.
func (m *Main) newDialogPasswordEntry() *dialogEntry {
	e := m.newDialogEntry()
	e.Password = true // Fyne adds the button that shows the text
	return e
}

// newDialogMultiLineEntry is a field of several lines; Enter starts a new
// line in it.
func (m *Main) newDialogMultiLineEntry() *dialogEntry {
	e := m.newDialogEntry()
	e.MultiLine = true
	return e
}

func (e *dialogEntry) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyEscape:
		e.m.dialogKey(ev.Name)
		return
	case fyne.KeyReturn, fyne.KeyEnter:
		if !e.MultiLine && e.OnSubmitted == nil {
			e.m.dialogKey(ev.Name)
			return
		}
	}
	e.Entry.TypedKey(ev)
}

// pressButton is what a press of b does, as Enter or Esc give it: nothing
// while b is disabled.
func pressButton(b *widget.Button) func() {
	return func() {
		if !b.Disabled() && b.OnTapped != nil {
			b.OnTapped()
		}
	}
}
