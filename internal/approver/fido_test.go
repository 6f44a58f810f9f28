//go:build cgo

package approver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/store"
)

// TestKeyTouch approves a sign-in on an account that requires a
// security-key touch, with FIDOToucher talking through libfido2 to the
// software key on a pty (registered through the API, with a PIN that a
// touch must not need). It skips where no pty can be had, unless
// COUNTERSIGN_TEST_FIDO=1.
func TestKeyTouch(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	t.Setenv(fido.EnvDevices, sk.Path())
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "4826"
	if err := key.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	registerKey(t, srv, srv.APIToken(ada, api.ScopeRead, api.ScopeWrite), key, pin)
	if err := srv.Approvals.SetRequireKey(context.Background(), ada.ID, true); err != nil {
		t.Fatal(err)
	}

	c := newCompanion(t, srv, func(o *Options) { o.Keys = FIDOToucher() })
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	r := srv.SignIn(ada)
	req := c.wait(EventRequest, nil).Request
	if !req.RequireKey || len(req.KeyOptions) == 0 {
		t.Fatalf("the request does not ask for a key: %+v", req.Approval)
	}
	status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number)
	if err != nil || status != api.StatusApproved {
		t.Fatalf("approving with the key = %q, %v", status, err)
	}
	if got := srv.Request(r.ID); got.Status != store.ApprovalApproved {
		t.Errorf("the server's request is %q", got.Status)
	}

	// Without the key's answer the server refuses, and the request stays.
	c2 := newCompanion(t, srv) // noKeys
	_, uri = srv.PairingCode(ada)
	a2 := c2.pair(srv, uri, "other")
	r = srv.SignIn(ada)
	if _, err := c2.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Decide(context.Background(), a2.ID, r.ID, Approve, r.Number); err == nil {
		t.Error("approving without a key touch succeeded")
	}
	if len(c2.Pending()) != 1 {
		t.Error("a failed touch dropped the request")
	}

	// Options that insist on user verification get the PIN error.
	_, err = FIDOToucher().Touch(context.Background(), json.RawMessage(`{"publicKey":{"challenge":"AQID","rpId":"localhost","userVerification":"required"}}`), srv.URL)
	if !errors.Is(err, errNeedsPIN) {
		t.Errorf("required user verification: %v, want the PIN error", err)
	}
}

// registerKey registers the key with the account through API v1, as the
// companion's security-key screen does.
func registerKey(t *testing.T, srv *approvertest.Server, token string, key *fido.Key, pin string) {
	t.Helper()
	post := func(path string, body any, out any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: status %d", path, resp.StatusCode)
		}
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var begin api.RegistrationBegin
	post("/api/v1/security-keys/registrations", nil, &begin)
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(begin.Options, &cc); err != nil {
		t.Fatal(err)
	}
	o := cc.Response
	userID, _ := o.User.ID.(string)
	uid, err := base64.RawURLEncoding.DecodeString(userID)
	if err != nil {
		t.Fatalf("user.id %v: %v", o.User.ID, err)
	}
	ro := fido.RegistrationOptions{
		Origin: srv.URL, RPID: o.RelyingParty.ID, RPName: o.RelyingParty.Name, Challenge: o.Challenge,
		UserID: uid, UserName: o.User.Name, UserDisplayName: o.User.DisplayName,
		UserVerification: string(o.AuthenticatorSelection.UserVerification), PIN: pin,
	}
	for _, p := range o.Parameters {
		ro.Algorithms = append(ro.Algorithms, int(p.Algorithm))
	}
	reg, err := key.Register(t.Context(), ro)
	if err != nil {
		t.Fatalf("the key refused to register: %v", err)
	}
	b64 := base64.RawURLEncoding
	cred, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(reg.CredentialID), "rawId": b64.EncodeToString(reg.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(reg.ClientDataJSON),
			"attestationObject": b64.EncodeToString(reg.AttestationObject),
		},
	})
	post("/api/v1/security-keys/registrations/"+begin.ChallengeID, map[string]any{"name": "Software key", "credential": json.RawMessage(cred)}, nil)
}
