//go:build cgo

package cli

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// countTouches is a software key's presence that counts touches.
func countTouches(n *atomic.Int32) softkey.Presence {
	return func(context.Context, string) error { n.Add(1); return nil }
}

// Two security keys, one with a PIN, open the vault; the keyring loses its
// key; a touch of either opens the vault and puts the key back; a removed
// key opens nothing.
func TestRecoverySecurityKeys(t *testing.T) {
	var touches atomic.Int32
	desk := softkeytest.Start(t, softkey.Options{Presence: countTouches(&touches)})
	spare := softkeytest.Start(t, softkey.Options{})
	stranger := softkeytest.Start(t, softkey.Options{})
	k, err := fido.Open(spare.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	pin := pinFile(t, "1234")

	h := newHarness(t)
	h.mustRun("add", rfcURI)
	h.mustRun("add", otherURI)
	codes := h.mustRun("code", "--json", "--at", "59")

	out, errOut, err := h.run("", "recovery", "add-key", "--device", desk.Path(), "--name", "Desk key")
	if err != nil {
		t.Fatalf("add-key: %v\n%s", err, errOut)
	}
	deskID, name, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if len(deskID) != 12 || name != "Desk key" || touches.Load() != 2 || !strings.Contains(errOut, "touch the key now") || !strings.Contains(errOut, "the key has no PIN") {
		t.Errorf("add-key printed %q after %d touches, stderr %q; want the id and name after 2 touches", out, touches.Load(), errOut)
	}
	if _, _, err := h.run("", "recovery", "add-key", "--device", spare.Path()); err == nil || !strings.Contains(err.Error(), "PIN") {
		t.Errorf("add-key of a key with a PIN, no PIN given: %v", err)
	}
	if out := h.mustRun("recovery", "add-key", "--device", spare.Path(), "--pin-file", pin); !strings.Contains(out, "Countersign software key") {
		t.Errorf("add-key named it %q, want its model", out)
	}
	if _, _, err := h.run("", "recovery", "add-key", "--device", stranger.Path(), "--name", "desk KEY"); !errors.Is(err, vault.ErrSlotExists) {
		t.Errorf("add-key with a name taken: %v, want ErrSlotExists", err)
	}
	status := h.mustRun("recovery", "status")
	for _, want := range []string{"no recovery key", deskID + "\tDesk key\tCountersign software key\ttouch", "Countersign software key\tCountersign software key\tPIN and touch"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// The keyring loses the key.
	h.keys = testkit.Keyring(t)
	if _, _, err := h.run("", "list"); err == nil || !strings.Contains(err.Error(), "recovery unlock --security-key") {
		t.Fatalf("list with the key gone: %v, want the way to unlock with a security key", err)
	}
	if _, _, err := h.run("", "recovery", "unlock", "--security-key", "--device", stranger.Path()); !errors.Is(err, vault.ErrNoSlot) {
		t.Errorf("unlock with a key never added: %v, want ErrNoSlot", err)
	}
	if _, _, err := h.run("", "recovery", "unlock", "--security-key", "--device", spare.Path()); err == nil || !strings.Contains(err.Error(), "--pin-file") {
		t.Errorf("unlock with the PIN key, no PIN: %v", err)
	}
	if out := h.mustRun("recovery", "unlock", "--security-key", "--device", spare.Path(), "--pin-file", pin); !strings.Contains(out, "2 accounts") {
		t.Errorf("unlock with the PIN key: %q", out)
	}
	if got := h.mustRun("code", "--json", "--at", "59"); !sameCodes(got, codes) {
		t.Errorf("codes after unlocking: %s, want %s", got, codes)
	}

	h.keys = testkit.Keyring(t)
	before := touches.Load()
	if out := h.mustRun("recovery", "unlock", "--security-key", "--device", desk.Path()); !strings.Contains(out, "2 accounts") || touches.Load() != before+1 {
		t.Errorf("unlock with a touch: %q after %d touches, want 1", out, touches.Load()-before)
	}
	h.mustRun("list")

	if out := h.mustRun("recovery", "remove-key", deskID[:6]); !strings.Contains(out, "Desk key") {
		t.Errorf("remove-key printed %q", out)
	}
	h.keys = testkit.Keyring(t)
	if _, _, err := h.run("", "recovery", "unlock", "--security-key", "--device", desk.Path()); !errors.Is(err, vault.ErrNoSlot) {
		t.Errorf("unlock with a removed key: %v, want ErrNoSlot", err)
	}
	if _, _, err := h.run("", "recovery", "remove-key"); !errors.Is(err, ErrUsage) {
		t.Errorf("remove-key without a name: %v, want ErrUsage", err)
	}
}
