//go:build cgo

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/testkit"
	libfido2 "github.com/keys-pub/go-libfido2"
)

func pinFile(t *testing.T, pin string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFidoInfoJSON(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := newHarness(t)
	var info fido.Info
	if err := json.Unmarshal([]byte(h.mustRun("fido", "info", "--device", sk.Path(), "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Model != "Countersign software key" || info.AAGUID != fido.SoftkeyAAGUID || !info.Options["rk"] {
		t.Errorf("fido info --json = %+v", info)
	}
	out := h.mustRun("fido", "info", "--device", sk.Path())
	for _, want := range []string{"model:", "Countersign software key", "pin:", "not set", "FIDO_2_1", "min pin length:"} {
		if !strings.Contains(out, want) {
			t.Errorf("fido info lacks %q:\n%s", want, out)
		}
	}
}

func TestFidoListFindsConfiguredKeys(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := newHarness(t)
	var out, errOut bytes.Buffer
	env := Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return map[string]string{fido.EnvDevices: sk.Path()}[k] },
		Now:    time.Now, Keys: h.keys, IsTerminal: func() bool { return false },
	}
	if err := Run(env, []string{"fido", "list", "--json"}); err != nil {
		t.Fatal(err)
	}
	var locs []struct {
		Path       string `json:"path"`
		Configured bool   `json:"configured"`
	}
	if err := json.Unmarshal(out.Bytes(), &locs); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range locs {
		found = found || (l.Path == sk.Path() && l.Configured)
	}
	if !found {
		t.Errorf("fido list --json = %s, want %s from %s", out.String(), sk.Path(), fido.EnvDevices)
	}
	// Without --device, the one key in the environment is the one used.
	out.Reset()
	if err := Run(env, []string{"fido", "info", "--json"}); err != nil || !strings.Contains(out.String(), fido.SoftkeyAAGUID) {
		t.Errorf("fido info with the key from %s: %v\n%s", fido.EnvDevices, err, out.String())
	}
}

func TestFidoPINAndPasskeys(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := newHarness(t)
	dev := sk.Path()

	if _, _, err := h.run("", "fido", "set-pin", "--device", dev); err == nil || !strings.Contains(err.Error(), "--pin-file") {
		t.Errorf("set-pin without a terminal or file: %v, want advice to use --pin-file", err)
	}
	if _, _, err := h.run("", "fido", "set-pin", "--device", dev, "--pin-file", pinFile(t, "12")); !errors.Is(err, fido.ErrPINPolicy) {
		t.Errorf("set-pin with a 2-digit PIN: %v, want ErrPINPolicy", err)
	}
	if _, stderr, err := h.run("", "fido", "set-pin", "--device", dev, "--pin-file", pinFile(t, "1234")); err != nil || !strings.Contains(stderr, "PIN set") {
		t.Fatalf("set-pin: %v, stderr %q", err, stderr)
	}
	if _, _, err := h.run("", "fido", "change-pin", "--device", dev, "--pin-file", pinFile(t, "0000"), "--new-pin-file", pinFile(t, "4321")); !errors.Is(err, fido.ErrWrongPIN) || !strings.Contains(err.Error(), "7 tries left") {
		t.Errorf("change-pin with a wrong PIN: %v, want 7 tries left", err)
	}
	h.mustRun("fido", "change-pin", "--device", dev, "--pin-file", pinFile(t, "1234"), "--new-pin-file", pinFile(t, "4321"))
	pin := pinFile(t, "4321")

	if out := h.mustRun("fido", "credentials", "--device", dev, "--pin-file", pin, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("credentials on an empty key = %s, want []", out)
	}
	makePasskey(t, dev, "4321", "example.com", "alice")
	makePasskey(t, dev, "4321", "example.com", "bob")

	var creds []credentialJSON
	if err := json.Unmarshal([]byte(h.mustRun("fido", "credentials", "--device", dev, "--pin-file", pin, "--json")), &creds); err != nil {
		t.Fatal(err)
	}
	if len(creds) != 2 || creds[0].RP != "example.com" || creds[0].ID == "" {
		t.Fatalf("credentials --json = %+v", creds)
	}
	table := h.mustRun("fido", "credentials", "--device", dev, "--pin-file", pin)
	if !strings.Contains(table, "alice") || !strings.Contains(table, creds[0].ID) {
		t.Errorf("credentials table lacks alice or the id:\n%s", table)
	}

	// The PIN may come on stdin too.
	if _, _, err := h.run("4321\n", "fido", "delete-credential", "--device", dev, "--pin-file", "-", "--", creds[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := sk.ResidentCredentials(); n != 1 {
		t.Errorf("%d passkeys after delete-credential, want 1", n)
	}
	// A base64url id may start with "-": after "--" it is an id, not a flag.
	if _, _, err := h.run("", "fido", "delete-credential", "--device", dev, "--pin-file", pin, "-AAA"); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "after --") {
		t.Errorf("delete-credential -AAA: %v, want advice to put the id after --", err)
	}
	if _, _, err := h.run("", "fido", "delete-credential", "--device", dev, "--pin-file", pin, "--", "-AAA"); !errors.Is(err, fido.ErrNoCredentials) {
		t.Errorf("delete-credential -- -AAA: %v, want ErrNoCredentials", err)
	}
	if _, _, err := h.run("", "fido", "delete-credential", "--device", dev, "--pin-file", pin, "!!"); !errors.Is(err, ErrUsage) {
		t.Errorf("delete-credential of a malformed id: %v, want a usage error", err)
	}
}

// makePasskey stores a discoverable credential on the key, as a browser would.
func makePasskey(t *testing.T, path, pin, rpID, user string) {
	t.Helper()
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	hash := make([]byte, 32)
	if _, err := dev.MakeCredential(hash, libfido2.RelyingParty{ID: rpID}, libfido2.User{ID: []byte(user), Name: user, DisplayName: user},
		libfido2.ES256, pin, &libfido2.MakeCredentialOpts{RK: libfido2.True}); err != nil {
		t.Fatalf("making a passkey: %v", err)
	}
}

func TestFidoResetAsksFirst(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := newHarness(t)
	dev := sk.Path()
	h.mustRun("fido", "set-pin", "--device", dev, "--pin-file", pinFile(t, "1234"))

	if _, stderr, err := h.run("no\n", "fido", "reset", "--device", dev); err == nil || !strings.Contains(err.Error(), "not confirmed") || !strings.Contains(stderr, "type \"reset\"") {
		t.Errorf("reset answered no: %v, stderr %q", err, stderr)
	}
	if !sk.PINSet() {
		t.Fatal("the key was reset without confirmation")
	}
	if _, stderr, err := h.run("reset\n", "fido", "reset", "--device", dev); err != nil || !strings.Contains(stderr, "within a few seconds") {
		t.Fatalf("reset confirmed: %v, stderr %q", err, stderr)
	}
	if sk.PINSet() {
		t.Error("the key has a PIN after reset")
	}
	h.mustRun("fido", "set-pin", "--device", dev, "--pin-file", pinFile(t, "1234"))
	if err := sk.Replug(); err != nil {
		t.Fatal(err)
	}
	h.mustRun("fido", "reset", "--device", dev, "--yes")
	if sk.PINSet() {
		t.Error("the key has a PIN after reset --yes")
	}
}

func TestFidoUsage(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.run("", "fido"); !errors.Is(err, ErrUsage) {
		t.Errorf("fido alone: %v, want a usage error", err)
	}
	if _, _, err := h.run("", "fido", "frobnicate"); !errors.Is(err, ErrUsage) {
		t.Errorf("fido frobnicate: %v, want a usage error", err)
	}
	if _, _, err := h.run("", "fido", "info", "--device", "/dev/no-such-key"); err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("info on a missing device: %v", err)
	}
}

func TestFidoSoftkeyServesUntilStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	saved := softkeySignals
	softkeySignals = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	t.Cleanup(func() { softkeySignals = saved })

	var out, errOut testkit.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, IsTerminal: func() bool { return false }}
	done := make(chan error, 1)
	go func() {
		done <- Run(env, []string{"fido", "softkey", "--state", filepath.Join(t.TempDir(), "state.json")})
	}()

	var path string
	for deadline := time.Now().Add(10 * time.Second); path == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		path = strings.TrimSpace(out.String())
		select {
		case err := <-done:
			if os.Getenv("COUNTERSIGN_TEST_FIDO") != "1" {
				t.Skipf("fido softkey ended early: %v", err)
			}
			t.Fatalf("fido softkey ended early: %v", err)
		default:
		}
	}
	if path == "" {
		t.Fatal("fido softkey printed no path")
	}
	if !strings.Contains(errOut.String(), "NOT a security device") {
		t.Errorf("no warning on stderr: %q", errOut.String())
	}
	k, err := fido.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := k.Info(); err != nil || info.AAGUID != fido.SoftkeyAAGUID {
		t.Errorf("info of the served key: %+v, %v", info, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("fido softkey: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fido softkey did not stop")
	}
}
