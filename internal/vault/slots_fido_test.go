package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/testkit"
)

// fakeKey is a security key as far as the vault can tell: it holds
// credentials, each with a random value, and gives HMAC-SHA-256 of a salt
// under it, as hmac-secret does.
type fakeKey struct {
	creds map[string][]byte // credential id → CredRandom
	asked int
}

func newFakeKey(ids ...string) *fakeKey {
	k := &fakeKey{creds: map[string][]byte{}}
	for _, id := range ids {
		r := sha256.Sum256([]byte("cred random of " + id))
		k.creds[id] = r[:]
	}
	return k
}

func (k *fakeKey) secret(s Slot) ([]byte, error) {
	k.asked++
	r, ok := k.creds[string(s.CredentialID)]
	if !ok {
		return nil, ErrNotThisKey
	}
	m := hmac.New(sha256.New, r)
	m.Write(s.Salt)
	return m.Sum(nil), nil
}

// enroll adds a slot for the key's credential id, as the CLI does.
func enroll(t *testing.T, v *Vault, k *fakeKey, name, credID string) Slot {
	t.Helper()
	salt, err := v.SecurityKeySalt()
	if err != nil {
		t.Fatal(err)
	}
	sk := SecurityKey{Name: name, AAGUID: "612994a4-8f8e-420b-99f8-8d494e0836cd", CredentialID: []byte(credID), Salt: salt}
	secret, err := k.secret(Slot{SecurityKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.AddSecurityKeySlot(sk, secret)
	if err != nil {
		t.Fatalf("AddSecurityKeySlot %s: %v", name, err)
	}
	return s
}

// A new machine opens the vault with one of two enrolled keys (the other
// is not at hand), and the key is back in its keyring.
func TestSecurityKeySlotOpensOnANewMachine(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t))
	if _, _, err := v.Add(account("GitHub", "alice"), account("Example", "bob")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	home, spare := newFakeKey("home-cred"), newFakeKey("spare-cred")
	enroll(t, v, home, "Home key", "home-cred")
	s := enroll(t, v, spare, "Spare key", "spare-cred")
	if s.Kind != SlotSecurityKey || s.Name != "Spare key" || len(s.ID()) != 12 || !s.Created.Equal(fixedNow()) {
		t.Errorf("slot %+v", s)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(before, after) {
		t.Error("adding security key slots rewrote the vault file")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, SlotsFileName))
	for _, secret := range [][]byte{v.key, []byte(home.creds["home-cred"])} {
		if bytes.Contains(raw, secret) || strings.Contains(string(raw), string(mustJSON(t, secret))) {
			t.Error("the slots file holds a secret in the clear")
		}
	}

	fresh := testkit.Keyring(t)
	if _, err := Open(dir, Options{Keys: fresh}); !errors.Is(err, ErrKeyMissing) {
		t.Fatalf("Open on a new keyring: %v, want ErrKeyMissing", err)
	}
	if _, err := OpenWithSecurityKey(dir, Options{Keys: fresh}, newFakeKey("stranger").secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("a key of no slot: %v, want ErrNoSlot", err)
	}
	got, err := OpenWithSecurityKey(dir, Options{Keys: fresh, Now: fixedNow}, spare.secret)
	if err != nil {
		t.Fatalf("OpenWithSecurityKey with the spare key: %v", err)
	}
	if n := len(got.Accounts()); n != 2 {
		t.Fatalf("%d accounts, want 2", n)
	}
	if again := openTest(t, dir, fresh); len(again.Accounts()) != 2 {
		t.Error("the key is not in the new keyring")
	}
	if now, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(before, now) {
		t.Error("opening with a security key rewrote the vault file")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A key that answers with another secret (it was reset), an error that is
// not "not this key", and a vault without key slots: none opens, and an
// error stops the attempt before the next slot.
func TestSecurityKeySlotRefusals(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t))
	if _, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, newFakeKey().secret); err == nil {
		t.Error("a vault never written opened")
	}
	if _, _, err := v.Add(account("GitHub", "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, newFakeKey().secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("no key slots: %v, want ErrNoSlot", err)
	}
	k := newFakeKey("a", "b")
	enroll(t, v, k, "A", "a")
	enroll(t, v, k, "B", "b")

	reset := newFakeKey()
	reset.creds["a"] = make([]byte, 32) // same credential id, another random value
	if _, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, reset.secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("a reset key: %v, want ErrNoSlot", err)
	}
	timeout := errors.New("the key was not touched in time")
	asked := 0
	_, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, func(Slot) ([]byte, error) { asked++; return nil, timeout })
	if !errors.Is(err, timeout) || asked != 1 {
		t.Errorf("a timeout: %v after %d asks, want the timeout after 1", err, asked)
	}
	if _, err := OpenWithSecurityKey(dir, Options{Keys: refusingKeys{testkit.Keyring(t)}}, k.secret); !errors.Is(err, ErrNotResealed) {
		t.Errorf("a refusing keyring: %v, want ErrNotResealed", err)
	}
}

// Names and credentials are unique; what goes in a slot is checked.
func TestAddSecurityKeySlotChecks(t *testing.T) {
	v := openTest(t, t.TempDir(), testkit.Keyring(t))
	k := newFakeKey("a", "b")
	enroll(t, v, k, "My key", "a")
	salt, _ := v.SecurityKeySalt()
	secret := make([]byte, 32)
	for _, tc := range []struct {
		name   string
		sk     SecurityKey
		secret []byte
		want   error
	}{
		{"same name, other case", SecurityKey{Name: " my KEY ", CredentialID: []byte("b"), Salt: salt}, secret, ErrSlotExists},
		{"same credential", SecurityKey{Name: "Other", CredentialID: []byte("a"), Salt: salt}, secret, ErrSlotExists},
		{"no name", SecurityKey{Name: "  ", CredentialID: []byte("b"), Salt: salt}, secret, nil},
		{"no credential", SecurityKey{Name: "Other", Salt: salt}, secret, nil},
		{"short salt", SecurityKey{Name: "Other", CredentialID: []byte("b"), Salt: salt[:16]}, secret, nil},
		{"short secret", SecurityKey{Name: "Other", CredentialID: []byte("b"), Salt: salt}, secret[:16], nil},
		{"control character", SecurityKey{Name: "a\nb", CredentialID: []byte("b"), Salt: salt}, secret, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.AddSecurityKeySlot(tc.sk, tc.secret)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("got %v, want an error (%v)", err, tc.want)
			}
		})
	}
	if slots, _ := v.Slots(); len(slots) != 1 {
		t.Errorf("%d slots after refusals, want 1", len(slots))
	}
}

// The salt comes from Options.Rand.
func TestSecurityKeySaltFromOptionsRand(t *testing.T) {
	v, err := Open(t.TempDir(), Options{Keys: testkit.Keyring(t), Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))})
	if err != nil {
		t.Fatal(err)
	}
	salt, err := v.SecurityKeySalt()
	if err != nil || !bytes.Equal(salt, bytes.Repeat([]byte{7}, 32)) {
		t.Errorf("salt %x, %v; want 32 bytes of 7 from Options.Rand", salt, err)
	}
}

// Removing a key's slot: that key opens nothing more, the others and the
// recovery slot stay.
func TestRemoveSecurityKeySlot(t *testing.T) {
	dir := t.TempDir()
	v := openTest(t, dir, testkit.Keyring(t))
	k := newFakeKey("a", "b", "c")
	a := enroll(t, v, k, "Alpha", "a")
	enroll(t, v, k, "Beta", "b")
	enroll(t, v, k, "Gamma", "c")
	id := newIdentity(t)
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	if gone, err := v.RemoveSlot("BETA"); err != nil || gone.Name != "Beta" {
		t.Fatalf("RemoveSlot by name: %+v, %v", gone, err)
	}
	if gone, err := v.RemoveSlot(a.ID()[:5]); err != nil || gone.Name != "Alpha" {
		t.Fatalf("RemoveSlot by the start of its id: %+v, %v", gone, err)
	}
	if _, err := v.RemoveSlot("Beta"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v, want ErrNotFound", err)
	}
	slots, err := SecurityKeySlots(dir)
	if err != nil || len(slots) != 1 || slots[0].Name != "Gamma" {
		t.Fatalf("SecurityKeySlots after removals: %+v, %v; want Gamma", slots, err)
	}
	only := func(cred string) *fakeKey { return &fakeKey{creds: map[string][]byte{cred: k.creds[cred]}} }
	if _, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, only("b").secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("a removed key: %v, want ErrNoSlot", err)
	}
	if _, err := OpenWithSecurityKey(dir, Options{Keys: testkit.Keyring(t)}, only("c").secret); err != nil {
		t.Errorf("the key left: %v", err)
	}
	if _, err := OpenWithRecovery(dir, Options{Keys: testkit.Keyring(t)}, id); err != nil {
		t.Errorf("the recovery key after removing key slots: %v", err)
	}
	if err := v.SetRecovery(newIdentity(t).Recipient()); err != nil {
		t.Fatal(err)
	}
	if slots, _ := SecurityKeySlots(dir); len(slots) != 1 {
		t.Errorf("a new recovery key dropped security key slots: %d left, want 1", len(slots))
	}
}

// A slot is bound to its vault and its credential: copied to another vault,
// or given another credential's id, it opens nothing.
func TestSecurityKeySlotBound(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	k := newFakeKey("cred", "other")
	va := openTest(t, a, testkit.Keyring(t))
	enroll(t, va, k, "Key", "cred")
	vb := openTest(t, b, testkit.Keyring(t))
	if _, _, err := vb.Add(account("B", "b")); err != nil {
		t.Fatal(err)
	}
	slots, _ := os.ReadFile(filepath.Join(a, SlotsFileName))
	if err := os.WriteFile(filepath.Join(b, SlotsFileName), slots, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWithSecurityKey(b, Options{Keys: testkit.Keyring(t)}, k.secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("another vault's slots: %v, want ErrNoSlot", err)
	}
	// Under another credential id, even with the same secret, it opens
	// nothing: the credential id is bound in.
	k.creds["other"] = k.creds["cred"]
	var f slotsFile
	if err := json.Unmarshal(slots, &f); err != nil {
		t.Fatal(err)
	}
	f.Slots[0].CredentialID = []byte("other")
	moved, _ := json.Marshal(f)
	if err := os.WriteFile(filepath.Join(a, SlotsFileName), moved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWithSecurityKey(a, Options{Keys: testkit.Keyring(t)}, k.secret); !errors.Is(err, ErrNoSlot) {
		t.Errorf("a slot given another credential: %v, want ErrNoSlot", err)
	}
}
