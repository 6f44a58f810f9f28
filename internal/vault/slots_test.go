package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/countersign/countersign/internal/testkit"
)

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A new machine (a keyring without the vault's key) opens the vault with
// the recovery key, and the key is back in its keyring.
func TestRecoverySlotOpensOnANewMachine(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t))
	if _, _, err := v.Add(account("GitHub", "alice"), account("Example", "bob")); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t)
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatalf("SetRecovery: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.Equal(before, after) {
		t.Error("adding a slot rewrote the vault file")
	}
	if got, err := RecoveryRecipient(dir); err != nil || got != id.Recipient().String() {
		t.Errorf("RecoveryRecipient = %q, %v; want %s", got, err, id.Recipient())
	}

	fresh := testkit.Keyring(t) // the new machine's keyring
	if _, err := Open(dir, Options{Keys: fresh, Now: fixedNow}); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("Open on a new keyring: %v, want ErrKeyMissing", err)
	}
	if _, err := OpenWithRecovery(dir, Options{Keys: fresh, Now: fixedNow}, newIdentity(t)); !errors.Is(err, ErrNoSlot) {
		t.Errorf("another recovery key: %v, want ErrNoSlot", err)
	}
	got, err := OpenWithRecovery(dir, Options{Keys: fresh, Now: fixedNow}, id)
	if err != nil {
		t.Fatalf("OpenWithRecovery: %v", err)
	}
	if n := len(got.Accounts()); n != 2 {
		t.Fatalf("%d accounts, want 2", n)
	}
	again := openTest(t, dir, fresh) // the key is in the new keyring now
	if n := len(again.Accounts()); n != 2 {
		t.Errorf("reopened from the new keyring: %d accounts, want 2", n)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(before, now) {
		t.Error("recovering rewrote the vault file")
	}
}

// A vault has one recovery key: a new one replaces the old, which then
// opens nothing.
func TestRecoverySlotReplaced(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t)) // never written: SetRecovery writes it
	old, newer := newIdentity(t), newIdentity(t)
	if err := v.SetRecovery(old.Recipient()); err != nil {
		t.Fatal(err)
	}
	if err := v.SetRecovery(newer.Recipient()); err != nil {
		t.Fatal(err)
	}
	slots, err := v.Slots()
	if err != nil || len(slots) != 1 || slots[0].Recipient != newer.Recipient().String() {
		t.Fatalf("slots %+v, %v; want the newer recovery key's only", slots, err)
	}
	if _, err := OpenWithRecovery(dir, Options{Keys: testkit.Keyring(t)}, old); !errors.Is(err, ErrNoSlot) {
		t.Errorf("the replaced key: %v, want ErrNoSlot", err)
	}
	if _, err := OpenWithRecovery(dir, Options{Keys: testkit.Keyring(t)}, newer); err != nil {
		t.Errorf("the newer key: %v", err)
	}
	if err := v.RemoveRecovery(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWithRecovery(dir, Options{Keys: testkit.Keyring(t)}, newer); !errors.Is(err, ErrNoSlot) {
		t.Errorf("after RemoveRecovery: %v, want ErrNoSlot", err)
	}
}

// The slots of one vault do not open another, even with the right key.
func TestRecoverySlotOfAnotherVault(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	id := newIdentity(t)
	va := openTest(t, a, testkit.Keyring(t))
	if err := va.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	vb := openTest(t, b, testkit.Keyring(t))
	if _, _, err := vb.Add(account("B", "b")); err != nil {
		t.Fatal(err)
	}
	slots, _ := os.ReadFile(filepath.Join(a, SlotsFileName))
	if err := os.WriteFile(filepath.Join(b, SlotsFileName), slots, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWithRecovery(b, Options{Keys: testkit.Keyring(t)}, id); !errors.Is(err, ErrNoSlot) {
		t.Errorf("another vault's slots: %v, want ErrNoSlot", err)
	}
}

// refusingKeys is a keyring that takes nothing.
type refusingKeys struct{ KeyStore }

func (refusingKeys) Set(string, string) error { return errors.New("the keyring is locked") }

// A keyring that refuses the key leaves the vault open for this run.
func TestRecoveryWithARefusingKeyring(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t))
	if _, _, err := v.Add(account("GitHub", "alice")); err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t)
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	got, err := OpenWithRecovery(dir, Options{Keys: refusingKeys{testkit.Keyring(t)}}, id)
	if !errors.Is(err, ErrNotResealed) || got == nil || len(got.Accounts()) != 1 {
		t.Fatalf("OpenWithRecovery with a refusing keyring: %v, %v", got, err)
	}
}
