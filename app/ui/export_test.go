package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/transfer"
)

// savePicker is a desktop file dialog that saves wherever path says.
type savePicker struct {
	path  string
	names []string // the names suggested
}

func (p *savePicker) OpenFile(context.Context, string, []portal.Filter) (string, error) {
	return "", portal.ErrCancelled
}

func (p *savePicker) SaveFile(_ context.Context, _, name string, _ []portal.Filter) (string, error) {
	p.names = append(p.names, name)
	return p.path, nil
}

func TestExportFromTheWindow(t *testing.T) {
	h := newAddHarness(t, fixture())
	dir := t.TempDir()
	picker := &savePicker{}
	h.main.deps.Files = picker
	s := h.showSettings()
	want := len(fixture())

	// The encrypted backup, first: it wants a passphrase typed twice.
	picker.path = filepath.Join(dir, "backup.json")
	s.showExport()
	f := s.export
	if f == nil || f.format.Selected != "Countersign backup (encrypted with a passphrase)" {
		t.Fatalf("the Export dialog does not offer the backup first:\n%s", h.shown())
	}
	if f.warning.Visible() || !f.save.Disabled() {
		t.Error("the backup shows the plaintext warning, or can be saved without a passphrase")
	}
	test.Type(f.pass, "correct horse")
	test.Type(f.repeat, "correct hors")
	if !f.save.Disabled() {
		t.Error("two different passphrases can be saved")
	}
	test.Type(f.repeat, "e")
	test.Tap(f.save)
	h.main.pending.Wait()
	data, err := os.ReadFile(picker.path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := transfer.Import(data, transfer.Options{Password: []byte("correct horse")})
	if err != nil || res.Format != transfer.FormatBackup || len(res.Accounts) != want {
		t.Fatalf("the backup imports as %v %d accounts (%v), want %d", res.Format, len(res.Accounts), err, want)
	}
	if got := h.main.toast.visibleText(); got != fmt.Sprintf("Exported %d accounts to backup.json", want) {
		t.Errorf("toast %q", got)
	}

	// Aegis, in plaintext: the dialog says so before it is written.
	picker.path = filepath.Join(dir, "aegis.json")
	s.showExport()
	s.export.format.SetSelected("Aegis (plaintext)")
	if !s.export.warning.Visible() || !strings.Contains(h.shown(), "The file holds every account's secret in plaintext") {
		t.Errorf("the plaintext export does not warn:\n%s", h.shown())
	}
	test.Tap(s.export.save)
	h.main.pending.Wait()
	if fi, err := os.Stat(picker.path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export %v (%v), want a file readable by its owner only", fi, err)
	}
	data, _ = os.ReadFile(picker.path)
	if res, err := transfer.Import(data, transfer.Options{}); err != nil || res.Format != transfer.FormatAegis || len(res.Accounts) != want {
		t.Errorf("the export imports as %v, %d accounts (%v), want Aegis with %d", res.Format, len(res.Accounts), err, want)
	}
	if strings.Join(picker.names, " ") != "countersign-backup.json aegis-export.json" {
		t.Errorf("names suggested %q", picker.names)
	}

	// A place that cannot be written: an error, and no file.
	picker.path = filepath.Join(dir, "no such folder", "codes.txt")
	s.showExport()
	s.export.format.SetSelected("otpauth URI list (plaintext)")
	test.Tap(s.export.save)
	h.main.pending.Wait()
	if !strings.Contains(h.shown(), "The accounts were not exported.") {
		t.Errorf("a failed write does not say so:\n%s", h.shown())
	}
	if _, err := os.Stat(filepath.Dir(picker.path)); !os.IsNotExist(err) {
		t.Errorf("the failed export left %v", err)
	}
}
