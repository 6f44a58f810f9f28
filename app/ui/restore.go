package ui

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/backup"
	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/vault"
)

// restore is "Restore from backup…": a backup file, the recovery key that
// opens it, a preview of what it adds, then the accounts added. It adds
// only: an account the vault has already (same issuer, name and secret)
// is left as it is, and nothing is removed.
type restore struct {
	m     *Main
	name  string // the backup file's name
	data  []byte
	input *keyInput
	busy  sync.WaitGroup

	accounts  []vault.Account // what the backup holds, once opened
	add, dups []vault.Account // what the restore adds, what is there already
	dialog    dialog.Dialog   // the last dialog shown
}

// showRestore asks for the backup file.
func (m *Main) showRestore() {
	m.lock.activity()
	kind := fileKind{title: "Restore from backup", about: "a Countersign backup (countersign-….age)",
		filters: []portal.Filter{{Name: "Countersign backups", Patterns: []string{"*.age"}}}}
	m.openFile(kind, func(r fyne.URIReadCloser, err error) {
		if err == nil && r != nil {
			var data []byte
			data, err = readBackupFile(r)
			r.Close()
			if err == nil {
				m.restore = &restore{m: m, name: r.URI().Name(), data: data}
				m.restore.askKey()
				return
			}
		}
		if err != nil {
			d := dialog.NewError(errors.New(failureText("The backup could not be read", err, "Nothing was restored")), m.win)
			m.showDialog(d)
		}
	}, func(dialog.Dialog) {})
}

// askKey asks for the recovery key the backup is encrypted to.
func (r *restore) askKey() {
	r.input = newKeyInput(r.m, &r.busy)
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "The backup " + r.name + " opens with your recovery key: " +
			"type it from your emergency kit, paste it, or scan the kit's QR code."},
		r.input.root,
	)
	d := dialog.NewCustomWithoutButtons("Restore from backup", content, r.m.win)
	next := &widget.Button{Text: "Next", Icon: theme.NavigateNextIcon(), Importance: widget.HighImportance,
		IconPlacement: widget.ButtonIconTrailingText, OnTapped: func() { r.openBackup(d) }}
	d.SetButtons([]fyne.CanvasObject{widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.Hide), next})
	d.Resize(fyne.NewSize(dialogWidth(r.m.win, 520), d.MinSize().Height))
	r.dialog = d
	r.m.showDialogKeys(d, func() { r.openBackup(d) }, d.Hide)
	r.m.win.Canvas().Focus(r.input.entry)
}

// openBackup decrypts the backup with the key given and previews it.
func (r *restore) openBackup(d dialog.Dialog) {
	id, ok := r.input.key()
	if !ok {
		return
	}
	accounts, err := backup.Read(bytes.NewReader(r.data), id)
	if err != nil {
		r.input.say(err)
		return
	}
	d.Hide()
	r.accounts = accounts
	r.add, r.dups = vault.PlanAdd(r.m.deps.Vault.Accounts(), accounts)
	r.preview()
}

// counted is "1 account", "3 accounts".
func counted(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// preview says what the restore adds, and asks.
func (r *restore) preview() {
	msg := fmt.Sprintf("The backup holds %s: %s to add, %s already here.",
		counted(len(r.accounts), "account"), counted(len(r.add), "account"), counted(len(r.dups), "account"))
	msg += " Accounts already here are left as they are, and nothing is removed."
	if len(r.add) == 0 {
		d := dialog.NewInformation("Nothing to restore", msg, r.m.win)
		r.dialog = d
		r.m.showDialog(d)
		return
	}
	d := dialog.NewConfirm("Restore "+counted(len(r.add), "account")+"?", msg, func(ok bool) {
		if ok {
			r.restore()
		}
	}, r.m.win)
	d.SetConfirmText("Restore")
	d.SetDismissText("Cancel")
	r.dialog = d
	r.m.showDialog(d)
}

// restore adds the backup's accounts and says what came of it.
func (r *restore) restore() {
	added, dups, err := r.m.deps.Vault.Add(r.accounts...)
	if err != nil {
		d := dialog.NewError(errors.New(failureText("Nothing was restored", err, storeAdvice(err))), r.m.win)
		r.dialog = d
		r.m.showDialog(d)
		return
	}
	r.m.auth.load()
	var b strings.Builder
	fmt.Fprintf(&b, "Restored %s.", counted(len(added), "account"))
	for _, a := range added {
		b.WriteString("\n  " + a.Label())
	}
	if len(dups) > 0 {
		fmt.Fprintf(&b, "\n\nAlready here, left as they were: %s.", counted(len(dups), "account"))
		for _, a := range dups {
			b.WriteString("\n  " + a.Label())
		}
	}
	d := dialog.NewInformation("Backup restored", b.String(), r.m.win)
	r.dialog = d
	r.m.showDialog(d)
}
