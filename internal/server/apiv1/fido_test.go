//go:build cgo

package apiv1

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// TestNativeSecurityKey registers and uses a key the way the companion
// does: the API's options go to libfido2 (internal/fido) talking to the
// pty-backed software key, and its answers come back to the API. It skips
// where no pty can be had, unless COUNTERSIGN_TEST_FIDO=1.
func TestNativeSecurityKey(t *testing.T) {
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

	// Register.
	var begin api.RegistrationBegin
	r := e.send(t, "POST", "/api/v1/security-keys/registrations", "")
	if r.status != http.StatusCreated {
		t.Fatalf("begin registration: status %d: %s", r.status, r.body)
	}
	r.decode(t, &begin)
	regOpts := registrationOptions(t, begin.Options, pin)
	reg, err := key.Register(t.Context(), regOpts)
	if err != nil {
		t.Fatalf("the key refused to register: %v", err)
	}
	cred, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(reg.CredentialID), "rawId": b64.EncodeToString(reg.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(reg.ClientDataJSON),
			"attestationObject": b64.EncodeToString(reg.AttestationObject),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r = e.send(t, "POST", "/api/v1/security-keys/registrations/"+begin.ChallengeID,
		finishBody(t, map[string]any{"name": "Software key", "credential": json.RawMessage(cred)}))
	if r.status != http.StatusCreated {
		t.Fatalf("finish registration: status %d: %s", r.status, r.body)
	}
	var registered api.SecurityKey
	r.decode(t, &registered)

	var list api.SecurityKeyList
	e.get(t, "/api/v1/security-keys").decode(t, &list)
	if len(list.SecurityKeys) != 1 || list.SecurityKeys[0].ID != registered.ID || list.SecurityKeys[0].Name != "Software key" {
		t.Fatalf("list = %+v, want the software key", list.SecurityKeys)
	}

	// The key is excluded from a second registration.
	e.send(t, "POST", "/api/v1/security-keys/registrations", "").decode(t, &begin)
	if _, err := key.Register(t.Context(), registrationOptions(t, begin.Options, pin)); !errors.Is(err, fido.ErrCredentialExcluded) {
		t.Errorf("registering the key twice: %v, want ErrCredentialExcluded", err)
	}

	// Prove possession, then with a tampered signature.
	for _, tamper := range []bool{false, true} {
		var lb api.LoginBegin
		r = e.send(t, "POST", "/api/v1/security-keys/assertions", "")
		if r.status != http.StatusCreated {
			t.Fatalf("begin assertion: status %d: %s", r.status, r.body)
		}
		r.decode(t, &lb)
		a, err := key.Assert(t.Context(), assertionOptions(t, lb.Options, pin))
		if err != nil {
			t.Fatalf("the key refused to sign: %v", err)
		}
		if tamper {
			a.Signature[len(a.Signature)-3] ^= 0x01
		}
		resp := map[string]string{
			"clientDataJSON":    b64.EncodeToString(a.ClientDataJSON),
			"authenticatorData": b64.EncodeToString(a.AuthenticatorData),
			"signature":         b64.EncodeToString(a.Signature),
		}
		if len(a.UserHandle) > 0 {
			resp["userHandle"] = b64.EncodeToString(a.UserHandle)
		}
		cred, err := json.Marshal(map[string]any{
			"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key", "response": resp,
		})
		if err != nil {
			t.Fatal(err)
		}
		r = e.send(t, "POST", "/api/v1/security-keys/assertions/"+lb.ChallengeID, finishBody(t, map[string]any{"credential": json.RawMessage(cred)}))
		if tamper {
			wantError(t, r, 400, api.CodeNotVerified, "could not be verified")
			continue
		}
		if r.status != http.StatusOK {
			t.Fatalf("finish assertion: status %d: %s", r.status, r.body)
		}
		var used api.SecurityKey
		r.decode(t, &used)
		if used.ID != registered.ID || used.LastUsedAt.IsZero() {
			t.Errorf("assertion answered %+v, want the software key, used now", used)
		}
	}
}

// registrationOptions turns the API's creation options into libfido2's, as
// the companion does.
func registrationOptions(t *testing.T, options json.RawMessage, pin string) fido.RegistrationOptions {
	t.Helper()
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(options, &cc); err != nil {
		t.Fatal(err)
	}
	o := cc.Response
	userID, ok := o.User.ID.(string)
	if !ok {
		t.Fatalf("user.id is %T, want a base64url string", o.User.ID)
	}
	uid, err := base64.RawURLEncoding.DecodeString(userID)
	if err != nil {
		t.Fatal(err)
	}
	ro := fido.RegistrationOptions{
		Origin: publicOrigin, RPID: o.RelyingParty.ID, RPName: o.RelyingParty.Name, Challenge: o.Challenge,
		UserID: uid, UserName: o.User.Name, UserDisplayName: o.User.DisplayName,
		ResidentKey:      o.AuthenticatorSelection.ResidentKey != protocol.ResidentKeyRequirementDiscouraged,
		UserVerification: string(o.AuthenticatorSelection.UserVerification), PIN: pin,
	}
	for _, p := range o.Parameters {
		ro.Algorithms = append(ro.Algorithms, int(p.Algorithm))
	}
	for _, c := range o.CredentialExcludeList {
		ro.ExcludeCredentials = append(ro.ExcludeCredentials, c.CredentialID)
	}
	return ro
}

// assertionOptions turns the API's request options into libfido2's.
func assertionOptions(t *testing.T, options json.RawMessage, pin string) fido.AssertionOptions {
	t.Helper()
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(options, &ca); err != nil {
		t.Fatal(err)
	}
	o := ca.Response
	ao := fido.AssertionOptions{Origin: publicOrigin, RPID: o.RelyingPartyID, Challenge: o.Challenge,
		UserVerification: string(o.UserVerification), PIN: pin}
	for _, c := range o.AllowedCredentials {
		ao.AllowCredentials = append(ao.AllowCredentials, c.CredentialID)
	}
	return ao
}
