package vault

import (
	"errors"
	"testing"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
)

func TestRewindHOTP(t *testing.T) {
	dir, keys := t.TempDir(), testkit.Keyring(t)
	v := openTest(t, dir, keys)
	added, _, err := v.Add(Account{Key: otp.Key{Type: otp.HOTP, Issuer: "RFC", Name: "4226", Secret: rfcSecret}})
	if err != nil {
		t.Fatal(err)
	}
	id := added[0].ID
	next := func() string {
		t.Helper()
		code, _, err := v.NextHOTP(id)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	// RFC 4226 Appendix D: counters 0, 1, 2 → 755224, 287082, 359152.
	next() // 755224, never shown
	if err := v.RewindHOTP(id, 0); err != nil {
		t.Fatalf("RewindHOTP: %v", err)
	}
	if code := next(); code != "755224" {
		t.Errorf("code after a rewind = %s, want 755224 again", code)
	}
	// The counter moved on since the code at 0 was taken (another process
	// took the code at 1): the rewind does nothing, no code is given twice.
	next()
	if err := v.RewindHOTP(id, 0); err != nil {
		t.Fatalf("RewindHOTP: %v", err)
	}
	if code := next(); code != "359152" {
		t.Errorf("code after a stale rewind = %s, want 359152", code)
	}
	onDisk, err := openTest(t, dir, keys).Find(id)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Counter != 3 {
		t.Errorf("counter on disk = %d, want 3", onDisk.Counter)
	}
	if err := v.RewindHOTP("nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("RewindHOTP of an unknown account: %v, want ErrNotFound", err)
	}
}
