package fido

import (
	"errors"
	"fmt"
)

// Errors callers branch on. Their messages say what to do.
var (
	// ErrWrongPIN is a wrong PIN; a *WrongPINError says how many tries remain.
	ErrWrongPIN = errors.New("wrong PIN")
	// ErrPINAuthBlocked follows three wrong PINs in a row.
	ErrPINAuthBlocked = errors.New("too many wrong PINs in a row: remove the key and insert it again before trying once more")
	// ErrPINBlocked means no PIN tries are left.
	ErrPINBlocked = errors.New("the PIN is blocked after too many wrong PINs: only a reset of the key makes it usable again, and a reset erases every passkey on it")
	// ErrPINRequired means the operation needs the key's PIN.
	ErrPINRequired = errors.New("the key needs its PIN for this")
	// ErrPINNotSet means the operation needs a PIN and the key has none yet.
	ErrPINNotSet = errors.New("the key has no PIN yet: set one first")
	// ErrPINSet is returned by SetPIN on a key that already has a PIN.
	ErrPINSet = errors.New("the key already has a PIN: change it instead")
	// ErrPINPolicy is a PIN the key or the CTAP rules refuse.
	ErrPINPolicy = errors.New("PIN not accepted")
	// ErrResetNotAllowed is a reset asked too long after the key was plugged in.
	ErrResetNotAllowed = errors.New("the key refused the reset: a reset is only allowed within seconds of plugging the key in; remove it, insert it again and reset at once")
	// ErrTimeout means the key was not touched in time.
	ErrTimeout = errors.New("the key was not touched in time")
	// ErrNoCredentials means the key holds no matching credential.
	ErrNoCredentials = errors.New("no matching passkey on the key")
	// ErrNotSupported is an operation the key does not offer.
	ErrNotSupported = errors.New("the key does not support this")
	// ErrNoDevice is a configured device path with nothing behind it.
	ErrNoDevice = errors.New("no such device: is the key plugged in?")
	// ErrPermission is a key present but not openable; the error says the fix.
	ErrPermission = errors.New("permission denied")
	// ErrNotAllowed is an operation the key refused (for example a
	// credential excluded by the relying party).
	ErrNotAllowed = errors.New("the key refused the operation")
)

// WrongPINError is a wrong PIN with the number of tries left before the PIN
// is blocked (-1 when the key did not say).
type WrongPINError struct{ Retries int }

func (e *WrongPINError) Error() string {
	switch {
	case e.Retries < 0:
		return "wrong PIN"
	case e.Retries == 1:
		return "wrong PIN: 1 try left before the PIN is blocked"
	default:
		return fmt.Sprintf("wrong PIN: %d tries left before the PIN is blocked", e.Retries)
	}
}

func (e *WrongPINError) Is(target error) bool { return target == ErrWrongPIN }
