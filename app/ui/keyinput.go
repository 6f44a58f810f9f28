package ui

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"filippo.io/age"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/recovery"
	"github.com/countersign/countersign/internal/vault"
)

// keyInput is where the recovery key is given: typed from the emergency
// kit, pasted, or scanned from the kit's QR code (a picture of the kit, or
// the kit shown on the screen). Its problems show beneath it.
type keyInput struct {
	m       *Main
	entry   *dialogEntry
	problem *widget.Label
	root    fyne.CanvasObject
	settle  time.Duration   // how long the window is given to hide before a capture
	busy    *sync.WaitGroup // the scans off the UI goroutine
}

func newKeyInput(m *Main, busy *sync.WaitGroup) *keyInput {
	k := &keyInput{m: m, entry: m.newDialogEntry(), settle: hideSettle, busy: busy}
	k.entry.SetPlaceHolder("AGE-SECRET-KEY-1…")
	k.entry.OnChanged = func(string) { k.problem.Hide() }
	k.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	k.problem.Hide()
	k.root = container.NewVBox(
		k.entry,
		k.problem,
		container.NewHBox(
			widget.NewButtonWithIcon("Scan the kit from a picture…", theme.FileImageIcon(), k.scanFile),
			widget.NewButtonWithIcon("Scan the kit on the screen", theme.ViewFullScreenIcon(), k.scanScreen)),
	)
	return k
}

// key reads the key given, or shows why it is not one.
func (k *keyInput) key() (*age.X25519Identity, bool) {
	id, err := recovery.Parse(k.entry.Text)
	if err != nil {
		k.say(err)
		return nil, false
	}
	return id, true
}

func (k *keyInput) say(err error) {
	k.problem.SetText(sentence(err))
	k.problem.Show()
}

// found fills in the first recovery key among texts read from QR codes.
func (k *keyInput) found(texts []string, where string) {
	for _, t := range texts {
		if id, err := recovery.Parse(t); err == nil {
			k.entry.SetText(recovery.Groups(id))
			return
		}
	}
	k.say(errors.New("no recovery key's QR code was found in " + where +
		": show the whole QR code of the kit, sharp and not too small, or type the key"))
}

// scanFile reads the kit's QR code from a picture of it.
func (k *keyInput) scanFile() {
	kind := fileKind{title: "Scan the kit", about: "a picture of the emergency kit (" + qr.SupportedFormats + ")",
		filters: []portal.Filter{{Name: "Images", Patterns: []string{"*.png", "*.jpg", "*.jpeg", "*.gif", "*.bmp", "*.webp"}}}}
	k.m.openFile(kind, func(r fyne.URIReadCloser, err error) {
		if err != nil {
			k.say(err)
			return
		}
		if r == nil {
			return
		}
		name := r.URI().Name()
		k.busy.Add(1)
		go func() {
			defer k.busy.Done()
			data, err := readAll(r, qr.MaxFileSize)
			r.Close()
			var texts []string
			if err == nil {
				var codes []qr.Code
				codes, err = qr.DecodeBytes(data)
				for _, c := range codes {
					texts = append(texts, c.Text)
				}
			}
			fyne.Do(func() {
				var nf *qr.NotFoundError
				switch {
				case errors.As(err, &nf):
					k.found(nil, name)
				case err != nil:
					k.say(err)
				default:
					k.found(texts, name)
				}
			})
		}()
	}, func(dialog.Dialog) {})
}

// scanScreen hides the window, captures the screen (the kit open in a PDF
// viewer, or held up to a webcam's window) and reads the kit's QR code.
func (k *keyInput) scanScreen() {
	w, grab, settle := k.m.win, k.m.deps.Capture, k.settle
	w.Hide()
	k.busy.Add(1)
	go func() {
		defer k.busy.Done()
		time.Sleep(settle)
		ctx, cancel := context.WithTimeout(context.Background(), captureTimeout)
		screens, err := grab(ctx)
		cancel()
		var texts []string
		for _, s := range screens {
			codes, _ := qr.Decode(s.Image)
			for _, c := range codes {
				texts = append(texts, c.Text)
			}
		}
		fyne.Do(func() {
			w.Show()
			if err != nil {
				k.say(err)
				return
			}
			k.found(texts, "the screen")
		})
	}()
}

// Recovery lets the opening screen open a vault whose key is missing from
// the keyring (vault.ErrKeyMissing) with its recovery key, when it has one.
type Recovery struct {
	Dir     string        // the vault's folder
	Options vault.Options // how it is opened: the keyring the key goes back into
	// Files and Capture are the desktop's file dialog and screen capture,
	// to scan the kit (Deps.Files, Deps.Capture).
	Files   FileChooser
	Capture func(ctx context.Context) ([]capture.Screen, error)
	// Keys are the security keys plugged in (FidoKeys), to open a vault
	// with security key slots by a touch; nil offers none.
	Keys KeyService
	// Opened receives the open vault on the UI goroutine; the window goes
	// on as after any other open.
	Opened func(v *vault.Vault)

	keys *keyOpener     // the security key's dialog, once offered
	ui   func(f func()) // how the security key's dialog reaches the UI goroutine: fyne.Do unless a test sets it
}

// recoveryOpener is the opening screen's "Use the recovery key".
type recoveryOpener struct {
	rec    *Recovery
	m      *Main // a window's worth of Main for the dialogs: no screens
	input  *keyInput
	dialog *dialog.CustomDialog
	open   *widget.Button
	busy   sync.WaitGroup
}

// offers reports whether the vault in rec.Dir has a recovery key to open it
// with after err.
func (rec *Recovery) offers(err error) bool {
	if rec == nil || !vault.NeedsSlot(err) {
		return false
	}
	r, rerr := vault.RecoveryRecipient(rec.Dir)
	return rerr == nil && r != ""
}

func newRecoveryOpener(a fyne.App, w fyne.Window, rec *Recovery) *recoveryOpener {
	deps := Deps{Files: rec.Files, Capture: rec.Capture}
	deps.defaults(a)
	o := &recoveryOpener{rec: rec, m: &Main{app: a, win: w, deps: deps}}
	o.input = newKeyInput(o.m, &o.busy)
	return o
}

// show asks for the recovery key.
func (o *recoveryOpener) show() {
	content := container.NewVBox(
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "Type the recovery key from your emergency kit (upper or lower " +
			"case, spaces or not), paste it, or scan the kit's QR code. Countersign then puts the key to your accounts " +
			"into this computer's keyring, so the next start opens as usual."},
		o.input.root,
	)
	d := dialog.NewCustomWithoutButtons("Use the recovery key", content, o.m.win)
	o.open = &widget.Button{Text: "Open", Icon: theme.ConfirmIcon(), Importance: widget.HighImportance, OnTapped: o.onOpen}
	d.SetButtons([]fyne.CanvasObject{widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.Hide), o.open})
	d.Resize(fyne.NewSize(dialogWidth(o.m.win, 520), d.MinSize().Height))
	o.dialog = d
	o.m.showDialogKeys(d, o.onOpen, d.Hide)
	o.m.win.Canvas().Focus(o.input.entry)
}

// onOpen opens the vault with the key given, off the UI goroutine (the
// keyring may ask to be unlocked).
func (o *recoveryOpener) onOpen() {
	id, ok := o.input.key()
	if !ok {
		return
	}
	o.open.Disable()
	o.open.SetText("Opening…")
	o.busy.Add(1)
	go func() {
		defer o.busy.Done()
		v, err := vault.OpenWithRecovery(o.rec.Dir, o.rec.Options, id)
		fyne.Do(func() {
			o.open.Enable()
			o.open.SetText("Open")
			if v == nil {
				o.input.say(err)
				return
			}
			o.dialog.Hide()
			w := o.m.win
			o.rec.Opened(v)
			if errors.Is(err, vault.ErrNotResealed) {
				showNotResealed(w, err, "the recovery key")
			}
		})
	}()
}

// readBackupFile reads at most limit bytes of a chosen backup file.
func readBackupFile(r io.Reader) ([]byte, error) { return readAll(r, maxBackupSize) }

// maxBackupSize bounds a backup file read into memory: thousands of
// accounts are a few MiB.
const maxBackupSize = 64 << 20
