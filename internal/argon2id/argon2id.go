// Package argon2id is Countersign's one reading and writing of Argon2id
// hashes: the cost parameters and the bounds every reader holds them to, the
// derivation, and the PHC string that libargon2 writes,
//
//	$argon2id$v=19$m=65536,t=3,p=4$SALT$HASH
//
// with SALT and HASH in unpadded standard base64, spelt one way only (decimal
// numbers without sign or leading zeros, no padding, no line breaks). Every
// bound is checked before anything is derived or decoded, so that a corrupt
// or hostile hash (a preferences file, a database row, a backup file) can't
// make a derivation allocate gigabytes or run for minutes.
//
// It chooses no parameters and keeps no hashes: package password hashes
// account passwords with it, applock the app passphrase, and transfer derives
// backup keys with it.
package argon2id

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

// Params are the Argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
}

// Bounds on what a hash may ask for. A derivation at the bounds takes 1 GiB
// for a few tens of seconds: costly, but not a way to bring the machine down.
const (
	MaxMemory  = 1 << 20 // KiB (1 GiB); at least 8 KiB per lane
	MaxTime    = 64
	MinSaltLen = 8 // bytes
	MaxSaltLen = 256
	MinKeyLen  = 16 // bytes
	MaxKeyLen  = 256
)

// maxEncodedLen bounds a PHC string: the longest salt and hash with the
// largest parameters, with room to spare.
const maxEncodedLen = 64 + (MaxSaltLen+MaxKeyLen)*4/3

// ErrMalformed is wrapped by Parse's errors: the text is not an Argon2id hash
// this package reads, or one whose costs are out of bounds.
var ErrMalformed = errors.New("malformed argon2id hash")

// Check reports parameters out of bounds.
func (p Params) Check() error {
	if err := p.check(); err != nil {
		return fmt.Errorf("argon2id %w", err)
	}
	return nil
}

func (p Params) check() error {
	switch {
	case p.Threads < 1:
		return errors.New("threads must be at least 1")
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("time %d is out of range (1 to %d)", p.Time, MaxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("memory %d KiB is out of range (%d to %d)", p.Memory, 8*uint32(p.Threads), MaxMemory)
	}
	return nil
}

// Key derives an n-byte key from secret and salt with p, once p, the salt's
// length and n are within bounds.
func Key(secret, salt []byte, p Params, n int) ([]byte, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if err := checkLen("salt", len(salt), MinSaltLen, MaxSaltLen); err != nil {
		return nil, err
	}
	if err := checkLen("key", n, MinKeyLen, MaxKeyLen); err != nil {
		return nil, err
	}
	return argon2.IDKey(secret, salt, p.Time, p.Memory, p.Threads, uint32(n)), nil
}

func checkLen(what string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("argon2id %s is %d bytes (want %d to %d)", what, n, lo, hi)
	}
	return nil
}

// Hash is an Argon2id hash: the key derived from a secret, with the salt and
// parameters that check another secret against it.
type Hash struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// New hashes secret with p and a fresh salt of saltLen bytes read from rand,
// into a key of keyLen bytes.
func New(secret []byte, p Params, saltLen, keyLen int, rand io.Reader) (Hash, error) {
	if err := p.Check(); err != nil {
		return Hash{}, err
	}
	if err := checkLen("salt", saltLen, MinSaltLen, MaxSaltLen); err != nil {
		return Hash{}, err
	}
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return Hash{}, fmt.Errorf("read a salt: %w", err)
	}
	key, err := Key(secret, salt, p, keyLen)
	if err != nil {
		return Hash{}, err
	}
	return Hash{Params: p, Salt: salt, Key: key}, nil
}

// Verify reports whether secret is the one h was made from, comparing in
// constant time. A hash out of bounds verifies nothing.
func (h Hash) Verify(secret []byte) bool {
	got, err := Key(secret, h.Salt, h.Params, len(h.Key))
	return err == nil && subtle.ConstantTimeCompare(got, h.Key) == 1
}

// String is h as a PHC string.
func (h Hash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.Memory, h.Params.Time, h.Params.Threads, b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// Parse reads a PHC string as String writes it. Its errors wrap ErrMalformed
// and say what is wrong; the parameters, salt and key are within bounds.
func Parse(s string) (Hash, error) {
	fail := func(format string, args ...any) (Hash, error) {
		return Hash{}, fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if len(s) > maxEncodedLen {
		return fail("%d characters, more than any hash within bounds", len(s))
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return fail("unsupported algorithm %.20q, want argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("unsupported version %.20q, want v=%d", parts[2], argon2.Version)
	}
	var h Hash
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return fail("want parameters m=…,t=…,p=…")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return fail("want parameters m=…,t=…,p=…")
		}
		n, err := parseUint(v)
		if err != nil {
			return fail("parameter %s: %v", name, err)
		}
		switch name {
		case "m":
			h.Params.Memory = uint32(n)
		case "t":
			h.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return fail("threads %d is out of range (1 to 255)", n)
			}
			h.Params.Threads = uint8(n)
		}
	}
	if err := h.Params.check(); err != nil {
		return fail("%v", err)
	}
	var err error
	if h.Salt, err = decodeB64("salt", parts[4], MinSaltLen, MaxSaltLen); err != nil {
		return fail("%v", err)
	}
	if h.Key, err = decodeB64("hash", parts[5], MinKeyLen, MaxKeyLen); err != nil {
		return fail("%v", err)
	}
	return h, nil
}

// parseUint reads a decimal uint32 in its one spelling: digits only, no sign,
// no leading zeros.
func parseUint(v string) (uint64, error) {
	if v == "" || (len(v) > 1 && v[0] == '0') || strings.TrimLeft(v, "0123456789") != "" {
		return 0, errors.New("not a number")
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// decodeB64 decodes unpadded standard base64 in its one canonical spelling
// (the decoder alone would skip line breaks), after checking from its length
// that it holds lo to hi bytes.
func decodeB64(what, s string, lo, hi int) ([]byte, error) {
	b64 := base64.RawStdEncoding.Strict()
	if n := b64.DecodedLen(len(s)); n < lo || n > hi {
		return nil, fmt.Errorf("%s is %d bytes (want %d to %d)", what, n, lo, hi)
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("%s is not unpadded base64", what)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not unpadded base64", what)
	}
	return b, nil
}
