package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/capture"
)

// maxDeviceName is the longest name the server takes for a desktop.
const maxDeviceName = 64

// pairForm is the pairing dialog: the server and pairing code, read from
// the QR code the account's Pair a desktop page shows (an image file, the
// screen or the clipboard) or typed, and the name this desktop goes by.
type pairForm struct {
	s      *approvals
	dialog *dialog.CustomDialog

	server, code, name *dialogEntry
	sources            []*widget.Button
	note               *widget.Label
	progress           *widget.ProgressBarInfinite
	pair, cancel       *widget.Button
	busy               bool
}

func (s *approvals) showPair() {
	if s.svc == nil {
		return
	}
	f := &pairForm{s: s, server: s.m.newDialogEntry(), code: s.m.newDialogEntry(), name: s.m.newDialogEntry()}
	f.server.SetPlaceHolder("https://accounts.example.com")
	f.server.OnChanged = f.onServerChanged
	f.code.SetPlaceHolder("K7Q9-M2XD")
	f.name.SetText(approver.DefaultDeviceName())

	a := s.m.add
	f.sources = []*widget.Button{
		widget.NewButtonWithIcon("Open image…", theme.FileImageIcon(), func() {
			a.chooseImageFor(f.onImageChosen)
		}),
		widget.NewButtonWithIcon("Scan screen", theme.ViewFullScreenIcon(), func() {
			a.scanScreenFor(func(err error) {
				f.problem("The screen could not be captured. " + sentence(err))
			}, f.fromQR)
		}),
		widget.NewButtonWithIcon("From clipboard", theme.ContentPasteIcon(), func() {
			a.readClipboard(isPairURI, f.fromClipboard)
		}),
	}
	f.note = &widget.Label{Wrapping: fyne.TextWrapWord}
	f.note.Hide()
	f.progress = widget.NewProgressBarInfinite()
	f.progress.Stop()
	f.progress.Hide()

	form := widget.NewForm(
		widget.NewFormItem("Server", f.server),
		widget.NewFormItem("Pairing code", f.code),
		&widget.FormItem{Text: "This desktop", Widget: f.name, HintText: "The name the account lists this desktop by"},
	)
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "On the account's Login & security page, choose " +
			"Pair a desktop. Read the QR code it shows, or type the server and the code."},
		container.NewGridWithColumns(3, f.sources[0], f.sources[1], f.sources[2]),
		form,
		f.note,
		f.progress,
	)
	f.cancel = widget.NewButton("Cancel", func() { f.dialog.Hide() })
	f.pair = widget.NewButtonWithIcon("Pair", theme.ConfirmIcon(), f.onPair)
	f.pair.Importance = widget.HighImportance
	f.dialog = dialog.NewCustomWithoutButtons("Pair with an account", content, s.m.win)
	f.dialog.SetButtons([]fyne.CanvasObject{f.cancel, f.pair})
	f.dialog.SetOnClosed(func() {
		if s.pair == f {
			s.pair = nil
		}
	})
	f.dialog.Resize(fyne.NewSize(520, f.dialog.MinSize().Height))
	s.pair, s.dialog = f, f.dialog
	s.m.showDialogKeys(f.dialog, pressButton(f.pair), pressButton(f.cancel))
	s.m.win.Canvas().Focus(f.server)
}

// isPairURI reports whether text is a countersign://pair link.
func isPairURI(text string) bool {
	_, _, err := api.ParsePairURI(text)
	return err == nil
}

// onServerChanged splits a pairing link typed or pasted as the server into
// the server and the code.
func (f *pairForm) onServerChanged(text string) {
	if server, code, err := api.ParsePairURI(text); err == nil {
		f.fill(server, code, "")
	}
}

// fill puts a server and code in the fields, saying where they came from.
func (f *pairForm) fill(server, code, from string) {
	f.server.SetText(server)
	f.code.SetText(api.GroupPairCode(code))
	if from != "" {
		f.say("Read the pairing code "+from+". Check this desktop's name, then press Pair.", widget.SuccessImportance)
	}
}

func (f *pairForm) onImageChosen(r fyne.URIReadCloser, err error) {
	switch {
	case err != nil:
		f.problem("The image could not be opened. " + sentence(err))
	case r != nil:
		f.s.m.add.readImages([]fyne.URIReadCloser{r}, f.fromQR)
	}
}

func (f *pairForm) fromClipboard(found []qrText, failed []decodeFailure, err error) {
	switch {
	case errors.Is(err, capture.ErrClipboardEmpty):
		f.problem("The clipboard is empty. Copy the pairing QR code's image, or its countersign://pair link.")
	case err != nil:
		f.problem("The clipboard could not be read. " + sentence(err))
	case len(found) == 0 && len(failed) == 0:
		f.problem("The clipboard holds no pairing link and no image. Copy the pairing QR code's image, " +
			"or its countersign://pair link.")
	default:
		f.fromQR(found, failed)
	}
}

// fromQR fills the fields from the first pairing QR code found, or says
// why there is none.
func (f *pairForm) fromQR(found []qrText, failed []decodeFailure) {
	if f.s.pair != f {
		return // the dialog was closed meanwhile
	}
	for _, q := range found {
		if server, code, err := api.ParsePairURI(q.text); err == nil {
			f.fill(server, code, where(q.source))
			return
		}
	}
	switch {
	case len(found) > 0:
		f.problem(fmt.Sprintf("The QR code %s is not a pairing code: %s. Use the QR code of the Pair a "+
			"desktop page.", where(found[0].source), quote(found[0].text)))
	case len(failed) > 0:
		f.problem(fmt.Sprintf("No pairing QR code was found %s. Make sure the whole code shows, or type "+
			"the server and the code.", where(failed[0].source)))
	default:
		f.problem("No pairing QR code was found. Type the server and the code instead.")
	}
}

func (f *pairForm) say(text string, imp widget.Importance) {
	f.note.Importance = imp
	f.note.SetText(text)
	f.note.Show()
	f.dialog.Resize(fyne.NewSize(520, f.dialog.MinSize().Height))
}

func (f *pairForm) problem(text string) { f.say(text, widget.DangerImportance) }

// check reads the server to pair with: a pairing link, or its address
// as a URL (https://accounts.example.com), a host and port
// (localhost:18084) or a host, made a URL by approver.ServerURL. It says
// what is missing or wrong, or "".
func (f *pairForm) check() (server, problem string) {
	server = strings.TrimSpace(f.server.Text)
	name := strings.TrimSpace(f.name.Text)
	if server == "" {
		return "", "Type the server's address, or read the pairing QR code."
	}
	if !isPairURI(server) {
		u, err := approver.ServerURL(server)
		if err != nil {
			return "", sentence(err)
		}
		server = u
	}
	switch {
	case !isPairURI(server) && strings.TrimSpace(f.code.Text) == "":
		return "", "Type the pairing code the page shows, like K7Q9-M2XD."
	case name == "":
		return "", "Give this desktop a name, so that you know it in the account's list."
	case utf8.RuneCountInString(name) > maxDeviceName:
		return "", fmt.Sprintf("The name is too long: at most %d characters.", maxDeviceName)
	}
	return server, ""
}

// onPair redeems the code off the UI goroutine; the dialog shows progress,
// and stays open with the reason when pairing fails.
func (f *pairForm) onPair() {
	if f.busy {
		return
	}
	server, msg := f.check()
	if msg != "" {
		f.problem(msg)
		return
	}
	// The field shows the URL the address was read as.
	f.server.SetText(server)
	code, name := strings.TrimSpace(f.code.Text), strings.TrimSpace(f.name.Text)
	f.setBusy(true)
	f.say("Pairing with "+server+"…", widget.MediumImportance)
	var acct approver.Account
	f.s.run(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		acct, err = f.s.svc.Pair(ctx, server, code, name)
		return err
	}, func(err error) {
		f.setBusy(false)
		f.s.reload()
		if err != nil {
			f.problem("This desktop was not paired. " + plainError(err.Error()))
			return
		}
		f.dialog.Hide()
		f.s.m.dashboard.accountsChanged()
		f.s.m.toast.show("Paired with " + accountLabel(acct))
	})
}

func (f *pairForm) setBusy(on bool) {
	f.busy = on
	for _, w := range []fyne.Disableable{f.server, f.code, f.name, f.pair, f.sources[0], f.sources[1], f.sources[2]} {
		enable(w, !on)
	}
	show(f.progress, on)
	if on {
		f.progress.Start()
	} else {
		f.progress.Stop()
	}
}
