// Package seckeytest is a software WebAuthn authenticator for tests: one
// P-256 credential, answering the options seckey hands out the way a browser
// and a security key together do, with "none" attestation. It is imported
// only by tests (of seckey, the API and the web pages).
package seckeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/go-webauthn/webauthn/protocol"
)

var b64 = base64.RawURLEncoding.EncodeToString

// Authenticator holds one credential. Change its fields between ceremonies
// to misbehave: Origin is what the "browser" puts in clientDataJSON, Count
// the signature counter before the next signature, UV whether the user was
// verified, NotResident whether the "browser" reports (credProps) that the
// credential it made is not discoverable.
type Authenticator struct {
	Key         *ecdsa.PrivateKey
	CredID      []byte
	Count       uint32
	Origin      string
	UV          bool
	NotResident bool
}

// New returns an authenticator with a fresh credential used from origin.
func New(t testing.TB, origin string) *Authenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{Key: key, CredID: id, Origin: origin, UV: true}
}

func (a *Authenticator) clientData(t testing.TB, typ string, challenge []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"type": typ, "challenge": b64(challenge), "origin": a.Origin, "crossOrigin": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// authData builds authenticator data; attested adds the credential.
func (a *Authenticator) authData(t testing.TB, rpID string, attested bool) []byte {
	t.Helper()
	rpHash := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) // UP
	if a.UV {
		flags |= 0x04
	}
	if attested {
		flags |= 0x40
	}
	out := append(rpHash[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Count)
	if !attested {
		return out
	}
	pub, err := a.Key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	raw := pub.Bytes() // 0x04 || X || Y
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: raw[1:33], -3: raw[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, make([]byte, 16)...) // AAGUID
	out = binary.BigEndian.AppendUint16(out, uint16(len(a.CredID)))
	out = append(out, a.CredID...)
	return append(out, cose...)
}

// Create answers navigator.credentials.create options (a CredentialCreation
// as JSON) with the PublicKeyCredential JSON a browser would post.
func (a *Authenticator) Create(t testing.TB, options json.RawMessage) json.RawMessage {
	t.Helper()
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(options, &cc); err != nil {
		t.Fatalf("creation options: %v", err)
	}
	obj, err := cbor.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": a.authData(t, cc.Response.RelyingParty.ID, true),
	})
	if err != nil {
		t.Fatal(err)
	}
	ext := map[string]any{}
	if _, asked := cc.Response.Extensions["credProps"]; asked {
		ext["credProps"] = map[string]any{"rk": !a.NotResident}
	}
	b, err := json.Marshal(map[string]any{
		"id": b64(a.CredID), "rawId": b64(a.CredID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64(a.clientData(t, "webauthn.create", cc.Response.Challenge)),
			"attestationObject": b64(obj),
			"transports":        []string{"usb"},
		},
		"clientExtensionResults": ext,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Assertion is the parts of an answer to navigator.credentials.get, to be
// tampered with before JSON.
type Assertion struct {
	CredID, ClientData, AuthData, Signature, UserHandle []byte
}

// JSON is the PublicKeyCredential JSON a browser would post.
func (as Assertion) JSON(t testing.TB) json.RawMessage {
	t.Helper()
	resp := map[string]any{
		"clientDataJSON":    b64(as.ClientData),
		"authenticatorData": b64(as.AuthData),
		"signature":         b64(as.Signature),
	}
	if len(as.UserHandle) > 0 {
		resp["userHandle"] = b64(as.UserHandle)
	}
	b, err := json.Marshal(map[string]any{
		"id": b64(as.CredID), "rawId": b64(as.CredID), "type": "public-key", "response": resp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sign answers navigator.credentials.get options (a CredentialAssertion as
// JSON), counting one use; userHandle may be nil, as U2F-style keys send.
func (a *Authenticator) Sign(t testing.TB, options json.RawMessage, userHandle []byte) Assertion {
	t.Helper()
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(options, &ca); err != nil {
		t.Fatalf("request options: %v", err)
	}
	a.Count++
	cd := a.clientData(t, "webauthn.get", ca.Response.Challenge)
	ad := a.authData(t, ca.Response.RelyingPartyID, false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return Assertion{CredID: a.CredID, ClientData: cd, AuthData: ad, Signature: sig, UserHandle: userHandle}
}

// Get is Sign as JSON.
func (a *Authenticator) Get(t testing.TB, options json.RawMessage, userHandle []byte) json.RawMessage {
	t.Helper()
	return a.Sign(t, options, userHandle).JSON(t)
}
