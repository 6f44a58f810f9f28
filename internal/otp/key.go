package otp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Type is the kind of one-time password.
type Type string

const (
	TOTP Type = "totp" // time-based, RFC 6238
	HOTP Type = "hotp" // counter-based, RFC 4226
)

// Algorithm is the HMAC hash a key uses.
type Algorithm string

const (
	SHA1   Algorithm = "SHA1"
	SHA256 Algorithm = "SHA256"
	SHA512 Algorithm = "SHA512"
)

// EncoderSteam marks a key whose codes are Steam Guard codes: five characters
// from Steam's alphabet instead of decimal digits.
const EncoderSteam = "steam"

// Defaults of the Key Uri Format for parameters a URI leaves out.
const (
	DefaultDigits = 6
	DefaultPeriod = 30
	steamDigits   = 5
)

// Errors a caller may branch on. Parsing wraps them with the part that was wrong.
var (
	ErrMissingSecret = errors.New("missing secret")
	ErrBadSecret     = errors.New("secret is not valid base32")
	ErrBadDigits     = errors.New("digits must be 6, 7 or 8")
	ErrBadPeriod     = errors.New("period must be between 1 and 86400 seconds")
	ErrBadAlgorithm  = errors.New("algorithm must be SHA1, SHA256 or SHA512")
	ErrUnknownType   = errors.New("type must be totp or hotp")
	ErrBadCounter    = errors.New("counter must be a non-negative integer")
	ErrMissingName   = errors.New("missing account name")
	ErrBadEncoder    = errors.New("encoder must be steam or left out")
)

// Key is everything needed to compute an account's codes, plus how to label it.
// The zero values of Algorithm, Digits and Period mean the URI defaults.
type Key struct {
	Type      Type      `json:"type"`
	Issuer    string    `json:"issuer,omitempty"`
	Name      string    `json:"name"`
	Secret    []byte    `json:"secret"`
	Algorithm Algorithm `json:"algorithm,omitempty"`
	Digits    int       `json:"digits,omitempty"`
	Period    int       `json:"period,omitempty"`  // seconds; TOTP only
	Counter   uint64    `json:"counter,omitempty"` // next counter to use; HOTP only
	Encoder   string    `json:"encoder,omitempty"` // "" or EncoderSteam
	// Extra holds URI parameters this package does not interpret (image, color,
	// …), kept so that a key read and written again loses nothing.
	Extra map[string][]string `json:"extra,omitempty"`
}

// Normalize fills in defaults and canonical spellings: the algorithm in upper
// case, the URI defaults for missing digits and period, Steam's five
// characters for Steam keys, no surrounding spaces in the issuer and name, and
// no period on HOTP keys nor counter on TOTP keys.
func (k Key) Normalize() Key {
	k.Type = Type(strings.ToLower(string(k.Type)))
	k.Issuer = strings.TrimSpace(k.Issuer)
	k.Name = strings.TrimSpace(k.Name)
	k.Algorithm = Algorithm(strings.ToUpper(string(k.Algorithm)))
	if k.Algorithm == "" {
		k.Algorithm = SHA1
	}
	k.Encoder = strings.ToLower(k.Encoder)
	if k.Encoder == "" && strings.EqualFold(k.Issuer, "steam") && k.Type == TOTP {
		k.Encoder = EncoderSteam
	}
	if k.IsSteam() {
		k.Digits = steamDigits
	} else if k.Digits == 0 {
		k.Digits = DefaultDigits
	}
	if k.Type == TOTP && k.Period == 0 {
		k.Period = DefaultPeriod
	}
	if k.Type == HOTP {
		k.Period = 0
	}
	if k.Type == TOTP {
		k.Counter = 0
	}
	return k
}

// IsSteam reports whether the key produces Steam Guard codes.
func (k Key) IsSteam() bool { return k.Encoder == EncoderSteam }

// Validate reports the first thing wrong with a normalized key.
func (k Key) Validate() error {
	switch k.Type {
	case TOTP, HOTP:
	default:
		return fmt.Errorf("%w, not %q", ErrUnknownType, k.Type)
	}
	if len(k.Secret) == 0 {
		return ErrMissingSecret
	}
	switch k.Algorithm {
	case SHA1, SHA256, SHA512:
	default:
		return fmt.Errorf("%w, not %q", ErrBadAlgorithm, k.Algorithm)
	}
	switch k.Encoder {
	case "":
		if k.Digits < 6 || k.Digits > 8 {
			return fmt.Errorf("%w, not %d", ErrBadDigits, k.Digits)
		}
	case EncoderSteam:
		if k.Type != TOTP {
			return errors.New("steam codes are time-based: type must be totp")
		}
	default:
		return fmt.Errorf("%w, not %q", ErrBadEncoder, k.Encoder)
	}
	if k.Type == TOTP && (k.Period < 1 || k.Period > 86400) {
		return fmt.Errorf("%w, not %d", ErrBadPeriod, k.Period)
	}
	if strings.TrimSpace(k.Name) == "" && strings.TrimSpace(k.Issuer) == "" {
		return ErrMissingName
	}
	return nil
}

// Label is how people name the account: "Issuer (name)", or whichever exists.
func (k Key) Label() string {
	switch {
	case k.Issuer == "":
		return k.Name
	case k.Name == "":
		return k.Issuer
	}
	return k.Issuer + " (" + k.Name + ")"
}

// SecretBase32 returns the secret as unpadded upper-case base32, the form
// people type and URIs carry.
func (k Key) SecretBase32() string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(k.Secret)
}

// DecodeSecret reads a base32 secret the way people and apps write them: any
// case, with or without '=' padding, with spaces or hyphens between groups.
func DecodeSecret(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '-':
			return -1
		}
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
	clean = strings.TrimRight(clean, "=")
	if clean == "" {
		return nil, ErrMissingSecret
	}
	// Check every character first, so that the message names the character a
	// person typed rather than a byte offset.
	for i, r := range []rune(clean) {
		if !strings.ContainsRune(base32Alphabet, r) {
			return nil, fmt.Errorf("%w: unexpected %q at character %d", ErrBadSecret, r, i+1)
		}
	}
	// Go's unpadded decoder silently drops a final group of 1, 3 or 6
	// characters; those lengths cannot come from encoding whole bytes.
	switch len(clean) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: %d characters is not a whole number of bytes (a character missing or extra?)", ErrBadSecret, len(clean))
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSecret, err)
	}
	return b, nil
}

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// CounterAt is the TOTP time step that contains t, which must not be before
// 1970 (Code reports such times as ErrBeforeEpoch).
func (k Key) CounterAt(t time.Time) uint64 {
	period := k.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	return uint64(t.Unix()) / uint64(period)
}

// Remaining is how long the code valid at t stays valid.
func (k Key) Remaining(t time.Time) time.Duration {
	period := int64(k.Period)
	if period <= 0 {
		period = DefaultPeriod
	}
	elapsed := t.Unix() % period
	if elapsed < 0 { // before 1970: % truncates towards zero
		elapsed += period
	}
	return time.Unix(t.Unix()-elapsed+period, 0).Sub(t)
}

// Code is the code of a TOTP key at time t, or of a HOTP key at its Counter
// (t is then ignored). The key is normalized first.
func Code(k Key, t time.Time) (string, error) {
	k = k.Normalize()
	if err := k.Validate(); err != nil {
		return "", err
	}
	counter, err := k.counter(t)
	if err != nil {
		return "", err
	}
	return CodeAtCounter(k, counter)
}

// ErrBeforeEpoch is returned for a TOTP code asked for a time before 1970.
var ErrBeforeEpoch = errors.New("time before 1970 has no TOTP code")

// counter is the counter a normalized key's code at t uses.
func (k Key) counter(t time.Time) (uint64, error) {
	if k.Type != TOTP {
		return k.Counter, nil
	}
	if t.Unix() < 0 {
		return 0, ErrBeforeEpoch
	}
	return k.CounterAt(t), nil
}

// CodeAtCounter is the code of a normalized, valid key for one counter value
// (a HOTP counter or a TOTP time step).
func CodeAtCounter(k Key, counter uint64) (string, error) {
	opts := hotp.ValidateOpts{Digits: potp.Digits(k.Digits), Algorithm: libraryAlgorithm(k.Algorithm)}
	if k.IsSteam() {
		opts.Digits = steamDigits
		opts.Encoder = potp.EncoderSteam
	}
	code, err := hotp.GenerateCodeCustom(k.SecretBase32(), counter, opts)
	if err != nil {
		return "", fmt.Errorf("compute code: %w", err)
	}
	return code, nil
}

func libraryAlgorithm(a Algorithm) potp.Algorithm {
	switch a {
	case SHA256:
		return potp.AlgorithmSHA256
	case SHA512:
		return potp.AlgorithmSHA512
	}
	return potp.AlgorithmSHA1
}
