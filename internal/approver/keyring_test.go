package approver

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/keyring"
)

// TestRealKeyring pairs and unpairs with the device key in a real Secret
// Service; it runs under .ci/keyring-session (COUNTERSIGN_TEST_KEYRING).
func TestRealKeyring(t *testing.T) {
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs a Secret Service: run under .ci/keyring-session")
	}
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	kr := keyring.New(KeyringService)
	m, err := Open(Options{Dir: t.TempDir(), Keyring: kr, Now: srv.Clock.Now, Keys: noKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	_, uri := srv.PairingCode(ada)
	a, err := m.Pair(context.Background(), uri, "", "desk")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := kr.Get(a.ID); err != nil || s == "" {
		t.Fatalf("the keyring holds %q, %v for the device", s, err)
	}
	// A fresh Manager reads the key from the keyring to decide.
	m2, err := Open(Options{Dir: m.dir, Keyring: kr, Now: srv.Clock.Now, Keys: noKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	r := srv.SignIn(ada)
	if _, err := m2.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status, err := m2.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); err != nil || status != "approved" {
		t.Fatalf("Decide = %q, %v", status, err)
	}
	if err := m2.Unpair(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Get(a.ID); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("after Unpair the keyring answers %v, want ErrNotFound", err)
	}
}
