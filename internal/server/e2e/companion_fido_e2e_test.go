//go:build cgo

package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// TestCompanionKeyTouch: on an account that requires a security-key touch
// to approve, the companion's FIDOToucher asks the software FIDO2 key
// (through libfido2, on a pty) and the browser lands signed in. It skips
// where no software key can run, unless COUNTERSIGN_TEST_FIDO=1.
func TestCompanionKeyTouch(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	t.Setenv(fido.EnvDevices, sk.Path())
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	browser := browsertest.Start(t)
	s := newApprovalSite(t, browser)
	u := s.user()
	s.registerKey(s.apiToken(u, api.ScopeRead, api.ScopeWrite), key)
	if err := s.srv.Approvals().SetRequireKey(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	d := s.newDesk(u, "Ada's laptop", nil, approver.FIDOToucher())

	n := s.waitingForApproval()
	r := d.request()
	if !r.RequireKey || len(r.KeyOptions) == 0 {
		t.Fatalf("the request does not ask for a key touch: require_key %v, key_options %s", r.RequireKey, r.KeyOptions)
	}
	decided := time.Now()
	rtt := d.decide(r, approver.Approve, n, api.StatusApproved)
	s.landed("landing on /account/security")
	t.Logf("Decide with the key touch took %v; the browser landed %v after Decide was called", rtt, time.Since(decided))
}

// registerKey registers the key with the account through API v1, as the
// companion's security-key screen does.
func (s *approvalSite) registerKey(token string, key *fido.Key) {
	t := s.t
	t.Helper()
	post := func(path string, body, out any) {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
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
		Origin: s.base, RPID: o.RelyingParty.ID, RPName: o.RelyingParty.Name, Challenge: o.Challenge,
		UserID: uid, UserName: o.User.Name, UserDisplayName: o.User.DisplayName,
		UserVerification: string(o.AuthenticatorSelection.UserVerification),
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
	post("/api/v1/security-keys/registrations/"+begin.ChallengeID,
		map[string]any{"name": "Software key", "credential": json.RawMessage(cred)}, nil)
}
