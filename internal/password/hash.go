// Package password hashes passwords with Argon2id into PHC strings, verifies
// them, tells when a stored hash was made with weaker parameters than today's,
// and checks a new password against a length policy, a bundled list of common
// passwords and the account's own name and email address.
//
// It knows nothing of accounts, storage or rate limits; the server does.
package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters and the salt and key sizes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// OWASP is the Argon2id configuration recommended by the OWASP Password
// Storage Cheat Sheet: 19 MiB, 2 passes, 1 thread.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters accepted by Hash and read by Verify, so that a corrupt
// or hostile stored hash can't make Verify allocate gigabytes or run for
// minutes.
const (
	maxMemory  = 1 << 20 // KiB (1 GiB)
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 256
	minKeyLen  = 16
	maxKeyLen  = 256
)

// ErrMalformed is wrapped by the errors Verify returns for an encoded hash it
// can't read.
var ErrMalformed = errors.New("malformed password hash")

func (p Params) validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("argon2id threads must be at least 1")
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time must be between 1 and %d", maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory must be between 8 KiB per thread and %d KiB", maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length must be between %d and %d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length must be between %d and %d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

// Hash derives an Argon2id key from password with a fresh salt read from
// rand and returns it as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Hash doesn't judge the
// password; call Check for that before accepting a new one.
func Hash(password string, p Params, rand io.Reader) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the encoded hash, comparing in
// constant time. It returns an error (wrapping ErrMalformed) only when
// encoded is not an Argon2id PHC string it can read.
func Verify(encoded, password string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than p
// (or can't be read at all), so that the server re-hashes the password with p
// the next time the person signs in successfully.
func NeedsRehash(encoded string, p Params) bool {
	got, _, _, err := decode(encoded)
	return err != nil || got != p
}

// decode parses an Argon2id PHC string.
func decode(encoded string) (Params, []byte, []byte, error) {
	fail := func(what string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return fail(fmt.Sprintf("unsupported algorithm %.20q, want argon2id", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail(fmt.Sprintf("unsupported version %.20q, want v=%d", parts[2], argon2.Version))
	}
	var p Params
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return fail("want parameters m=…,t=…,p=…")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return fail("want parameters m=…,t=…,p=…")
		}
		// Digits only: no sign, no leading zeros, so one hash has one spelling.
		if v == "" || (len(v) > 1 && v[0] == '0') || strings.TrimLeft(v, "0123456789") != "" {
			return fail("parameter " + name + " is not a number")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fail("parameter " + name + " out of range")
		}
		switch name {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return fail("parameter p out of range")
			}
			p.Threads = uint8(n)
		}
	}
	salt, err := decodeB64(parts[4])
	if err != nil {
		return fail("salt is not unpadded base64")
	}
	key, err := decodeB64(parts[5])
	if err != nil {
		return fail("hash is not unpadded base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return fail(err.Error())
	}
	return p, salt, key, nil
}

// decodeB64 decodes unpadded standard base64 in its one canonical spelling
// (the decoder alone would skip line breaks).
func decodeB64(s string) ([]byte, error) {
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, errors.New("not base64")
		}
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}
