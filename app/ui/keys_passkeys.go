package ui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
)

// passkeyList is the Keys screen's list of the passkeys on the key on
// display, read with its PIN.
type passkeyList struct {
	k *keys

	path   string
	all    []passkey
	search *widget.Entry
	count  *widget.Label
	rows   *fyne.Container
	root   *fyne.Container
}

// passkey is one credential with its relying party.
type passkey struct {
	rp   fido.RelyingParty
	cred fido.Credential
}

func (p passkey) user() string {
	switch {
	case p.cred.UserName != "" && p.cred.DisplayName != "" && p.cred.DisplayName != p.cred.UserName:
		return p.cred.UserName + " (" + p.cred.DisplayName + ")"
	case p.cred.UserName != "":
		return p.cred.UserName
	case p.cred.DisplayName != "":
		return p.cred.DisplayName
	}
	return "unnamed user"
}

func (p passkey) site() string {
	if p.rp.Name != "" && p.rp.Name != p.rp.ID {
		return p.rp.Name + " (" + p.rp.ID + ")"
	}
	return p.rp.ID
}

func newPasskeyList(k *keys) *passkeyList {
	l := &passkeyList{k: k}
	l.search = widget.NewEntry()
	l.search.SetPlaceHolder("Search passkeys")
	l.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	l.search.OnChanged = func(string) { l.fill() }
	l.count = &widget.Label{SizeName: theme.SizeNameCaptionText}
	l.rows = container.NewVBox()
	l.root = container.NewVBox(widget.NewSeparator(), heading("Passkeys"), l.search, l.count, l.rows)
	l.root.Hide()
	return l
}

// clear forgets the list.
func (l *passkeyList) clear() {
	l.path, l.all = "", nil
	l.search.SetText("")
	l.rows.RemoveAll()
	l.root.Hide()
}

// askPasskeys lists the passkeys, with the key's PIN.
func (k *keys) askPasskeys() {
	var rps []fido.RelyingParty
	k.withPIN("Passkeys on the key", "Show", "The key shows its passkeys only to someone who knows its PIN",
		func(path, pin string) (err error) {
			rps, err = k.svc.Passkeys(path, pin)
			return err
		}, func(path string, err error) { k.pk.load(path, rps, err) })
}

// load shows the passkeys read off the key at path.
func (l *passkeyList) load(path string, rps []fido.RelyingParty, err error) {
	if err != nil {
		l.k.showError("The passkeys could not be read", err)
		return
	}
	if path != l.k.path {
		return
	}
	l.path, l.all = path, nil
	for _, rp := range rps {
		for _, c := range rp.Credentials {
			l.all = append(l.all, passkey{rp: rp, cred: c})
		}
	}
	slices.SortStableFunc(l.all, func(a, b passkey) int {
		if c := strings.Compare(a.rp.ID, b.rp.ID); c != 0 {
			return c
		}
		return strings.Compare(a.user(), b.user())
	})
	l.fill()
	l.root.Show()
	l.k.root.Refresh()
}

// fill shows the passkeys that match the search.
func (l *passkeyList) fill() {
	q := strings.ToLower(strings.TrimSpace(l.search.Text))
	l.rows.RemoveAll()
	n := 0
	for _, p := range l.all {
		if q != "" && !strings.Contains(strings.ToLower(p.site()+" "+p.user()), q) {
			continue
		}
		n++
		del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { l.confirmDelete(p) })
		del.Importance = widget.LowImportance
		text := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()),
			&widget.Label{Text: p.site(), TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
			&widget.Label{Text: p.user(), SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis})
		l.rows.Add(container.NewBorder(nil, nil, widget.NewIcon(keyIcon), del, text))
	}
	show(l.search, len(l.all) > 0)
	switch {
	case len(l.all) == 0:
		l.count.SetText("No passkeys on this key.")
	case q != "":
		l.count.SetText(fmt.Sprintf("%d of %d passkeys", n, len(l.all)))
	case len(l.all) == 1:
		l.count.SetText("1 passkey")
	default:
		l.count.SetText(fmt.Sprintf("%d passkeys", len(l.all)))
	}
	l.rows.Refresh()
}

func (l *passkeyList) confirmDelete(p passkey) {
	msg := fmt.Sprintf("Delete the passkey of %s on %s from the key?\n\n"+
		"You will no longer be able to sign in to %s with this key.\n"+
		"This cannot be undone: remove the key from your account there too.",
		p.user(), p.rp.ID, p.rp.ID)
	d := newDangerConfirm("Delete passkey", msg, "Delete", "Cancel", func(ok bool) {
		if ok {
			l.delete(p)
		}
	}, l.k.m.win)
	l.k.dialog = d
	l.k.m.showDialog(d)
}

func (l *passkeyList) delete(p passkey) {
	l.k.withPIN("Delete passkey", "Delete", "The key's PIN protects its passkeys",
		func(path, pin string) error { return l.k.svc.DeleteCredential(path, pin, p.cred.ID) },
		func(_ string, err error) {
			if err != nil {
				l.k.showError("The passkey was not deleted", err)
				return
			}
			l.k.m.toast.show("Passkey deleted")
			l.k.askPasskeys() // with the PIN just used: one more free slot, one fewer row
		})
}
