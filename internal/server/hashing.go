package server

import (
	"context"
	"runtime"

	"github.com/countersign/countersign/internal/password"
)

// hashers bounds how many Argon2id computations run at once to the number
// of cores. Each takes 19 MiB and a core for ~25 ms: more at once only thrash
// the cache (the machine's hash rate drops by a sixth at four per core) and,
// under a flood of sign-ins, would let memory grow with the number of
// requests instead of staying at cores × 19 MiB. Requests wait their turn.
type hashers chan struct{}

func newHashers() hashers { return make(hashers, runtime.GOMAXPROCS(0)) }

func (h hashers) acquire(ctx context.Context) error {
	select {
	case h <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h hashers) release() { <-h }

// verifyPassword checks pw against an encoded Argon2id hash.
func (s *Server) verifyPassword(ctx context.Context, encoded, pw string) (bool, error) {
	if err := s.hashers.acquire(ctx); err != nil {
		return false, err
	}
	defer s.hashers.release()
	return password.Verify(encoded, pw)
}

// hashPassword makes the Argon2id hash of pw with the server's parameters.
func (s *Server) hashPassword(ctx context.Context, pw string) (string, error) {
	if err := s.hashers.acquire(ctx); err != nil {
		return "", err
	}
	defer s.hashers.release()
	return password.Hash(pw, s.pwParams, s.rand)
}

// Backup codes are stored as backupCodeHash: HMAC-SHA-256 under the server
// key (itself sealed under the secrets key in the database) over the
// account and the code, so a copy of the database cannot be searched for
// the codes (eight characters of 31 are 2^40 guesses). Codes made before
// were stored as legacyBackupCodeHash, an unkeyed SHA-256; they were never
// kept in clear, so they cannot be rehashed: they keep working, once each,
// until used or replaced by a new set.
func (s *Server) backupCodeHash(userID, code string) []byte { return s.mac("backup", userID, code) }

func legacyBackupCodeHash(code string) []byte { return sha("backup:" + code) }
