//go:build cgo

package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// TestAddKey registers the software key (libfido2 over its pty) with the
// paired account: as a passkey with --passkey (stored on the key, user
// verified with its PIN, a passkey on the server), then as a plain key for
// the second step (nothing stored on the key). Adding a key needs the
// account's password first.
func TestAddKey(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	_, uri := srv.PairingCode(ada)
	h, _ := pairedHarness(t, srv, uri, "Ada's desk")
	sk := softkeytest.Start(t, softkey.Options{})
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "4826"
	if err := key.SetPIN(pin); err != nil {
		t.Fatal(err)
	}

	if _, _, err := h.run("", "devices", "add-key", "--passkey", "--device", sk.Path(), "--pin-file", pinFile(t, pin)); err == nil ||
		!strings.Contains(err.Error(), "--password-file") {
		t.Fatalf("add-key without the password: %v, want it asked for", err)
	}
	got := decodeJSON[api.SecurityKey](t, h.mustConfirm("devices", "add-key", "--passkey", "--name", "Blue key",
		"--device", sk.Path(), "--pin-file", pinFile(t, pin), "--json"))
	if !got.Passkey || got.Name != "Blue key" {
		t.Errorf("add-key --passkey printed %+v, want the passkey Blue key", got)
	}
	if n := sk.ResidentCredentials(); n != 1 {
		t.Errorf("the key holds %d resident credentials, want the passkey", n)
	}
	keys, err := srv.Store.SecurityKeys(context.Background(), ada.ID)
	if err != nil || len(keys) != 1 || !keys[0].Discoverable {
		t.Fatalf("the account has %d keys (%v), want the passkey", len(keys), err)
	}

	sk2 := softkeytest.Start(t, softkey.Options{})
	out := h.mustConfirm("devices", "add-key", "--name", "Spare", "--device", sk2.Path())
	if !strings.Contains(out, `added the security key "Spare": it finishes a sign-in after the password`) {
		t.Errorf("add-key printed %q", out)
	}
	if n := sk2.ResidentCredentials(); n != 0 {
		t.Errorf("a plain key holds %d resident credentials, want none", n)
	}
	keys, _ = srv.Store.SecurityKeys(context.Background(), ada.ID)
	passkeys := 0
	for _, k := range keys {
		if k.Discoverable {
			passkeys++
		}
	}
	if len(keys) != 2 || passkeys != 1 {
		t.Errorf("the account has %d keys, %d of them passkeys; want the passkey and a plain key", len(keys), passkeys)
	}
}
