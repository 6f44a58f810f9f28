package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite/token/jwt"

	"github.com/countersign/countersign/internal/store"
)

// A request without state is accepted when PKCE (S256) protects it, and the
// answer then carries no state; a short state is still refused.
func TestStateOptionalWithPKCE(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	pub, _ := e.register(true, "openid")
	conf, _ := e.register(false, "openid")
	tests := []struct {
		name      string
		client    string
		set       map[string]string
		wantError string // "" for a code
	}{
		{"no state, PKCE", pub.ID, map[string]string{"state": ""}, ""},
		{"no state, PKCE, confidential", conf.ID, map[string]string{"state": ""}, ""},
		{"no state, no PKCE", conf.ID, map[string]string{"state": "", "code_challenge": "", "code_challenge_method": ""}, "invalid_state"},
		{"short state, PKCE", pub.ID, map[string]string{"state": "abc"}, "invalid_state"},
		{"no state, an error", pub.ID, map[string]string{"state": "", "scope": "openid email"}, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, resp := e.authorize(e.authorizeURL(tt.client, tt.set))
			if loc == nil {
				t.Fatalf("got status %d, want a redirect", resp.StatusCode)
			}
			q := loc.Query()
			if got := q.Get("error"); got != tt.wantError || (tt.wantError == "") != (q.Get("code") != "") {
				t.Errorf("redirected to %s, want error %q", loc, tt.wantError)
			}
			if want := tt.set["state"]; q.Has("state") != (want != "") || q.Get("state") != want {
				t.Errorf("redirected to %s, want state %q (none when the request had none)", loc, want)
			}
		})
	}
}

// prompt and max_age are checked before the person is asked anything.
func TestPromptAndMaxAgeParsed(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, _ := e.register(true, "openid")
	for _, tt := range []struct {
		set        map[string]string
		wantError  string
		wantPrompt []string
		wantMaxAge time.Duration
	}{
		{map[string]string{"prompt": "login consent", "max_age": "300"}, "", []string{"login", "consent"}, 5 * time.Minute},
		{map[string]string{"prompt": "none", "max_age": "0"}, "", []string{"none"}, 0},
		{map[string]string{}, "", nil, -1},
		{map[string]string{"prompt": "none login"}, "invalid_request", nil, 0},
		{map[string]string{"prompt": "create"}, "invalid_request", nil, 0},
		{map[string]string{"max_age": "-1"}, "invalid_request", nil, 0},
		{map[string]string{"max_age": "soon"}, "invalid_request", nil, 0},
	} {
		r, _ := http.NewRequest("GET", e.authorizeURL(c.ID, tt.set), nil)
		ar, err := e.p.ParseAuthorize(ctx, r)
		if tt.wantError != "" {
			loc, _ := e.authorize(r.URL.String())
			if err == nil || loc == nil || loc.Query().Get("error") != tt.wantError {
				t.Errorf("%v: err %v, redirect %v; want error=%s to the app", tt.set, err, loc, tt.wantError)
			}
			continue
		}
		if err != nil || !slices.Equal(ar.Prompt, tt.wantPrompt) || ar.MaxAge != tt.wantMaxAge {
			t.Errorf("%v: prompt %q max_age %v (%v), want %q %v", tt.set, ar.Prompt, ar.MaxAge, err, tt.wantPrompt, tt.wantMaxAge)
		}
	}
}

type discovery struct {
	Algs          []string `json:"id_token_signing_alg_values_supported"`
	RequestURI    *bool    `json:"request_uri_parameter_supported"`
	Request       *bool    `json:"request_parameter_supported"`
	Prompts       []string `json:"prompt_values_supported"`
	ChallengeAlgs []string `json:"code_challenge_methods_supported"`
}

func (e *env) discovery() discovery {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var d discovery
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) jwks() []jwk {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/oauth/jwks")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []jwk }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		e.t.Fatal(err)
	}
	return set.Keys
}

// Discovery claims only what the provider does: request objects are
// refused and said to be; ID tokens are RS256, which an RP that knows no
// other algorithm verifies.
func TestDiscoveryClaimsWhatItDoes(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, conf := e.register(true, "openid")
	d := e.discovery()
	if d.RequestURI == nil || *d.RequestURI || d.Request == nil || *d.Request {
		t.Errorf("request_uri_parameter_supported %v, request_parameter_supported %v; want both false", d.RequestURI, d.Request)
	}
	if !slices.Equal(d.Algs, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported %q, want RS256", d.Algs)
	}
	if !slices.Equal(d.Prompts, promptValues) {
		t.Errorf("prompt_values_supported %q", d.Prompts)
	}
	for _, p := range []string{"request_uri", "request"} {
		loc, resp := e.authorize(e.authorizeURL(c.ID, map[string]string{p: "https://app.example/req.jwt"}))
		if loc != nil && loc.Query().Get("code") != "" || resp.StatusCode == http.StatusOK {
			t.Errorf("%s: %d %v, want it refused", p, resp.StatusCode, loc)
		}
	}
	raw, _ := e.login(conf).Extra("id_token").(string)
	if _, err := e.verifier(c.ID).Verify(ctx, raw); err != nil {
		t.Errorf("an RS256-only verifier: %v", err)
	}
	keys := e.jwks()
	if len(keys) != 1 || keys[0].Kty != "RSA" || keys[0].Alg != "RS256" || keys[0].E != "AQAB" || len(keys[0].N) < 340 || keys[0].Kid != kid(t, raw) {
		t.Errorf("JWKS %+v, want the one RSA key that signed", keys)
	}
}

// A server that signed with ES256 before moves to RS256 at once, and keeps
// the ES256 key published (and said to be supported) while its tokens may
// still be checked.
func TestES256KeyGivesWay(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	if err := e.db.AddOAuthKey(ctx, &store.OAuthKey{ID: "old-es256", Alg: "ES256", Private: der, CreatedAt: e.clk.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c, conf := e.register(true, "openid")
	raw, _ := e.login(conf).Extra("id_token").(string)
	if k := kid(t, raw); k == "old-es256" || !strings.HasPrefix(raw, "eyJhbGciOiJSUzI1NiIs") {
		t.Errorf("ID token signed by %s (%.20s), want a new RS256 key", k, raw)
	}
	if d := e.discovery(); !slices.Equal(d.Algs, []string{"RS256", "ES256"}) {
		t.Errorf("id_token_signing_alg_values_supported %q, want RS256 and ES256", d.Algs)
	}
	keys := e.jwks()
	if len(keys) != 2 || keys[1].Kid != "old-es256" || keys[1].Kty != "EC" || keys[1].Alg != "ES256" || keys[1].X == "" {
		t.Errorf("JWKS %+v, want the RS256 key then the ES256 one", keys)
	}
	// A token the ES256 key signed still passes the provider's own checks
	// (end-session hints).
	es := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (any, error) { return priv, nil }}
	h := jwt.NewHeaders()
	h.Extra["kid"] = "old-es256"
	oldToken, _, err := es.Generate(ctx, jwt.MapClaims{"iss": e.srv.URL, "sub": e.user.ID, "aud": c.ID}, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.parseIDToken(ctx, oldToken); err != nil {
		t.Errorf("an ES256 token of the old key: %v", err)
	}
	e.clk.Advance(keyOverlap + time.Minute)
	if d := e.discovery(); !slices.Equal(d.Algs, []string{"RS256"}) {
		t.Errorf("after the overlap: id_token_signing_alg_values_supported %q, want RS256", d.Algs)
	}
	if keys := e.jwks(); len(keys) != 1 || keys[0].Alg != "RS256" {
		t.Errorf("after the overlap: JWKS %+v, want the RS256 key only", keys)
	}
}
