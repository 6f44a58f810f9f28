package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

const (
	// captureTimeout bounds a screen capture (the Wayland portal may ask first).
	captureTimeout = 2 * time.Minute
	// hideSettle is how long the window manager gets to take the window off
	// the screen before the screen is captured.
	hideSettle = 400 * time.Millisecond
	// shownTextLimit is how much of a QR code's text an error quotes.
	shownTextLimit = 200
)

// imageExtensions are the image files offered for QR codes and recognised
// when dropped on the window.
var imageExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp"}

// adder brings accounts into the vault from the window: QR codes in an image
// file, on the screen or in the clipboard, a secret typed by hand, or another
// authenticator's export. Every way ends in the same review, and nothing is
// added before the person confirms it there.
//
// Slow work (capturing, decoding, decrypting) runs off the UI goroutine and
// comes back through fyne.Do; busy counts it so that tests can wait for it.
type adder struct {
	m         *Main
	capture   func(ctx context.Context) ([]capture.Screen, error)
	clipboard func() (capture.Clip, error)
	settle    time.Duration

	button *widget.Button // the Add button beside the search field
	busy   sync.WaitGroup

	dialog dialog.Dialog // the last dialog shown
	form   *addForm      // the by-hand form while it is open
	review *review       // the review while it is open
}

func newAdder(m *Main) *adder {
	a := &adder{m: m, capture: m.deps.Capture, clipboard: m.deps.Clipboard, settle: hideSettle}
	a.button = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), a.showMenu)
	m.win.SetOnDropped(a.onDropped)
	return a
}

// addAction is one way of adding accounts, as the menu and the empty list
// offer it.
type addAction struct {
	label string
	icon  fyne.Resource
	run   func()
}

func (a *adder) actions() []addAction {
	return []addAction{
		{"Scan screen for QR code", theme.ViewFullScreenIcon(), a.scanScreen},
		{"Open QR code image…", theme.FileImageIcon(), a.chooseImage},
		{"Paste from clipboard", theme.ContentPasteIcon(), a.pasteClipboard},
		{"Enter secret by hand…", theme.DocumentCreateIcon(), a.enterByHand},
		{"Import from another app…", theme.UploadIcon(), a.chooseImport},
	}
}

// menu is the Add button's menu.
func (a *adder) menu() *fyne.Menu {
	var items []*fyne.MenuItem
	for _, act := range a.actions() {
		it := fyne.NewMenuItem(act.label, act.run)
		it.Icon = act.icon
		items = append(items, it)
	}
	return fyne.NewMenu("", items...)
}

// showMenu opens the add menu under the Add button, with the keyboard in it.
// The button is on the Authenticator screen, which comes forward first.
func (a *adder) showMenu() {
	if a.m.current != a.m.auth {
		a.m.showIndex(a.m.screenIndex(a.m.auth))
	}
	c := a.m.win.Canvas()
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(a.button)
	m := widget.NewPopUpMenu(a.menu(), c)
	x := max(0, min(pos.X+a.button.Size().Width-m.MinSize().Width, c.Size().Width-m.MinSize().Width))
	m.ShowAtPosition(fyne.NewPos(x, pos.Y+a.button.Size().Height))
}

// emptyActions are the add actions as buttons, for the list with no accounts.
func (a *adder) emptyActions() fyne.CanvasObject {
	box := container.NewVBox()
	for _, act := range a.actions() {
		b := widget.NewButtonWithIcon(act.label, act.icon, act.run)
		b.Alignment = widget.ButtonAlignLeading
		box.Add(b)
	}
	return container.NewCenter(box)
}

// Background work.

// work shows a note titled what while job runs off the UI goroutine, then
// closes it and runs done on the UI goroutine.
func (a *adder) work(what string, job func(), done func()) {
	note := dialog.NewCustomWithoutButtons(what, widget.NewProgressBarInfinite(), a.m.win)
	note.Show()
	a.busy.Add(1)
	go func() {
		defer a.busy.Done()
		job()
		fyne.Do(func() {
			note.Hide()
			if a.m.lock.locked {
				return // locked meanwhile: nothing shows over the lock
			}
			done()
		})
	}()
}

// QR codes.

// qrText is one QR code found, and where.
type qrText struct {
	source string // "screen", a file name, "clipboard"
	text   string
}

// decodeFailure is an image that held no code, or could not be read.
type decodeFailure struct {
	source string
	err    error
}

// decodeImages reads the QR codes in images named by sources. It runs off
// the UI goroutine.
func decodeImages(sources []string, images [][]byte) ([]qrText, []decodeFailure) {
	var found []qrText
	var failed []decodeFailure
	for i, data := range images {
		codes, err := qr.DecodeBytes(data)
		if err != nil {
			failed = append(failed, decodeFailure{sources[i], err})
			continue
		}
		for _, c := range codes {
			found = append(found, qrText{sources[i], c.Text})
		}
	}
	return found, failed
}

// qrFound receives, on the UI goroutine, the QR codes a capture, an image
// or the clipboard held, and the images that held none.
type qrFound func(found []qrText, failed []decodeFailure)

// reviewWith is the add flow's qrFound: it reviews the accounts found.
func (a *adder) reviewWith(advice string) qrFound {
	return func(found []qrText, failed []decodeFailure) { a.reviewCodes(found, failed, advice) }
}

// chooseImage asks for an image file with QR codes in it.
func (a *adder) chooseImage() {
	a.chooseImageFor(a.onImageChosen)
}

// chooseImageFor asks for an image file and hands the file chosen to
// chosen (nil when the person cancelled).
func (a *adder) chooseImageFor(chosen func(fyne.URIReadCloser, error)) {
	a.m.openFile(imageFiles(), chosen, func(d dialog.Dialog) { a.dialog = d })
}

// imageFiles is the file dialog for an image with QR codes.
func imageFiles() fileKind {
	var patterns, names []string
	for _, ext := range imageExtensions {
		patterns = append(patterns, "*"+ext)
		switch ext {
		case ".jpeg": // named with .jpg
		case ".jpg":
			names = append(names, "JPEG")
		case ".webp":
			names = append(names, "WebP")
		default:
			names = append(names, strings.ToUpper(ext[1:]))
		}
	}
	list := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return fileKind{title: "Open an image with a QR code", about: list + " images",
		filters: []portal.Filter{{Name: "Images (" + strings.Join(names, ", ") + ")", Patterns: patterns}}}
}

// onImageChosen reads the image the file dialog chose; r is nil when the
// person cancelled.
func (a *adder) onImageChosen(r fyne.URIReadCloser, err error) {
	if err != nil {
		a.showProblem("The image could not be opened", err.Error(), "Choose the file again, or another one.")
		return
	}
	if r == nil {
		return
	}
	a.readImages([]fyne.URIReadCloser{r}, a.reviewWith(imageAdvice))
}

// onDropped adds from the files dropped on the window: the QR codes of the
// images, or the accounts of one other file (another app's export).
func (a *adder) onDropped(_ fyne.Position, uris []fyne.URI) {
	if a.m.lock.locked || a.m.win.Canvas().Overlays().Top() != nil {
		return // nothing starts behind the lock or a dialog
	}
	var images []fyne.URI
	for _, u := range uris {
		if slices.Contains(imageExtensions, strings.ToLower(u.Extension())) {
			images = append(images, u)
		}
	}
	switch {
	case len(images) > 0:
		var readers []fyne.URIReadCloser
		for _, u := range images {
			r, err := storage.Reader(u)
			if err != nil {
				for _, r := range readers {
					r.Close()
				}
				a.showProblem("The image could not be opened", fmt.Sprintf("%s: %v", u.Name(), err),
					"Check that the file is still there and that you may read it.")
				return
			}
			readers = append(readers, r)
		}
		a.readImages(readers, a.reviewWith(imageAdvice))
	case len(uris) == 1:
		r, err := storage.Reader(uris[0])
		if err != nil {
			a.showProblem("The file could not be opened", fmt.Sprintf("%s: %v", uris[0].Name(), err),
				"Check that the file is still there and that you may read it.")
			return
		}
		a.onImportChosen(r, nil)
	default:
		a.showProblem("Nothing to add from these files",
			"Drop image files with QR codes, or one file exported by another authenticator.", "")
	}
}

// readImages reads and decodes images, then hands the codes found to then.
// It closes the readers.
func (a *adder) readImages(readers []fyne.URIReadCloser, then qrFound) {
	names := make([]string, len(readers))
	for i, r := range readers {
		names[i] = r.URI().Name()
	}
	var found []qrText
	var failed []decodeFailure
	a.work("Looking for QR codes…", func() {
		var data [][]byte
		var sources []string
		for i, r := range readers {
			b, err := readAll(r, qr.MaxFileSize)
			r.Close()
			if err != nil {
				failed = append(failed, decodeFailure{names[i], err})
				continue
			}
			data, sources = append(data, b), append(sources, names[i])
		}
		f, fl := decodeImages(sources, data)
		found, failed = f, append(failed, fl...)
	}, func() {
		then(found, failed)
	})
}

// readAll reads at most limit bytes from r, and fails for more.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: the file is larger than %d MiB", qr.ErrTooLarge, limit>>20)
	}
	return b, nil
}

// Advice for when no QR code was read, by where it was looked for.
const (
	imageAdvice = "Zoom in on the code before taking the picture, or crop the image to the code, and try " +
		"again. You can also copy the code's image and use Paste from clipboard."
	screenAdvice = "Make sure the whole code is on the screen and not covered by another window. If it is " +
		"small, zoom in on it first. You can also save or copy the code's image and use Open QR code image " +
		"or Paste from clipboard."
	clipboardAdvice = "Copy the QR code's image (right-click it, Copy image), or its otpauth:// link, " +
		"and try again."
)

// scanScreen hides the window, captures every monitor, shows the window
// again and looks for QR codes in the capture.
func (a *adder) scanScreen() {
	a.scanScreenFor(func(err error) {
		a.showProblem("The screen could not be captured", err.Error(),
			"Save the QR code as an image and use Open QR code image, or copy it and use Paste from clipboard.")
	}, a.reviewWith(screenAdvice))
}

// scanScreenFor is scanScreen handing the codes found to then, and a
// failed capture to failed.
func (a *adder) scanScreenFor(failed func(error), then qrFound) {
	w := a.m.win
	w.Hide()
	settle := a.settle
	var screens []capture.Screen
	var err error
	a.busy.Add(1)
	go func() {
		defer a.busy.Done()
		time.Sleep(settle)
		ctx, cancel := context.WithTimeout(context.Background(), captureTimeout)
		screens, err = a.capture(ctx)
		cancel()
		fyne.Do(func() {
			w.Show()
			if a.m.lock.locked {
				return
			}
			if err != nil {
				failed(err)
				return
			}
			a.decodeScreens(screens, then)
		})
	}()
}

// decodeScreens looks for QR codes in a capture of the screen.
func (a *adder) decodeScreens(screens []capture.Screen, then qrFound) {
	var found []qrText
	var failed []decodeFailure
	a.work("Looking for QR codes…", func() {
		for _, s := range screens {
			codes, err := qr.Decode(s.Image)
			if err != nil {
				failed = append(failed, decodeFailure{"the screen", err})
				continue
			}
			for _, c := range codes {
				found = append(found, qrText{"the screen", c.Text})
			}
		}
	}, func() {
		then(found, failed)
	})
}

// pasteClipboard adds from the clipboard: an otpauth:// or
// otpauth-migration:// text, or an image with QR codes.
func (a *adder) pasteClipboard() {
	isCode := func(text string) bool { return qr.Classify(text) != qr.KindOther }
	a.readClipboard(isCode, func(found []qrText, failed []decodeFailure, readErr error) {
		switch {
		case errors.Is(readErr, capture.ErrClipboardEmpty):
			a.showProblem("The clipboard is empty", "There is no image and no text in the clipboard.", clipboardAdvice)
		case readErr != nil:
			a.showProblem("The clipboard could not be read", readErr.Error(),
				"Save the QR code as an image and use Open QR code image instead.")
		case len(found) == 0 && len(failed) == 0:
			a.showProblem("No authenticator code in the clipboard",
				"The clipboard holds text that is not an otpauth:// link, and no image.", clipboardAdvice)
		default:
			a.reviewCodes(found, failed, clipboardAdvice)
		}
	})
}

// readClipboard reads the clipboard off the UI goroutine and hands then its
// text when wanted accepts it, or else the QR codes of its image; readErr
// says why the clipboard could not be read.
func (a *adder) readClipboard(wanted func(text string) bool,
	then func(found []qrText, failed []decodeFailure, readErr error)) {
	var readErr error
	var found []qrText
	var failed []decodeFailure
	a.work("Reading the clipboard…", func() {
		var clip capture.Clip
		if clip, readErr = a.clipboard(); readErr != nil {
			return
		}
		if text := strings.TrimSpace(clip.Text); text != "" && wanted(text) {
			found = []qrText{{"the clipboard", text}}
			return
		}
		if len(clip.PNG) > 0 {
			found, failed = decodeImages([]string{"the clipboard image"}, [][]byte{clip.PNG})
		}
	}, func() {
		then(found, failed, readErr)
	})
}

// reviewCodes turns the QR codes found into accounts and reviews them, or
// says why there are none.
func (a *adder) reviewCodes(found []qrText, failed []decodeFailure, advice string) {
	var accounts []vault.Account
	var notes, others []string
	for _, f := range found {
		if qr.Classify(f.text) == qr.KindOther {
			others = append(others, f.text)
			notes = append(notes, fmt.Sprintf("A QR code %s is not an authenticator code: %s", where(f.source), quote(f.text)))
			continue
		}
		as, err := transfer.ParseURI(f.text)
		if err != nil {
			a.showProblem("This QR code cannot be added",
				fmt.Sprintf("The authenticator QR code %s is not valid: %v", where(f.source), err),
				"Nothing was added. Ask the site for a new QR code, or enter the secret by hand if it shows one.")
			return
		}
		accounts = append(accounts, as...)
	}
	for _, f := range failed {
		if len(accounts) > 0 {
			notes = append(notes, fmt.Sprintf("%s: %v", f.source, f.err))
		}
	}
	if len(accounts) > 0 {
		a.showReview(accounts, notes)
		return
	}
	if len(others) > 0 {
		a.showProblem("Not an authenticator QR code",
			"The QR code found holds:\n"+quote(strings.Join(others, "\n")),
			"Authenticator QR codes hold an otpauth:// link. Look for the code the site shows when you set "+
				"up two-factor authentication (sometimes behind “Can't scan it?”).")
		return
	}
	a.showDecodeFailure(failed, advice)
}

// showDecodeFailure says why no QR code was read.
func (a *adder) showDecodeFailure(failed []decodeFailure, advice string) {
	if len(failed) == 0 {
		a.showProblem("No QR code found", "No QR code was found.", advice)
		return
	}
	f := failed[0]
	var nf *qr.NotFoundError
	switch {
	case errors.As(f.err, &nf):
		a.showProblem("No QR code found",
			fmt.Sprintf("No QR code was found %s, looked at as it is, %s.", where(f.source), triedWords(nf.Tried)), advice)
	case errors.Is(f.err, qr.ErrUnsupportedImage), errors.Is(f.err, qr.ErrCorruptImage), errors.Is(f.err, qr.ErrTooLarge):
		a.showProblem("The image could not be read", fmt.Sprintf("%s: %v", f.source, f.err),
			"Use a "+qr.SupportedFormats+" image, or show the code on the screen and use Scan screen for QR code.")
	default:
		a.showProblem("The image could not be read", fmt.Sprintf("%s: %v", f.source, f.err), advice)
	}
}

// where says where a QR code was looked for: "on the screen", "in code.png".
func where(source string) string {
	if source == "the screen" {
		return "on the screen"
	}
	return "in " + source
}

// quote shortens text for a dialog.
func quote(text string) string {
	if r := []rune(text); len(r) > shownTextLimit {
		text = string(r[:shownTextLimit]) + "…"
	}
	return "“" + text + "”"
}

// showProblem shows what went wrong and what to do about it.
func (a *adder) showProblem(title, what, advice string) {
	box := container.NewVBox(&widget.Label{Text: stop(what), Wrapping: fyne.TextWrapWord})
	if advice != "" {
		box.Add(&widget.Label{Text: stop(advice), Wrapping: fyne.TextWrapWord, TextStyle: fyne.TextStyle{Bold: true}})
	}
	d := dialog.NewCustom(title, "Close", box, a.m.win)
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
	a.dialog = d
	a.m.showDialog(d)
}
