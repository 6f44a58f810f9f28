// Package backup writes and reads Countersign's automatic backups: every
// account of the vault in a documented JSON file (see BACKUP.md in package
// transfer, "Automatic backups"), encrypted with age to the recovery key's
// public recipient. Writing needs no secret of the person's — backups run
// unattended, while the window is locked — and the standard age tool opens
// them with the recovery key: `age -d -i key.txt countersign-….age`.
//
// The package works on files in a folder the caller names; it reads no
// clock, keyring or settings of its own.
package backup

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// FormatName names the plaintext's format, its "format" field.
const FormatName = "countersign-accounts"

// Prefix and Ext make a backup's file name: countersign-20261207T081500Z.age.
const (
	Prefix     = "countersign-"
	Ext        = ".age"
	timeLayout = "20060102T150405Z"
)

// File is a backup's plaintext.
type File struct {
	Format   string    `json:"format"`  // FormatName
	Version  int       `json:"version"` // 1
	Created  time.Time `json:"created"`
	Accounts []Entry   `json:"accounts"`
}

// Entry is one account: every field the vault keeps, and its otpauth://
// URI for any other app.
type Entry struct {
	URI       string              `json:"uri"`
	Type      string              `json:"type"` // "totp" or "hotp"
	Issuer    string              `json:"issuer,omitempty"`
	Name      string              `json:"name"`
	Secret    string              `json:"secret"` // base32, RFC 4648, no padding
	Algorithm string              `json:"algorithm"`
	Digits    int                 `json:"digits"`
	Period    int                 `json:"period,omitempty"`
	Counter   uint64              `json:"counter,omitempty"`
	Encoder   string              `json:"encoder,omitempty"` // "steam" for Steam Guard codes
	Extra     map[string][]string `json:"extra,omitempty"`
	Tags      []string            `json:"tags,omitempty"`
	Pinned    bool                `json:"pinned,omitempty"`
	Notes     string              `json:"notes,omitempty"`
	Created   time.Time           `json:"created"`
	Modified  time.Time           `json:"modified"`
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Marshal is the plaintext of a backup of accounts made at now.
func Marshal(accounts []vault.Account, now time.Time) ([]byte, error) {
	f := File{Format: FormatName, Version: 1, Created: now.UTC(), Accounts: make([]Entry, 0, len(accounts))}
	for _, a := range accounts {
		k := a.Key.Normalize()
		f.Accounts = append(f.Accounts, Entry{
			URI: k.URI(), Type: string(k.Type), Issuer: k.Issuer, Name: k.Name, Secret: b32.EncodeToString(k.Secret),
			Algorithm: string(k.Algorithm), Digits: k.Digits, Period: k.Period, Counter: k.Counter, Encoder: k.Encoder,
			Extra: k.Extra, Tags: a.Tags, Pinned: a.Pinned, Notes: a.Notes, Created: a.Created, Modified: a.Modified,
		})
	}
	return json.MarshalIndent(f, "", "  ")
}

// Unmarshal reads a backup's plaintext; every account is checked as an
// import is, and one bad entry refuses the whole file.
func Unmarshal(data []byte) ([]vault.Account, error) {
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("the backup's contents are not valid JSON: %w", err)
	}
	if f.Format != FormatName {
		return nil, fmt.Errorf("the backup's contents are not a Countersign backup (format %q)", f.Format)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("the backup is version %d, newer than this Countersign understands; upgrade it", f.Version)
	}
	out := make([]vault.Account, 0, len(f.Accounts))
	for i, e := range f.Accounts {
		secret, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(e.Secret, "=")))
		if err != nil {
			return nil, fmt.Errorf("account %d of the backup: the secret is not base32", i+1)
		}
		k := otp.Key{Type: otp.Type(e.Type), Issuer: e.Issuer, Name: e.Name, Secret: secret, Algorithm: otp.Algorithm(e.Algorithm),
			Digits: e.Digits, Period: e.Period, Counter: e.Counter, Encoder: e.Encoder, Extra: e.Extra}.Normalize()
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("account %d of the backup (%s): %w", i+1, e.Name, err)
		}
		out = append(out, vault.Account{Key: k, Tags: e.Tags, Pinned: e.Pinned, Notes: e.Notes, Created: e.Created, Modified: e.Modified})
	}
	return out, nil
}

// Name is the file name of a backup made at t.
func Name(t time.Time) string { return Prefix + t.UTC().Format(timeLayout) + Ext }

// Write encrypts a backup of accounts made at now to recipient ("age1…")
// and writes it to dir atomically, as Name(now). It returns the path.
func Write(dir, recipient string, accounts []vault.Account, now time.Time) (string, error) {
	r, err := age.ParseX25519Recipient(recipient)
	if err != nil {
		return "", fmt.Errorf("the recovery key's recipient %q is not valid: %w", recipient, err)
	}
	plain, err := Marshal(accounts, now)
	if err != nil {
		return "", err
	}
	defer clear(plain)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return "", fmt.Errorf("encrypt the backup: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return "", fmt.Errorf("encrypt the backup: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encrypt the backup: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the backup folder: %w", err)
	}
	path := filepath.Join(dir, Name(now))
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write the backup to %s: %w", dir, err)
	}
	return path, nil
}

// Read decrypts and reads a backup with the recovery key.
func Read(r io.Reader, identity age.Identity) ([]vault.Account, error) {
	d, err := age.Decrypt(r, identity)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, errors.New("this recovery key does not open the backup: it was made for another recovery key (an older or newer kit)")
	case err != nil:
		return nil, fmt.Errorf("the file is not an age-encrypted backup, or it is damaged: %w", err)
	}
	plain, err := io.ReadAll(d)
	if err != nil {
		return nil, fmt.Errorf("the backup is damaged: %w", err)
	}
	defer clear(plain)
	return Unmarshal(plain)
}

// Info is a backup file in a folder.
type Info struct {
	Path string
	At   time.Time // when it was made, from its name
}

// List is the backups in dir, newest first; other files are left out.
func List(dir string) ([]Info, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the backup folder: %w", err)
	}
	var out []Info
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), Prefix)
		if !ok || e.IsDir() {
			continue
		}
		stamp, ok = strings.CutSuffix(stamp, Ext)
		if !ok {
			continue
		}
		at, err := time.Parse(timeLayout, stamp)
		if err != nil {
			continue
		}
		out = append(out, Info{Path: filepath.Join(dir, e.Name()), At: at})
	}
	slices.SortFunc(out, func(a, b Info) int { return b.At.Compare(a.At) })
	return out, nil
}

// Prune removes all but the newest keep backups in dir (keep ≥ 1) and
// returns the removed paths. Only files named like backups are touched.
func Prune(dir string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("keep at least one backup, not %d", keep)
	}
	all, err := List(dir)
	if err != nil || len(all) <= keep {
		return nil, err
	}
	var gone []string
	for _, b := range all[keep:] {
		if err := os.Remove(b.Path); err != nil {
			return gone, fmt.Errorf("remove an old backup: %w", err)
		}
		gone = append(gone, b.Path)
	}
	return gone, nil
}

// ConfigFileName is the backup settings' file in the vault's folder,
// shared by the window's Settings and the command line.
const ConfigFileName = "backup.json"

// Config is when and where backups are made.
type Config struct {
	Dir         string `json:"dir,omitempty"`          // "" for DefaultDir
	AfterChange bool   `json:"after_change,omitempty"` // a backup after every change to the accounts
	Daily       bool   `json:"daily,omitempty"`        // a backup each day the window runs
	Keep        int    `json:"keep,omitempty"`         // the newest backups kept; 0 for DefaultKeep
}

// DefaultKeep is how many backups are kept unless the settings say.
const DefaultKeep = 30

// StaleAfter is when the window reminds people their last backup is old.
const StaleAfter = 7 * 24 * time.Hour

// Auto says whether any automatic backup is on.
func (c Config) Auto() bool { return c.AfterChange || c.Daily }

// Folder is where backups go: the chosen folder, or backups/ in home.
func (c Config) Folder(home string) string {
	if c.Dir != "" {
		return c.Dir
	}
	return filepath.Join(home, "backups")
}

// Kept is how many backups are kept.
func (c Config) Kept() int {
	if c.Keep < 1 {
		return DefaultKeep
	}
	return c.Keep
}

// LoadConfig reads the backup settings in home; none is the zero Config.
func LoadConfig(home string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(home, ConfigFileName))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read the backup settings: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("the backup settings in %s are damaged: %w", filepath.Join(home, ConfigFileName), err)
	}
	return c, nil
}

// SaveConfig writes the backup settings in home.
func SaveConfig(home string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(home, ConfigFileName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save the backup settings: %w", err)
	}
	return nil
}

// ErrNoRecoveryKey means backups cannot be made: they are encrypted to the
// recovery key, and the vault has none yet.
var ErrNoRecoveryKey = errors.New("set up a recovery key first: backups are encrypted to it (countersign recovery setup, or Settings → Recovery key)")

// Accounts is what a backup is made of: *vault.Vault, or the window's view
// of it.
type Accounts interface {
	Accounts() []vault.Account
}

// Now makes a backup of the vault in home into the configured folder and
// keeps the newest Config.Kept() there. It returns the new file's path.
func Now(home string, v Accounts, now time.Time) (string, error) {
	recipient, err := vault.RecoveryRecipient(home)
	if err != nil {
		return "", err
	}
	if recipient == "" {
		return "", ErrNoRecoveryKey
	}
	c, err := LoadConfig(home)
	if err != nil {
		return "", err
	}
	dir := c.Folder(home)
	path, err := Write(dir, recipient, v.Accounts(), now)
	if err != nil {
		return "", err
	}
	if _, err := Prune(dir, c.Kept()); err != nil {
		return path, err
	}
	return path, nil
}
