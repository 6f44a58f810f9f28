package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/transfer"
)

// maxImportSize is the largest export file read: far above any real one.
const maxImportSize = 32 << 20

// chooseImport asks for another authenticator's export to import.
func (a *adder) chooseImport() {
	a.m.openFile(importFiles(), a.onImportChosen, func(d dialog.Dialog) { a.dialog = d })
}

// importFiles is the file dialog for another authenticator's export. Apps
// name their exports as they like, so every file can be chosen; the
// usual endings come first.
func importFiles() fileKind {
	return fileKind{title: "Import accounts from another app", about: formatTitles(),
		filters: []portal.Filter{
			{Name: "Authenticator exports and backups", Patterns: []string{"*.json", "*.2fas", "*.txt",
				"*.aes", "*.stratum", "*.authpro", "*.xml", "databases", "PhoneFactor"}},
			{Name: "All files", Patterns: []string{"*"}},
		}}
}

// onImportChosen reads the export the file dialog chose; r is nil when the
// person cancelled.
func (a *adder) onImportChosen(r fyne.URIReadCloser, err error) {
	if err != nil {
		a.showProblem("The file could not be opened", err.Error(), "Choose the file again, or another one.")
		return
	}
	if r == nil {
		return
	}
	name := r.URI().Name()
	data, err := readAll(r, maxImportSize)
	r.Close()
	if err != nil {
		a.showProblem("The file could not be read", fmt.Sprintf("%s: %v", name, err),
			"Check that it is the file the other app exported.")
		return
	}
	a.importData(name, data, transfer.Options{})
}

// importData imports the export name holds, asking for its passphrase when
// it is encrypted, and reviews the accounts in it. data is kept until the
// person gives up, so that a wrong passphrase only means asking again.
func (a *adder) importData(name string, data []byte, opts transfer.Options) {
	var res transfer.Result
	var err error
	a.work("Reading "+name+"…", func() {
		res, err = transfer.Import(data, opts)
	}, func() {
		var ee *transfer.EntryError
		switch {
		case err == nil:
			var notes []string
			for _, s := range res.Skipped {
				notes = append(notes, fmt.Sprintf("Skipped %s: %v", s.Entry, s.Err))
			}
			a.showReview(res.Accounts, notes)
		case errors.Is(err, transfer.ErrPasswordRequired):
			a.askPassphrase(name, data, opts, "")
		case errors.Is(err, transfer.ErrWrongPassword):
			a.askPassphrase(name, data, opts, "That passphrase does not open "+name+". Check it and try again.")
		case errors.As(err, &ee) && !opts.SkipInvalid:
			a.offerSkip(name, data, opts, ee)
		case errors.Is(err, transfer.ErrUnknownFormat):
			a.showProblem("This file cannot be imported", fmt.Sprintf("%s: %v", name, err),
				"Countersign reads the exports of "+formatTitles()+". Export again from the other app "+
					"in one of them, or add the accounts one at a time.")
		default:
			a.showProblem("This file cannot be imported", fmt.Sprintf("%s: %v", name, err),
				"Nothing was added. Check that it is the file the other app exported.")
		}
	})
}

// formatTitles names the formats transfer reads.
func formatTitles() string {
	var names []string
	for _, f := range transfer.Formats() {
		names = append(names, f.Title())
	}
	return strings.Join(names, ", ")
}

// askPassphrase asks for the passphrase of an encrypted export; problem,
// when not empty, says what was wrong with the last one.
func (a *adder) askPassphrase(name string, data []byte, opts transfer.Options, problem string) {
	pass := a.m.newDialogPasswordEntry()
	box := container.NewVBox(&widget.Label{Text: name + " is encrypted. Type the passphrase it was exported with.",
		Wrapping: fyne.TextWrapWord})
	if problem != "" {
		box.Add(&widget.Label{Text: problem, Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance})
	}
	box.Add(pass)
	d := dialog.NewCustomConfirm("Passphrase for "+name, "Open", "Cancel", box, func(ok bool) {
		if ok {
			opts.Password = []byte(pass.Text)
			a.importData(name, data, opts)
		}
	}, a.m.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	a.dialog = d
	a.m.showDialog(d)
	a.m.win.Canvas().Focus(pass)
}

// offerSkip says which entry of the export is wrong, and offers to import
// the others.
func (a *adder) offerSkip(name string, data []byte, opts transfer.Options, ee *transfer.EntryError) {
	box := container.NewVBox(
		&widget.Label{Text: stop(fmt.Sprintf("%s: %v", name, ee)), Wrapping: fyne.TextWrapWord},
		&widget.Label{Text: "Nothing was added. You can import the other entries and leave this one out.",
			Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}},
	)
	d := dialog.NewCustomConfirm("An entry cannot be imported", "Import the others", "Cancel", box, func(ok bool) {
		if ok {
			opts.SkipInvalid = true
			a.importData(name, data, opts)
		}
	}, a.m.win)
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
	a.dialog = d
	a.m.showDialog(d)
}
