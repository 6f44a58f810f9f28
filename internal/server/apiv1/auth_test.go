package apiv1

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	revoked := e.token(t, e.alice, "revoked", time.Time{}, api.ScopeRead, api.ScopeWrite)
	toks, err := e.db.APITokens(ctx, e.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.Name == "revoked" {
			if err := e.db.RevokeAPIToken(ctx, e.alice.ID, tk.ID, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	expired := e.token(t, e.alice, "expired", e.clock.Now().Add(-time.Second), api.ScopeRead, api.ScopeWrite)
	expiresNow := e.token(t, e.alice, "expires now", e.clock.Now(), api.ScopeRead)
	later := e.token(t, e.alice, "later", e.clock.Now().Add(time.Hour), api.ScopeRead)
	none := e.token(t, e.alice, "no scopes", time.Time{})

	tests := []struct {
		name          string
		header        string // the whole Authorization header
		method, path  string
		status        int
		code, wwwAuth string
	}{
		{"no token", "", "GET", "/api/v1/account", 401, api.CodeUnauthorized, `Bearer realm="countersign"`},
		{"basic auth", "Basic YWxpY2U6cHc=", "GET", "/api/v1/account", 401, api.CodeUnauthorized, `Bearer realm="countersign"`},
		{"empty bearer", "Bearer ", "GET", "/api/v1/account", 401, api.CodeUnauthorized, `Bearer realm="countersign"`},
		{"blank bearer", "Bearer \t ", "GET", "/api/v1/account", 401, api.CodeUnauthorized, `Bearer realm="countersign"`},
		{"unknown token", "Bearer cs_not-a-real-token", "GET", "/api/v1/account", 401, api.CodeInvalidToken, `error="invalid_token"`},
		{"huge token", "Bearer " + strings.Repeat("x", 5000), "GET", "/api/v1/account", 401, api.CodeInvalidToken, `error="invalid_token"`},
		{"revoked", "Bearer " + revoked, "GET", "/api/v1/account", 401, api.CodeInvalidToken, `error="invalid_token"`},
		{"expired", "Bearer " + expired, "GET", "/api/v1/account", 401, api.CodeInvalidToken, `error="invalid_token"`},
		{"expiring this second", "Bearer " + expiresNow, "GET", "/api/v1/account", 401, api.CodeInvalidToken, `error="invalid_token"`},
		{"read-only token writes", "Bearer " + e.ro, "DELETE", "/api/v1/sessions/x", 403, api.CodeInsufficientScope, `error="insufficient_scope", scope="write"`},
		{"read-only token begins a registration", "Bearer " + e.ro, "POST", "/api/v1/security-keys/registrations", 403, api.CodeInsufficientScope, `scope="write"`},
		{"write-only token reads", "Bearer " + e.wo, "GET", "/api/v1/devices", 403, api.CodeInsufficientScope, `error="insufficient_scope", scope="read"`},
		{"token without scopes", "Bearer " + none, "GET", "/api/v1/account", 403, api.CodeInsufficientScope, `scope="read"`},
		{"unexpired token", "Bearer " + later, "GET", "/api/v1/account", 200, "", ""},
		{"scheme in lower case", "bearer " + e.ro, "GET", "/api/v1/account", 200, "", ""},
		{"OpenAPI without a token", "", "GET", "/api/v1/openapi.json", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(tt.method, e.srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			var body api.Error
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if body.Code != tt.code {
				t.Errorf("code %q, want %q", body.Code, tt.code)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wwwAuth) || (tt.wwwAuth == "" && got != "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wwwAuth)
			}
		})
	}
	// The codes and messages, once each.
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account"}), 401, api.CodeUnauthorized, "needs an API token")
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account", token: revoked}), 401, api.CodeInvalidToken, "revoked or have expired")
	wantError(t, e.do(t, req{method: "PATCH", path: "/api/v1/devices/x", token: e.ro, body: `{"name":"x"}`}), 403, api.CodeInsufficientScope, `needs the "write" scope`)

	// Bob's token sees Bob.
	bobs := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead)
	var a api.Account
	e.do(t, req{method: "GET", path: "/api/v1/account", token: bobs}).decode(t, &a)
	if a.ID != e.bob.ID {
		t.Errorf("bob's token answered for %s, want %s", a.ID, e.bob.ID)
	}
}

// TestTouch: a token's last use is written on first use and then at most
// once a minute.
func TestTouch(t *testing.T) {
	e := newEnv(t)
	lastUsed := func() time.Time {
		t.Helper()
		toks, err := e.db.APITokens(context.Background(), e.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks {
			if tk.Name == "rw" {
				return tk.LastUsedAt
			}
		}
		t.Fatal("no rw token")
		return time.Time{}
	}
	if !lastUsed().IsZero() {
		t.Fatal("a fresh token has a last use")
	}
	start := e.clock.Now()
	e.get(t, "/api/v1/account")
	if got := lastUsed(); !got.Equal(start) {
		t.Errorf("after the first use: last used %v, want %v", got, start)
	}
	e.clock.Advance(59 * time.Second)
	e.get(t, "/api/v1/account")
	if got := lastUsed(); !got.Equal(start) {
		t.Errorf("59 s later: last used %v, want it left at %v", got, start)
	}
	e.clock.Advance(time.Second)
	e.get(t, "/api/v1/account")
	if got := lastUsed(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("a minute later: last used %v, want %v", got, start.Add(time.Minute))
	}
}
