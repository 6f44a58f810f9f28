package fido

import (
	"fmt"
	"unicode/utf8"
)

// CheckPIN applies CTAP's PIN rules before a key is asked: valid UTF-8, at
// least minLen code points (DefaultMinPINLength when minLen < 1), at most
// MaxPINBytes bytes.
func CheckPIN(pin string, minLen int) error {
	if minLen < 1 {
		minLen = DefaultMinPINLength
	}
	switch {
	case !utf8.ValidString(pin):
		return fmt.Errorf("%w: it is not valid UTF-8 text", ErrPINPolicy)
	case utf8.RuneCountInString(pin) < minLen:
		return fmt.Errorf("%w: it must be at least %d characters long", ErrPINPolicy, minLen)
	case len(pin) > MaxPINBytes:
		return fmt.Errorf("%w: it must be at most %d bytes long (fewer characters outside ASCII)", ErrPINPolicy, MaxPINBytes)
	}
	return nil
}
