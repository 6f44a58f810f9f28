package apiv1

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// finishBody is a finish request's body.
func finishBody(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// registerKey registers a with alice's account through the API.
func (e *env) registerKey(t *testing.T, a *seckeytest.Authenticator, name string) api.SecurityKey {
	t.Helper()
	return e.registerKeyAs(t, e.rw, a, name)
}

// registerKeyAs registers a through the API with token.
func (e *env) registerKeyAs(t *testing.T, token string, a *seckeytest.Authenticator, name string) api.SecurityKey {
	t.Helper()
	var begin api.RegistrationBegin
	r := e.do(t, req{method: "POST", path: "/api/v1/security-keys/registrations", token: token})
	if r.status != http.StatusCreated {
		t.Fatalf("begin: status %d: %s", r.status, r.body)
	}
	r.decode(t, &begin)
	r = e.do(t, req{method: "POST", path: "/api/v1/security-keys/registrations/" + begin.ChallengeID, token: token,
		body: finishBody(t, map[string]any{"name": name, "credential": a.Create(t, begin.Options)})})
	if r.status != http.StatusCreated {
		t.Fatalf("finish: status %d: %s", r.status, r.body)
	}
	var k api.SecurityKey
	r.decode(t, &k)
	return k
}

func (e *env) keyCount(t *testing.T, u *store.User) int {
	t.Helper()
	ks, err := e.db.SecurityKeys(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}

func TestSecurityKeys(t *testing.T) {
	e := newEnv(t)
	a := seckeytest.New(t, publicOrigin)

	// No keys yet: nothing to assert with.
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/assertions", ""), 409, api.CodeNoSecurityKeys, "No security key")

	k := e.registerKey(t, a, " YubiKey 5C ")
	if k.Name != "YubiKey 5C" || !k.CreatedAt.Equal(e.clock.Now()) || !k.LastUsedAt.IsZero() {
		t.Errorf("registered = %+v, want YubiKey 5C created now, never used", k)
	}
	acts := e.activity(t, e.alice)
	if len(acts) != 1 || acts[0].Kind != store.ActKeyAdded || !strings.Contains(acts[0].Detail, `"YubiKey 5C"`) {
		t.Errorf("activity = %+v, want securitykey.added", acts)
	}

	var list api.SecurityKeyList
	e.do(t, req{method: "GET", path: "/api/v1/security-keys", token: e.ro}).decode(t, &list)
	if len(list.SecurityKeys) != 1 || list.SecurityKeys[0] != k {
		t.Errorf("list = %+v, want [%+v]", list.SecurityKeys, k)
	}

	// Prove possession.
	e.clock.Advance(time.Minute)
	var begin api.LoginBegin
	r := e.send(t, "POST", "/api/v1/security-keys/assertions", "{}")
	if r.status != http.StatusCreated {
		t.Fatalf("begin assertion: status %d: %s", r.status, r.body)
	}
	r.decode(t, &begin)
	answer := a.Get(t, begin.Options, e.alice.WebAuthnID)
	finish := "/api/v1/security-keys/assertions/" + begin.ChallengeID
	r = e.send(t, "POST", finish, finishBody(t, map[string]any{"challenge_id": begin.ChallengeID, "credential": answer}))
	if r.status != http.StatusOK {
		t.Fatalf("finish assertion: status %d: %s", r.status, r.body)
	}
	var used api.SecurityKey
	r.decode(t, &used)
	if used.ID != k.ID || !used.LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("assertion answered %+v, want key %s used now", used, k.ID)
	}
	acts = e.activity(t, e.alice)
	if acts[0].Kind != store.ActTwoStepUsed || !acts[0].OK || !strings.Contains(acts[0].Detail, `Security key "YubiKey 5C" verified`) {
		t.Errorf("newest activity = %+v, want twostep.used by the key", acts[0])
	}

	// The same answer again: the ceremony is spent.
	wantError(t, e.send(t, "POST", finish, finishBody(t, map[string]any{"credential": answer})), 400, api.CodeChallenge, "expired or was already used")

	// A tampered signature is refused and recorded.
	r = e.send(t, "POST", "/api/v1/security-keys/assertions", "")
	r.decode(t, &begin)
	as := a.Sign(t, begin.Options, nil)
	as.Signature[len(as.Signature)/2] ^= 0x55
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/assertions/"+begin.ChallengeID,
		finishBody(t, map[string]any{"credential": as.JSON(t)})), 400, api.CodeNotVerified, "could not be verified")
	acts = e.activity(t, e.alice)
	if acts[0].Kind != store.ActTwoStepFailed || acts[0].OK {
		t.Errorf("newest activity = %+v, want a failed twostep", acts[0])
	}
	if strings.Contains(string(e.send(t, "GET", "/api/v1/security-keys", "").body), "signature") {
		t.Error("verification detail leaked")
	}

	// The same key again: the exclude list names it, and a key that
	// ignores it is refused.
	var rb api.RegistrationBegin
	e.send(t, "POST", "/api/v1/security-keys/registrations", "").decode(t, &rb)
	if !strings.Contains(string(rb.Options), `"excludeCredentials"`) {
		t.Errorf("registration options %s exclude nothing", rb.Options)
	}
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/registrations/"+rb.ChallengeID,
		finishBody(t, map[string]any{"credential": a.Create(t, rb.Options)})), 409, api.CodeAlreadyRegistered, "already registered")
	if n := e.keyCount(t, e.alice); n != 1 {
		t.Errorf("%d keys, want 1", n)
	}

	// Removal.
	second := e.registerKey(t, seckeytest.New(t, publicOrigin), "")
	if second.Name != "Security key" {
		t.Errorf("unnamed key is called %q, want Security key", second.Name)
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/security-keys/nope", ""), 404, api.CodeNotFound, "no such security key")
	if r := e.send(t, "DELETE", "/api/v1/security-keys/"+second.ID, ""); r.status != http.StatusNoContent {
		t.Fatalf("remove: status %d: %s", r.status, r.body)
	}
	if acts := e.activity(t, e.alice); acts[0].Kind != store.ActKeyRemoved || !strings.Contains(acts[0].Detail, `"Security key"`) {
		t.Errorf("newest activity = %+v, want securitykey.removed", acts[0])
	}
	if n := e.keyCount(t, e.alice); n != 1 {
		t.Errorf("%d keys after removing one of two, want 1", n)
	}
}

// TestLastKey: with 2-step verification on, the only way through it
// cannot be removed.
func TestLastKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.registerKey(t, seckeytest.New(t, publicOrigin), "Only key")
	e.alice.TwoStep = true
	if err := e.db.UpdateUser(ctx, e.alice); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/security-keys/"+k.ID, ""), 409, api.CodeLastMethod, "only way through 2-step verification")
	if n := e.keyCount(t, e.alice); n != 1 {
		t.Fatalf("%d keys, want the key kept", n)
	}
	m := &store.Method{UserID: e.alice.ID, Kind: store.MethodTOTP, Label: "Phone app", Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: e.clock.Now()}
	if err := e.db.AddMethod(ctx, m); err != nil {
		t.Fatal(err)
	}
	if r := e.send(t, "DELETE", "/api/v1/security-keys/"+k.ID, ""); r.status != http.StatusNoContent {
		t.Errorf("with an authenticator app too: status %d: %s", r.status, r.body)
	}
}

// TestSecurityKeyBadInput: refused bodies change nothing, and a ceremony
// survives a request refused before it reached the key check.
func TestSecurityKeyBadInput(t *testing.T) {
	e := newEnv(t)
	a := seckeytest.New(t, publicOrigin)
	var begin api.RegistrationBegin
	e.send(t, "POST", "/api/v1/security-keys/registrations", "").decode(t, &begin)
	cred := string(a.Create(t, begin.Options))
	path := "/api/v1/security-keys/registrations/" + begin.ChallengeID
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msg               string
	}{
		{"malformed JSON", "", `{"credential": `, 400, api.CodeInvalidRequest, "not valid JSON"},
		{"unknown field", "", `{"credential": ` + cred + `, "remember": true}`, 400, api.CodeInvalidRequest, `field "remember" is not known`},
		{"name of wrong type", "", `{"name": ["a"], "credential": ` + cred + `}`, 400, api.CodeInvalidRequest, `field "name" must be a string, not an array`},
		{"no credential", "", `{"name": "x"}`, 400, api.CodeInvalidRequest, "credential is required"},
		{"credential a string", "", `{"credential": "abc"}`, 400, api.CodeInvalidRequest, "credential is required"},
		{"credential null", "", `{"credential": null}`, 400, api.CodeInvalidRequest, "credential is required"},
		{"other challenge id", "", `{"challenge_id": "other", "credential": ` + cred + `}`, 400, api.CodeInvalidRequest, "does not match"},
		{"name too long", "", `{"name": "` + strings.Repeat("k", 65) + `", "credential": ` + cred + `}`, 400, api.CodeInvalidRequest, "1 to 64 characters"},
		{"oversize", "", `{"name": "x", "credential": {"id": "` + strings.Repeat("A", 80<<10) + `"}}`, 413, api.CodeTooLarge, "too large"},
		{"text/plain", "text/plain", `{"credential": ` + cred + `}`, 415, api.CodeUnsupportedType, "must be JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, req{method: "POST", path: path, token: e.rw, contentType: tt.contentType, body: tt.body}), tt.status, tt.code, tt.msg)
			if n := e.keyCount(t, e.alice); n != 0 {
				t.Errorf("%d keys stored", n)
			}
			if n := len(e.activity(t, e.alice)); n != 0 {
				t.Errorf("%d activity events", n)
			}
		})
	}
	// A credential that does not verify spends the ceremony.
	r := e.send(t, "POST", "/api/v1/security-keys/registrations/"+begin.ChallengeID, `{"credential": {"id": "AAAA", "type": "public-key"}}`)
	wantError(t, r, 400, api.CodeNotVerified, "could not be verified")
	wantError(t, e.send(t, "POST", path, `{"credential": `+cred+`}`), 400, api.CodeChallenge, "expired or was already used")
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/registrations/unknown", `{"credential": `+cred+`}`), 400, api.CodeChallenge, "start again")

	// Begin takes no body but an empty object.
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/registrations", `{"rp": "evil"}`), 400, api.CodeInvalidRequest, `field "rp" is not known`)
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/registrations", `[]`), 400, api.CodeInvalidRequest, "must be a JSON object")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/security-keys/assertions", token: e.rw, contentType: "text/plain", body: "hi"}), 415, api.CodeUnsupportedType, "must be JSON")

	// Bob cannot finish alice's ceremony.
	e.send(t, "POST", "/api/v1/security-keys/registrations", "").decode(t, &begin)
	bobs := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead, api.ScopeWrite)
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/security-keys/registrations/" + begin.ChallengeID, token: bobs,
		body: `{"credential": ` + string(a.Create(t, begin.Options)) + `}`}), 400, api.CodeChallenge, "start again")
	if n := e.keyCount(t, e.bob); n != 0 {
		t.Errorf("bob has %d keys", n)
	}
}

// TestNoKeyService: without a seckey.Service the key ceremonies answer 503.
func TestNoKeyService(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Keys = nil })
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/registrations", ""), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.send(t, "POST", "/api/v1/security-keys/assertions/x", `{"credential": {}}`), 503, api.CodeUnavailable, "not set up")
	if r := e.send(t, "GET", "/api/v1/security-keys", ""); r.status != http.StatusOK {
		t.Errorf("list without the service: status %d", r.status)
	}
}

// TestAssertionBadInput: refused assertion bodies leave the key and the
// activity log as they were, and the ceremony usable.
func TestAssertionBadInput(t *testing.T) {
	e := newEnv(t)
	a := seckeytest.New(t, publicOrigin)
	e.registerKey(t, a, "Key")
	before := e.activity(t, e.alice)
	var begin api.LoginBegin
	e.send(t, "POST", "/api/v1/security-keys/assertions", "").decode(t, &begin)
	answer := string(a.Get(t, begin.Options, nil))
	path := "/api/v1/security-keys/assertions/" + begin.ChallengeID
	tests := []struct {
		name, contentType, body string
		status                  int
		code, msg               string
	}{
		{"malformed JSON", "", `{"credential": ` + answer, 400, api.CodeInvalidRequest, "not valid JSON"},
		{"unknown field", "", `{"credential": ` + answer + `, "name": "x"}`, 400, api.CodeInvalidRequest, `field "name" is not known`},
		{"challenge id of wrong type", "", `{"challenge_id": 7, "credential": ` + answer + `}`, 400, api.CodeInvalidRequest, `field "challenge_id" must be a string, not a number`},
		{"credential an array", "", `{"credential": [` + answer + `]}`, 400, api.CodeInvalidRequest, "credential is required"},
		{"oversize", "", `{"credential": {"id": "` + strings.Repeat("B", 65<<10) + `"}}`, 413, api.CodeTooLarge, "too large"},
		{"no content type", "-", `{"credential": ` + answer + `}`, 415, api.CodeUnsupportedType, "must be JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, req{method: "POST", path: path, token: e.rw, contentType: tt.contentType, body: tt.body}), tt.status, tt.code, tt.msg)
			keys, err := e.db.SecurityKeys(context.Background(), e.alice.ID)
			if err != nil || len(keys) != 1 || !keys[0].LastUsedAt.IsZero() {
				t.Errorf("keys = %+v, %v; want the one key, never used", keys, err)
			}
			if n := len(e.activity(t, e.alice)); n != len(before) {
				t.Errorf("%d activity events, want %d", n, len(before))
			}
		})
	}
	if r := e.send(t, "POST", path, `{"credential": `+answer+`}`); r.status != http.StatusOK {
		t.Errorf("the ceremony after refused requests: status %d: %s", r.status, r.body)
	}
}
