package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/vault"
)

// keyOpener is the opening screen's "Unlock with a security key": it
// waits for a key that holds one of the vault's security key slots, asks
// for its PIN when the slot was made with one, asks for a touch and opens
// the vault (which puts the key to it back into the keyring).
type keyOpener struct {
	rec   *Recovery
	svc   vaultKeyService
	slots []vault.Slot
	m     *Main // a window's worth of Main for the dialogs: no screens
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui   func(f func())
	busy sync.WaitGroup

	dialog  *dialog.CustomDialog
	status  *widget.Label
	pin     *dialogEntry
	problem *widget.Label
	bar     *widget.ProgressBarInfinite
	unlock  *widget.Button
	retry   *widget.Button // after a failure: look for the key again

	stop  context.CancelFunc // ends the watch for keys or the touch awaited
	found *keyMatch          // the key and its slot, once found
}

// keyMatch is a key plugged in and the vault's slot it holds.
type keyMatch struct {
	path string
	slot vault.Slot
}

// offersKey reports whether the vault in rec.Dir has security key slots
// to open it with after err, and the keys to ask.
func (rec *Recovery) offersKey(err error) bool {
	if rec == nil || !vault.NeedsSlot(err) {
		return false
	}
	if _, ok := rec.Keys.(vaultKeyService); !ok {
		return false
	}
	slots, serr := vault.SecurityKeySlots(rec.Dir)
	return serr == nil && len(slots) > 0
}

func newKeyOpener(a fyne.App, w fyne.Window, rec *Recovery) *keyOpener {
	deps := Deps{}
	deps.defaults(a)
	svc, _ := rec.Keys.(vaultKeyService)
	o := &keyOpener{rec: rec, svc: svc, m: &Main{app: a, win: w, deps: deps}, ui: fyne.Do}
	o.slots, _ = vault.SecurityKeySlots(rec.Dir)
	if rec.ui != nil {
		o.ui = rec.ui
	}
	rec.keys = o
	return o
}

// show opens the dialog and starts looking for the keys.
func (o *keyOpener) show() {
	o.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	o.pin = o.m.newDialogPasswordEntry()
	o.pin.SetPlaceHolder("The key's PIN")
	o.pin.Hide()
	o.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	o.problem.Hide()
	o.bar = widget.NewProgressBarInfinite()
	o.unlock = &widget.Button{Text: "Unlock", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: o.onUnlock}
	o.unlock.Hide()
	o.retry = &widget.Button{Text: "Try again", Icon: theme.ViewRefreshIcon(), Importance: widget.HighImportance, OnTapped: o.look}
	o.retry.Hide()
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "A security key you added to your accounts opens them. " +
			"Countersign then puts the key to your accounts into this computer's keyring, so the next start opens as usual."},
		o.status, o.pin, o.problem, o.bar,
	)
	d := dialog.NewCustomWithoutButtons("Unlock with a security key", content, o.m.win)
	d.SetButtons([]fyne.CanvasObject{widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), o.cancel), o.unlock, o.retry})
	d.SetOnClosed(o.halt)
	o.dialog = d
	d.Resize(fyne.NewSize(dialogWidth(o.m.win, 520), d.MinSize().Height))
	o.m.showDialogKeys(d, o.onUnlock, o.cancel)
	o.look()
}

func (o *keyOpener) cancel() { o.halt(); o.dialog.Hide() }

// halt ends the watch or the touch under way.
func (o *keyOpener) halt() {
	if o.stop != nil {
		o.stop()
		o.stop = nil
	}
}

// look watches the keys plugged in until one holds a slot of the vault.
func (o *keyOpener) look() {
	o.halt()
	o.found = nil
	o.pin.Hide()
	o.unlock.Hide()
	o.retry.Hide()
	o.problem.Hide()
	o.bar.Show()
	o.bar.Start()
	o.say("Insert your security key…", nil)
	ctx, cancel := context.WithCancel(context.Background())
	o.stop = cancel
	ch, err := o.svc.Watch(ctx)
	if err != nil {
		o.bar.Stop()
		o.bar.Hide()
		o.say("", err)
		return
	}
	slots := o.slots
	o.busy.Add(1)
	go func() {
		defer o.busy.Done()
		for locs := range ch {
			text, match := o.match(locs, slots)
			o.ui(func() {
				if ctx.Err() != nil || o.found != nil {
					return
				}
				if match == nil {
					o.say(text, nil)
					return
				}
				cancel()
				o.stop = nil
				o.found = match
				o.ready()
			})
			if match != nil {
				return
			}
		}
	}()
}

// match finds the first key in locs that holds one of the slots, or says
// why none does. It runs off the UI goroutine: it asks the keys, without a
// touch.
func (o *keyOpener) match(locs []fido.Location, slots []vault.Slot) (string, *keyMatch) {
	if len(locs) == 0 {
		return "Insert your security key…", nil
	}
	var problems []string
	for _, l := range locs {
		for _, s := range slots {
			has, err := o.svc.HasVaultCredential(l.Path, s.CredentialID)
			if err != nil {
				problems = append(problems, sentence(err))
				break
			}
			if has {
				return "", &keyMatch{path: l.Path, slot: s}
			}
		}
	}
	if len(problems) > 0 {
		return "The key could not be asked: " + strings.Join(problems, " "), nil
	}
	names := make([]string, len(slots))
	for i, s := range slots {
		names[i] = "“" + s.Name + "”"
	}
	which := "This security key was"
	if len(locs) > 1 {
		which = "None of these security keys was"
	}
	return which + " not added to your accounts, so it cannot open them. Insert the one you added (" +
		strings.Join(names, ", ") + "), or use the recovery key.", nil
}

// ready asks for the PIN when the slot wants it, else for the touch.
func (o *keyOpener) ready() {
	s := o.found.slot
	o.bar.Stop()
	o.bar.Hide()
	if !s.UV {
		o.open("")
		return
	}
	o.say(fmt.Sprintf("Found “%s”. Type its PIN, then touch the key when it blinks.", s.Name), nil)
	o.pin.SetText("")
	o.pin.Show()
	o.unlock.Show()
	o.unlock.Enable()
	o.resize()
	o.m.win.Canvas().Focus(o.pin)
}

func (o *keyOpener) onUnlock() {
	if o.found == nil || !o.found.slot.UV || o.stop != nil {
		return
	}
	if o.pin.Text == "" {
		o.problem.SetText("Type the key's PIN.")
		o.problem.Show()
		return
	}
	o.open(o.pin.Text)
}

// open asks the key for its slot's secret (a touch) and opens the vault
// with it, off the UI goroutine.
func (o *keyOpener) open(pin string) {
	m := o.found
	o.problem.Hide()
	o.unlock.Disable()
	o.bar.Show()
	o.bar.Start()
	o.say(fmt.Sprintf("Touch the key “%s” now.", m.slot.Name), nil)
	ctx, cancel := context.WithCancel(context.Background())
	o.stop = cancel
	o.busy.Add(1)
	go func() {
		defer o.busy.Done()
		v, err := vault.OpenWithSecurityKey(o.rec.Dir, o.rec.Options, func(s vault.Slot) ([]byte, error) {
			if s.ID() != m.slot.ID() {
				return nil, vault.ErrNotThisKey
			}
			return o.svc.VaultSecret(ctx, m.path, s.CredentialID, s.Salt, pin, func() {})
		})
		o.ui(func() {
			if ctx.Err() != nil && v == nil {
				return // cancelled
			}
			o.stop = nil
			cancel()
			o.opened(v, err)
		})
	}()
}

// opened goes on after the key answered.
func (o *keyOpener) opened(v *vault.Vault, err error) {
	o.bar.Stop()
	o.bar.Hide()
	var wrong *fido.WrongPINError
	switch {
	case v != nil:
		o.dialog.Hide()
		o.rec.Opened(v)
		if errors.Is(err, vault.ErrNotResealed) {
			showNotResealed(o.m.win, err, "a security key")
		}
	case errors.As(err, &wrong):
		o.problem.SetText(wrongPINText(wrong))
		o.problem.Show()
		o.say(fmt.Sprintf("Type the PIN of “%s”, then touch the key when it blinks.", o.found.slot.Name), nil)
		o.pin.SetText("")
		o.unlock.Enable()
		o.m.win.Canvas().Focus(o.pin)
	default:
		// A touch not given in time, a key pulled out, a blocked PIN, a
		// slot the key's secret does not open: say so, and look for the
		// key again only when asked (a key needing no PIN would be asked
		// for a touch again at once).
		o.found = nil
		o.pin.Hide()
		o.unlock.Hide()
		o.say("The key did not open your accounts.", nil)
		text := sentence(err)
		if errors.Is(err, fido.ErrTimeout) {
			text = "The key was not touched in time. Choose Try again, then touch it while it blinks."
		}
		o.problem.SetText(text)
		o.problem.Show()
		o.retry.Show()
	}
	o.resize()
}

// say shows text, or err as a sentence, as the dialog's status.
func (o *keyOpener) say(text string, err error) {
	if err != nil {
		text = sentence(err)
	}
	o.status.SetText(text)
	o.resize()
}

func (o *keyOpener) resize() {
	if o.dialog != nil {
		o.dialog.Resize(fyne.NewSize(dialogWidth(o.m.win, 520), o.dialog.MinSize().Height))
	}
}

// showNotResealed says the vault is open but the keyring did not take its
// key back, so the next start needs how (the recovery key, a security key)
// again.
func showNotResealed(w fyne.Window, err error, how string) {
	dialog.NewInformation("The keyring did not take the key",
		"Your accounts are open, but the key to them could not be stored in this computer's keyring ("+
			sentence(err)+") The next start needs "+how+" again: unlock or set up the keyring before then.", w).Show()
}

// openWays names the opening screen's ways into a vault whose key the
// keyring lacks, for its advice.
func openWays(recoveryKey, securityKey bool) string {
	const byKey = "Unlock with a security key: insert a key you added and touch it"
	const byKit = "Use the recovery key: type or scan the key from your emergency kit"
	switch {
	case recoveryKey && securityKey:
		return byKey + ", or " + byKit
	case securityKey:
		return byKey
	}
	return byKit
}

// openersText says, under the opening screen's title, what opens the vault.
func openersText(recoveryKey, securityKey bool) string {
	switch {
	case recoveryKey && securityKey:
		return "A security key you added, or the recovery key on your emergency kit, opens them."
	case securityKey:
		return "A security key you added opens them."
	}
	return "The recovery key on your emergency kit opens them."
}
