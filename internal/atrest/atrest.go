// Package atrest seals the secrets countersign-server keeps in its database
// (TOTP seeds, HMAC keys, ID-token signing keys) with a key kept outside it:
// a file, typically a systemd credential. Each sealed value is AES-256-GCM
// under a key derived with HKDF-SHA-256 from the secrets key, and its
// additional data names the table, column and row it belongs to, so a
// sealed value copied to another row or column does not open.
//
// It is not the desktop vault's encryption (package vault) nor the sealing
// of shared authenticators to an approver's public key (package sealed).
package atrest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// KeySize is the size of a secrets key in bytes.
const KeySize = 32

// Errors of Open; callers branch on them with errors.Is.
var (
	// ErrOtherKey: the value was sealed under another secrets key.
	ErrOtherKey = errors.New("sealed under another secrets key")
	// ErrNotSealed: the value is not a sealed value of this package (too
	// short or of an unknown version).
	ErrNotSealed = errors.New("not a sealed value")
	// ErrTampered: the key is right but the value or its place (the
	// additional data) is not the one it was sealed with.
	ErrTampered = errors.New("sealed value altered or moved")
)

// version is the first byte of every sealed value.
const version = 1

const (
	idSize    = 8
	nonceSize = 12
	headSize  = 1 + idSize + nonceSize
)

// Key is a secrets key ready to seal and open. Build it with NewKey,
// ParseKey or LoadKeyFile.
type Key struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// NewKey makes a Key of KeySize raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secrets key has %d bytes, want %d", len(raw), KeySize)
	}
	enc, err := hkdf.Key(sha256.New, raw, nil, "countersign secrets at rest v1: aes-256-gcm", 32)
	if err != nil {
		return nil, err
	}
	id, err := hkdf.Key(sha256.New, raw, nil, "countersign secrets at rest v1: key id", idSize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Key{aead: aead}
	copy(k.id[:], id)
	return k, nil
}

// ParseKey reads a key file's contents: the standard base64 of KeySize
// bytes (as `openssl rand -base64 32` writes it), surrounding white space
// ignored.
func ParseKey(text []byte) (*Key, error) {
	t := bytes.TrimSpace(text)
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(raw, t)
	if err != nil || n != KeySize {
		return nil, fmt.Errorf("a secrets key is %d random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)", KeySize)
	}
	return NewKey(raw[:n])
}

// LoadKeyFile reads the key file at path.
func LoadKeyFile(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// CreateKeyFile makes a new random key from rand and writes it to path,
// readable by its owner only. It never replaces a file: an existing path is
// an error (fs.ErrExist in the chain).
func CreateKeyFile(path string, rand io.Reader) (*Key, error) {
	raw := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, raw); err != nil {
		return nil, fmt.Errorf("make a secrets key: %w", err)
	}
	k, err := NewKey(raw)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write secrets key %s: %w", path, err)
	}
	return k, nil
}

// ID names the key without giving it away: 16 hex digits derived from it.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Seal encrypts plaintext bound to place, the parts that name where it is
// stored (e.g. "methods.secret", the row's id).
func (k *Key) Seal(rand io.Reader, plaintext []byte, place ...string) ([]byte, error) {
	out := make([]byte, headSize, headSize+len(plaintext)+k.aead.Overhead())
	out[0] = version
	copy(out[1:], k.id[:])
	if _, err := io.ReadFull(rand, out[1+idSize:headSize]); err != nil {
		return nil, fmt.Errorf("seal: read random: %w", err)
	}
	return k.aead.Seal(out, out[1+idSize:headSize], plaintext, additional(out[:1+idSize], place)), nil
}

// Open decrypts what Seal made for the same place.
func (k *Key) Open(sealed []byte, place ...string) ([]byte, error) {
	if len(sealed) < headSize+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrNotSealed
	}
	if !bytes.Equal(sealed[1:1+idSize], k.id[:]) {
		return nil, fmt.Errorf("%w (key id %x, this key is %s)", ErrOtherKey, sealed[1:1+idSize], k.ID())
	}
	plain, err := k.aead.Open(nil, sealed[1+idSize:headSize], sealed[headSize:], additional(sealed[:1+idSize], place))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// additional is the AEAD's additional data: the header, then each part of
// the place length-prefixed so no two lists of parts collide.
func additional(head []byte, place []string) []byte {
	ad := append([]byte("countersign at rest\x00"), head...)
	for _, p := range place {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(p)))
		ad = append(ad, p...)
	}
	return ad
}
