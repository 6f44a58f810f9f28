//go:build cgo

package approvertest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/fido"
)

// RegisterKey registers key (through libfido2) with the account that token
// (an API token with the write scope) belongs to, through API v1's
// security-key registration on the server at base, as a native client does,
// confirming with the account's password first. pin is the key's PIN, ""
// for none.
func RegisterKey(t testing.TB, base, token, password string, key *fido.Key, pin string) {
	t.Helper()
	mark := ""
	post := func(path string, body, out any) {
		t.Helper()
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if mark != "" {
			req.Header.Set(api.StepUpHeader, mark)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: status %d", path, res.StatusCode)
		}
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Adding a key needs a fresh confirmation: the account's password.
	var su api.StepUp
	post("/api/v1/step-up", api.StepUpRequest{Password: password}, &su)
	mark = su.Token
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
		Origin: base, RPID: o.RelyingParty.ID, RPName: o.RelyingParty.Name, Challenge: o.Challenge,
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
