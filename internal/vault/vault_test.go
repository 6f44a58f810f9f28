package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
)

var rfcSecret = []byte("12345678901234567890")

func account(issuer, name string) Account {
	return Account{Key: otp.Key{Type: otp.TOTP, Issuer: issuer, Name: name, Secret: append([]byte(issuer+name), rfcSecret...)}}
}

func fixedNow() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

func openTest(t testing.TB, dir string, keys KeyStore) *Vault {
	t.Helper()
	v, err := Open(dir, Options{Keys: keys, Now: fixedNow})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return v
}

func TestAddReopenKeepsEverything(t *testing.T) {
	dir, keys := t.TempDir(), testkit.Keyring(t)
	v := openTest(t, dir, keys)
	a := account("GitHub", "alice@example.com")
	a.Tags = []string{"work", " work ", "code"}
	a.Pinned, a.Notes = true, "recovery codes in the safe"
	a.Extra = map[string][]string{"image": {"https://example.com/logo.png"}}
	added, dups, err := v.Add(a, account("Example", "bob"))
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if len(added) != 2 || len(dups) != 0 {
		t.Fatalf("got %d added, %d dups, want 2 and 0", len(added), len(dups))
	}

	counted := &countingKeys{KeyStore: keys}
	again := openTest(t, dir, counted)
	if counted.gets != 1 {
		t.Errorf("got %d keyring reads on open, want 1", counted.gets)
	}
	if _, err := keys.Get(keyName(again.id)); err != nil {
		t.Errorf("the vault key is not in the keyring under its documented name: %v", err)
	}
	got, err := again.Find(added[0].ID)
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	want := added[0]
	if got.Issuer != want.Issuer || got.Name != want.Name || !bytes.Equal(got.Secret, want.Secret) ||
		!got.Pinned || got.Notes != want.Notes || fmt.Sprint(got.Tags) != "[work code]" ||
		got.Extra["image"][0] != "https://example.com/logo.png" || !got.Created.Equal(fixedNow()) {
		t.Errorf("reopened account = %+v, want %+v", got, want)
	}
	if got.Digits != 6 || got.Period != 30 || got.Algorithm != otp.SHA1 {
		t.Errorf("defaults not filled: digits %d period %d algorithm %s", got.Digits, got.Period, got.Algorithm)
	}
	fi, err := os.Stat(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm != 0o600 { // Windows has no Unix modes: the folder's ACL keeps it private
		t.Errorf("vault file mode %o, want 600", perm)
	}
	raw, _ := os.ReadFile(v.Path())
	for _, plain := range []string{"GitHub", "alice", "safe", string(rfcSecret)} {
		if bytes.Contains(raw, []byte(plain)) {
			t.Errorf("vault file contains %q in plaintext", plain)
		}
	}
}

func TestEmptyVaultNeedsNoKeyringUntilWritten(t *testing.T) {
	keys := &testkit.FakeKeyring{}
	keys.Fail(errors.New("keyring must not be touched"))
	v := openTest(t, t.TempDir(), keys)
	if n := len(v.Accounts()); n != 0 {
		t.Fatalf("got %d accounts in a new vault", n)
	}
	if v.Exists() {
		t.Error("a vault never written reports that it exists")
	}
	if _, _, err := v.Add(account("A", "b")); err == nil {
		t.Fatal("Add succeeded with a failing keyring; want the keyring's error")
	}
	if _, err := os.Stat(v.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vault file written although the key could not be stored: %v", err)
	}
}

func TestDuplicatesAreNotAdded(t *testing.T) {
	v := openTest(t, t.TempDir(), testkit.Keyring(t))
	a := account("GitHub", "alice")
	first, _, err := v.Add(a)
	if err != nil {
		t.Fatal(err)
	}
	twin := a
	twin.Issuer = "github" // issuer compares case-insensitively
	added, dups, err := v.Add(twin, account("Other", "x"), account("Other", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || len(dups) != 2 {
		t.Fatalf("got %d added, %d dups, want 1 and 2", len(added), len(dups))
	}
	if dups[0].ID != first[0].ID {
		t.Errorf("dup reported as %s, want the stored %s", dups[0].ID, first[0].ID)
	}
	if n := len(v.Accounts()); n != 2 {
		t.Errorf("got %d accounts, want 2", n)
	}
}

func TestInvalidAccountAddsNothing(t *testing.T) {
	v := openTest(t, t.TempDir(), testkit.Keyring(t))
	bad := account("Bad", "digits")
	bad.Digits = 9
	if _, _, err := v.Add(account("Good", "one"), bad); !errors.Is(err, otp.ErrBadDigits) {
		t.Fatalf("got %v, want ErrBadDigits", err)
	}
	if n := len(v.Accounts()); n != 0 {
		t.Errorf("got %d accounts after a failed add, want 0", n)
	}
}

func TestUnreadableVaultIsNeverOverwritten(t *testing.T) {
	unavailable := &testkit.FakeKeyring{}
	unavailable.Fail(fmt.Errorf("%w: no Secret Service provider is running", keyring.ErrUnavailable))
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, v *Vault, keys testkit.Secrets)
		reopen KeyStore // the keyring to reopen with; nil: the vault's own
		want   error
	}{
		{"flipped byte", func(t *testing.T, v *Vault, _ testkit.Secrets) {
			b, _ := os.ReadFile(v.Path())
			b[len(b)-5] ^= 1
			os.WriteFile(v.Path(), b, 0o600)
		}, nil, ErrUnreadable},
		{"not a vault", func(t *testing.T, v *Vault, _ testkit.Secrets) {
			os.WriteFile(v.Path(), []byte(`{"accounts":[]}`), 0o600)
		}, nil, ErrUnreadable},
		{"truncated", func(t *testing.T, v *Vault, _ testkit.Secrets) {
			b, _ := os.ReadFile(v.Path())
			os.WriteFile(v.Path(), b[:headerSize+3], 0o600)
		}, nil, ErrUnreadable},
		{"key gone from keyring", func(t *testing.T, v *Vault, keys testkit.Secrets) {
			if err := keys.Delete(keyName(v.id)); err != nil {
				t.Fatal(err)
			}
		}, nil, ErrKeyMissing},
		{"another key", func(t *testing.T, v *Vault, keys testkit.Secrets) {
			if err := keys.Set(keyName(v.id), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="); err != nil {
				t.Fatal(err)
			}
		}, nil, ErrUnreadable},
		{"keyring unavailable", func(*testing.T, *Vault, testkit.Secrets) {}, unavailable, keyring.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, keys := t.TempDir(), testkit.Keyring(t)
			v := openTest(t, dir, keys)
			if _, _, err := v.Add(account("GitHub", "alice")); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, v, keys)
			before, _ := os.ReadFile(v.Path())

			reopen := tc.reopen
			if reopen == nil {
				reopen = keys
			}
			_, err := Open(dir, Options{Keys: reopen})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: got %v, want %v", err, tc.want)
			}
			// A vault opened before the file was damaged must not write
			// over it either. (Damage to the keyring alone does not matter
			// to it: it holds the key already.)
			if tc.want == ErrUnreadable {
				if _, _, err := v.Add(account("New", "one")); err == nil && tc.name != "another key" {
					t.Fatalf("Add on a damaged vault succeeded")
				}
			}
			after, _ := os.ReadFile(v.Path())
			if tc.name != "another key" && !bytes.Equal(before, after) {
				t.Errorf("damaged vault file was changed")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != FileName && e.Name() != lockName {
					t.Errorf("stray file %s left in the vault directory", e.Name())
				}
			}
		})
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	dir, keys := t.TempDir(), testkit.Keyring(t)
	seed := openTest(t, dir, keys)
	if _, _, err := seed.Add(account("Seed", "0")); err != nil {
		t.Fatal(err)
	}
	// Separate Vault values use separate lock file descriptors, as two
	// processes would.
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		v := openTest(t, dir, keys)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, _, err := v.Add(account(fmt.Sprintf("W%d", w), fmt.Sprint(i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(openTest(t, dir, keys).Accounts()); n != writers*each+1 {
		t.Errorf("got %d accounts, want %d", n, writers*each+1)
	}
}

func TestNextHOTPPersistsCounterFirst(t *testing.T) {
	dir, keys := t.TempDir(), testkit.Keyring(t)
	v := openTest(t, dir, keys)
	added, _, err := v.Add(Account{Key: otp.Key{Type: otp.HOTP, Issuer: "RFC", Name: "4226", Secret: rfcSecret}})
	if err != nil {
		t.Fatal(err)
	}
	// RFC 4226 Appendix D, counters 0 and 1.
	for i, want := range []string{"755224", "287082"} {
		code, a, err := v.NextHOTP(added[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Errorf("code %d = %s, want %s", i, code, want)
		}
		if a.Counter != uint64(i+1) {
			t.Errorf("counter after code %d = %d, want %d", i, a.Counter, i+1)
		}
		onDisk, err := openTest(t, dir, keys).Find(added[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if onDisk.Counter != uint64(i+1) {
			t.Errorf("counter on disk after code %d = %d, want %d", i, onDisk.Counter, i+1)
		}
	}
	totp, _, _ := v.Add(account("T", "t"))
	if _, _, err := v.NextHOTP(totp[0].ID); err == nil {
		t.Error("NextHOTP on a TOTP account succeeded")
	}
}

func TestFindEditRemove(t *testing.T) {
	v := openTest(t, t.TempDir(), testkit.Keyring(t))
	added, _, err := v.Add(account("A", "1"), account("B", "2"))
	if err != nil {
		t.Fatal(err)
	}
	id := added[0].ID
	if got, err := v.Find(id[:4]); err != nil || got.ID != id {
		t.Errorf("Find(prefix) = %v, %v; want %s", got.ID, err, id)
	}
	if _, err := v.Find("zz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(zz): got %v, want ErrNotFound", err)
	}
	if _, err := v.Find(""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(\"\"): got %v, want ErrNotFound", err)
	}
	edited, err := v.Edit(id, func(a *Account) error {
		a.Name, a.Tags, a.Pinned = "renamed", []string{"x"}, true
		return nil
	})
	if err != nil || edited.Name != "renamed" || !edited.Pinned {
		t.Fatalf("Edit = %+v, %v", edited, err)
	}
	if first := v.Accounts()[0]; first.ID != id {
		t.Errorf("pinned account is not listed first: got %s", first.Label())
	}
	if _, err := v.Edit(id, func(a *Account) error { a.Digits = 4; return nil }); !errors.Is(err, otp.ErrBadDigits) {
		t.Errorf("Edit to 4 digits: got %v, want ErrBadDigits", err)
	}
	if gone, err := v.Remove(id); err != nil || gone.ID != id {
		t.Fatalf("Remove = %v, %v", gone.ID, err)
	}
	if n := len(v.Accounts()); n != 1 {
		t.Errorf("got %d accounts after remove, want 1", n)
	}
}

func TestLockTimeoutIsReported(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockFile(filepath.Join(dir, lockName), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	v, err := Open(dir, Options{Keys: testkit.Keyring(t), LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Add(account("A", "b")); err == nil {
		t.Fatal("Add succeeded while another holder had the lock")
	}
}

func TestReloadReportsChanges(t *testing.T) {
	dir, keys := t.TempDir(), testkit.Keyring(t)
	v := openTest(t, dir, keys)
	if _, _, err := v.Add(account("A", "1")); err != nil {
		t.Fatal(err)
	}
	if changed, err := v.Reload(); changed || err != nil {
		t.Errorf("Reload after our own write = %v, %v; want false, nil", changed, err)
	}
	other := openTest(t, dir, keys)
	if _, _, err := other.Add(account("B", "2")); err != nil {
		t.Fatal(err)
	}
	if changed, err := v.Reload(); !changed || err != nil {
		t.Errorf("Reload after another writer = %v, %v; want true, nil", changed, err)
	}
	if n := len(v.Accounts()); n != 2 {
		t.Errorf("got %d accounts after Reload, want 2", n)
	}
}

// TestWriteErrorsNameTheRemedy: a write that the file system refuses says so
// in words, names the vault's directory rather than the temporary file, and
// says the vault was not changed (make chaos fills and remounts the real
// thing).
func TestWriteErrorsNameTheRemedy(t *testing.T) {
	dir := filepath.Join("home", "sam", ".local", "share", "countersign")
	tmp := filepath.Join(dir, ".vault.csv1.tmp-123")
	for _, tc := range []struct {
		errno error
		want  string
	}{
		{syscall.ENOSPC, "no space left on the disk holding " + dir + ": free some space and try again"},
		{syscall.EDQUOT, "no space left on the disk holding " + dir + ": free some space and try again"},
		{syscall.EROFS, dir + " is on a read-only file system"},
		{fs.ErrPermission, "no permission to write in " + dir},
	} {
		t.Run(tc.errno.Error(), func(t *testing.T) {
			err := writeError(dir, &fs.PathError{Op: "write", Path: tmp, Err: tc.errno})
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "the vault was not changed") ||
				strings.Contains(err.Error(), tmp) || !errors.Is(err, tc.errno) {
				t.Errorf("got %q, want it to say %q and that the vault was not changed, without the temporary file, wrapping %v", err, tc.want, tc.errno)
			}
		})
	}
	other := &fs.PathError{Op: "write", Path: tmp, Err: syscall.EIO}
	if err := writeError(dir, other); !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "write vault") {
		t.Errorf("another error: got %q, want it wrapped as it is", err)
	}
}
