package ui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/vault"
)

// editForm holds the fields of the Edit dialog.
type editForm struct {
	issuer, name, tags, notes *dialogEntry
	pinned                    *widget.Check
}

func (s *authenticator) showEdit(id string) {
	a, ok := s.account(id)
	if !ok {
		return
	}
	f := &editForm{
		issuer: s.m.newDialogEntry(),
		name:   s.m.newDialogEntry(),
		tags:   s.m.newDialogEntry(),
		notes:  s.m.newDialogMultiLineEntry(),
		pinned: widget.NewCheck("Show at the top of the list", nil),
	}
	f.issuer.SetText(a.Issuer)
	f.name.SetText(a.Name)
	f.name.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("an account needs a name")
		}
		return nil
	}
	f.tags.SetText(strings.Join(a.Tags, ", "))
	f.tags.SetPlaceHolder("work, personal")
	f.notes.SetText(a.Notes)
	f.notes.SetMinRowsVisible(3)
	f.notes.Wrapping = fyne.TextWrapWord
	f.pinned.SetChecked(a.Pinned)

	items := []*widget.FormItem{
		widget.NewFormItem("Issuer", f.issuer),
		widget.NewFormItem("Account", f.name),
		{Text: "Tags", Widget: f.tags, HintText: "Separated by commas"},
		widget.NewFormItem("Pinned", f.pinned),
		widget.NewFormItem("Notes", f.notes),
	}
	d := dialog.NewForm("Edit "+a.Label(), "Save", "Cancel", items, func(save bool) {
		s.form = nil
		if save {
			s.saveEdit(id, f)
		}
	}, s.m.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	s.form, s.dialog = f, d
	s.m.showDialog(d)
}

func (s *authenticator) saveEdit(id string, f *editForm) {
	_, err := s.store.Edit(id, func(a *vault.Account) error {
		a.Issuer = strings.TrimSpace(f.issuer.Text)
		a.Name = strings.TrimSpace(f.name.Text)
		a.Tags = splitTags(f.tags.Text)
		a.Pinned = f.pinned.Checked
		a.Notes = strings.TrimSpace(f.notes.Text)
		return nil
	})
	if err != nil {
		s.showError("The account could not be saved", err)
		return
	}
	s.load()
}

// splitTags reads a comma-separated list of tags.
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func (s *authenticator) confirmDelete(id string) {
	a, ok := s.account(id)
	if !ok {
		return
	}
	msg := fmt.Sprintf("Delete %s from this computer?\n\n"+
		"You will no longer get its codes here. Make sure you can still sign in "+
		"another way (another authenticator, a security key or backup codes).", a.Label())
	d := newDangerConfirm("Delete account", msg, "Delete", "Keep", func(ok bool) {
		if ok {
			s.delete(id)
		}
	}, s.m.win)
	s.dialog = d
	s.m.showDialog(d)
}

func (s *authenticator) delete(id string) {
	gone, err := s.store.Remove(id)
	if err != nil {
		s.showError("The account could not be deleted", err)
		return
	}
	delete(s.hotpCodes, id)
	s.load()
	s.m.toast.show("Deleted " + gone.Label())
}

// qrSize is the side, in pixels, of the QR image rendered for an account.
const qrSize = 320

func (s *authenticator) showQR(id string) {
	a, ok := s.account(id)
	if !ok {
		return
	}
	png, err := qr.Encode(a.Key.URI(), qrSize)
	if err != nil {
		s.showError("The QR code could not be made", err)
		return
	}
	img := canvas.NewImageFromResource(fyne.NewStaticResource("account-qr.png", png))
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSquareSize(260))

	warning := container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil,
		&widget.Label{Text: "This QR code contains the account's secret. Anyone who sees or photographs it " +
			"can make its codes. Scan it only with your own phone, and close it when you are done.",
			Wrapping: fyne.TextWrapWord})
	content := container.NewBorder(warning, nil, nil, nil, img)
	d := dialog.NewCustom("QR code of "+a.Label(), "Close", content, s.m.win)
	d.Resize(fyne.NewSize(420, 480))
	s.dialog = d
	s.m.showDialog(d)
}

func (s *authenticator) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, storeAdvice(err))), s.m.win)
	s.dialog = d
	s.m.showDialog(d)
}
