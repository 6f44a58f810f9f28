//go:build cgo

package fido

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

const (
	testOrigin = "https://countersign.example"
	testRPID   = "countersign.example"
)

var b64 = base64.RawURLEncoding.EncodeToString

// verifyRegistration checks a Registration as a relying party does, with
// go-webauthn, and returns the credential's COSE public key.
func verifyRegistration(t *testing.T, reg *Registration, challenge []byte, uv bool) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"id": b64(reg.CredentialID), "rawId": b64(reg.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64(reg.ClientDataJSON),
			"attestationObject": b64(reg.AttestationObject),
		},
	})
	pcc, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("go-webauthn cannot parse the registration: %v", err)
	}
	if _, err := pcc.Verify(b64(challenge), uv, true, testRPID, []string{testOrigin}, nil,
		protocol.TopOriginIgnoreVerificationMode, nil,
		[]protocol.CredentialParameter{{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}); err != nil {
		t.Fatalf("go-webauthn rejects the registration: %v", err)
	}
	if pcc.Response.AttestationObject.Format != "packed" {
		t.Errorf("attestation format %q, want packed", pcc.Response.AttestationObject.Format)
	}
	if got := FormatAAGUID(pcc.Response.AttestationObject.AuthData.AttData.AAGUID); got != SoftkeyAAGUID {
		t.Errorf("attested AAGUID %s, want %s", got, SoftkeyAAGUID)
	}
	return pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey
}

// verifyAssertion checks an Assertion with go-webauthn against the public key.
func verifyAssertion(t *testing.T, a *Assertion, challenge, publicKey []byte, uv bool) error {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"id": b64(a.CredentialID), "rawId": b64(a.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64(a.ClientDataJSON),
			"authenticatorData": b64(a.AuthenticatorData),
			"signature":         b64(a.Signature),
			"userHandle":        b64(a.UserHandle),
		},
	})
	par, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return par.Verify(b64(challenge), testRPID, []string{testOrigin}, nil,
		protocol.TopOriginIgnoreVerificationMode, "", uv, true, publicKey)
}

func TestRegisterAndAssert(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	k := openSoftkey(t, sk)
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	challenge := []byte("registration challenge 0123456789")
	reg, err := k.Register(t.Context(), RegistrationOptions{
		Origin: testOrigin, RPID: testRPID, RPName: "Countersign",
		Challenge: challenge, UserID: []byte("user-42"), UserName: "alice", UserDisplayName: "Alice",
		Algorithms: []int{AlgRS256, AlgES256}, ResidentKey: true, UserVerification: UVRequired, PIN: "1234",
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := verifyRegistration(t, reg, challenge, true)
	if sk.ResidentCredentials() != 1 {
		t.Errorf("%d passkeys on the key after a resident registration, want 1", sk.ResidentCredentials())
	}

	// With the credential id, as after username entry.
	challenge = []byte("sign-in challenge 1")
	a, err := k.Assert(t.Context(), AssertionOptions{Origin: testOrigin, RPID: testRPID, Challenge: challenge,
		AllowCredentials: [][]byte{reg.CredentialID}, UserVerification: UVRequired, PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAssertion(t, a, challenge, pub, true); err != nil {
		t.Errorf("go-webauthn rejects the assertion: %v", err)
	}
	if !bytes.Equal(a.CredentialID, reg.CredentialID) {
		t.Errorf("assertion credential id %x, want %x", a.CredentialID, reg.CredentialID)
	}

	// Discoverable: no allow list, the key names the user.
	challenge = []byte("sign-in challenge 2")
	a, err = k.Assert(t.Context(), AssertionOptions{Origin: testOrigin, RPID: testRPID, Challenge: challenge, PIN: "1234"})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.UserHandle) != "user-42" {
		t.Errorf("user handle %q, want user-42", a.UserHandle)
	}
	if err := verifyAssertion(t, a, challenge, pub, true); err != nil {
		t.Errorf("go-webauthn rejects the discoverable assertion: %v", err)
	}
	// A signature over another challenge does not verify.
	if err := verifyAssertion(t, a, []byte("another challenge"), pub, true); err == nil {
		t.Error("an assertion verified against the wrong challenge")
	}

	// The key is registered already: the exclude list stops a second one.
	_, err = k.Register(t.Context(), RegistrationOptions{
		Origin: testOrigin, RPID: testRPID, Challenge: []byte("again"), UserID: []byte("user-42"), UserName: "alice",
		ExcludeCredentials: [][]byte{[]byte("some other key"), reg.CredentialID}, PIN: "1234",
	})
	if !errors.Is(err, ErrCredentialExcluded) {
		t.Errorf("registering an excluded key: %v, want ErrCredentialExcluded", err)
	}
}

func TestRegisterWithoutPIN(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{Attestation: "none"})
	k := openSoftkey(t, sk)
	challenge := []byte("registration challenge without PIN")
	opts := RegistrationOptions{Origin: testOrigin, RPID: testRPID, Challenge: challenge,
		UserID: []byte("u"), UserName: "bob", UserVerification: UVRequired,
		ExcludeCredentials: [][]byte{[]byte("not on this key")}}
	if _, err := k.Register(t.Context(), opts); !errors.Is(err, ErrPINRequired) {
		t.Errorf("uv required without PIN on a key without built-in uv: %v, want ErrPINRequired", err)
	}
	opts.UserVerification = UVDiscouraged
	reg, err := k.Register(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": b64(reg.CredentialID), "rawId": b64(reg.CredentialID), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(reg.ClientDataJSON), "attestationObject": b64(reg.AttestationObject)}})
	pcc, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pcc.Verify(b64(challenge), false, true, testRPID, []string{testOrigin}, nil, protocol.TopOriginIgnoreVerificationMode, nil,
		[]protocol.CredentialParameter{{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}); err != nil {
		t.Errorf("go-webauthn rejects a none-attestation registration: %v", err)
	}
	if pcc.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		t.Error("user verified without a PIN")
	}
	challenge = []byte("assert without pin")
	a, err := k.Assert(t.Context(), AssertionOptions{Origin: testOrigin, RPID: testRPID, Challenge: challenge, AllowCredentials: [][]byte{reg.CredentialID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyAssertion(t, a, challenge, pcc.Response.AttestationObject.AuthData.AttData.CredentialPublicKey, false); err != nil {
		t.Errorf("go-webauthn rejects the assertion: %v", err)
	}
}
