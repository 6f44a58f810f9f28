package ui

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// shownWindow is a test window that knows whether it is hidden, which the
// test driver's does not, and keeps the drop handler it is given.
type shownWindow struct {
	fyne.Window
	hidden  atomic.Bool
	dropped func(fyne.Position, []fyne.URI)
}

func (w *shownWindow) Hide() { w.hidden.Store(true); w.Window.Hide() }
func (w *shownWindow) Show() { w.hidden.Store(false); w.Window.Show() }

func (w *shownWindow) SetOnDropped(f func(fyne.Position, []fyne.URI)) { w.dropped = f }

// fakeDesktop is the screen and the clipboard. Capture runs off the UI
// goroutine; the test reads what it recorded only after adder.busy.Wait.
type fakeDesktop struct {
	win        *shownWindow
	screens    []capture.Screen
	captureErr error
	captured   int
	hiddenThen bool // whether the window was hidden when the screen was captured

	clip    capture.Clip
	clipErr error
	clipped chan struct{} // when not nil, Clipboard waits for it to close
}

func (d *fakeDesktop) Capture(context.Context) ([]capture.Screen, error) {
	d.captured++
	d.hiddenThen = d.win.hidden.Load()
	return d.screens, d.captureErr
}

func (d *fakeDesktop) Clipboard() (capture.Clip, error) {
	if d.clipped != nil {
		<-d.clipped
	}
	return d.clip, d.clipErr
}

type addHarness struct {
	*harness
	add  *adder
	desk *fakeDesktop
	sw   *shownWindow
}

func newAddHarness(t *testing.T, accounts []vault.Account) *addHarness {
	t.Helper()
	a := newTestApp(t)
	sw := &shownWindow{Window: test.NewWindow(nil)}
	h := &addHarness{
		harness: &harness{
			app:   a,
			win:   sw,
			store: &fakeStore{accounts: accounts},
			clock: testkit.NewClock(start),
		},
		desk: &fakeDesktop{win: sw},
		sw:   sw,
	}
	t.Cleanup(func() {
		h.add.busy.Wait()
		if !h.closed {
			h.win.Close()
		}
	})
	h.main = NewMain(h.app, h.win, Deps{Vault: h.store, Now: h.clock.Now, After: h.clock.After,
		Capture: h.desk.Capture, Clipboard: h.desk.Clipboard})
	h.auth, h.add = h.main.auth, h.main.add
	h.add.settle = 0
	return h
}

// wait lets the background work started so far finish.
func (h *addHarness) wait() { h.add.busy.Wait() }

// shown is the text of every label in the window and its dialogs.
func (h *addHarness) shown() string { return shownText(h.win.Canvas()) }

// tapAdd adds what the review shows, as the person would.
func (h *addHarness) tapAdd(t *testing.T) {
	t.Helper()
	if h.add.review == nil {
		t.Fatalf("no review is open; the window shows:\n%s", h.shown())
	}
	test.Tap(h.add.review.add)
}

// reader opens a file as the file dialog would hand it over.
func reader(t *testing.T, path string) fyne.URIReadCloser {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := storage.Reader(storage.NewFileURI(abs))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// qrFile writes a PNG of a QR code holding text and returns its path.
func qrFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, qrPNG(t, text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func qrPNG(t *testing.T, text string) []byte {
	t.Helper()
	b, err := qr.Encode(text, 240)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// screenWith is a 1280×800 white screen with a QR code of text on it.
func screenWith(t *testing.T, text string) capture.Screen {
	t.Helper()
	code, err := png.Decode(bytes.NewReader(qrPNG(t, text)))
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 1280, 800))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	at := image.Pt(700, 300)
	draw.Draw(img, code.Bounds().Add(at), code, code.Bounds().Min, draw.Src)
	return capture.Screen{Name: "X11 head 1", Bounds: img.Bounds(), Image: img}
}

// blankImage is a white picture with no QR code.
func blankImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return img
}

// noCodeFile is a 400×300 piece of the QR corpus's picture name (one
// without a code), written under the same name in a temporary folder. The
// window's handling of "no code found" is the same for any size; the whole
// pictures, which the decoder searches for seconds under the race detector
// and may stop searching at its time limit, are internal/qr's to test.
func noCodeFile(t *testing.T, name string) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(readFile(t, filepath.Join("../../testdata/qr", name))))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	x, y := b.Min.X+(b.Dx()-400)/2, b.Min.Y+(b.Dy()-300)/2
	piece := image.NewRGBA(image.Rect(0, 0, 400, 300))
	draw.Draw(piece, piece.Rect, img, image.Pt(x, y), draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, piece); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// popUpMenu is the pop-up menu over the window, or nil.
func popUpMenu(c fyne.Canvas) *widget.PopUpMenu {
	top := c.Overlays().Top()
	if top == nil {
		return nil
	}
	for _, o := range laidOut(top) {
		if m, ok := o.(*widget.PopUpMenu); ok {
			return m
		}
	}
	return nil
}
