// Package password hashes passwords with Argon2id into PHC strings, verifies
// them, tells when a stored hash was made with weaker parameters than today's,
// and checks a new password against a length policy, a bundled list of common
// passwords and the account's own name and email address.
//
// It knows nothing of accounts, storage or rate limits; the server does.
package password

import (
	"fmt"
	"io"

	"github.com/countersign/countersign/internal/argon2id"
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

// ErrMalformed is wrapped by the errors Verify returns for an encoded hash it
// can't read, or one that asks for more than argon2id's bounds: a corrupt or
// hostile stored hash can't make Verify allocate gigabytes or run for
// minutes.
var ErrMalformed = argon2id.ErrMalformed

func (p Params) costs() argon2id.Params {
	return argon2id.Params{Memory: p.Memory, Time: p.Time, Threads: p.Threads}
}

// Hash derives an Argon2id key from password with a fresh salt read from
// rand and returns it as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. Hash doesn't judge the
// password; call Check for that before accepting a new one.
func Hash(password string, p Params, rand io.Reader) (string, error) {
	h, err := argon2id.New([]byte(password), p.costs(), int(p.SaltLen), int(p.KeyLen), rand)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h.String(), nil
}

// Verify reports whether password matches the encoded hash, comparing in
// constant time. It returns an error (wrapping ErrMalformed) only when
// encoded is not an Argon2id PHC string it can read.
func Verify(encoded, password string) (bool, error) {
	h, err := argon2id.Parse(encoded)
	if err != nil {
		return false, err
	}
	return h.Verify([]byte(password)), nil
}

// NeedsRehash reports whether encoded was made with parameters other than p
// (or can't be read at all), so that the server re-hashes the password with p
// the next time the person signs in successfully.
func NeedsRehash(encoded string, p Params) bool {
	got, _, _, err := decode(encoded)
	return err != nil || got != p
}

// decode parses an Argon2id PHC string into its parameters, salt and key.
func decode(encoded string) (Params, []byte, []byte, error) {
	h, err := argon2id.Parse(encoded)
	if err != nil {
		return Params{}, nil, nil, err
	}
	p := Params{Memory: h.Params.Memory, Time: h.Params.Time, Threads: h.Params.Threads,
		SaltLen: uint32(len(h.Salt)), KeyLen: uint32(len(h.Key))}
	return p, h.Salt, h.Key, nil
}
