//go:build cgo

package apiv1

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/store"
)

// TestNativePasskey registers a passkey on a security key the way the
// companion does (`countersign keys add --passkey`): {"passkey": true} asks
// for a resident credential with user verification, libfido2 makes one on
// the pty-backed software key with its PIN, and the API stores it as a
// passkey. The key then answers a username-less sign-in (no allowed
// credentials: it finds the account's credential itself), which finds the
// account.
func TestNativePasskey(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "4826"
	if err := key.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	b64 := base64.RawURLEncoding

	var begin api.RegistrationBegin
	r := e.send(t, "POST", "/api/v1/security-keys/registrations", `{"passkey": true}`)
	if r.status != http.StatusCreated {
		t.Fatalf("begin registration: status %d: %s", r.status, r.body)
	}
	r.decode(t, &begin)
	regOpts := registrationOptions(t, begin.Options, pin)
	if !regOpts.ResidentKey || regOpts.UserVerification != fido.UVRequired {
		t.Fatalf("a passkey's options ask resident key %v, user verification %q; want a resident key, verification required", regOpts.ResidentKey, regOpts.UserVerification)
	}
	reg, err := key.Register(t.Context(), regOpts)
	if err != nil {
		t.Fatalf("the key refused to register: %v", err)
	}
	if n := sk.ResidentCredentials(); n != 1 {
		t.Fatalf("the key holds %d resident credentials, want the passkey", n)
	}
	cred, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(reg.CredentialID), "rawId": b64.EncodeToString(reg.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(reg.ClientDataJSON),
			"attestationObject": b64.EncodeToString(reg.AttestationObject),
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r = e.send(t, "POST", "/api/v1/security-keys/registrations/"+begin.ChallengeID,
		finishBody(t, map[string]any{"name": "YubiKey passkey", "credential": json.RawMessage(cred)}))
	if r.status != http.StatusCreated {
		t.Fatalf("finish registration: status %d: %s", r.status, r.body)
	}
	var registered api.SecurityKey
	r.decode(t, &registered)
	if !registered.Passkey {
		t.Errorf("registered %+v, want a passkey", registered)
	}
	var list api.SecurityKeyList
	e.get(t, "/api/v1/security-keys").decode(t, &list)
	if len(list.SecurityKeys) != 1 || !list.SecurityKeys[0].Passkey {
		t.Fatalf("list = %+v, want the passkey", list.SecurityKeys)
	}
	acts, err := e.db.ActivityPage(t.Context(), e.alice.ID, 0, 10)
	if err != nil || len(acts) == 0 || acts[0].Kind != store.ActPasskeyAdded {
		t.Errorf("activity = %+v (%v), want the passkey added first", acts, err)
	}

	// A sign-in that names no account: the key finds its passkey.
	id, opts, err := e.keys.BeginPasskeyLogin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ao := assertionOptions(t, opts, pin)
	if len(ao.AllowCredentials) != 0 || ao.UserVerification != fido.UVRequired {
		t.Fatalf("passkey sign-in options: %d allowed credentials, verification %q; want none, required", len(ao.AllowCredentials), ao.UserVerification)
	}
	a, err := key.Assert(t.Context(), ao)
	if err != nil {
		t.Fatalf("the key refused to sign: %v", err)
	}
	resp := map[string]string{
		"clientDataJSON":    b64.EncodeToString(a.ClientDataJSON),
		"authenticatorData": b64.EncodeToString(a.AuthenticatorData),
		"signature":         b64.EncodeToString(a.Signature),
		"userHandle":        b64.EncodeToString(a.UserHandle),
	}
	answer, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key", "response": resp,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, k, err := e.keys.FinishPasskeyLogin(t.Context(), id, answer)
	if err != nil {
		t.Fatalf("FinishPasskeyLogin: %v", err)
	}
	if u.ID != e.alice.ID || k.ID != registered.ID {
		t.Errorf("signed in %s with %s, want alice with the passkey %s", u.ID, k.ID, registered.ID)
	}
}
