package ui

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/portal/portaltest"
)

// portalHarness is the add harness whose file dialogs go to a fake portal
// on a private bus, answering with answer.
func portalHarness(t *testing.T, answer func(portaltest.Call) (uint32, string)) (*addHarness, *portaltest.FileChooser) {
	t.Helper()
	connect := portaltest.Bus(t)
	fake := &portaltest.FileChooser{Answer: answer}
	portaltest.ServeFileChooser(t, connect, fake)
	h := newAddHarness(t, nil)
	h.main.deps.Files = portal.FileChooser{Connect: connect}
	return h, fake
}

func TestImagePickedInTheDesktopsDialog(t *testing.T) {
	png := qrFile(t, "my qr code.png", githubURI)
	h, fake := portalHarness(t, func(portaltest.Call) (uint32, string) { return 0, png })
	h.add.chooseImage()
	h.main.pending.Wait()
	h.wait()
	if _, ok := h.add.dialog.(*dialog.FileDialog); ok {
		t.Error("Fyne's file dialog opened although the portal answered")
	}
	if h.add.review == nil || !strings.Contains(h.shown(), "octocat") {
		t.Fatalf("the image the portal chose was not read; the window shows:\n%s", h.shown())
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Method != "OpenFile" {
		t.Fatalf("the portal got %+v, want one OpenFile", calls)
	}
	if want := "Open an image with a QR code — PNG, JPEG, GIF, BMP or WebP images"; calls[0].Title != want {
		t.Errorf("title %q, want %q", calls[0].Title, want)
	}
	want := []portal.Filter{{Name: "Images (PNG, JPEG, GIF, BMP, WebP)", Patterns: []string{"*.png", "*.jpg", "*.jpeg", "*.gif", "*.bmp", "*.webp"}}}
	if calls[0].Err != nil || !reflect.DeepEqual(calls[0].Filters, want) {
		t.Errorf("filters %+v (%v), want %+v", calls[0].Filters, calls[0].Err, want)
	}
}

func TestImportPickerCancelledInTheDesktopsDialog(t *testing.T) {
	h, fake := portalHarness(t, func(portaltest.Call) (uint32, string) { return 1, "" })
	h.add.chooseImport()
	h.main.pending.Wait()
	h.wait()
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		t.Errorf("something opened after the dialog was cancelled:\n%s", h.shown())
	}
	if calls := fake.Calls(); len(calls) != 1 || !strings.Contains(calls[0].Title, "— otpauth URI list, Google Authenticator export, Aegis, 2FAS") ||
		len(calls[0].Filters) != 2 || calls[0].Filters[1].Patterns[0] != "*" {
		t.Errorf("the portal got %+v, want the formats named and every file choosable", calls)
	}
}

func TestNoPortalFallsBackToFynesDialog(t *testing.T) {
	h := newAddHarness(t, nil)
	h.main.deps.Files = portal.FileChooser{Connect: portaltest.Bus(t)} // a bus without a portal
	h.add.chooseImage()
	h.main.pending.Wait()
	d, ok := h.add.dialog.(*dialog.FileDialog)
	if !ok {
		t.Fatalf("without a portal the picker shows %T, want Fyne's file dialog", h.add.dialog)
	}
	d.Hide()
}

// TestFynesSaveDialogKeepsTheFileUntilWritten: with no portal, a save goes
// through Fyne's dialog, which opens the file it is given before the window
// replaces it whole; the file chosen, here an older backup, must keep its
// bytes until then, so that a replacement that fails loses nothing.
func TestFynesSaveDialogKeepsTheFileUntilWritten(t *testing.T) {
	h := newAddHarness(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.json")
	if err := os.WriteFile(path, []byte("the older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	var shown *dialog.FileDialog
	var chosen string
	h.main.saveFile(fileKind{title: "Save a backup", about: "Countersign backups"}, "backup.json",
		func(p string) { chosen = p }, func(err error) { t.Errorf("saving failed: %v", err) },
		func(d dialog.Dialog) { shown = d.(*dialog.FileDialog) })
	if shown == nil {
		t.Fatal("without a portal no Fyne dialog was shown")
	}
	location, err := storage.ListerForURI(storage.NewFileURI(dir))
	if err != nil {
		t.Fatal(err)
	}
	shown.SetLocation(location)
	shown.SetFileName("backup.json")
	tapDialog(t, h.win.Canvas(), "Save")
	// The file exists: Fyne asks before it is replaced.
	tapDialog(t, h.win.Canvas(), "Yes")
	if chosen != path {
		t.Fatalf("the dialog chose %q, want %q", chosen, path)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "the older backup" {
		t.Errorf("before the window wrote it, the file chosen holds %q (%v), want the older backup", data, err)
	}

	// A writer that is written to still replaces the file.
	w, err := storage.Writer(storage.NewFileURI(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "new" {
		t.Errorf("written through Fyne, the file holds %q (%v), want new", data, err)
	}
}
