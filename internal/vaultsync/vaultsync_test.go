package vaultsync

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"testing"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func acct(issuer, name string, typ otp.Type, counter uint64) *vault.Account {
	return &vault.Account{ID: "local-id", Key: otp.Key{Type: typ, Issuer: issuer, Name: name, Secret: []byte("12345678901234567890"), Counter: counter}.Normalize()}
}

func TestSealOpen(t *testing.T) {
	k := key(t)
	e := Entry{ID: "e1", Lamport: 3, Device: "desk-a", Account: acct("GitHub", "ada@example.com", otp.TOTP, 0)}
	r, err := Seal(rand.Reader, k, 1, "acct-1", 2, e)
	if err != nil {
		t.Fatal(err)
	}
	for _, clear := range [][]byte{[]byte("GitHub"), []byte("ada@example.com"), []byte("12345678901234567890"), []byte("local-id")} {
		if bytes.Contains(r.Sealed, clear) {
			t.Errorf("the record shows %q", clear)
		}
	}
	got, err := Open(k, "acct-1", r)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "e1" || got.Lamport != 3 || got.Device != "desk-a" || got.Account == nil || !got.Account.SameAs(*e.Account) || got.Account.ID != "" {
		t.Errorf("opened %+v", got)
	}

	// Altered or moved, it does not open.
	flip := func(r Record) Record { r.Sealed = bytes.Clone(r.Sealed); r.Sealed[len(r.Sealed)-1] ^= 1; return r }
	for name, bad := range map[string]Record{
		"ciphertext":         flip(r),
		"another entry":      {Entry: "e2", Version: r.Version, Generation: r.Generation, Sealed: r.Sealed},
		"an older version":   {Entry: r.Entry, Version: 1, Generation: r.Generation, Sealed: r.Sealed},
		"another generation": {Entry: r.Entry, Version: r.Version, Generation: 2, Sealed: r.Sealed},
		"cut short":          {Entry: r.Entry, Version: r.Version, Generation: r.Generation, Sealed: r.Sealed[:10]},
	} {
		if _, err := Open(k, "acct-1", bad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
	if _, err := Open(k, "acct-2", r); !errors.Is(err, ErrOpen) {
		t.Errorf("another account: %v", err)
	}
	if _, err := Open(key(t), "acct-1", r); !errors.Is(err, ErrOpen) {
		t.Errorf("another key: %v", err)
	}

	local := acct("Bank", "ada", otp.TOTP, 0)
	local.Extra = map[string][]string{LocalOnlyParam: {"1"}}
	if _, err := Seal(rand.Reader, k, 1, "acct-1", 1, Entry{ID: "e3", Account: local}); !errors.Is(err, ErrLocalOnly) {
		t.Errorf("a local-only account: %v, want ErrLocalOnly", err)
	}
	tomb, err := Seal(rand.Reader, k, 1, "acct-1", 3, Entry{ID: "e1", Lamport: 4, Device: "desk-b", Deleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(k, "acct-1", tomb); err != nil || !got.Deleted || got.Account != nil {
		t.Errorf("tombstone: %+v, %v", got, err)
	}
}

func TestMergeRules(t *testing.T) {
	older := Entry{ID: "e", Lamport: 1, Device: "b", Account: acct("Bank", "ada", otp.HOTP, 9)}
	newer := Entry{ID: "e", Lamport: 2, Device: "a", Account: acct("Bank", "Ada (renamed)", otp.HOTP, 4)}
	m := Merge(older, newer)
	if m.Account.Name != "Ada (renamed)" || m.Account.Counter != 9 {
		t.Errorf("the newer label with the larger counter: got %q counter %d", m.Account.Name, m.Account.Counter)
	}
	if older.Account.Counter != 9 || newer.Account.Counter != 4 {
		t.Error("Merge changed its arguments")
	}
	tie := Entry{ID: "e", Lamport: 2, Device: "c", Account: acct("Bank", "c's", otp.HOTP, 1)}
	if Merge(newer, tie).Device != "c" || Merge(tie, newer).Device != "c" {
		t.Error("a Lamport tie is not decided by the device id")
	}
	gone := Entry{ID: "e", Lamport: 3, Device: "a", Deleted: true}
	if !Merge(newer, gone).Deleted || !Merge(gone, newer).Deleted {
		t.Error("a newer deletion does not win")
	}
	back := Entry{ID: "e", Lamport: 4, Device: "b", Account: acct("Bank", "ada", otp.HOTP, 12)}
	if Merge(gone, back).Deleted {
		t.Error("an edit after the deletion does not bring it back")
	}
	rekeyed := Entry{ID: "e", Lamport: 5, Device: "a", Account: acct("Bank", "ada", otp.HOTP, 0)}
	rekeyed.Account.Secret = []byte("another secret of 20")
	if got := Merge(back, rekeyed); got.Account.Counter != 0 {
		t.Errorf("a re-keyed HOTP account took the old secret's counter %d", got.Account.Counter)
	}
	// A deletion in between forgets no counter.
	used := Entry{ID: "e", Lamport: 6, Device: "b", Account: acct("Bank", "ada", otp.HOTP, 3)}
	if got := Merge(Merge(back, Entry{ID: "e", Lamport: 5, Device: "c", Deleted: true}), used); got.Account.Counter != 12 {
		t.Errorf("after a deletion the counter went back to %d, want 12", got.Account.Counter)
	}
}

// Desktops that see the same versions in any order end with the same
// entry.
func TestMergeConverges(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for trial := range 500 {
		var versions []Entry
		stamps := rng.Perm(15) // distinct (Lamport, device) pairs: a desktop writes one version per tick
		for i := range 2 + rng.IntN(6) {
			e := Entry{ID: "e", Lamport: uint64(stamps[i] / 3), Device: string(rune('a' + stamps[i]%3))}
			if rng.IntN(4) == 0 {
				e.Deleted = true
			} else {
				e.Account = acct("Bank", string(rune('A'+i)), otp.HOTP, uint64(rng.IntN(20)))
				if rng.IntN(3) == 0 {
					e.Account.Secret = []byte("a re-keyed secret 20")
				}
			}
			versions = append(versions, e)
		}
		fold := func(order []int) Entry {
			m := versions[order[0]]
			for _, i := range order[1:] {
				m = Merge(m, versions[i])
			}
			return m
		}
		first := fold(rng.Perm(len(versions)))
		for range 5 {
			got := fold(rng.Perm(len(versions)))
			if got.Lamport != first.Lamport || got.Device != first.Device || got.Deleted != first.Deleted ||
				(got.Account == nil) != (first.Account == nil) || (got.Account != nil && (got.Account.Name != first.Account.Name || got.Account.Counter != first.Account.Counter)) {
				t.Fatalf("trial %d: orders disagree: %+v vs %+v", trial, got, first)
			}
		}
	}
}

func TestClock(t *testing.T) {
	var c Clock
	if c.Tick() != 1 {
		t.Error("first tick")
	}
	c.Seen(7)
	if c.Tick() != 8 {
		t.Error("a tick after seeing 7 is not 8")
	}
	c.Seen(3)
	if c.Now() != 8 {
		t.Error("seeing an older time moved the clock back")
	}
}
