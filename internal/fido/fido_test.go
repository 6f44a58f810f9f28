//go:build cgo

package fido

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	libfido2 "github.com/keys-pub/go-libfido2"
)

func openSoftkey(t testing.TB, sk *softkey.Key) *Key {
	t.Helper()
	k, err := Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makePasskey stores a discoverable credential on the key through libfido2.
func makePasskey(t *testing.T, k *Key, pin, rpID, userName string) []byte {
	t.Helper()
	hash := sha256.Sum256([]byte("client data of " + userName))
	att, err := k.dev.MakeCredential(hash[:], libfido2.RelyingParty{ID: rpID, Name: rpID},
		libfido2.User{ID: []byte("id-" + userName), Name: userName, DisplayName: "Display " + userName},
		libfido2.ES256, pin, &libfido2.MakeCredentialOpts{RK: libfido2.True})
	if err != nil {
		t.Fatalf("making a passkey for %s at %s: %v", userName, rpID, err)
	}
	return att.CredentialID
}

func TestListIncludesExplicitPaths(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	locs, err := List([]string{sk.Path(), "/dev/no-such-key"})
	if err != nil {
		t.Fatal(err)
	}
	var gotKey, gotMissing bool
	for _, l := range locs {
		switch l.Path {
		case sk.Path():
			gotKey = l.Configured && l.Err == nil
		case "/dev/no-such-key":
			gotMissing = l.Configured && l.Err != nil
		}
	}
	if !gotKey || !gotMissing {
		t.Errorf("List = %+v, want the softkey usable and the missing path with an error", locs)
	}
	if _, err := Open("/dev/no-such-key"); err == nil {
		t.Error("Open of a missing path succeeded")
	}
}

func TestPermissionErrorNamesTheFix(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("not here: running as root, which opens any file whatever its mode; run the tests as a normal user to check the permission message")
	}
	p := t.TempDir() + "/hidraw9"
	if err := os.WriteFile(p, nil, 0o000); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "udev") {
		t.Errorf("Open of an unreadable node: %v, want ErrPermission naming the udev rules", err)
	}
}

func TestInfo(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	info, err := k.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.AAGUID != SoftkeyAAGUID || info.Model != "Countersign software key" {
		t.Errorf("AAGUID %s model %q, want %s and the software key", info.AAGUID, info.Model, SoftkeyAAGUID)
	}
	if !slices.Contains(info.Versions, "FIDO_2_1") {
		t.Errorf("versions %v, want FIDO_2_1", info.Versions)
	}
	if !info.SupportsPIN() || info.PINSet() || !info.Options["rk"] || !info.Options["credMgmt"] {
		t.Errorf("options %v, want clientPin=false, rk and credMgmt", info.Options)
	}
	if info.PINRetries != -1 || info.MinPINLength != 4 || info.RemainingDiscoverable <= 0 {
		t.Errorf("retries %d, min PIN %d, remaining %d; want -1, 4, > 0", info.PINRetries, info.MinPINLength, info.RemainingDiscoverable)
	}
	if !slices.Equal(info.PINProtocols, []int{1, 2}) {
		t.Errorf("PIN protocols %v, want [1 2]", info.PINProtocols)
	}
}

func TestSetAndChangePIN(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	if err := k.SetPIN("12"); !errors.Is(err, ErrPINPolicy) {
		t.Errorf("SetPIN(too short) = %v, want ErrPINPolicy", err)
	}
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	if !sk.PINSet() {
		t.Fatal("the key has no PIN after SetPIN")
	}
	if err := k.SetPIN("5678"); !errors.Is(err, ErrPINSet) {
		t.Errorf("second SetPIN = %v, want ErrPINSet", err)
	}
	info, err := k.Info()
	if err != nil || !info.PINSet() || info.PINRetries != 8 {
		t.Fatalf("info after SetPIN: %+v, %v; want a PIN with 8 retries", info, err)
	}
	if err := k.ChangePIN("1234", "1234"); !errors.Is(err, ErrPINPolicy) {
		t.Errorf("ChangePIN to the same PIN = %v, want ErrPINPolicy", err)
	}
	if err := k.ChangePIN("1234", "geheim-ß"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Passkeys("geheim-ß"); err != nil {
		t.Errorf("the new PIN does not work: %v", err)
	}
	var wrong *WrongPINError
	if err := k.ChangePIN("1234", "98765"); !errors.As(err, &wrong) || wrong.Retries != 7 {
		t.Errorf("ChangePIN with the old PIN = %v, want a wrong PIN with 7 tries left", err)
	}
}

func TestWrongPINsBlock(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	// Three wrong PINs in a row block PIN use until the key is replugged;
	// eight in all block the PIN for good.
	retries := 8
	for replug := 0; replug < 3; replug++ {
		for i := 0; i < 3 && retries > 0; i++ {
			retries--
			_, err := k.Passkeys("0000")
			var wrong *WrongPINError
			switch {
			case retries == 0:
				if !errors.Is(err, ErrPINBlocked) {
					t.Fatalf("last wrong PIN: %v, want ErrPINBlocked", err)
				}
			case i == 2:
				if !errors.Is(err, ErrPINAuthBlocked) {
					t.Fatalf("third wrong PIN in a row: %v, want ErrPINAuthBlocked", err)
				}
				if _, err := k.Passkeys("1234"); !errors.Is(err, ErrPINAuthBlocked) {
					t.Fatalf("right PIN while blocked: %v, want ErrPINAuthBlocked", err)
				}
			default:
				if !errors.As(err, &wrong) || wrong.Retries != retries {
					t.Fatalf("wrong PIN: %v, want %d tries left", err, retries)
				}
			}
		}
		if err := sk.Replug(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := k.Passkeys("1234"); !errors.Is(err, ErrPINBlocked) {
		t.Errorf("right PIN after 8 wrong ones: %v, want ErrPINBlocked", err)
	}
	// Only a reset helps, right after plugging in.
	if err := sk.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := k.Reset(t.Context()); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if sk.PINSet() {
		t.Error("the key still has a PIN after the reset")
	}
}

func TestPasskeysListAndDelete(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	if _, err := k.Passkeys(""); !errors.Is(err, ErrPINRequired) {
		t.Errorf("Passkeys without a PIN: %v, want ErrPINRequired", err)
	}
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	if rps, err := k.Passkeys("1234"); err != nil || len(rps) != 0 {
		t.Fatalf("Passkeys on an empty key = %v, %v", rps, err)
	}
	alice := makePasskey(t, k, "1234", "example.com", "alice")
	makePasskey(t, k, "1234", "example.com", "bob")
	makePasskey(t, k, "1234", "countersign.dev", "carol")

	rps, err := k.Passkeys("1234")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string][]string{}
	for _, rp := range rps {
		for _, c := range rp.Credentials {
			users[rp.ID] = append(users[rp.ID], c.UserName+"/"+c.DisplayName)
			if len(c.ID) == 0 || string(c.UserID) != "id-"+c.UserName {
				t.Errorf("credential %+v lacks its id or user id", c)
			}
		}
		slices.Sort(users[rp.ID])
	}
	if !slices.Equal(users["example.com"], []string{"alice/Display alice", "bob/Display bob"}) ||
		!slices.Equal(users["countersign.dev"], []string{"carol/Display carol"}) || len(users) != 2 {
		t.Fatalf("passkeys = %v", users)
	}

	if err := k.DeleteCredential("1234", alice); err != nil {
		t.Fatal(err)
	}
	if n := sk.ResidentCredentials(); n != 2 {
		t.Errorf("%d credentials after deleting one, want 2", n)
	}
	if err := k.DeleteCredential("1234", alice); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("deleting it twice: %v, want ErrNoCredentials", err)
	}
	if err := k.DeleteCredential("9999", []byte("x")); !errors.Is(err, ErrWrongPIN) {
		t.Errorf("delete with a wrong PIN: %v, want ErrWrongPIN", err)
	}
}

func TestReset(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	sk := softkeytest.Start(t, softkey.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	k := openSoftkey(t, sk)
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	makePasskey(t, k, "1234", "example.com", "alice")

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if err := k.Reset(t.Context()); !errors.Is(err, ErrResetNotAllowed) {
		t.Fatalf("reset a minute after plugging in: %v, want ErrResetNotAllowed", err)
	}
	if err := sk.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := k.Reset(t.Context()); err != nil {
		t.Fatalf("reset after replug: %v", err)
	}
	if sk.PINSet() || sk.ResidentCredentials() != 0 {
		t.Error("the key kept its PIN or passkeys after a reset")
	}
}

func TestUnplugAndPlugKeepTheLink(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	link := filepath.Join(t.TempDir(), "key")
	sk := softkeytest.Start(t, softkey.Options{Link: link, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	k, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()

	if err := sk.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link after Unplug: %v, want it gone", err)
	}
	if err := checkOpenable(link); !errors.Is(err, ErrNoDevice) {
		t.Errorf("opening an unplugged key: %v, want ErrNoDevice", err)
	}
	if err := sk.Plug(); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != sk.Path() {
		t.Errorf("the link after Plug names %q (%v), want %s", target, err, sk.Path())
	}
	k, err = Open(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Reset(t.Context()); err != nil {
		t.Fatalf("reset just after plugging in again: %v", err)
	}
	if sk.PINSet() {
		t.Error("the key kept its PIN after the reset")
	}
}
