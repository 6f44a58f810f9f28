package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBackupCodesKeyedHash: backup codes are stored as a hash keyed with
// the server's HMAC key (sealed under the secrets key), bound to the
// account, so a copy of the database cannot be searched for them: eight
// characters of 31 are 2^40 guesses, an afternoon for SHA-256 alone.
func TestBackupCodesKeyedHash(t *testing.T) {
	e := newEnv(t)
	_, _, codes := twoStepUser(t, e)
	u := e.user("ada@example.com")
	stored, err := e.db.BackupCodes(context.Background(), u.ID)
	if err != nil || len(stored) != len(codes) {
		t.Fatalf("BackupCodes = %d, %v; want %d", len(stored), err, len(codes))
	}
	for _, code := range codes {
		plain := strings.ReplaceAll(code, "-", "")
		for _, unkeyed := range [][]byte{sum("backup:" + plain), sum(plain), sum(code)} {
			for _, s := range stored {
				if bytes.Equal(s.Hash, unkeyed) {
					t.Fatalf("backup code %s is stored as an unkeyed SHA-256, which a copy of the database gives away", code)
				}
			}
		}
	}
}

// TestLegacyBackupCodes: codes made before keyed hashes (unsalted SHA-256
// of "backup:" and the code) still work, once each, until used or
// replaced: the codes themselves were never stored, so they cannot be
// rehashed.
func TestLegacyBackupCodes(t *testing.T) {
	e := newEnv(t)
	c, _, _ := twoStepUser(t, e)
	u := e.user("ada@example.com")
	old := []string{"4k7q-9m2x", "abcd-efgh"}
	if err := e.db.ReplaceBackupCodes(context.Background(), u.ID, [][]byte{sum("backup:4k7q9m2x"), sum("backup:abcdefgh")}); err != nil {
		t.Fatal(err)
	}
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	r := c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {old[0]}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("a backup code of before keyed hashes: %d %s", r.status, r.body)
	}
	c.follow(r)
	c.signout()
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	r = c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {old[0]}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "used already") {
		t.Errorf("the old code used twice: %d %s", r.status, r.body)
	}
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
