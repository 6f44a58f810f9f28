// Package applock is the logic of Countersign's optional app passphrase: an
// Argon2id verifier of the passphrase, a limit on wrong attempts that grows
// the wait after each one, and the idle timer behind auto-lock. It also
// watches the desktop's screen saver over D-Bus (on Windows, the
// workstation lock), so that the app can lock when the screen does.
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
	"errors"
	"fmt"
	"io"

	"github.com/countersign/countersign/internal/argon2id"
)

// Params are the Argon2id cost parameters. They are stored with each hash,
// so that hashes made with older parameters still verify after they change.
type Params = argon2id.Params

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

// ErrMalformed is wrapped by Parse's errors for text that is not a verifier,
// or one that asks for more than argon2id's bounds (a preferences file must
// not be able to make unlocking allocate gigabytes).
var ErrMalformed = argon2id.ErrMalformed

// Verifier checks a passphrase without holding it: the Argon2id hash of the
// passphrase, its salt and the parameters it was made with.
type Verifier struct {
	h argon2id.Hash
}

// New makes the verifier of passphrase with a fresh salt from random.
func New(passphrase string, p Params, random io.Reader) (Verifier, error) {
	if passphrase == "" {
		return Verifier{}, ErrEmptyPassphrase
	}
	h, err := argon2id.New([]byte(passphrase), p, saltLen, hashLen, random)
	if err != nil {
		return Verifier{}, fmt.Errorf("passphrase verifier: %w", err)
	}
	return Verifier{h: h}, nil
}

// Check reports whether passphrase is the one the verifier was made from,
// comparing in constant time.
func (v Verifier) Check(passphrase string) bool {
	return !v.IsZero() && v.h.Verify([]byte(passphrase))
}

// Params are the parameters the verifier was made with.
func (v Verifier) Params() Params { return v.h.Params }

// IsZero reports whether v is the zero Verifier (no passphrase).
func (v Verifier) IsZero() bool { return len(v.h.Key) == 0 }

// String encodes the verifier in the PHC string format that libargon2 uses:
// $argon2id$v=19$m=65536,t=3,p=4$SALT$HASH (unpadded base64).
func (v Verifier) String() string {
	if v.IsZero() {
		return ""
	}
	return v.h.String()
}

// Parse reads a verifier written by String.
func Parse(s string) (Verifier, error) {
	h, err := argon2id.Parse(s)
	if err != nil {
		return Verifier{}, err
	}
	return Verifier{h: h}, nil
}
