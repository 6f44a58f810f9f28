package ui

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/transfer"
)

// exportForm is the Export dialog's fields while it is open.
type exportForm struct {
	format       *widget.RadioGroup
	formats      map[string]transfer.Format // by the radio's labels
	pass, repeat *widget.Entry
	passBox      *fyne.Container
	warning      *widget.Label
	save         *widget.Button
	dialog       *dialog.CustomDialog
}

// exportLabel names a format in the Export dialog.
func exportLabel(f transfer.Format) string {
	if f.Plaintext() {
		return f.Title() + " (plaintext)"
	}
	return f.Title() + " (encrypted with a passphrase)"
}

// showExport asks which format to export every account in, with a
// passphrase for the encrypted backup and the warning for the others,
// then where to save it.
func (s *settings) showExport() {
	accounts := s.m.deps.Vault.Accounts()
	if len(accounts) == 0 {
		d := dialog.NewInformation("Nothing to export", "There are no accounts to export yet.", s.m.win)
		s.dialog = d
		s.m.showDialog(d)
		return
	}
	f := &exportForm{formats: map[string]transfer.Format{}}
	var labels []string
	for _, ef := range transfer.ExportFormats() {
		l := exportLabel(ef)
		labels = append(labels, l)
		f.formats[l] = ef
	}
	f.pass, f.repeat = widget.NewPasswordEntry(), widget.NewPasswordEntry()
	f.pass.SetPlaceHolder("Passphrase")
	f.repeat.SetPlaceHolder("The passphrase again")
	f.warning = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance,
		Text: sentence(errors.New(transfer.PlaintextWarning))}
	f.passBox = container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "The backup is encrypted with this passphrase. " +
			"Countersign, or any program that reads its format, needs it to open the backup: keep it apart from the file."},
		f.pass, f.repeat)
	f.save = widget.NewButtonWithIcon("Save as…", theme.DocumentSaveIcon(), func() { s.saveExport(f) })
	f.save.Importance = widget.HighImportance
	check := func() {
		format := f.formats[f.format.Selected]
		enable(f.save, format.Plaintext() || f.pass.Text != "" && f.pass.Text == f.repeat.Text)
	}
	f.format = widget.NewRadioGroup(labels, func(string) {
		plain := f.formats[f.format.Selected].Plaintext()
		show(f.warning, plain)
		show(f.passBox, !plain)
		check()
		if f.dialog != nil {
			f.dialog.Resize(fyne.NewSize(520, f.dialog.MinSize().Height))
		}
	})
	f.format.Required = true
	f.pass.OnChanged = func(string) { check() }
	f.repeat.OnChanged = func(string) { check() }
	f.repeat.OnSubmitted = func(string) {
		if !f.save.Disabled() {
			f.save.OnTapped()
		}
	}
	what := fmt.Sprintf("all %d accounts, with their secrets,", len(accounts))
	if len(accounts) == 1 {
		what = "your account, with its secret,"
	}
	intro := &widget.Label{Wrapping: fyne.TextWrapWord,
		Text: "Export writes " + what + " to one file: a backup, or a way to move to another app."}
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { f.dialog.Hide() })
	f.dialog = dialog.NewCustomWithoutButtons("Export accounts", container.NewVBox(intro, f.format, f.passBox, f.warning), s.m.win)
	f.dialog.SetButtons([]fyne.CanvasObject{cancel, f.save})
	f.format.SetSelected(labels[0])
	s.export, s.dialog = f, f.dialog
	f.dialog.Resize(fyne.NewSize(520, f.dialog.MinSize().Height))
	s.m.showDialogKeys(f.dialog, pressButton(f.save), f.dialog.Hide)
	f.dialog.Resize(fyne.NewSize(520, f.dialog.MinSize().Height))
}

// exportFiles is the file dialog for an export in format.
func exportFiles(format transfer.Format) fileKind {
	ext := filepath.Ext(format.ExportName())
	kind := fileKind{title: "Export accounts", about: exportLabel(format)}
	if ext != "" {
		kind.filters = []portal.Filter{{Name: format.Title() + " (" + ext + ")", Patterns: []string{"*" + ext}}}
	}
	return kind
}

// saveExport asks where to save, then writes the export there off the UI
// goroutine: whole, readable by the owner only, or not at all.
func (s *settings) saveExport(f *exportForm) {
	format := f.formats[f.format.Selected]
	var pass []byte
	if !format.Plaintext() {
		pass = []byte(f.pass.Text)
	}
	f.dialog.Hide()
	s.export = nil
	vaultPath := ""
	if v, ok := s.m.deps.Vault.(interface{ Path() string }); ok {
		vaultPath = v.Path()
	}
	failed := func(err error) {
		d := dialog.NewError(errors.New("The accounts were not exported. "+sentence(err)+
			" Choose another place to save them, or try again."), s.m.win)
		s.dialog = d
		s.m.showDialog(d)
	}
	s.m.saveFile(exportFiles(format), format.ExportName(), func(path string) {
		accounts := s.m.deps.Vault.Accounts()
		s.m.pending.Add(1)
		go func() {
			defer s.m.pending.Done()
			err := transfer.ExportFile(path, vaultPath, format, accounts, pass, rand.Reader)
			clear(pass)
			fyne.Do(func() {
				if err != nil {
					failed(err)
					return
				}
				what := fmt.Sprintf("Exported %d accounts to %s", len(accounts), filepath.Base(path))
				if len(accounts) == 1 {
					what = "Exported 1 account to " + filepath.Base(path)
				}
				s.m.toast.show(what)
			})
		}()
	}, failed, func(d dialog.Dialog) { s.dialog = d })
}
