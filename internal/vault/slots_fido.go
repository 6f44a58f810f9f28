package vault

// Security key slots: the data key wrapped under a secret that only one
// FIDO2 security key gives, through its hmac-secret extension. The key
// derives the secret from a credential made for the vault and a salt kept
// in the slot (HMAC-SHA-256 under a random value the key keeps with the
// credential), the same every time; without the key, the slot is noise.
// This package never talks to a key: the caller (package fido) makes the
// credential and obtains the secret, and hands them here.
//
// A slot's wrapped key is XChaCha20-Poly1305 of wrapPlain(vault id, data
// key) under HKDF-SHA-256(secret, info "countersign vault slot"), with the
// vault id and the credential id as additional data, so a slot moved to
// another vault, or to another credential, opens nothing.

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"
)

// SlotSecurityKey is the kind of a slot opened by a FIDO2 security key.
const SlotSecurityKey = "fido2"

// SecurityKeySaltSize is the size of a security key slot's salt.
const SecurityKeySaltSize = 32

const (
	securityKeyInfo    = "countersign vault slot"
	securityKeySecret  = 32 // HMAC-SHA-256, what hmac-secret gives
	maxSecurityKeyName = 64
	maxCredentialID    = 1024
)

// SecurityKey is what a security key slot keeps besides the wrapped key:
// enough to ask the key for its secret again, and to name it.
type SecurityKey struct {
	// Name is the person's name for the key ("YubiKey on my keyring"),
	// unique among the vault's security keys.
	Name string `json:"name,omitempty"`
	// AAGUID names the key's model, for display.
	AAGUID string `json:"aaguid,omitempty"`
	// CredentialID is the credential made on the key for the vault (not
	// stored on the key: without it the key cannot give the secret).
	CredentialID []byte `json:"credential_id,omitempty"`
	// Salt is the random value the key's secret is derived from.
	Salt []byte `json:"salt,omitempty"`
	// UV is true when the credential was made with the key's PIN: the
	// secret comes only with the PIN.
	UV bool `json:"uv,omitempty"`
}

// ID is a short name of the slot for commands (12 hex digits of the
// SHA-256 of its credential id), "" for a slot that is not a key's.
func (k SecurityKey) ID() string {
	if len(k.CredentialID) == 0 {
		return ""
	}
	h := sha256.Sum256(k.CredentialID)
	return hex.EncodeToString(h[:6])
}

// Errors of the security key slots.
var (
	// ErrSlotExists means the vault has a slot with this name or this
	// credential already.
	ErrSlotExists = errors.New("the vault has this security key already")
	// ErrNotThisKey is what OpenWithSecurityKey's secret function returns
	// when the key at hand does not hold the slot's credential: the next
	// slot is tried.
	ErrNotThisKey = errors.New("this security key is not the one of this slot")
)

// SecurityKeySalt draws a salt for a new security key slot, from the
// vault's source of randomness.
func (v *Vault) SecurityKeySalt() ([]byte, error) {
	salt := make([]byte, SecurityKeySaltSize)
	if _, err := io.ReadFull(v.rand, salt); err != nil {
		return nil, fmt.Errorf("draw a salt: %w", err)
	}
	return salt, nil
}

// AddSecurityKeySlot wraps the data key under secret, the key's
// hmac-secret for k.CredentialID and k.Salt, and keeps it as a new slot.
// Several keys may each have a slot; a name or a credential already in a
// slot is refused (ErrSlotExists). A vault not yet written is written
// first, empty. The accounts' file is not touched.
func (v *Vault) AddSecurityKeySlot(k SecurityKey, secret []byte) (Slot, error) {
	k.Name = strings.TrimSpace(k.Name)
	if err := checkSecurityKey(k, secret); err != nil {
		return Slot{}, err
	}
	k.CredentialID, k.Salt = slices.Clone(k.CredentialID), slices.Clone(k.Salt)
	var added Slot
	err := v.addSlot(func(f *slotsFile) error {
		for _, s := range f.Slots {
			switch {
			case s.Kind != SlotSecurityKey:
			case strings.EqualFold(s.Name, k.Name):
				return fmt.Errorf("%w: a security key named %q opens it already; choose another name", ErrSlotExists, s.Name)
			case s.ID() == k.ID():
				return fmt.Errorf("%w: this credential is the slot %q already", ErrSlotExists, s.Name)
			}
		}
		wrapped, err := wrapSecurityKey(v.rand, v.id, v.key, k.CredentialID, secret)
		if err != nil {
			return err
		}
		added = Slot{Kind: SlotSecurityKey, SecurityKey: k, Created: v.now().UTC(), Wrapped: wrapped}
		f.Slots = append(f.Slots, added)
		return nil
	})
	if err != nil {
		return Slot{}, err
	}
	return added, nil
}

func checkSecurityKey(k SecurityKey, secret []byte) error {
	switch {
	case k.Name == "":
		return errors.New("a security key needs a name")
	case utf8.RuneCountInString(k.Name) > maxSecurityKeyName:
		return fmt.Errorf("a security key's name has at most %d characters", maxSecurityKeyName)
	case strings.ContainsFunc(k.Name, unicode.IsControl):
		return errors.New("a security key's name cannot hold control characters")
	case len(k.CredentialID) == 0 || len(k.CredentialID) > maxCredentialID:
		return fmt.Errorf("a security key's credential id has 1 to %d bytes", maxCredentialID)
	case len(k.Salt) != SecurityKeySaltSize:
		return fmt.Errorf("a security key's salt has %d bytes", SecurityKeySaltSize)
	case len(secret) != securityKeySecret:
		return fmt.Errorf("a security key's secret has %d bytes", securityKeySecret)
	}
	return nil
}

// DefaultSecurityKeyName is a name for a new security key slot: the key's
// model, numbered when a key of that name already opens the vault.
func DefaultSecurityKeyName(model string, slots []Slot) string {
	base := model
	if base == "" {
		base = "Security key"
	}
	taken := func(n string) bool {
		for _, s := range slots {
			if s.Kind == SlotSecurityKey && strings.EqualFold(s.Name, n) {
				return true
			}
		}
		return false
	}
	n := base
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s %d", base, i)
	}
	return n
}

// RemoveSlot drops the security key slot ref names, by name (any case) or
// by its ID or the start of it, and returns it: that key opens the vault no
// more. The recovery slot goes with RemoveRecovery.
func (v *Vault) RemoveSlot(ref string) (Slot, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Slot{}, fmt.Errorf("%w: name the security key to remove", ErrNotFound)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	unlock, err := lockFile(filepath.Join(v.dir, lockName), v.lockTimeout)
	if err != nil {
		return Slot{}, err
	}
	defer unlock()
	f, err := readSlots(v.dir)
	if err != nil {
		return Slot{}, err
	}
	match := -1
	for i, s := range f.Slots {
		if s.Kind != SlotSecurityKey {
			continue
		}
		if strings.EqualFold(s.Name, ref) || s.ID() == strings.ToLower(ref) {
			match = i
			break
		}
		if strings.HasPrefix(s.ID(), strings.ToLower(ref)) {
			if match >= 0 {
				return Slot{}, fmt.Errorf("%w %q: give more of the id", ErrAmbiguous, ref)
			}
			match = i
		}
	}
	if match < 0 {
		return Slot{}, fmt.Errorf("%w: no security key named %q or with id %q opens the vault", ErrNotFound, ref, ref)
	}
	gone := f.Slots[match]
	f.Slots = slices.Delete(f.Slots, match, match+1)
	return gone, writeSlots(v.dir, f)
}

// SecurityKeySlots lists the security key slots of the vault in dir, which
// needs no key: the window and the CLI offer a touch when there is one.
func SecurityKeySlots(dir string) ([]Slot, error) {
	if _, err := os.Stat(filepath.Join(dir, FileName)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	_, _, f, err := readForSlots(dir)
	if errors.Is(err, ErrNoSlot) {
		return nil, nil // another vault's slots
	}
	if err != nil {
		return nil, err
	}
	var keys []Slot
	for _, s := range f.Slots {
		if s.Kind == SlotSecurityKey {
			keys = append(keys, s)
		}
	}
	return keys, nil
}

// OpenWithSecurityKey opens the vault in dir with a security key, for the
// day the keyring does not hold its key, and stores the key in the keyring
// again (opts.Keys), as OpenWithRecovery does (and with the same
// ErrNotResealed rule). secret is asked for each security key slot in turn
// and returns the key's hmac-secret for the slot's credential and salt
// (with the PIN when the slot's UV says so), or an error wrapping
// ErrNotThisKey when the key at hand does not hold the credential: the
// next slot is then tried. Any other error ends the attempt. The file is
// never changed.
func OpenWithSecurityKey(dir string, opts Options, secret func(Slot) ([]byte, error)) (*Vault, error) {
	data, h, f, err := readForSlots(dir)
	if err != nil {
		return nil, err
	}
	tried := 0
	for _, s := range f.Slots {
		if s.Kind != SlotSecurityKey {
			continue
		}
		tried++
		sec, err := secret(s)
		if errors.Is(err, ErrNotThisKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		key, err := unwrapSecurityKey(s, h.id, sec)
		clear(sec)
		if err != nil {
			return nil, err
		}
		return openResealed(dir, opts, data, h, key)
	}
	if tried == 0 {
		return nil, fmt.Errorf("%w: no security key opens the vault in %s (add one with countersign recovery add-key)", ErrNoSlot, dir)
	}
	return nil, fmt.Errorf("%w: this security key is none of the %d that open the vault in %s", ErrNoSlot, tried, dir)
}

// securityKeyAEAD is the cipher of a slot whose key gave secret.
func securityKeyAEAD(secret []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, securityKeyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return chacha20poly1305.NewX(k)
}

func securityKeyAD(vaultID, credID []byte) []byte {
	return append(slices.Clone(vaultID), credID...)
}

// wrapSecurityKey seals the vault's key under secret: base64 of the nonce
// and the ciphertext.
func wrapSecurityKey(rand io.Reader, vaultID, key, credID, secret []byte) (string, error) {
	aead, err := securityKeyAEAD(secret)
	if err != nil {
		return "", fmt.Errorf("wrap the vault key: %w", err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return "", fmt.Errorf("wrap the vault key: %w", err)
	}
	plain := wrapPlain(vaultID, key)
	defer clear(plain)
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, securityKeyAD(vaultID, credID))), nil
}

// unwrapSecurityKey opens slot s with the secret its key gave.
func unwrapSecurityKey(s Slot, vaultID, secret []byte) ([]byte, error) {
	wrapped, err := base64.StdEncoding.DecodeString(s.Wrapped)
	if err != nil || len(wrapped) < chacha20poly1305.NonceSizeX {
		return nil, fmt.Errorf("the security key slot %q is damaged", s.Name)
	}
	aead, err := securityKeyAEAD(secret)
	if err != nil {
		return nil, err
	}
	n := chacha20poly1305.NonceSizeX
	plain, err := aead.Open(nil, wrapped[:n], wrapped[n:], securityKeyAD(vaultID, s.CredentialID))
	if err != nil {
		return nil, fmt.Errorf("%w: the security key %q answered, but its secret does not open its slot (the key was reset, or the slot is damaged)", ErrNoSlot, s.Name)
	}
	defer clear(plain)
	return unwrapPlain(plain, vaultID)
}
