package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/vault"
)

// keySlotStore is the vault's security key slots, as *vault.Vault keeps
// them.
type keySlotStore interface {
	Slots() ([]vault.Slot, error)
	SecurityKeySalt() ([]byte, error)
	AddSecurityKeySlot(k vault.SecurityKey, secret []byte) (vault.Slot, error)
	RemoveSlot(ref string) (vault.Slot, error)
}

// keySlots is Settings → Security keys that open your accounts: the
// security keys with a slot in the vault, adding one (two touches) and
// removing one.
type keySlots struct {
	m     *Main
	store keySlotStore    // nil when the store keeps no key slots
	svc   vaultKeyService // nil when no security key can be used
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui   func(f func())
	busy sync.WaitGroup

	status *widget.Label
	list   *fyne.Container
	add    *widget.Button
	root   fyne.CanvasObject

	adding *keyAdd       // the Add dialog while it is open
	dialog dialog.Dialog // the last dialog shown
}

func newKeySlots(m *Main, store any) *keySlots {
	k := &keySlots{m: m, ui: fyne.Do}
	k.store, _ = store.(keySlotStore)
	k.svc, _ = m.deps.Keys.(vaultKeyService)
	k.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	k.list = container.NewVBox()
	k.add = widget.NewButtonWithIcon("Add a security key…", theme.ContentAddIcon(), k.showAdd)
	k.root = container.NewVBox(
		heading("Security keys that open your accounts"),
		k.status,
		k.list,
		container.NewHBox(k.add),
		&widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
			Text: "A security key you add here opens your accounts with a touch when this computer's keyring cannot. " +
				"Keep a second key or the recovery key too: a lost or reset key opens nothing."},
		widget.NewSeparator(),
	)
	if k.store == nil || k.svc == nil || m.deps.DataDir == "" {
		k.root.Hide()
	}
	return k
}

// keys are the vault's security key slots.
func (k *keySlots) keys() ([]vault.Slot, error) {
	all, err := k.store.Slots()
	return slices.DeleteFunc(all, func(s vault.Slot) bool { return s.Kind != vault.SlotSecurityKey }), err
}

// update lists the slots again.
func (k *keySlots) update() {
	if k.store == nil || k.svc == nil {
		return
	}
	slots, err := k.keys()
	k.list.RemoveAll()
	switch {
	case err != nil:
		k.status.SetText(sentence(err))
	case len(slots) == 0:
		k.status.SetText("No security key opens your accounts.")
	case len(slots) == 1:
		k.status.SetText("This security key opens your accounts:")
	default:
		k.status.SetText(fmt.Sprintf("These %d security keys open your accounts:", len(slots)))
	}
	for _, s := range slots {
		k.list.Add(k.row(s))
	}
	k.list.Refresh()
}

// row is one slot: its name, model, date and what it takes, a warning
// when that is a touch only, and Remove….
func (k *keySlots) row(s vault.Slot) fyne.CanvasObject {
	model := fido.ModelName(s.AAGUID)
	if model == "" {
		model = "a security key"
	}
	how := "its PIN and a touch"
	if !s.UV {
		how = "a touch, no PIN"
	}
	about := fmt.Sprintf("%s · added %s · opens with %s", model, s.Created.Local().Format("2 January 2006"), how)
	remove := widget.NewButtonWithIcon("Remove…", theme.DeleteIcon(), func() { k.confirmRemove(s) })
	// The name and what it is, close together as one item.
	text := container.New(layout.NewCustomPaddedVBoxLayout(0),
		&widget.Label{Text: s.Name, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		&widget.Label{Text: about, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText},
	)
	if !s.UV {
		text.Add(&widget.Label{Text: noPINWarning, Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance})
	}
	return container.NewBorder(nil, nil, widget.NewIcon(keyIcon), container.NewVBox(remove), text)
}

// noPINWarning is what a key without a PIN risks.
const noPINWarning = "This key has no PIN: anyone holding it and this computer's files opens your accounts. " +
	"Set a PIN on it (Security keys → Set PIN…), then remove it here and add it again."

func (k *keySlots) confirmRemove(s vault.Slot) {
	k.m.lock.activity()
	msg := fmt.Sprintf("The key “%s” will no longer open your accounts. The key itself is not changed.", s.Name)
	if k.lastOpener() {
		msg += " No other security key or recovery key opens them then: if this computer's keyring loses the key to your accounts, your codes are gone."
	}
	d := newDangerConfirm(fmt.Sprintf("Remove “%s”?", s.Name), msg, "Remove", "Keep it", func(ok bool) {
		if !ok {
			return
		}
		if _, err := k.store.RemoveSlot(s.ID()); err != nil {
			k.showError("The security key was not removed", err)
			return
		}
		k.update()
		k.m.toast.show(fmt.Sprintf("“%s” no longer opens your accounts", s.Name))
	}, k.m.win)
	k.dialog = d
	k.m.showDialog(d)
}

// lastOpener reports whether the vault has one slot only (a key's).
func (k *keySlots) lastOpener() bool {
	all, err := k.store.Slots()
	return err == nil && len(all) == 1
}

func (k *keySlots) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, "")), k.m.win)
	k.dialog = d
	k.m.showDialog(d)
}

// keyAdd is the Add a security key dialog: it waits for one key, asks for
// a name and, when the key has one, its PIN, then asks for two touches.
type keyAdd struct {
	k       *keySlots
	dialog  *dialog.CustomDialog
	status  *widget.Label
	name    *dialogEntry
	pin     *dialogEntry
	pinItem *fyne.Container
	warn    *widget.Label
	problem *widget.Label
	bar     *widget.ProgressBarInfinite
	ok      *widget.Button

	stop    context.CancelFunc // ends the watch, or the touches under way
	path    string             // the key to add, "" while there is none
	info    *fido.Info
	working bool // the touches are under way
}

// showAdd opens the Add dialog and looks for the key.
func (k *keySlots) showAdd() {
	k.m.lock.activity()
	a := &keyAdd{k: k}
	a.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	a.name = k.m.newDialogEntry()
	a.pin = k.m.newDialogPasswordEntry()
	a.pinItem = container.New(layout.NewFormLayout(), widget.NewLabel("PIN"), a.pin)
	a.pinItem.Hide()
	a.warn = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance,
		Text: "This key has no PIN: anyone holding it and this computer's files will open your accounts. " +
			"To need a PIN too, cancel, set one (Security keys → Set PIN…) and add the key then."}
	a.warn.Hide()
	a.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	a.problem.Hide()
	a.bar = widget.NewProgressBarInfinite()
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "The key makes a credential for your accounts and gives a secret " +
			"that opens them, which only this key can give again. It asks for two touches."},
		a.status,
		container.New(layout.NewFormLayout(), widget.NewLabel("Name"), a.name),
		a.pinItem, a.warn, a.problem, a.bar,
	)
	d := dialog.NewCustomWithoutButtons("Add a security key", content, k.m.win)
	a.ok = &widget.Button{Text: "Add", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: a.onAdd}
	a.ok.Disable()
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { d.Hide() })
	d.SetButtons([]fyne.CanvasObject{cancel, a.ok})
	d.SetOnClosed(a.closed)
	a.dialog = d
	k.adding, k.dialog = a, d
	a.resize()
	k.m.showDialogKeys(d, a.onAdd, func() { d.Hide() })
	a.look()
}

func (a *keyAdd) resize() {
	a.dialog.Resize(fyne.NewSize(dialogWidth(a.k.m.win, 500), a.dialog.MinSize().Height))
}

// closed ends the watch or the touches (a key waiting for its touch stops).
func (a *keyAdd) closed() {
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
	if a.k.adding == a {
		a.k.adding = nil
	}
	if a.working {
		a.k.m.toast.show("Cancelled: no security key was added")
	}
}

// look watches the keys plugged in until there is one to add.
func (a *keyAdd) look() {
	a.bar.Show()
	a.bar.Start()
	a.say("Insert the security key to add…")
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	ch, err := a.k.svc.Watch(ctx)
	if err != nil {
		a.bar.Stop()
		a.bar.Hide()
		a.say(sentence(err))
		return
	}
	k := a.k
	k.busy.Add(1)
	go func() {
		defer k.busy.Done()
		for locs := range ch {
			var info *fido.Info
			var err error
			if len(locs) == 1 {
				info, err = k.svc.Info(locs[0].Path)
			}
			k.ui(func() {
				if ctx.Err() == nil {
					a.present(locs, info, err)
				}
			})
		}
	}()
}

// present shows the keys plugged in: one can be added.
func (a *keyAdd) present(locs []fido.Location, info *fido.Info, err error) {
	a.path, a.info = "", nil
	a.ok.Disable()
	a.pinItem.Hide()
	a.warn.Hide()
	switch {
	case len(locs) == 0:
		a.say("Insert the security key to add…")
	case len(locs) > 1:
		a.say(fmt.Sprintf("%d security keys are plugged in: leave only the one to add.", len(locs)))
	case err != nil:
		a.say("The key could not be read: " + sentence(err))
	case !slices.Contains(info.Extensions, fido.ExtHMACSecret):
		a.say("This key cannot open your accounts: " + sentence(fido.ErrNoHMACSecret))
	default:
		a.path, a.info = locs[0].Path, info
		model := info.Model
		if model == "" {
			model = "A security key"
		}
		a.say(model + " is ready. Name it, then choose Add.")
		if a.name.Text == "" {
			slots, _ := a.k.store.Slots()
			a.name.SetText(vault.DefaultSecurityKeyName(info.Model, slots))
		}
		show(a.pinItem, info.PINSet())
		show(a.warn, !info.PINSet())
		a.ok.Enable()
	}
	a.bar.Stop()
	a.bar.Hide()
	a.resize()
}

func (a *keyAdd) say(text string) { a.status.SetText(text); a.resize() }

func (a *keyAdd) fail(text string) {
	a.problem.SetText(text)
	a.problem.Show()
	a.resize()
}

// onAdd checks the name and PIN, then asks the key for its two touches.
func (a *keyAdd) onAdd() {
	if a.path == "" || a.working {
		return
	}
	name := strings.TrimSpace(a.name.Text)
	slots, err := a.k.keys()
	if err != nil {
		a.fail(sentence(err))
		return
	}
	switch {
	case name == "":
		a.fail("Give the key a name, to tell it from your other keys.")
		return
	case slices.ContainsFunc(slots, func(s vault.Slot) bool { return strings.EqualFold(s.Name, name) }):
		a.fail(fmt.Sprintf("A security key named “%s” opens your accounts already: choose another name.", name))
		return
	case a.info.PINSet() && a.pin.Text == "":
		a.fail("Type the key's PIN.")
		return
	}
	salt, err := a.k.store.SecurityKeySalt()
	if err != nil {
		a.fail(sentence(err))
		return
	}
	if a.stop != nil {
		a.stop() // no more watching while the key works
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.working = true
	a.problem.Hide()
	a.ok.Disable()
	a.bar.Show()
	a.bar.Start()
	pin := ""
	if a.info.PINSet() {
		pin = a.pin.Text
	}
	path, aaguid, k := a.path, a.info.AAGUID, a.k
	touches := 0
	onTouch := func() {
		k.ui(func() {
			if ctx.Err() != nil {
				return
			}
			touches++
			if touches == 1 {
				a.say("Touch the key now (1 of 2): it makes a credential for your accounts.")
			} else {
				a.say("Touch the key again (2 of 2): it gives the secret that opens your accounts.")
			}
		})
	}
	k.busy.Add(1)
	go func() {
		defer k.busy.Done()
		cred, secret, err := k.svc.EnrollVault(ctx, path, salt, pin, onTouch)
		var slot vault.Slot
		if err == nil {
			if cred.AAGUID == "" {
				cred.AAGUID = aaguid
			}
			slot, err = k.store.AddSecurityKeySlot(vault.SecurityKey{Name: name, AAGUID: cred.AAGUID,
				CredentialID: cred.ID, Salt: salt, UV: cred.UV}, secret)
			clear(secret)
		}
		k.ui(func() {
			if ctx.Err() != nil {
				return // cancelled: closed said so
			}
			a.working = false
			a.added(slot, err)
		})
	}()
}

// added closes the dialog once the slot is kept, or says what went wrong.
func (a *keyAdd) added(slot vault.Slot, err error) {
	a.bar.Stop()
	a.bar.Hide()
	var wrong *fido.WrongPINError
	switch {
	case err == nil:
		a.dialog.Hide()
		a.k.update()
		a.k.m.toast.show(fmt.Sprintf("“%s” opens your accounts now", slot.Name))
		return
	case errors.As(err, &wrong):
		a.say("Type the key's PIN again, then choose Add.")
		a.fail(wrongPINText(wrong))
		a.pin.SetText("")
		a.ok.Enable()
		a.k.m.win.Canvas().Focus(a.pin)
		return
	}
	a.fail("The key was not added: " + sentence(err))
	a.look() // the key may have gone meanwhile
}
