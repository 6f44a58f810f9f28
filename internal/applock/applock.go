// Package applock is the logic of Countersign's optional app passphrase: an
// Argon2id verifier of the passphrase, a limit on wrong attempts that grows
// the wait after each one, and the idle timer behind auto-lock. It also
// watches the desktop's screen saver over D-Bus, so that the app can lock
// when the screen does.
//
// What the lock is, and what it is not: it hides the codes in Countersign's
// window (and tray) from someone at an unattended, unlocked desktop. It does
// not encrypt the vault any further — the vault's key stays in the OS
// keyring, and anyone who can run programs as the user can read the vault
// with `countersign code` whether the window is locked or not. The verifier
// (an Argon2id hash with its salt and parameters, never the passphrase) may
// therefore be kept beside the app's other preferences: whoever can change
// that file can already read the vault.
//
// Nothing here draws anything; package ui shows the lock screen.
package applock

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters. They are stored with each hash,
// so that hashes made with older parameters still verify after they change.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are used for new passphrases: 64 MiB, 3 passes, 4 threads
// (about a tenth of a second on a laptop).
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4}

const (
	saltLen = 16
	hashLen = 32
)

// ErrEmptyPassphrase is returned for an empty passphrase, which would lock
// nothing.
var ErrEmptyPassphrase = errors.New("the passphrase is empty")

// ErrMalformed is returned by Parse for text that is not a verifier.
var ErrMalformed = errors.New("malformed passphrase verifier")

// Verifier checks a passphrase without holding it: the Argon2id hash of the
// passphrase, its salt and the parameters it was made with.
type Verifier struct {
	params Params
	salt   []byte
	hash   []byte
}

// New makes the verifier of passphrase with a fresh salt from random.
func New(passphrase string, p Params, random io.Reader) (Verifier, error) {
	if passphrase == "" {
		return Verifier{}, ErrEmptyPassphrase
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return Verifier{}, fmt.Errorf("invalid Argon2id parameters %+v", p)
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return Verifier{}, fmt.Errorf("failed to read a salt: %w", err)
	}
	return Verifier{params: p, salt: salt, hash: derive(passphrase, salt, p, hashLen)}, nil
}

func derive(passphrase string, salt []byte, p Params, n uint32) []byte {
	return argon2.IDKey([]byte(passphrase), salt, p.Time, p.Memory, p.Threads, n)
}

// Check reports whether passphrase is the one the verifier was made from,
// comparing in constant time.
func (v Verifier) Check(passphrase string) bool {
	if len(v.hash) == 0 {
		return false
	}
	got := derive(passphrase, v.salt, v.params, uint32(len(v.hash)))
	return subtle.ConstantTimeCompare(got, v.hash) == 1
}

// Params are the parameters the verifier was made with.
func (v Verifier) Params() Params { return v.params }

// IsZero reports whether v is the zero Verifier (no passphrase).
func (v Verifier) IsZero() bool { return len(v.hash) == 0 }

// String encodes the verifier in the PHC string format that libargon2 uses:
// $argon2id$v=19$m=65536,t=3,p=4$SALT$HASH (unpadded base64).
func (v Verifier) String() string {
	if v.IsZero() {
		return ""
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		v.params.Memory, v.params.Time, v.params.Threads, b64.EncodeToString(v.salt), b64.EncodeToString(v.hash))
}

// Parse reads a verifier written by String.
func Parse(s string) (Verifier, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Verifier{}, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Verifier{}, fmt.Errorf("%w: version %q", ErrMalformed, parts[2])
	}
	var p Params
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || n != 3 ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return Verifier{}, fmt.Errorf("%w: parameters %q", ErrMalformed, parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Verifier{}, fmt.Errorf("%w: salt", ErrMalformed)
	}
	hash, err := b64.DecodeString(parts[5])
	if err != nil || len(hash) < 16 {
		return Verifier{}, fmt.Errorf("%w: hash", ErrMalformed)
	}
	return Verifier{params: p, salt: salt, hash: hash}, nil
}
