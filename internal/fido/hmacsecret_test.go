//go:build cgo

package fido

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// toolSecret asks libfido2's fido2-assert for the hmac-secret of the
// credential and salt: an independent client to compare HMACSecret with.
func toolSecret(t *testing.T, path string, id, salt []byte) []byte {
	t.Helper()
	tool, err := exec.LookPath("fido2-assert")
	if err != nil {
		if os.Getenv("COUNTERSIGN_TEST_FIDO") == "1" {
			t.Fatal("fido2-assert not found and COUNTERSIGN_TEST_FIDO=1: apt-get install fido2-tools")
		}
		t.Skip("fido2-assert not installed (apt-get install fido2-tools)")
	}
	b64 := base64.StdEncoding.EncodeToString
	param := filepath.Join(t.TempDir(), "param")
	lines := []string{b64(bytes.Repeat([]byte{9}, 32)), VaultRPID, b64(id), b64(salt)}
	if err := os.WriteFile(param, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-G", "-h", "-i", param, path).Output()
	if err != nil {
		t.Fatalf("fido2-assert -G -h: %v", err)
	}
	got := strings.Fields(string(out))
	s, err := base64.StdEncoding.DecodeString(got[len(got)-1])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHMACSecret(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	touches := 0
	cred, err := k.NewHMACCredential(t.Context(), VaultRPID, "", OnTouch(func() { touches++ }))
	if err != nil {
		t.Fatal(err)
	}
	if cred.UV || cred.AAGUID != SoftkeyAAGUID || cred.Model != "Countersign software key" || touches != 1 {
		t.Errorf("credential %+v after %d touches; want no UV, the software key's AAGUID and model, one touch", cred, touches)
	}
	if sk.ResidentCredentials() != 0 {
		t.Error("the credential was stored on the key")
	}
	salt, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	s1, err := k.HMACSecret(t.Context(), VaultRPID, cred.ID, salt, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != HMACSecretSize {
		t.Fatalf("secret is %d bytes, want %d", len(s1), HMACSecretSize)
	}
	if want := toolSecret(t, sk.Path(), cred.ID, salt); !bytes.Equal(s1, want) {
		t.Errorf("HMACSecret %x, fido2-assert -G -h %x", s1, want)
	}
	if again, _ := k.HMACSecret(t.Context(), VaultRPID, cred.ID, salt, ""); !bytes.Equal(again, s1) {
		t.Errorf("the same credential and salt gave %x, then %x", s1, again)
	}
	if s, _ := k.HMACSecret(t.Context(), VaultRPID, cred.ID, other, ""); s == nil || bytes.Equal(s, s1) {
		t.Errorf("another salt gave %x, want another secret than %x", s, s1)
	}
	if ok, err := k.HasCredential(VaultRPID, cred.ID); !ok || err != nil {
		t.Errorf("HasCredential of its own credential: %v, %v", ok, err)
	}
	another := openSoftkey(t, softkeytest.Start(t, softkey.Options{}))
	if ok, err := another.HasCredential(VaultRPID, cred.ID); ok || err != nil {
		t.Errorf("HasCredential on another key: %v, %v; want false", ok, err)
	}
	if _, err := another.HMACSecret(t.Context(), VaultRPID, cred.ID, salt, ""); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("HMACSecret on another key: %v, want ErrNoCredentials", err)
	}

	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.NewHMACCredential(t.Context(), VaultRPID, ""); !errors.Is(err, ErrPINRequired) {
		t.Errorf("a key with a PIN, none given: %v, want ErrPINRequired", err)
	}
	uvCred, err := k.NewHMACCredential(t.Context(), VaultRPID, "1234")
	if err != nil || !uvCred.UV {
		t.Fatalf("with the PIN: %+v, %v; want UV", uvCred, err)
	}
	withPIN, err := k.HMACSecret(t.Context(), VaultRPID, uvCred.ID, salt, "1234")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := k.HMACSecret(t.Context(), VaultRPID, uvCred.ID, salt, "1234"); !bytes.Equal(again, withPIN) {
		t.Error("with the PIN, the same credential and salt gave two secrets")
	}
	if without, _ := k.HMACSecret(t.Context(), VaultRPID, uvCred.ID, salt, ""); bytes.Equal(without, withPIN) {
		t.Error("the secret without the PIN is the one with it")
	}
	if _, err := k.HMACSecret(t.Context(), VaultRPID, uvCred.ID, salt, "9999"); !errors.Is(err, ErrWrongPIN) {
		t.Errorf("a wrong PIN: %v, want ErrWrongPIN", err)
	}
}

// A credential made without hmac-secret has no secret; a cancelled
// request ends with the context's error.
func TestHMACSecretRefused(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	reg, err := k.Register(t.Context(), RegistrationOptions{Origin: testOrigin, RPID: VaultRPID, Challenge: []byte("c"),
		UserID: []byte("u"), UserName: "u", UserVerification: UVDiscouraged})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.HMACSecret(t.Context(), VaultRPID, reg.CredentialID, make([]byte, 32), ""); !errors.Is(err, ErrNoHMACSecret) {
		t.Errorf("a credential without hmac-secret: %v, want ErrNoHMACSecret", err)
	}
	if _, err := k.HMACSecret(t.Context(), VaultRPID, reg.CredentialID, make([]byte, 16), ""); err == nil {
		t.Error("a 16-byte salt was accepted")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := k.NewHMACCredential(ctx, VaultRPID, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}
