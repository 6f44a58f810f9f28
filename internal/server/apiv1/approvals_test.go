package apiv1

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

var b64 = base64.RawURLEncoding

// firefox is the user agent of the browser that signs in.
const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"

// device is a companion paired in a test.
type device struct {
	id, name string
	priv     ed25519.PrivateKey
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pairingCode makes a code for u, as the Login & security page does.
func (e *env) pairingCode(t *testing.T, u *store.User) string {
	t.Helper()
	code, _, _, err := e.approvals.NewPairingCode(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func pairingBody(t *testing.T, code string, pub ed25519.PublicKey, name string) string {
	t.Helper()
	return jsonOf(t, api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: name, Platform: "linux"})
}

// pair pairs a new device with u through the API.
func (e *env) pair(t *testing.T, u *store.User, name string) *device {
	t.Helper()
	pub, priv := newKey(t)
	r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, e.pairingCode(t, u), pub, name)})
	if r.status != http.StatusCreated {
		t.Fatalf("pairing: status %d: %s", r.status, r.body)
	}
	var res api.PairingResult
	r.decode(t, &res)
	return &device{id: res.DeviceID, name: name, priv: priv}
}

// challenge asks for a challenge for the device id.
func (e *env) challenge(t *testing.T, id string) api.AuthChallenge {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/api/v1/auth/challenge", body: jsonOf(t, api.AuthChallengeRequest{DeviceID: id})})
	if r.status != http.StatusOK {
		t.Fatalf("challenge: status %d: %s", r.status, r.body)
	}
	var ch api.AuthChallenge
	r.decode(t, &ch)
	return ch
}

// tokenBody signs challenge with priv as the device id.
func tokenBody(t *testing.T, id, challenge string, priv ed25519.PrivateKey) string {
	t.Helper()
	sig := ed25519.Sign(priv, api.AuthMessage(id, challenge))
	return jsonOf(t, api.AuthTokenRequest{DeviceID: id, Challenge: challenge, Signature: b64.EncodeToString(sig)})
}

// signIn gets the device a token through the API.
func (e *env) signIn(t *testing.T, d *device) string {
	t.Helper()
	ch := e.challenge(t, d.id)
	r := e.do(t, req{method: "POST", path: "/api/v1/auth/token", body: tokenBody(t, d.id, ch.Challenge, d.priv)})
	if r.status != http.StatusOK {
		t.Fatalf("token: status %d: %s", r.status, r.body)
	}
	var tok api.AuthToken
	r.decode(t, &tok)
	return tok.Token
}

// request makes a sign-in request for u, as the browser side does after
// the password.
func (e *env) request(t *testing.T, u *store.User) *store.ApprovalRequest {
	t.Helper()
	r, err := e.approvals.Request(context.Background(), approval.SignIn{UserID: u.ID, IP: "203.0.113.7", UserAgent: firefox})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decision is the body of d's decision on r.
func (d *device) decision(t *testing.T, r *store.ApprovalRequest, decision string, number int) string {
	t.Helper()
	sig := ed25519.Sign(d.priv, api.DecisionMessage(r.ID, r.Nonce, decision, number))
	return jsonOf(t, api.Decision{Decision: decision, Number: number, Nonce: r.Nonce, Signature: b64.EncodeToString(sig)})
}

func decisionPath(r *store.ApprovalRequest) string { return "/api/v1/approvals/" + r.ID + "/decision" }

// hasActivity says whether u's activity has an event of kind.
func (e *env) hasActivity(t *testing.T, u *store.User, kind string) bool {
	t.Helper()
	return slices.ContainsFunc(e.activity(t, u), func(a store.Activity) bool { return a.Kind == kind })
}

func TestPairing(t *testing.T) {
	var n atomic.Int64 // every request from another address: no rate limit here
	e := newEnv(t, func(o *Options) { o.ClientIP = func(*http.Request) string { return strconv.FormatInt(n.Add(1), 10) } })
	pub, _ := newKey(t)
	code := e.pairingCode(t, e.alice)

	// The code as people type it: lower case, with its dash.
	r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, strings.ToLower(code), pub, "Sam's laptop")})
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res api.PairingResult
	r.decode(t, &res)
	want := api.AccountRef{ID: e.alice.ID, Name: "Alice", Email: "alice@example.com"}
	if res.DeviceID == "" || res.Account != want || res.Server != publicOrigin {
		t.Errorf("pairing result %+v, want a device of %+v on %s", res, want, publicOrigin)
	}
	if !e.hasActivity(t, e.alice, store.ActApproverPaired) {
		t.Error("no approver.paired activity")
	}
	var list api.ApproverList
	e.do(t, req{method: "GET", path: "/api/v1/approvers", token: e.ro}).decode(t, &list)
	if len(list.Approvers) != 1 || list.Approvers[0].ID != res.DeviceID || list.Approvers[0].Name != "Sam's laptop" ||
		list.Approvers[0].Platform != "linux" || !list.Approvers[0].CreatedAt.Equal(e.clock.Now()) {
		t.Errorf("approvers %+v, want the new device", list.Approvers)
	}

	fresh := e.pairingCode(t, e.alice)
	tests := []struct {
		name, body, contentType string
		status                  int
		code, msg               string
	}{
		{"used code", pairingBody(t, code, pub, "Again"), "", 400, api.CodeInvalidCode, "wrong, used or expired: make a new one"},
		{"wrong code", pairingBody(t, "ABCD-EFGH", pub, "Laptop"), "", 400, api.CodeInvalidCode, "wrong, used or expired"},
		{"short code", pairingBody(t, "ABC", pub, "Laptop"), "", 400, api.CodeInvalidCode, "wrong, used or expired"},
		{"no name", pairingBody(t, fresh, pub, " "), "", 400, api.CodeInvalidRequest, "a device name must be 1 to 64 characters"},
		{"long name", pairingBody(t, fresh, pub, strings.Repeat("n", 65)), "", 400, api.CodeInvalidRequest, "1 to 64 characters"},
		{"short key", pairingBody(t, fresh, pub[:16], "Laptop"), "", 400, api.CodeInvalidRequest, "public_key must be an Ed25519 public key"},
		{"malformed JSON", `{"code":`, "", 400, api.CodeInvalidRequest, "not valid JSON"},
		{"unknown field", `{"code":"x","admin":true}`, "", 400, api.CodeInvalidRequest, `"admin" is not known`},
		{"wrong type", `{"code":12345678}`, "", 400, api.CodeInvalidRequest, `"code" must be a string`},
		{"not JSON", "code=" + fresh, "application/x-www-form-urlencoded", 415, api.CodeUnsupportedType, "must be JSON"},
		{"too large", `{"name":"` + strings.Repeat("x", DefaultMaxBody) + `"}`, "", 413, api.CodeTooLarge, "limit is 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: tt.body, contentType: tt.contentType})
			wantError(t, r, tt.status, tt.code, tt.msg)
		})
	}
	// The refused attempts did not spend the fresh code.
	r = e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, fresh, pub, "Second")})
	if r.status != http.StatusCreated {
		t.Errorf("the fresh code after refused attempts: status %d: %s", r.status, r.body)
	}
}

func TestPairingRateLimit(t *testing.T) {
	e := newEnv(t)
	pub, _ := newKey(t)
	wrong := pairingBody(t, "ABCD-EFGH", pub, "Laptop")
	for i := range pairingsPerMinute {
		if r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: wrong}); r.status != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d, want 400", i+1, r.status)
		}
	}
	// Even the right code waits now.
	right := pairingBody(t, e.pairingCode(t, e.alice), pub, "Laptop")
	r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: right})
	wantError(t, r, http.StatusTooManyRequests, api.CodeTooMany, "Too many pairing codes")
	if got := r.header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	e.clock.Advance(time.Minute)
	if r := e.do(t, req{method: "POST", path: "/api/v1/pairings", body: right}); r.status != http.StatusCreated {
		t.Errorf("a minute later: status %d: %s", r.status, r.body)
	}
}

func TestDeviceAuth(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	post := func(path, body string) response {
		t.Helper()
		return e.do(t, req{method: "POST", path: path, body: body})
	}

	ch := e.challenge(t, d.id)
	if raw, err := b64.DecodeString(ch.Challenge); err != nil || len(raw) != 32 {
		t.Errorf("challenge %q: want 32 bytes in base64url (%v)", ch.Challenge, err)
	}
	if want := e.clock.Now().Add(time.Minute); !ch.ExpiresAt.Equal(want) {
		t.Errorf("challenge expires %v, want %v", ch.ExpiresAt, want)
	}
	r := post("/api/v1/auth/token", tokenBody(t, d.id, ch.Challenge, d.priv))
	if r.status != http.StatusOK {
		t.Fatalf("token: status %d: %s", r.status, r.body)
	}
	var tok api.AuthToken
	r.decode(t, &tok)
	if !strings.HasPrefix(tok.Token, "csd_") || !tok.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("token %+v: want csd_… for 10 minutes", tok)
	}
	if r := e.do(t, req{method: "GET", path: "/api/v1/account", token: tok.Token}); r.status != http.StatusOK {
		t.Errorf("the token does not work: status %d: %s", r.status, r.body)
	}

	_, other := newKey(t)
	t.Run("reused challenge", func(t *testing.T) {
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, ch.Challenge, d.priv)), 401, api.CodeInvalidSignature, "challenge is unknown, used or expired")
	})
	t.Run("bad signature", func(t *testing.T) {
		c := e.challenge(t, d.id)
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, c.Challenge, other)), 401, api.CodeInvalidSignature, "signature does not verify")
		// The failed attempt spent the challenge.
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, c.Challenge, d.priv)), 401, api.CodeInvalidSignature, "")
	})
	t.Run("signature not base64url", func(t *testing.T) {
		c := e.challenge(t, d.id)
		body := jsonOf(t, api.AuthTokenRequest{DeviceID: d.id, Challenge: c.Challenge, Signature: "not base64!"})
		wantError(t, post("/api/v1/auth/token", body), 401, api.CodeInvalidSignature, "")
	})
	t.Run("made-up challenge", func(t *testing.T) {
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, b64.EncodeToString(make([]byte, 32)), d.priv)), 401, api.CodeInvalidSignature, "")
	})
	t.Run("expired challenge", func(t *testing.T) {
		c := e.challenge(t, d.id)
		e.clock.Advance(time.Minute)
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, c.Challenge, d.priv)), 401, api.CodeInvalidSignature, "")
	})
	t.Run("another device's challenge", func(t *testing.T) {
		d2 := e.pair(t, e.alice, "Desk")
		c := e.challenge(t, d2.id)
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, c.Challenge, d.priv)), 401, api.CodeInvalidSignature, "")
	})
	t.Run("unknown device", func(t *testing.T) {
		r := post("/api/v1/auth/challenge", jsonOf(t, api.AuthChallengeRequest{DeviceID: "no-such-device"}))
		wantError(t, r, 401, api.CodeDeviceRevoked, "no longer paired")
		wantError(t, post("/api/v1/auth/token", tokenBody(t, "no-such-device", ch.Challenge, d.priv)), 401, api.CodeDeviceRevoked, "")
	})
	t.Run("bad bodies", func(t *testing.T) {
		wantError(t, post("/api/v1/auth/challenge", `{}`), 400, api.CodeInvalidRequest, "device_id is required")
		wantError(t, post("/api/v1/auth/token", jsonOf(t, api.AuthTokenRequest{DeviceID: d.id})), 400, api.CodeInvalidRequest, "are required")
		wantError(t, post("/api/v1/auth/challenge", `{"device_id":`), 400, api.CodeInvalidRequest, "not valid JSON")
		wantError(t, post("/api/v1/auth/token", `{"device":"x"}`), 400, api.CodeInvalidRequest, "not known")
		r := e.do(t, req{method: "POST", path: "/api/v1/auth/challenge", body: `{"device_id":"x"}`, contentType: "text/plain"})
		wantError(t, r, 415, api.CodeUnsupportedType, "must be JSON")
		r = e.do(t, req{method: "POST", path: "/api/v1/auth/token", body: `{"device_id":"` + strings.Repeat("x", DefaultMaxBody) + `"}`})
		wantError(t, r, 413, api.CodeTooLarge, "too large")
	})
	t.Run("expired token", func(t *testing.T) {
		tok := e.signIn(t, d)
		e.clock.Advance(10 * time.Minute)
		r := e.do(t, req{method: "GET", path: "/api/v1/account", token: tok})
		wantError(t, r, 401, api.CodeInvalidToken, "device token is not valid")
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", got)
		}
		wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account", token: "csd_made-up"}), 401, api.CodeInvalidToken, "")
	})
	t.Run("removed device", func(t *testing.T) {
		tok := e.signIn(t, d)
		c := e.challenge(t, d.id)
		if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + d.id, token: e.rw}); r.status != http.StatusNoContent {
			t.Fatalf("remove: status %d: %s", r.status, r.body)
		}
		r := e.do(t, req{method: "GET", path: "/api/v1/approvals", token: tok})
		wantError(t, r, 401, api.CodeDeviceRevoked, "no longer paired")
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `Bearer realm="countersign", error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", got)
		}
		wantError(t, post("/api/v1/auth/token", tokenBody(t, d.id, c.Challenge, d.priv)), 401, api.CodeDeviceRevoked, "")
		wantError(t, post("/api/v1/auth/challenge", jsonOf(t, api.AuthChallengeRequest{DeviceID: d.id})), 401, api.CodeDeviceRevoked, "")
	})
}

// TestTokenScopes: what device tokens and API tokens may do here.
func TestTokenScopes(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	other := e.pair(t, e.alice, "Desk")
	dev := e.signIn(t, d)
	bobs := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead, api.ScopeWrite)
	pending := e.request(t, e.alice)

	tests := []struct {
		name, token, method, path, body string
		status                          int
		code, wwwAuth                   string
	}{
		{"device reads the account", dev, "GET", "/api/v1/account", "", 200, "", ""},
		{"device lists trusted devices", dev, "GET", "/api/v1/devices", "", 200, "", ""},
		{"device lists sessions", dev, "GET", "/api/v1/sessions", "", 200, "", ""},
		{"device lists security keys", dev, "GET", "/api/v1/security-keys", "", 200, "", ""},
		{"device reads activity", dev, "GET", "/api/v1/activity", "", 200, "", ""},
		{"device lists approvers", dev, "GET", "/api/v1/approvers", "", 200, "", ""},
		{"device lists approvals", dev, "GET", "/api/v1/approvals", "", 200, "", ""},
		{"device polls", dev, "GET", "/api/v1/approvals/poll?timeout=0", "", 200, "", ""},
		// Device tokens write too; what they may change is the household's
		// rules (household_test.go).
		{"device renames a device", dev, "PATCH", "/api/v1/devices/x", `{"name":"x"}`, 404, api.CodeNotFound, ""},
		{"device ends a session", dev, "DELETE", "/api/v1/sessions/x", "", 404, api.CodeNotFound, ""},
		{"device registers a key", dev, "POST", "/api/v1/security-keys/registrations", "", 201, "", ""},
		{"device lists its share offers", dev, "GET", "/api/v1/shares", "", 200, "", ""},
		{"device lists developer apps", dev, "GET", "/api/v1/developer/apps", "", 403, api.CodeInsufficientScope, `error="insufficient_scope"`},
		{"API token lists share offers", e.rw, "GET", "/api/v1/shares", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token accepts a share offer", e.rw, "POST", "/api/v1/shares/x/accept", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token declines a share offer", e.rw, "DELETE", "/api/v1/shares/x", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token lists approvals", e.rw, "GET", "/api/v1/approvals", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token streams", e.rw, "GET", "/api/v1/approvals/stream", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token polls", e.rw, "GET", "/api/v1/approvals/poll", "", 403, api.CodeInsufficientScope, `scope="approve"`},
		{"API token decides", e.rw, "POST", decisionPath(pending), d.decision(t, pending, "approve", pending.Number), 403, api.CodeInsufficientScope, `scope="approve"`},
		{"read-only token lists approvers", e.ro, "GET", "/api/v1/approvers", "", 200, "", ""},
		{"write-only token lists approvers", e.wo, "GET", "/api/v1/approvers", "", 403, api.CodeInsufficientScope, `scope="read"`},
		{"read-only token removes an approver", e.ro, "DELETE", "/api/v1/approvers/" + other.id, "", 403, api.CodeInsufficientScope, `scope="write"`},
		{"another account removes an approver", bobs, "DELETE", "/api/v1/approvers/" + other.id, "", 404, api.CodeNotFound, ""},
		{"unknown approver", e.rw, "DELETE", "/api/v1/approvers/no-such-device", "", 404, api.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: tt.method, path: tt.path, token: tt.token, body: tt.body})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.code != "" {
				if got := r.apiErr(t).Code; got != tt.code {
					t.Errorf("code %q, want %q", got, tt.code)
				}
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wwwAuth) || (tt.wwwAuth == "" && got != "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
		})
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/approvals", token: e.rw}), 403, api.CodeInsufficientScope, "Only a paired approver device")
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/shares", token: e.rw}), 403, api.CodeInsufficientScope, "Only a paired approver device")

	// A device token acts for its account.
	var a api.Account
	e.do(t, req{method: "GET", path: "/api/v1/account", token: dev}).decode(t, &a)
	if a.ID != e.alice.ID {
		t.Errorf("the device's token answered for %s, want alice %s", a.ID, e.alice.ID)
	}

	// An API token with write removes any of the account's devices; a
	// device removes itself, and its token stops working.
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + other.id, token: e.wo}); r.status != http.StatusNoContent {
		t.Errorf("API token removes a device: status %d: %s", r.status, r.body)
	}
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + d.id, token: dev}); r.status != http.StatusNoContent {
		t.Errorf("device unpairs itself: status %d: %s", r.status, r.body)
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account", token: dev}), 401, api.CodeDeviceRevoked, "")
	var list api.ApproverList
	e.get(t, "/api/v1/approvers").decode(t, &list)
	if len(list.Approvers) != 0 {
		t.Errorf("approvers left: %+v", list.Approvers)
	}
	if !e.hasActivity(t, e.alice, store.ActApproverRemoved) {
		t.Error("no approver.removed activity")
	}
}

func TestNoApprovalService(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Approvals = nil })
	pub, _ := newKey(t)
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, "ABCD-EFGH", pub, "x")}), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/auth/challenge", body: `{"device_id":"x"}`}), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/auth/token", body: `{"device_id":"x"}`}), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.get(t, "/api/v1/approvers"), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.send(t, "DELETE", "/api/v1/approvers/x", ""), 503, api.CodeUnavailable, "not set up")
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/approvals", token: "csd_x"}), 401, api.CodeInvalidToken, "")
}

func TestListApprovals(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	var list api.ApprovalList
	e.do(t, req{method: "GET", path: "/api/v1/approvals", token: tok}).decode(t, &list)
	if list.Approvals == nil || len(list.Approvals) != 0 {
		t.Errorf("approvals %#v, want an empty list", list.Approvals)
	}
	r := e.request(t, e.alice)
	e.request(t, e.bob)
	e.do(t, req{method: "GET", path: "/api/v1/approvals", token: tok}).decode(t, &list)
	if len(list.Approvals) != 1 {
		t.Fatalf("approvals %+v, want alice's one", list.Approvals)
	}
	a := list.Approvals[0]
	if a.ID != r.ID || a.Nonce != r.Nonce || !slices.Contains(a.Numbers, r.Number) || len(a.Numbers) != 3 ||
		a.Account.ID != e.alice.ID || a.Browser != "Firefox 133" || a.IP != "203.0.113.7" ||
		!a.ExpiresAt.Equal(e.clock.Now().Add(2*time.Minute)) || a.RequireKey {
		t.Errorf("approval %+v, want request %+v", a, r)
	}
}

// sseEvent is one event (or comment) read from a stream.
type sseEvent struct {
	id, event, data string
	comment         string
}

// sse is an open approvals stream. Events arrives until the stream ends,
// then closes.
type sse struct {
	header http.Header
	proto  int // the response's HTTP major version
	events chan sseEvent
}

// openStream opens the approvals stream at base (the server's URL) with
// token; lastID, when not "", goes in the Last-Event-ID header. The stream
// is closed when the test ends.
func openStream(t *testing.T, base, path, token, lastID string) *sse {
	t.Helper()
	return openStreamWith(t, http.DefaultClient, base, path, token, lastID)
}

// openStreamWith is openStream through client.
func openStreamWith(t *testing.T, client *http.Client, base, path, token, lastID string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		r.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("stream: status %d: %+v", resp.StatusCode, e)
	}
	s := &sse{header: resp.Header, proto: resp.ProtoMajor, events: make(chan sseEvent, 100)}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "":
				if line == "" {
					if ev != (sseEvent{}) {
						s.events <- ev
					}
					ev = sseEvent{}
				} else {
					s.events <- sseEvent{comment: value}
				}
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				ev.data += value
			}
		}
	}()
	return s
}

// next is the stream's next event, skipping comments; it fails the test
// after a second without one.
func (s *sse) next(t *testing.T) sseEvent {
	t.Helper()
	deadline := time.After(time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.comment == "" {
				return ev
			}
		case <-deadline:
			t.Fatal("no event within a second")
		}
	}
}

// ends checks that the stream ends within a second without another event.
func (s *sse) ends(t *testing.T) {
	t.Helper()
	deadline := time.After(time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return
			}
			if ev.comment == "" {
				t.Errorf("event %+v, want the end of the stream", ev)
			}
		case <-deadline:
			t.Fatal("the stream did not end")
		}
	}
}

// quiet checks that no event comes for a moment.
func (s *sse) quiet(t *testing.T) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok && ev.comment == "" {
			t.Errorf("unexpected event %+v", ev)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// approvalEvent checks ev is an "approval" event of r.
func approvalEvent(t *testing.T, ev sseEvent, r *store.ApprovalRequest) {
	t.Helper()
	var a api.Approval
	if err := json.Unmarshal([]byte(ev.data), &a); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	if ev.event != api.EventApproval || ev.id == "" || a.ID != r.ID || a.Nonce != r.Nonce || !slices.Contains(a.Numbers, r.Number) {
		t.Errorf("event %+v, want the approval of %s", ev, r.ID)
	}
}

// resolvedEvent checks ev is a "resolved" event of r.
func resolvedEvent(t *testing.T, ev sseEvent, r *store.ApprovalRequest, status, by string) {
	t.Helper()
	var res api.Resolved
	if err := json.Unmarshal([]byte(ev.data), &res); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	if ev.event != api.EventResolved || res.ID != r.ID || res.Status != status || res.DecidedBy != by {
		t.Errorf("event %+v, want %s resolved %s by %q", ev, r.ID, status, by)
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)

	s := openStream(t, e.srv.URL, "/api/v1/approvals/stream", tok, "")
	for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := s.header.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	r1 := e.request(t, e.alice)
	e.request(t, e.bob) // not alice's: not on her stream
	first := s.next(t)
	approvalEvent(t, first, r1)
	if r := e.do(t, req{method: "POST", path: decisionPath(r1), token: tok, body: d.decision(t, r1, "deny", 0)}); r.status != http.StatusOK {
		t.Fatalf("deny: status %d: %s", r.status, r.body)
	}
	resolved := s.next(t)
	resolvedEvent(t, resolved, r1, api.StatusDenied, "Sam's laptop (Alice)") // the device and its member
	s.quiet(t)

	// A request made while no stream was open; a stream resuming after the
	// first event gets the resolution and the new request, not the old
	// request again.
	r2 := e.request(t, e.alice)
	approvalEvent(t, s.next(t), r2)
	s2 := openStream(t, e.srv.URL, "/api/v1/approvals/stream", tok, first.id)
	resolvedEvent(t, s2.next(t), r1, api.StatusDenied, "Sam's laptop (Alice)")
	approvalEvent(t, s2.next(t), r2)
	s2.quiet(t)

	// The same with the query parameter, after the resolution.
	s3 := openStream(t, e.srv.URL, "/api/v1/approvals/stream?last_event_id="+resolved.id, tok, "")
	approvalEvent(t, s3.next(t), r2)
	s3.quiet(t)

	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/approvals/stream?last_event_id=x", token: tok}), 400, api.CodeInvalidRequest, "last event id")

	// Removing the device through the API ends its streams.
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + d.id, token: e.rw}); r.status != http.StatusNoContent {
		t.Fatalf("remove: status %d: %s", r.status, r.body)
	}
	for _, st := range []*sse{s, s2, s3} {
		ev := st.next(t)
		var u api.Unpaired
		if err := json.Unmarshal([]byte(ev.data), &u); err != nil || ev.event != api.EventUnpaired || u.DeviceID != d.id {
			t.Errorf("event %+v, want unpaired %s", ev, d.id)
		}
		st.ends(t)
	}
}

// TestShutdown: closing Options.Closing ends the streams and long polls.
func TestShutdown(t *testing.T) {
	closing := make(chan struct{})
	e := newEnv(t, func(o *Options) { o.Closing = closing })
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	s := openStream(t, e.srv.URL, "/api/v1/approvals/stream", tok, "")
	s.quiet(t)
	polled := make(chan response, 1)
	go func() {
		r, err := e.try(req{method: "GET", path: "/api/v1/approvals/poll?timeout=30", token: tok})
		if err != nil {
			t.Error(err)
		}
		polled <- r
	}()
	time.Sleep(100 * time.Millisecond)
	close(closing)
	s.ends(t)
	select {
	case r := <-polled:
		var res api.PollResult
		r.decode(t, &res)
		if r.status != http.StatusOK || len(res.Events) != 0 {
			t.Errorf("poll at shutdown: status %d, events %+v; want 200 and none", r.status, res.Events)
		}
	case <-time.After(time.Second):
		t.Fatal("the long poll did not end at shutdown")
	}
}

// TestStreamOutlivesWriteTimeout: the server's write timeout does not cut
// a stream, and pings come when nothing else does.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	old := pingEvery
	pingEvery = 50 * time.Millisecond
	t.Cleanup(func() { pingEvery = old })
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { e.approvals.Close() }) // ends the stream before srv closes

	s := openStream(t, srv.URL, "/api/v1/approvals/stream", tok, "")
	pings := 0
	deadline := time.After(2 * time.Second)
	for pings < 8 { // 400 ms and more
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended after %d pings", pings)
			}
			if ev.comment != "ping" {
				t.Fatalf("event %+v, want a ping", ev)
			}
			pings++
		case <-deadline:
			t.Fatalf("%d pings in 2 s", pings)
		}
	}
	r := e.request(t, e.alice)
	approvalEvent(t, s.next(t), r)
}

func TestPoll(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	poll := func(t *testing.T, query string) api.PollResult {
		t.Helper()
		r := e.do(t, req{method: "GET", path: "/api/v1/approvals/poll" + query, token: tok})
		if r.status != http.StatusOK {
			t.Fatalf("poll: status %d: %s", r.status, r.body)
		}
		var res api.PollResult
		r.decode(t, &res)
		return res
	}

	start := time.Now()
	if res := poll(t, "?timeout=0"); res.Events == nil || len(res.Events) != 0 {
		t.Errorf("nothing yet: events %#v, want []", res.Events)
	}
	if time.Since(start) > time.Second {
		t.Errorf("timeout=0 took %v", time.Since(start))
	}
	r1 := e.request(t, e.alice)
	res := poll(t, "?after=0&timeout=5")
	if len(res.Events) != 1 || res.Events[0].Event != api.EventApproval {
		t.Fatalf("events %+v, want the approval", res.Events)
	}
	var a api.Approval
	if err := json.Unmarshal(res.Events[0].Data, &a); err != nil || a.ID != r1.ID {
		t.Errorf("data %s, want the approval of %s (%v)", res.Events[0].Data, r1.ID, err)
	}

	// A poll waits for the next event.
	after := res.Events[0].ID
	got := make(chan response, 1)
	go func() {
		r, err := e.try(req{method: "GET", path: fmt.Sprintf("/api/v1/approvals/poll?after=%d&timeout=10", after), token: tok})
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	time.Sleep(100 * time.Millisecond)
	r2 := e.request(t, e.alice)
	select {
	case r := <-got:
		var res api.PollResult
		r.decode(t, &res)
		if len(res.Events) != 1 || res.Events[0].ID <= after {
			t.Fatalf("events %+v, want the second approval", res.Events)
		}
		json.Unmarshal(res.Events[0].Data, &a)
		if a.ID != r2.ID {
			t.Errorf("approval %s, want %s", a.ID, r2.ID)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the poll did not answer within 3 s of the event")
	}

	for _, q := range []string{"?after=-1", "?after=x", "?timeout=31", "?timeout=-1", "?timeout=1.5", "?timeout=99999999999999999999"} {
		wantError(t, e.do(t, req{method: "GET", path: "/api/v1/approvals/poll" + q, token: tok}), 400, api.CodeInvalidRequest, "must be")
	}
}

// alreadyDecidedBody decodes a 409 answer strictly.
func alreadyDecidedBody(t *testing.T, r response) alreadyDecided {
	t.Helper()
	var body alreadyDecided
	r.decode(t, &body)
	return body
}

func TestDecision(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	decide := func(t *testing.T, r *store.ApprovalRequest, body string) response {
		t.Helper()
		return e.do(t, req{method: "POST", path: decisionPath(r), token: tok, body: body})
	}

	t.Run("outcomes", func(t *testing.T) {
		tests := []struct {
			name, decision string
			number         func(r *store.ApprovalRequest) int
			status         string
			activity       string
		}{
			{"approve the right number", "approve", func(r *store.ApprovalRequest) int { return r.Number }, api.StatusApproved, store.ActApprovalApproved},
			{"approve a wrong number", "approve", func(r *store.ApprovalRequest) int { return r.Decoys[0] }, api.StatusDenied, store.ActApprovalDenied},
			{"deny", "deny", func(*store.ApprovalRequest) int { return 0 }, api.StatusDenied, store.ActApprovalDenied},
			{"report", "report", func(*store.ApprovalRequest) int { return 0 }, api.StatusReported, store.ActApprovalReported},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.request(t, e.alice)
				res := decide(t, r, d.decision(t, r, tt.decision, tt.number(r)))
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				var out api.DecisionResult
				res.decode(t, &out)
				if out.Status != tt.status {
					t.Errorf("status %q, want %q", out.Status, tt.status)
				}
				if !e.hasActivity(t, e.alice, tt.activity) {
					t.Errorf("no %s activity", tt.activity)
				}
			})
		}
	})
	// Three denials locked the password step; let them age out (and sign
	// in again: the token has expired by then).
	e.clock.Advance(16 * time.Minute)
	tok = e.signIn(t, d)

	t.Run("second decision", func(t *testing.T) {
		r := e.request(t, e.alice)
		if res := decide(t, r, d.decision(t, r, "approve", r.Number)); res.status != http.StatusOK {
			t.Fatalf("first: status %d: %s", res.status, res.body)
		}
		res := decide(t, r, d.decision(t, r, "deny", 0))
		wantError(t, res, http.StatusConflict, api.CodeAlreadyDecided, `already approved by Sam's laptop`)
		if body := alreadyDecidedBody(t, res); body.Status != api.StatusApproved || body.DecidedBy != "Sam's laptop (Alice)" {
			t.Errorf("409 answer %+v, want approved by Sam's laptop (Alice)", body)
		}
	})
	t.Run("expired", func(t *testing.T) {
		r := e.request(t, e.alice)
		e.clock.Advance(2 * time.Minute)
		wantError(t, decide(t, r, d.decision(t, r, "approve", r.Number)), http.StatusGone, api.CodeExpired, "expired")
	})
	t.Run("another account's device", func(t *testing.T) {
		r := e.request(t, e.alice)
		bobs := e.pair(t, e.bob, "Bob's laptop")
		res := e.do(t, req{method: "POST", path: decisionPath(r), token: e.signIn(t, bobs), body: bobs.decision(t, r, "approve", r.Number)})
		wantError(t, res, http.StatusForbidden, api.CodeForeign, "another account")
	})
	t.Run("bad signature", func(t *testing.T) {
		r := e.request(t, e.alice)
		_, other := newKey(t)
		impostor := &device{id: d.id, priv: other}
		res := decide(t, r, impostor.decision(t, r, "approve", r.Number))
		wantError(t, res, http.StatusUnauthorized, api.CodeInvalidSignature, "signature does not verify")
		if res.header.Get("WWW-Authenticate") == "" {
			t.Error("a 401 without WWW-Authenticate")
		}
		// Signed, but not what is sent: another number, the wrong nonce.
		var body api.Decision
		json.Unmarshal([]byte(d.decision(t, r, "approve", r.Number)), &body)
		body.Number = r.Decoys[0]
		wantError(t, decide(t, r, jsonOf(t, body)), http.StatusUnauthorized, api.CodeInvalidSignature, "")
		wrongNonce := *r
		wrongNonce.Nonce = b64.EncodeToString(make([]byte, 16))
		wantError(t, decide(t, r, d.decision(t, &wrongNonce, "approve", r.Number)), http.StatusUnauthorized, api.CodeInvalidSignature, "")
		// The request is still pending.
		if res := decide(t, r, d.decision(t, r, "deny", 0)); res.status != http.StatusOK {
			t.Errorf("after the bad signatures: status %d: %s", res.status, res.body)
		}
	})
	t.Run("unknown request", func(t *testing.T) {
		r := &store.ApprovalRequest{ID: "no-such-request", Nonce: "x"}
		wantError(t, decide(t, r, d.decision(t, r, "approve", 42)), http.StatusNotFound, api.CodeNotFound, "no such sign-in request")
	})
	t.Run("bad bodies", func(t *testing.T) {
		r := e.request(t, e.alice)
		tests := []struct {
			name, body, contentType string
			status                  int
			code, msg               string
		}{
			{"malformed JSON", `{"decision":`, "", 400, api.CodeInvalidRequest, "not valid JSON"},
			{"unknown field", `{"decision":"approve","why":"x"}`, "", 400, api.CodeInvalidRequest, `"why" is not known`},
			{"number as text", `{"decision":"approve","number":"42"}`, "", 400, api.CodeInvalidRequest, `"number" must be a number`},
			{"unknown decision", d.decision(t, r, "maybe", 0), "", 400, api.CodeInvalidRequest, "decision must be approve, deny or report."},
			{"empty body", "", "-", 400, api.CodeInvalidRequest, "body is empty"},
			{"two objects", `{} {}`, "", 400, api.CodeInvalidRequest, "single JSON object"},
			{"not JSON", "decision=approve", "text/plain", 415, api.CodeUnsupportedType, "must be JSON"},
			{"too large", `{"signature":"` + strings.Repeat("x", DefaultMaxBody) + `"}`, "", 413, api.CodeTooLarge, "limit is 64 KiB"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.do(t, req{method: "POST", path: decisionPath(r), token: tok, body: tt.body, contentType: tt.contentType})
				wantError(t, res, tt.status, tt.code, tt.msg)
			})
		}
	})
}

// TestDecisionWithKey: with "require a security-key touch" approving
// needs the key's assertion.
func TestDecisionWithKey(t *testing.T) {
	e := newEnv(t)
	key := seckeytest.New(t, publicOrigin)
	e.registerKey(t, key, "Key")
	if err := e.approvals.SetRequireKey(context.Background(), e.alice.ID, true); err != nil {
		t.Fatal(err)
	}
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	// pending is r's approval as the device sees it.
	pending := func(r *store.ApprovalRequest) api.Approval {
		t.Helper()
		var list api.ApprovalList
		e.do(t, req{method: "GET", path: "/api/v1/approvals", token: tok}).decode(t, &list)
		for _, a := range list.Approvals {
			if a.ID == r.ID {
				return a
			}
		}
		t.Fatalf("approvals %+v: %s is not pending", list.Approvals, r.ID)
		return api.Approval{}
	}
	withAssertion := func(r *store.ApprovalRequest, assertion json.RawMessage) string {
		var body api.Decision
		json.Unmarshal([]byte(d.decision(t, r, "approve", r.Number)), &body)
		body.Assertion = assertion
		return jsonOf(t, body)
	}
	decide := func(r *store.ApprovalRequest, body string) response {
		return e.do(t, req{method: "POST", path: decisionPath(r), token: tok, body: body})
	}

	r := e.request(t, e.alice)
	if a := pending(r); !a.RequireKey || len(a.KeyOptions) == 0 {
		t.Fatalf("approval %+v, want one that requires the key", a)
	}
	wantError(t, decide(r, d.decision(t, r, "approve", r.Number)), 400, api.CodeKeyRequired, "needs a security-key touch")
	wantError(t, decide(r, withAssertion(r, json.RawMessage(`{"id":"x","type":"public-key"}`))), 400, api.CodeKeyFailed, "could not be verified")

	// A failed assertion spends the key ceremony: the next request.
	r = e.request(t, e.alice)
	res := decide(r, withAssertion(r, key.Get(t, pending(r).KeyOptions, e.alice.WebAuthnID)))
	if res.status != http.StatusOK {
		t.Fatalf("with the key: status %d: %s", res.status, res.body)
	}
	var out api.DecisionResult
	res.decode(t, &out)
	if out.Status != api.StatusApproved {
		t.Errorf("status %q, want approved", out.Status)
	}
}

// TestDecisionRace: two devices decide the same requests at once; exactly
// one decision counts each time, and the other hears who won.
func TestDecisionRace(t *testing.T) {
	e := newEnv(t)
	devices := []*device{e.pair(t, e.alice, "Laptop"), e.pair(t, e.alice, "Desktop")}
	tokens := []string{e.signIn(t, devices[0]), e.signIn(t, devices[1])}
	for round := range 10 {
		r := e.request(t, e.alice)
		bodies := []string{devices[0].decision(t, r, "approve", r.Number), devices[1].decision(t, r, "approve", r.Number)}
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]response, 2)
		for i := range 2 {
			wg.Go(func() {
				<-start
				res, err := e.try(req{method: "POST", path: decisionPath(r), token: tokens[i], body: bodies[i]})
				if err != nil {
					t.Error(err)
				}
				results[i] = res
			})
		}
		close(start)
		wg.Wait()
		var won, lost []int
		for i, res := range results {
			switch res.status {
			case http.StatusOK:
				won = append(won, i)
			case http.StatusConflict:
				lost = append(lost, i)
			default:
				t.Fatalf("round %d, device %d: status %d: %s", round, i, res.status, res.body)
			}
		}
		if len(won) != 1 || len(lost) != 1 {
			t.Fatalf("round %d: %d decisions counted, %d refused; want 1 and 1", round, len(won), len(lost))
		}
		if body := alreadyDecidedBody(t, results[lost[0]]); body.Code != api.CodeAlreadyDecided || body.DecidedBy != devices[won[0]].name+" (Alice)" {
			t.Errorf("round %d: the loser heard %+v, want decided by %s (Alice)", round, body, devices[won[0]].name)
		}
	}
}
