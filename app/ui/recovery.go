package ui

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"filippo.io/age"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/recovery"
	"github.com/countersign/countersign/internal/vault"
)

// recoverySlots are the vault's key slots, as *vault.Vault keeps them.
type recoverySlots interface {
	SetRecovery(*age.X25519Recipient) error
	RemoveRecovery() error
	Slots() ([]vault.Slot, error)
}

// recoveryKey is the Recovery key part of Settings: whether the vault has
// one, setting one up (shown, its emergency kit saved, checked) and
// removing it.
type recoveryKey struct {
	m     *Main
	slots recoverySlots // nil when the store keeps no key slots

	status *widget.Label
	setUp  *widget.Button
	remove *widget.Button
	root   fyne.CanvasObject

	setup  *keySetup     // the setup while it runs
	dialog dialog.Dialog // the last dialog shown
}

// keySetup is a new recovery key on its way to the vault: it replaces the
// old one only once the person typed back four of its characters.
type keySetup struct {
	id      *age.X25519Identity
	check   recovery.Check
	kit     string // where the emergency kit was saved; "" while it was not
	kitNote *widget.Label
	fields  []*dialogEntry
	wrong   *widget.Label
	key     *dialog.CustomDialog
	typed   *dialog.CustomDialog
}

func newRecoveryKey(m *Main, slots recoverySlots) *recoveryKey {
	r := &recoveryKey{m: m, slots: slots}
	r.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	r.setUp = widget.NewButtonWithIcon("Set up recovery key…", theme.ContentAddIcon(), r.onSetUp)
	r.remove = widget.NewButtonWithIcon("Remove recovery key…", theme.DeleteIcon(), r.confirmRemove)
	r.root = container.NewVBox(
		heading("Recovery key"),
		r.status,
		container.NewHBox(r.setUp, r.remove),
		&widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
			Text: "The recovery key opens your accounts when this computer's keyring cannot (a new or reinstalled computer), " +
				"and opens your backups. It is printed on your emergency kit."},
		widget.NewSeparator(),
	)
	if slots == nil || m.deps.DataDir == "" {
		r.root.Hide()
	}
	return r
}

// recoverySlot is the vault's recovery slot, if it has one.
func (r *recoveryKey) recoverySlot() (vault.Slot, bool, error) {
	if r.slots == nil {
		return vault.Slot{}, false, nil
	}
	all, err := r.slots.Slots()
	for _, s := range all {
		if s.Kind == vault.SlotRecovery {
			return s, true, err
		}
	}
	return vault.Slot{}, false, err
}

func (r *recoveryKey) update() {
	if r.slots == nil {
		return
	}
	s, ok, err := r.recoverySlot()
	switch {
	case err != nil:
		r.status.SetText(sentence(err))
	case ok:
		r.status.SetText(fmt.Sprintf("A recovery key is set up (since %s). Keep its emergency kit somewhere safe.",
			s.Created.Local().Format("2 January 2006")))
	default:
		r.status.SetText("No recovery key: if this computer's keyring loses the key to your accounts, or the computer is lost, your codes are gone. Set one up and keep its emergency kit.")
	}
	if ok {
		r.setUp.SetText("Replace recovery key…")
		r.setUp.Importance = widget.MediumImportance
	} else {
		r.setUp.SetText("Set up recovery key…")
		r.setUp.Importance = widget.HighImportance
	}
	r.setUp.Refresh()
	show(r.remove, ok)
}

// onSetUp makes a new key, after a warning when it replaces one.
func (r *recoveryKey) onSetUp() {
	r.m.lock.activity()
	if _, ok, _ := r.recoverySlot(); ok {
		d := newDangerConfirm("Replace the recovery key?",
			"A new recovery key replaces the one you have: emergency kits printed for the old key stop opening your accounts. "+
				"Backups made before keep opening with the old key only.",
			"Replace", "Keep the old key", func(ok bool) {
				if ok {
					r.startSetup()
				}
			}, r.m.win)
		r.dialog = d
		r.m.showDialog(d)
		return
	}
	r.startSetup()
}

// startSetup makes a key and shows it. Nothing is stored yet.
func (r *recoveryKey) startSetup() {
	id, err := recovery.New()
	if err != nil {
		r.showError("No recovery key was made", err)
		return
	}
	r.setup = &keySetup{id: id, check: recovery.Ask(id)}
	r.showKey()
}

// showKey shows the new key, to copy or to save as the emergency kit.
func (r *recoveryKey) showKey() {
	st := r.setup
	key := &widget.Label{Text: recovery.Groups(st.id), Wrapping: fyne.TextWrapWord, Selectable: true,
		TextStyle: fyne.TextStyle{Monospace: true}}
	copyKey := widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		r.m.app.Clipboard().SetContent(st.id.String())
		r.m.toast.show("Recovery key copied")
	})
	saveKit := widget.NewButtonWithIcon("Save the emergency kit…", theme.DocumentSaveIcon(), r.saveKit)
	saveKit.Importance = widget.HighImportance
	if st.kitNote == nil {
		st.kitNote = &widget.Label{Wrapping: fyne.TextWrapWord}
		st.kitNote.Hide()
	}
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "This is your new recovery key. It opens your accounts when this computer's " +
			"keyring cannot, and opens every backup. Save the emergency kit (a PDF with the key and its QR code) and print it, " +
			"or write the key down; keep it away from this computer. It is shown only now."},
		key,
		container.NewHBox(saveKit, copyKey),
		st.kitNote,
	)
	d := dialog.NewCustomWithoutButtons("Your new recovery key", content, r.m.win)
	next := &widget.Button{Text: "Next: check you kept it", Icon: theme.NavigateNextIcon(), Importance: widget.HighImportance,
		IconPlacement: widget.ButtonIconTrailingText, OnTapped: func() { d.Hide(); r.showCheck() }}
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.Hide(); r.cancelSetup() })
	d.SetButtons([]fyne.CanvasObject{cancel, next})
	d.Resize(fyne.NewSize(dialogWidth(r.m.win, 520), d.MinSize().Height))
	st.key = d
	r.dialog = d
	r.m.showDialogKeys(d, nil, func() { d.Hide(); r.cancelSetup() })
}

// saveKit writes the emergency kit to a PDF file the person picks.
func (r *recoveryKey) saveKit() {
	st := r.setup
	kind := fileKind{title: "Save the emergency kit", about: "a PDF to print",
		filters: []portal.Filter{{Name: "PDF document", Patterns: []string{"*.pdf"}}}}
	r.m.saveFile(kind, "countersign-emergency-kit.pdf", func(path string) {
		if err := r.writeKit(path, st.id); err != nil {
			r.showError("The emergency kit was not saved", err)
			return
		}
		st.kit = path
		st.kitNote.SetText("The emergency kit is in " + path + ". Print it, then delete the file.")
		st.kitNote.Show()
		if st.key != nil {
			st.key.Resize(fyne.NewSize(dialogWidth(r.m.win, 520), st.key.MinSize().Height))
		}
	}, func(err error) { r.showError("The emergency kit was not saved", err) }, func(d dialog.Dialog) { r.dialog = d })
}

// writeKit writes id's emergency kit to path.
func (r *recoveryKey) writeKit(path string, id *age.X25519Identity) error {
	host, _ := os.Hostname()
	var buf bytes.Buffer
	if err := recovery.WriteKit(&buf, id, recovery.Kit{Created: r.m.deps.Now(), Machine: host, Vault: r.m.deps.DataDir}); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o600)
}

// placeWords names a place of the key the way the kit prints it: the
// group of four after AGE-SECRET-KEY-1 and the character in it.
func placeWords(p int) string {
	d := p - len("AGE-SECRET-KEY-1") - 1
	return fmt.Sprintf("Group %d, character %d", d/4+1, d%4+1)
}

// showCheck asks for four characters of the key back.
func (r *recoveryKey) showCheck() {
	st := r.setup
	st.fields = nil
	form := container.New(layout.NewFormLayout())
	for _, p := range st.check.At {
		e := r.m.newDialogEntry()
		st.fields = append(st.fields, e)
		form.Add(widget.NewLabel(placeWords(p)))
		form.Add(container.NewGridWrap(fyne.NewSize(60, e.MinSize().Height), e))
	}
	st.wrong = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord,
		Text: "Those are not the key's characters. Look at the kit again (the groups count from the first after AGE-SECRET-KEY-1)."}
	st.wrong.Hide()
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "Type these characters of the key from your kit or your notes, " +
			"counting the groups of four after AGE-SECRET-KEY-1. The key replaces the old one only once they are right."},
		form,
		st.wrong,
	)
	d := dialog.NewCustomWithoutButtons("Check you kept it", content, r.m.win)
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), func() { d.Hide(); r.showKey() })
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.Hide(); r.cancelSetup() })
	done := &widget.Button{Text: "Finish", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: r.finishSetup}
	d.SetButtons([]fyne.CanvasObject{back, cancel, done})
	d.Resize(fyne.NewSize(dialogWidth(r.m.win, 480), d.MinSize().Height))
	st.typed = d
	r.dialog = d
	r.m.showDialogKeys(d, r.finishSetup, func() { d.Hide(); r.cancelSetup() })
	r.m.win.Canvas().Focus(st.fields[0])
}

// finishSetup stores the new key once the characters typed are right.
func (r *recoveryKey) finishSetup() {
	st := r.setup
	if st == nil {
		return
	}
	var typed string
	for _, f := range st.fields {
		typed += f.Text
	}
	if !st.check.Matches(st.id, typed) {
		st.wrong.Show()
		st.typed.Resize(fyne.NewSize(dialogWidth(r.m.win, 480), st.typed.MinSize().Height))
		return
	}
	if err := r.slots.SetRecovery(st.id.Recipient()); err != nil {
		r.showError("The recovery key was not set up", err)
		return
	}
	st.typed.Hide()
	r.setup = nil
	r.update()
	r.m.backups.start(backupChange) // with automatic backups on, the newest opens with the new key
	r.m.toast.show("Recovery key set up")
}

// cancelSetup forgets the new key: the old one, if any, stays.
func (r *recoveryKey) cancelSetup() {
	if r.setup != nil && r.setup.kit != "" {
		r.m.toast.show("Cancelled: delete the kit you saved, it opens nothing")
	}
	r.setup = nil
}

func (r *recoveryKey) confirmRemove() {
	r.m.lock.activity()
	d := newDangerConfirm("Remove the recovery key?",
		"Your emergency kit will no longer open your accounts. Backups made for it still open with it. "+
			"Automatic backups stop until you set up a new key.",
		"Remove", "Keep it", func(ok bool) {
			if !ok {
				return
			}
			if err := r.slots.RemoveRecovery(); err != nil {
				r.showError("The recovery key was not removed", err)
				return
			}
			r.update()
			r.m.backups.start(backupLook)
			r.m.toast.show("Recovery key removed")
		}, r.m.win)
	r.dialog = d
	r.m.showDialog(d)
}

func (r *recoveryKey) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, "")), r.m.win)
	r.dialog = d
	r.m.showDialog(d)
}

// dialogWidth is want, or less in a narrow window.
func dialogWidth(win fyne.Window, want float32) float32 {
	if c := win.Canvas(); c != nil && c.Size().Width > 0 {
		return min(want, c.Size().Width-4*theme.Padding())
	}
	return want
}
