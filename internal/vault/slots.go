package vault

// Key slots: more ways than the keyring to open a vault. The vault's data
// key never changes; a slot is a copy of it wrapped for one opener, kept in
// a file of its own beside the vault (SlotsFileName). Adding or removing a
// slot rewrites only that file, atomically; the accounts' ciphertext is
// never touched. The keyring stays the everyday opener; a slot is for the
// day it is gone (a new machine, a reinstalled desktop).
//
// A recovery slot is the data key encrypted with age (filippo.io/age) to
// an X25519 recipient whose identity — the recovery key — the person keeps
// on paper (the emergency kit). Its plaintext names the vault it belongs to,
// so a key for another vault is refused.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/keyring"
)

// SlotsFileName is the key slots file's name in the vault's directory.
const SlotsFileName = "vault-slots.json"

// SlotRecovery is the kind of a slot opened by the recovery key.
const SlotRecovery = "recovery"

// Slot is one more way to open the vault.
type Slot struct {
	Kind        string    `json:"kind"`                // SlotRecovery or SlotSecurityKey
	Recipient   string    `json:"recipient,omitempty"` // the recovery key's public half, "age1…"
	SecurityKey           // a security key slot's (slots_fido.go)
	Created     time.Time `json:"created"`
	Wrapped     string    `json:"wrapped"` // base64 of the wrapped data key
}

// slotsFile is SlotsFileName's contents.
type slotsFile struct {
	Version int    `json:"version"`
	VaultID string `json:"vault_id"` // hex of the vault file's id
	Slots   []Slot `json:"slots"`
}

// NeedsSlot says whether err — from Open — is one a key slot answers: the
// keyring holds no key for the vault (a new machine, a reinstalled
// desktop), or there is no usable keyring (none running, locked, access
// denied). A slot then opens the vault; when the keyring cannot take the
// key back, it stays open for that run only (ErrNotResealed).
func NeedsSlot(err error) bool {
	return errors.Is(err, ErrKeyMissing) || errors.Is(err, keyring.ErrUnavailable)
}

// Errors of the key slots.
var (
	// ErrNoSlot means the vault has no slot the given opener fits.
	ErrNoSlot = errors.New("no key slot of this vault opens with it")
	// ErrNotResealed comes with an open vault: a slot opened it, but its
	// key could not be stored in the keyring again, so the next start needs
	// the slot again.
	ErrNotResealed = errors.New("the vault is open, but its key could not be stored in the keyring")
)

const wrapPrefix = "countersign-vault-key 1\n"

// wrapPlain is what a slot wraps: the vault's id and its key.
func wrapPlain(id, key []byte) []byte {
	return []byte(wrapPrefix + hex.EncodeToString(id) + "\n" + base64.StdEncoding.EncodeToString(key) + "\n")
}

// unwrapPlain checks a slot's plaintext is the key of the vault id.
func unwrapPlain(plain, id []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(string(plain), wrapPrefix)
	if !ok {
		return nil, errors.New("the slot does not hold a vault key")
	}
	gotID, k, _ := strings.Cut(strings.TrimSuffix(rest, "\n"), "\n")
	if gotID != hex.EncodeToString(id) {
		return nil, errors.New("the slot holds the key of another vault")
	}
	key, err := base64.StdEncoding.DecodeString(k)
	if err != nil || len(key) != 32 {
		return nil, errors.New("the slot's key is malformed")
	}
	return key, nil
}

func readSlots(dir string) (*slotsFile, error) {
	data, err := os.ReadFile(filepath.Join(dir, SlotsFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return &slotsFile{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the key slots: %w", err)
	}
	var f slotsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read the key slots: %s is damaged: %w", filepath.Join(dir, SlotsFileName), err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("the key slots file is version %d, newer than this Countersign understands; upgrade it", f.Version)
	}
	return &f, nil
}

func writeSlots(dir string, f *slotsFile) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, SlotsFileName), append(data, '\n'), 0o600); err != nil {
		return writeError(dir, err)
	}
	return nil
}

// Slots lists the vault's key slots (the keyring is not one of them).
func (v *Vault) Slots() ([]Slot, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f, err := readSlots(v.dir)
	if err != nil {
		return nil, err
	}
	if v.id != nil && f.VaultID != "" && f.VaultID != hex.EncodeToString(v.id) {
		return nil, nil // another vault's slots: none of this one's
	}
	return f.Slots, nil
}

// RecoveryRecipient is the public half of the vault's recovery key in dir,
// "" when it has none. Backups are encrypted to it; reading it needs no key.
func RecoveryRecipient(dir string) (string, error) {
	f, err := readSlots(dir)
	if err != nil {
		return "", err
	}
	for _, s := range f.Slots {
		if s.Kind == SlotRecovery {
			return s.Recipient, nil
		}
	}
	return "", nil
}

// SetRecovery wraps the data key to the recovery key's recipient and keeps
// it as the vault's recovery slot, replacing an earlier one (a vault has one
// recovery key: the newest kit is the one that works). A vault not yet
// written is written first, empty, so that it has a key to wrap.
func (v *Vault) SetRecovery(recipient *age.X25519Recipient) error {
	return v.addSlot(func(f *slotsFile) error {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, recipient)
		if err != nil {
			return fmt.Errorf("wrap the vault key: %w", err)
		}
		plain := wrapPlain(v.id, v.key)
		defer clear(plain)
		if _, err := w.Write(plain); err != nil {
			return fmt.Errorf("wrap the vault key: %w", err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("wrap the vault key: %w", err)
		}
		kept := f.Slots[:0]
		for _, s := range f.Slots {
			if s.Kind != SlotRecovery {
				kept = append(kept, s)
			}
		}
		f.Slots = append(kept, Slot{Kind: SlotRecovery, Recipient: recipient.String(), Created: v.now().UTC(),
			Wrapped: base64.StdEncoding.EncodeToString(buf.Bytes())})
		return nil
	})
}

// addSlot runs fn on the key slots under the vault's lock, with v.id and
// v.key set, and writes them. A vault not yet written is written first,
// empty, so that it has a key to wrap; the slots of a vault that is gone
// are dropped (they open nothing).
func (v *Vault) addSlot(fn func(*slotsFile) error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	unlock, err := lockFile(filepath.Join(v.dir, lockName), v.lockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := v.refresh(); err != nil {
		return err
	}
	if v.key == nil {
		if err := v.write(v.accounts); err != nil {
			return err
		}
	}
	f, err := readSlots(v.dir)
	if err != nil {
		return err
	}
	id := hex.EncodeToString(v.id)
	if f.VaultID != id {
		f = &slotsFile{Version: 1}
	}
	f.VaultID = id
	if err := fn(f); err != nil {
		return err
	}
	return writeSlots(v.dir, f)
}

// RemoveRecovery drops the recovery slot: the recovery key opens the vault
// no more (backups made for it still open with it).
func (v *Vault) RemoveRecovery() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	unlock, err := lockFile(filepath.Join(v.dir, lockName), v.lockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := readSlots(v.dir)
	if err != nil {
		return err
	}
	kept := f.Slots[:0]
	for _, s := range f.Slots {
		if s.Kind != SlotRecovery {
			kept = append(kept, s)
		}
	}
	f.Slots = kept
	return writeSlots(v.dir, f)
}

// OpenWithRecovery opens the vault in dir with its recovery key, for the
// day the keyring does not hold its key, and stores the key in the keyring
// again (opts.Keys), so that the next Open needs nothing more. The file is
// never changed. When the keyring refuses the key, the vault is returned
// open all the same, with an error wrapping ErrNotResealed.
func OpenWithRecovery(dir string, opts Options, identity *age.X25519Identity) (*Vault, error) {
	data, h, f, err := readForSlots(dir)
	if err != nil {
		return nil, err
	}
	want := identity.Recipient().String()
	for _, s := range f.Slots {
		if s.Kind != SlotRecovery || s.Recipient != want {
			continue
		}
		wrapped, err := base64.StdEncoding.DecodeString(s.Wrapped)
		if err != nil {
			return nil, fmt.Errorf("the recovery slot is damaged: %w", err)
		}
		r, err := age.Decrypt(bytes.NewReader(wrapped), identity)
		if err != nil {
			return nil, fmt.Errorf("the recovery slot does not open with this key: %w", err)
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("the recovery slot is damaged: %w", err)
		}
		key, err := unwrapPlain(plain, h.id)
		clear(plain)
		if err != nil {
			return nil, err
		}
		return openResealed(dir, opts, data, h, key)
	}
	return nil, fmt.Errorf("%w: this recovery key is not the one of the vault in %s (its kit may be older: the newest kit is the one that works)", ErrNoSlot, dir)
}

// readForSlots reads the vault file in dir and its key slots, which must
// be this vault's.
func readForSlots(dir string) ([]byte, header, *slotsFile, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, header{}, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	h, err := parseHeader(data)
	if err != nil {
		return nil, header{}, nil, fmt.Errorf("%w: %s: %v (the file was left as it is)", ErrUnreadable, path, err)
	}
	f, err := readSlots(dir)
	if err != nil {
		return nil, header{}, nil, err
	}
	if f.VaultID != hex.EncodeToString(h.id) {
		return nil, header{}, nil, fmt.Errorf("%w: the key slots in %s belong to another vault", ErrNoSlot, dir)
	}
	return data, h, f, nil
}

// openResealed opens the vault file data with the key a slot gave and
// stores the key in the keyring again. When the keyring refuses it, the
// vault is returned open all the same, with an error wrapping
// ErrNotResealed.
func openResealed(dir string, opts Options, data []byte, h header, key []byte) (*Vault, error) {
	if _, err := open(data, h, key); err != nil {
		return nil, fmt.Errorf("%w: %s: %v (the file was left as it is)", ErrUnreadable, filepath.Join(dir, FileName), err)
	}
	v, err := openWith(dir, opts, h.id, key)
	if err != nil {
		return nil, err
	}
	if err := opts.Keys.Set(keyName(h.id), base64.StdEncoding.EncodeToString(key)); err != nil {
		return v, fmt.Errorf("%w: %w", ErrNotResealed, err)
	}
	return v, nil
}
