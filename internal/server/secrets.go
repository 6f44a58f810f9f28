package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/store"
)

// randomBytes reads n bytes from the server's entropy source.
func (s *Server) randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("read random: %w", err)
	}
	return b, nil
}

// newToken is a secret for a cookie or a link: 32 random bytes, base64url.
func (s *Server) newToken() (string, error) {
	b, err := s.randomBytes(32)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newID is a random row id. It panics only when the entropy source fails,
// which for crypto/rand does not happen.
func (s *Server) newID() string {
	b, err := s.randomBytes(16)
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// sha is the SHA-256 of a high-entropy secret, as the store keeps it.
func sha(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// mac is HMAC-SHA-256 under the server key over the parts, each
// length-prefixed so no two lists of parts collide.
func (s *Server) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.secret)
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// codeAlphabet is lower-case base32 without the characters people confuse
// (0/o, 1/l/i).
const codeAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// randomString draws n characters uniformly from alphabet.
func (s *Server) randomString(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 16)
	for len(out) < n {
		if _, err := io.ReadFull(s.rand, buf); err != nil {
			return "", fmt.Errorf("read random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// newBackupCodes returns backupCodeCount codes shaped "4k7q-9m2x" for the
// user and their hashes (backupCodeHash).
func (s *Server) newBackupCodes(userID string) (codes []string, hashes [][]byte, err error) {
	for range backupCodeCount {
		c, err := s.randomString(codeAlphabet, 8)
		if err != nil {
			return nil, nil, err
		}
		codes = append(codes, c[:4]+"-"+c[4:])
		hashes = append(hashes, s.backupCodeHash(userID, c))
	}
	return codes, hashes, nil
}

// normalBackupCode reads a backup code as people type it (any case, spaces
// or a hyphen); ok is false when it cannot be one.
func normalBackupCode(in string) (code string, ok bool) {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, in)
	if len(c) != 8 || strings.Trim(c, codeAlphabet) != "" {
		return "", false
	}
	return c, true
}

// newSMSCode is six random digits.
func (s *Server) newSMSCode() (string, error) {
	return s.randomString("0123456789", 6)
}

// smsCodeHash binds a six-digit code to its row and the server key, so a
// copy of the database does not give the codes away by brute force.
func (s *Server) smsCodeHash(id, code string) []byte {
	return s.mac("sms", id, code)
}

// digitsOnly strips the spaces and hyphens people put in codes.
func digitsOnly(in string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, in)
}

// timeMark seals at for purpose, bound to bound (the rest of what carries
// it): "<unix nanoseconds>.<MAC>", for a mark a browser carries through a
// sign-in and brings back.
func (s *Server) timeMark(purpose, bound string, at time.Time) string {
	n := strconv.FormatInt(at.UnixNano(), 10)
	return n + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, n, bound))
}

// openTimeMark returns the time a timeMark of purpose and bound holds, if it
// is valid, not in the future and not older than life.
func (s *Server) openTimeMark(purpose, mark, bound string, life time.Duration) (time.Time, bool) {
	n, sig, ok := strings.Cut(mark, ".")
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(raw, s.mac(purpose, n, bound)) {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	t := time.Unix(0, ns)
	if now := s.now(); t.After(now) || now.Sub(t) > life {
		return time.Time{}, false
	}
	return t, true
}

// apiStepUp is what API v1 needs of the server for step-up (apiv1.StepUp):
// the password check of the settings pages, which counts a wrong password
// as a failed sign-in and locks as the sign-in page does, and the sealed
// time marks.
type apiStepUp struct{ s *Server }

func (a apiStepUp) CheckPassword(r *http.Request, u *store.User, pw, detail string) (bool, time.Time, error) {
	s, now := a.s, a.s.now()
	if now.Before(u.LockedUntil) {
		return false, u.LockedUntil, nil
	}
	if !s.acctLimit.Allow("password:" + u.ID) {
		return false, now.Add(time.Minute), nil
	}
	ok, err := s.verifyPassword(r.Context(), u.PasswordHash, pw)
	if err != nil || ok {
		return ok, time.Time{}, err
	}
	from := origin{ip: s.clientIP(r), userAgent: truncate(r.UserAgent(), 512)}
	until, err := s.recordFailure(r.Context(), from, u.ID, now, store.ActSignInFailed, detail)
	if err == nil && !until.IsZero() {
		s.metrics.signin("locked")
	}
	return false, until, err
}

func (a apiStepUp) Mark(purpose, bound string, at time.Time) string {
	return a.s.timeMark(purpose, bound, at)
}

func (a apiStepUp) OpenMark(purpose, mark, bound string, life time.Duration) (time.Time, bool) {
	return a.s.openTimeMark(purpose, mark, bound, life)
}
