package ui

import (
	"errors"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/vault"
)

// ShowOpening fills w with a note that the accounts are being opened, for
// the moment the keyring takes (longer when it asks to be unlocked).
// screen, when not nil, is the size of the screen the window opens on.
func ShowOpening(a fyne.App, w fyne.Window, screen Screen) {
	note := widget.NewLabel("Opening your accounts…")
	w.SetContent(withMinSize(container.NewCenter(container.NewVBox(widget.NewProgressBarInfinite(), note))))
	restoreSize(a, w, screen)
}

// ShowOpenError fills w with why the accounts could not be opened and what
// to do about it, and shows the same in a dialog. retry, when not nil, is
// offered as "Try again" (after unlocking the keyring, say). rec, when not
// nil, offers "Use the recovery key" when the keyring lacks the vault's key
// and the vault has a recovery key. Nothing is written: a vault that does
// not open stays as it is (a recovery key puts its key back in the keyring).
func ShowOpenError(a fyne.App, w fyne.Window, err error, retry func(), screen Screen, rec *Recovery) {
	showOpenError(a, w, err, retry, screen, rec)
}

// showOpenError is ShowOpenError; it returns the recovery key's dialog
// when it offers one (it shows it at once).
func showOpenError(a fyne.App, w fyne.Window, err error, retry func(), screen Screen, rec *Recovery) *recoveryOpener {
	recoverable, byKey := rec.offers(err), rec.offersKey(err)
	var opener *recoveryOpener
	details := func() fyne.CanvasObject {
		msg := &widget.Label{Text: err.Error(), Wrapping: fyne.TextWrapWord}
		text := openAdvice(err)
		if recoverable || byKey {
			text = "The vault file is there, but the key that opens it is not in this keyring. Close this and choose " +
				openWays(recoverable, byKey) + ". Nothing was changed: the vault file stays as it is."
		}
		advice := &widget.Label{Text: text, Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}}
		return container.NewVBox(msg, advice)
	}
	show := func() {
		var d dialog.Dialog
		if retry != nil {
			d = dialog.NewCustomConfirm("Your accounts could not be opened", "Try again", "Close", details(),
				func(again bool) {
					if again {
						retry()
					}
				}, w)
		} else {
			d = dialog.NewCustom("Your accounts could not be opened", "Close", details(), w)
		}
		d.Resize(fyne.NewSize(520, d.MinSize().Height))
		d.Show()
	}

	title := &widget.Label{Text: "Your accounts could not be opened", TextStyle: fyne.TextStyle{Bold: true},
		SizeName: theme.SizeNameSubHeadingText, Alignment: fyne.TextAlignCenter}
	buttons := container.NewHBox(widget.NewButton("Details", show))
	var keyOpen *keyOpener
	if byKey {
		keyOpen = newKeyOpener(a, w, rec)
		buttons.Add(&widget.Button{Text: "Unlock with a security key", Icon: keyIcon, Importance: widget.HighImportance, OnTapped: keyOpen.show})
	}
	if recoverable {
		opener = newRecoveryOpener(a, w, rec)
		use := widget.NewButtonWithIcon("Use the recovery key", theme.LoginIcon(), opener.show)
		use.Importance = widget.HighImportance
		buttons.Add(use)
	}
	if retry != nil {
		again := widget.NewButton("Try again", retry)
		if !recoverable && !byKey {
			again.Importance = widget.HighImportance
		}
		buttons.Add(again)
	}
	box := container.NewVBox(container.NewCenter(widget.NewIcon(theme.ErrorIcon())), title)
	if recoverable || byKey {
		box.Add(&widget.Label{Text: "The key to your accounts is not in this computer's keyring.\n" +
			openersText(recoverable, byKey), Alignment: fyne.TextAlignCenter})
	}
	box.Add(container.NewCenter(buttons))
	w.SetContent(withMinSize(container.NewCenter(box)))
	restoreSize(a, w, screen)
	if keyOpen != nil {
		keyOpen.show()
		return opener
	}
	if opener != nil {
		opener.show()
		return opener
	}
	show()
	return nil
}

// openAdvice says what to do about an error from vault.Open.
func openAdvice(err error) string {
	const kept = " Nothing was changed: the vault file stays as it is."
	switch {
	case errors.Is(err, keyring.ErrUnavailable):
		return "Countersign keeps the key to your accounts in the system keyring and could not reach it. " +
			"Start or unlock your keyring (GNOME Keyring, KWallet, or KeePassXC with Secret Service " +
			"integration), then try again." + kept
	case errors.Is(err, vault.ErrKeyMissing):
		return "The vault file is there, but the key that opens it is not in this keyring, and the vault has " +
			"no recovery key. If you copied the file from another computer, use it on that computer. Or move " +
			"the file away, start with an empty vault and use Restore from backup… in Settings." + kept
	case errors.Is(err, vault.ErrUnreadable):
		return "The vault file could not be read. Restore it from a backup, or move it away to start " +
			"with an empty vault." + kept
	}
	return "Check the folder named above and try again." + kept
}

// withMinSize gives the window's content the window's minimum size.
func withMinSize(o fyne.CanvasObject) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(minWindowSize)
	return container.NewStack(r, o)
}

// Screen reports the size, in pixels, of the screen the window opens on;
// ok is false when it is not known.
type Screen func() (width, height int, ok bool)

// screenShare is how much of the screen the window may take at most: the
// rest is for the desktop's panels and the window's frame.
const screenShare = 0.9

// restoreSize sizes w as it was when it last closed, and no larger than
// screenShare of the screen (at FYNE_SCALE=1.5 the default size is 1050
// pixels high, more than a 1280×800 screen has), though never below the
// window's minimum size.
func restoreSize(a fyne.App, w fyne.Window, screen Screen) {
	p := a.Preferences()
	size := fyne.NewSize(
		float32(p.FloatWithFallback(prefWidth, float64(defaultWindowSize.Width))),
		float32(p.FloatWithFallback(prefHeight, float64(defaultWindowSize.Height))),
	)
	if screen != nil {
		if pw, ph, ok := screen(); ok {
			// Before the window first shows, its canvas does not know its
			// scale yet; the app's (FYNE_SCALE) is the best guess then.
			scale := max(w.Canvas().Scale(), a.Settings().Scale(), 1)
			size = size.Min(fyne.NewSize(float32(pw)/scale*screenShare, float32(ph)/scale*screenShare))
		}
	}
	w.Resize(size.Max(minWindowSize))
}
