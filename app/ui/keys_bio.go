package ui

import (
	"context"
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
)

// hasSensor reports whether the key has a fingerprint sensor to manage.
func hasSensor(in *fido.Info) bool {
	_, bio := in.Options["bioEnroll"]
	_, preview := in.Options["userVerificationMgmtPreview"]
	return bio || preview
}

// fingerList is the Keys screen's list of the fingers enrolled on the key
// on display, read with its PIN.
type fingerList struct {
	k *keys

	path  string
	all   []fido.Fingerprint
	count *widget.Label
	rows  *fyne.Container
	add   *widget.Button
	root  *fyne.Container

	enroll *enrollFlow // the enrollment under way, nil for none
}

// enrollFlow is an enrollment under way: the per-touch prompt and progress,
// and the cancel of the library's context.
type enrollFlow struct {
	cancel   context.CancelFunc
	prompt   *widget.Label
	progress *widget.ProgressBar
	dialog   dialog.Dialog
}

func newFingerList(k *keys) *fingerList {
	l := &fingerList{k: k}
	l.count = &widget.Label{SizeName: theme.SizeNameCaptionText}
	l.rows = container.NewVBox()
	l.add = widget.NewButtonWithIcon("Add fingerprint…", theme.ContentAddIcon(), l.askName)
	l.root = container.NewVBox(widget.NewSeparator(), heading("Fingerprints"), l.count, l.rows,
		container.NewHBox(l.add))
	l.root.Hide()
	return l
}

func (l *fingerList) clear() {
	l.path, l.all = "", nil
	l.rows.RemoveAll()
	l.root.Hide()
}

// askFingerprints lists the fingers enrolled, with the key's PIN.
func (k *keys) askFingerprints() {
	var fps []fido.Fingerprint
	k.withPIN("Fingerprints on the key", "Show", "The key's PIN protects its fingerprints",
		func(path, pin string) (err error) {
			fps, err = k.svc.Fingerprints(path, pin)
			return err
		}, func(path string, err error) { k.fp.load(path, fps, err) })
}

// load shows the fingers read off the key at path.
func (l *fingerList) load(path string, fps []fido.Fingerprint, err error) {
	if err != nil {
		l.k.showError("The fingerprints could not be read", err)
		return
	}
	if path != l.k.path {
		return
	}
	l.path, l.all = path, fps
	l.fill()
	l.root.Show()
	l.k.root.Refresh()
}

func (l *fingerList) fill() {
	l.rows.RemoveAll()
	for i, fp := range l.all {
		name := fp.Name
		if name == "" {
			name = fmt.Sprintf("Finger %d (no name)", i+1)
		}
		rename := widget.NewButtonWithIcon("", theme.DocumentCreateIcon(), func() { l.askRename(fp) })
		rename.Importance = widget.LowImportance
		del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { l.confirmDelete(fp, name) })
		del.Importance = widget.LowImportance
		l.rows.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.VisibilityIcon()),
			container.NewHBox(rename, del), &widget.Label{Text: name, Truncation: fyne.TextTruncateEllipsis}))
	}
	switch len(l.all) {
	case 0:
		l.count.SetText("No fingerprints on this key yet.")
	case 1:
		l.count.SetText("1 fingerprint")
	default:
		l.count.SetText(fmt.Sprintf("%d fingerprints", len(l.all)))
	}
	l.rows.Refresh()
}

// nameEntry is an entry for a finger's name, within CTAP's usual limit.
func nameEntry(m *Main, text string) *dialogEntry {
	e := m.newDialogEntry()
	e.SetText(text)
	e.SetPlaceHolder("Right index finger")
	e.Validator = func(s string) error {
		if len(s) > fido.MaxFingerprintName {
			return fmt.Errorf("a name is at most %d bytes long", fido.MaxFingerprintName)
		}
		return nil
	}
	return e
}

// askName asks what to call the new finger, then enrolls it.
func (l *fingerList) askName() {
	name := nameEntry(l.k.m, "")
	d := dialog.NewForm("Add a fingerprint", "Start", "Cancel",
		[]*widget.FormItem{{Text: "Name", Widget: name, HintText: "Optional: which finger this is"}},
		func(ok bool) {
			l.k.form = nil
			if ok {
				l.startEnroll(name.Text)
			}
		}, l.k.m.win)
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	l.k.form, l.k.dialog = &pinForm{current: name}, d
	l.k.m.showDialog(d)
	l.k.m.win.Canvas().Focus(name)
}

// startEnroll enrolls a finger, showing each touch's result and how many
// remain, with a Cancel that cancels the enrollment on the key.
func (l *fingerList) startEnroll(name string) {
	path, pin := l.path, l.k.heldFor(l.path)
	if pin == "" {
		// The PIN is asked again, checked by reading the fingers.
		l.k.withPIN("Add a fingerprint", "Continue", "The key's PIN protects its fingerprints",
			func(path, pin string) error { _, err := l.k.svc.Fingerprints(path, pin); return err },
			func(_ string, err error) {
				if err != nil {
					l.k.showError("The fingerprint was not added", err)
					return
				}
				l.startEnroll(name)
			})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &enrollFlow{cancel: cancel}
	f.prompt = &widget.Label{Text: "Touch the sensor of your security key with the finger to add.", Wrapping: fyne.TextWrapWord}
	f.progress = widget.NewProgressBar()
	f.progress.TextFormatter = func() string { return "" }
	f.dialog = dialog.NewCustom("Adding a fingerprint", "Cancel", container.NewVBox(f.prompt, f.progress), l.k.m.win)
	f.dialog.SetOnClosed(cancel)
	f.dialog.Resize(fyne.NewSize(420, f.dialog.MinSize().Height))
	l.enroll, l.k.dialog = f, f.dialog
	l.k.m.showDialogKeys(f.dialog, nil, f.dialog.Dismiss)

	taken := 0
	progress := func(p fido.EnrollProgress) {
		l.k.ui(func() {
			if p.Last == fido.SampleGood {
				taken++
			}
			if total := taken + p.Remaining; total > 0 {
				f.progress.SetValue(float64(taken) / float64(total))
			}
			text := fmt.Sprintf("Good. Lift your finger and touch the sensor again: %d more.", p.Remaining)
			if p.Last != fido.SampleGood {
				text = fmt.Sprintf("That touch did not count (%s). Touch the sensor again: %d more.", p.Last, p.Remaining)
			}
			f.prompt.SetText(text)
		})
	}
	l.k.run(func() error {
		_, err := l.k.svc.EnrollFingerprint(ctx, path, pin, name, progress)
		return err
	}, func(err error) {
		cancelled := ctx.Err() != nil
		cancel()
		l.enroll = nil
		f.dialog.Hide()
		switch {
		case cancelled && errors.Is(err, context.Canceled):
			l.k.m.toast.show("Fingerprint not added")
		case err != nil:
			l.k.showError("The fingerprint was not added", err)
		default:
			l.k.m.toast.show("Fingerprint added")
		}
		l.k.askFingerprints()
		l.k.refreshInfo() // bioEnroll says whether any finger is enrolled
	})
}

func (l *fingerList) askRename(fp fido.Fingerprint) {
	name := nameEntry(l.k.m, fp.Name)
	d := dialog.NewForm("Rename fingerprint", "Rename", "Cancel",
		[]*widget.FormItem{{Text: "Name", Widget: name}},
		func(ok bool) {
			l.k.form = nil
			if ok {
				l.rename(fp, name.Text)
			}
		}, l.k.m.win)
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	l.k.form, l.k.dialog = &pinForm{current: name}, d
	l.k.m.showDialog(d)
	l.k.m.win.Canvas().Focus(name)
}

func (l *fingerList) rename(fp fido.Fingerprint, name string) {
	l.k.withPIN("Rename fingerprint", "Rename", "The key's PIN protects its fingerprints",
		func(path, pin string) error { return l.k.svc.RenameFingerprint(path, pin, fp.ID, name) },
		func(_ string, err error) {
			if err != nil {
				l.k.showError("The fingerprint was not renamed", err)
				return
			}
			l.k.askFingerprints()
		})
}

func (l *fingerList) confirmDelete(fp fido.Fingerprint, name string) {
	msg := fmt.Sprintf("Delete the fingerprint %q from the key?\nThat finger will no longer unlock the key.", name)
	d := newDangerConfirm("Delete fingerprint", msg, "Delete", "Cancel", func(ok bool) {
		if ok {
			l.delete(fp)
		}
	}, l.k.m.win)
	l.k.dialog = d
	l.k.m.showDialog(d)
}

func (l *fingerList) delete(fp fido.Fingerprint) {
	l.k.withPIN("Delete fingerprint", "Delete", "The key's PIN protects its fingerprints",
		func(path, pin string) error { return l.k.svc.DeleteFingerprint(path, pin, fp.ID) },
		func(_ string, err error) {
			if err != nil {
				l.k.showError("The fingerprint was not deleted", err)
				return
			}
			l.k.m.toast.show("Fingerprint deleted")
			l.k.askFingerprints()
			l.k.refreshInfo()
		})
}
