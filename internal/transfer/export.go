package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/vault"
)

// exportFormat is a format Export writes.
type exportFormat struct {
	format    Format
	plaintext bool   // the file holds the secrets readable
	name      string // a file name to suggest
}

var exportFormats = []exportFormat{
	{FormatBackup, false, "countersign-backup.json"},
	{FormatAegis, true, "aegis-export.json"},
	{FormatURIs, true, "otpauth-uris.txt"},
}

// PlaintextWarning is what an export in plaintext means, said wherever one
// is written.
const PlaintextWarning = "the file holds every account's secret in plaintext: anyone who reads it can make your codes; keep it safe and delete it when done"

// ExportFormats lists the formats Export writes, the encrypted one first.
func ExportFormats() []Format {
	out := make([]Format, len(exportFormats))
	for i, ef := range exportFormats {
		out[i] = ef.format
	}
	return out
}

func lookupExport(f Format) (exportFormat, bool) {
	for _, ef := range exportFormats {
		if ef.format == f {
			return ef, true
		}
	}
	return exportFormat{}, false
}

// Plaintext reports whether an export in f holds the secrets readable.
func (f Format) Plaintext() bool {
	ef, ok := lookupExport(f)
	return !ok || ef.plaintext
}

// ExportName is a file name to suggest for an export in f.
func (f Format) ExportName() string {
	if ef, ok := lookupExport(f); ok {
		return ef.name
	}
	return "export"
}

// ParseExportFormat reads the name of a format Export writes.
func ParseExportFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := lookupExport(f); ok {
		return f, nil
	}
	names := make([]string, len(exportFormats))
	for i, ef := range exportFormats {
		names[i] = string(ef.format)
	}
	return "", fmt.Errorf("unknown export format %q (want %s)", s, strings.Join(names, ", "))
}

// Export writes accounts to w in f; passphrase encrypts FormatBackup and is
// not used by the others; rand supplies salts, nonces and IDs.
func Export(w io.Writer, f Format, accounts []vault.Account, passphrase []byte, rand io.Reader) error {
	switch f {
	case FormatURIs:
		return ExportURIs(w, accounts)
	case FormatAegis:
		return ExportAegis(w, accounts, rand)
	case FormatBackup:
		return ExportBackup(w, accounts, passphrase, rand)
	}
	_, err := ParseExportFormat(string(f))
	return err
}

// ExportFile writes the export to path, readable by its owner only and
// atomically: the file is whole or not there (or as it was). It refuses
// to write over vaultPath, the vault's own file.
func ExportFile(path, vaultPath string, f Format, accounts []vault.Account, passphrase []byte, rand io.Reader) error {
	if abs, _ := filepath.Abs(path); abs == vaultPath {
		return errors.New("refusing to write an export over the vault itself")
	}
	var buf bytes.Buffer
	if err := Export(&buf, f, accounts, passphrase, rand); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
