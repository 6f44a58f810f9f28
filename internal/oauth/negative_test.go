package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// authorizeURL builds an authorization request by hand.
func (e *env) authorizeURL(clientID string, set map[string]string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {"openid"},
		"state": {state}, "nonce": {nonce}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return e.srv.URL + "/oauth/authorize?" + q.Encode()
}

func TestAuthorizeRefused(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	pub, _ := e.register(true, "openid", "email")
	conf, _ := e.register(false, "openid")
	tests := []struct {
		name      string
		client    string
		set       map[string]string
		wantError string // error= on the redirect; "" for a plain error page
	}{
		{"plain PKCE", pub.ID, map[string]string{"code_challenge": "abcdefghijabcdefghijabcdefghijabcdefghij123", "code_challenge_method": "plain"}, "invalid_request"},
		{"no PKCE on a public client", pub.ID, map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		{"scope not allowed", pub.ID, map[string]string{"scope": "openid profile"}, "invalid_scope"},
		{"unknown scope", conf.ID, map[string]string{"scope": "openid email"}, "invalid_scope"},
		{"response_type token", pub.ID, map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"redirect URI another port", pub.ID, map[string]string{"redirect_uri": "http://127.0.0.1:10/cb"}, ""},
		{"redirect URI another path", pub.ID, map[string]string{"redirect_uri": "http://127.0.0.1:9/cb/x"}, ""},
		{"unknown client", "nope", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, resp := e.authorize(e.authorizeURL(tt.client, tt.set))
			if tt.wantError == "" {
				if loc != nil || resp.StatusCode < 400 {
					t.Fatalf("got status %d redirect %v, want a plain error", resp.StatusCode, loc)
				}
				return
			}
			if loc == nil {
				t.Fatalf("got status %d, want a redirect with error=%s", resp.StatusCode, tt.wantError)
			}
			if got := loc.Query().Get("error"); got != tt.wantError || loc.Query().Get("code") != "" {
				t.Errorf("redirected to %s, want error=%s and no code", loc, tt.wantError)
			}
		})
	}
}

func TestCodeExchangeRefused(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	_, pub := e.register(true, "openid")
	_, conf := e.register(false, "openid")

	code, _ := e.code(pub)
	if _, err := pub.Exchange(ctx, code); err == nil {
		t.Error("exchange without the PKCE verifier accepted")
	}
	code, _ = e.code(pub)
	if _, err := pub.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("exchange with a wrong PKCE verifier accepted")
	}

	wrong := *conf
	wrong.ClientSecret = "not-the-secret"
	code, verifier := e.code(conf)
	if _, err := wrong.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("exchange with a wrong client secret accepted")
	}

	// A reused code fails and kills the tokens issued from it.
	code, verifier = e.code(pub)
	tok, err := pub.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if _, err := pub.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("reused code accepted")
	}
	if status, _ := e.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo with a token of a reused code = %d, want 401", status)
	}
	if _, err := e.refresh(pub, tok.RefreshToken); err == nil {
		t.Error("refresh token of a reused code still works")
	}
}

func TestExpiryAndScopes(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	_, conf := e.register(true, "openid", "email", "profile", "profile:user_id", "postal_code")
	conf.Scopes = []string{"openid", "email"}
	tok := e.login(conf)
	status, info := e.userinfo(tok.AccessToken)
	if status != 200 || info["email"] != "ada@example.com" || info["name"] != nil || info["user_id"] != nil {
		t.Errorf("userinfo(openid email) = %d %v; want email only", status, info)
	}
	conf.Scopes = []string{"openid", "profile:user_id", "postal_code"}
	tok = e.login(conf)
	status, info = e.userinfo(tok.AccessToken)
	if _, ok := info["postal_code"]; status != 200 || info["user_id"] != e.user.ID || info["email"] != nil || ok {
		t.Errorf("userinfo(openid profile:user_id postal_code) = %d %v; want user_id only", status, info)
	}
	e.clk.Advance(accessTokenLife + time.Minute)
	if status, _ := e.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo with an expired access token = %d, want 401", status)
	}
	if _, err := e.refresh(conf, tok.RefreshToken); err != nil {
		t.Errorf("refresh after the access token expired: %v", err)
	}
}

func TestRevokeGrantAndDeleteClient(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, conf := e.register(false, "openid")
	tok := e.login(conf)
	need, err := e.p.NeedsConsent(ctx, e.user.ID, &AuthorizeRequest{Client: c, Scopes: []string{"openid"}})
	if err != nil || need {
		t.Errorf("NeedsConsent after a grant = %v, %v; want false", need, err)
	}
	if err := e.p.RevokeGrant(ctx, e.user.ID, c.ID); err != nil {
		t.Fatalf("RevokeGrant: %v", err)
	}
	if status, _ := e.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo after RevokeGrant = %d, want 401", status)
	}
	if _, err := e.refresh(conf, tok.RefreshToken); err == nil {
		t.Error("refresh after RevokeGrant works")
	}
	if need, _ := e.p.NeedsConsent(ctx, e.user.ID, &AuthorizeRequest{Client: c, Scopes: []string{"openid"}}); !need {
		t.Error("NeedsConsent after RevokeGrant = false, want true")
	}
	if err := e.p.RevokeGrant(ctx, e.user.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeGrant(again) = %v, want ErrNotFound", err)
	}

	tok = e.login(conf)
	if err := e.p.DeleteClient(ctx, "someone-else", c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteClient(not the owner) = %v, want ErrNotFound", err)
	}
	if err := e.p.DeleteClient(ctx, e.user.ID, c.ID); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	if status, _ := e.userinfo(tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo after DeleteClient = %d, want 401", status)
	}
	if _, err := e.refresh(conf, tok.RefreshToken); err == nil {
		t.Error("refresh after DeleteClient works")
	}
	if loc, resp := e.authorize(e.authorizeURL(c.ID, nil)); loc != nil || resp.StatusCode < 400 {
		t.Errorf("authorize for a deleted app = %d %v, want a plain error", resp.StatusCode, loc)
	}
	if grants, _ := e.p.Grants(ctx, e.user.ID); len(grants) != 0 {
		t.Errorf("Grants after DeleteClient = %+v, want none", grants)
	}
}

func TestRotateSecret(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, conf := e.register(false, "openid")
	secret, err := e.p.RotateSecret(ctx, e.user.ID, c.ID)
	if err != nil || secret == "" || secret == conf.ClientSecret {
		t.Fatalf("RotateSecret = %q, %v; want a new secret", secret, err)
	}
	code, verifier := e.code(conf)
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Error("the old secret still works")
	}
	conf.ClientSecret = secret
	e.login(conf)
	if _, err := e.p.RotateSecret(ctx, "someone-else", c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("RotateSecret(not the owner) = %v, want ErrNotFound", err)
	}
}

func introspect(t *testing.T, e *env, conf *oauth2.Config, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(conf.ClientID), url.QueryEscape(conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestIntrospectAndRevoke(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	_, conf := e.register(false, "openid", "email")
	_, other := e.register(false, "openid")
	_, pub := e.register(true, "openid")
	tok := e.login(conf)
	if status, out := introspect(t, e, conf, tok.AccessToken); status != 200 || out["active"] != true || out["sub"] != e.user.ID || out["scope"] != "openid email" {
		t.Errorf("introspect(own access token) = %d %v; want active", status, out)
	}
	if status, out := introspect(t, e, conf, "garbage.token"); status != 200 || out["active"] != false {
		t.Errorf("introspect(garbage) = %d %v; want inactive", status, out)
	}
	if status, out := introspect(t, e, other, tok.AccessToken); status != 200 || out["active"] != false {
		t.Errorf("introspect(another app's token) = %d %v; want inactive", status, out)
	}
	if status, _ := introspect(t, e, pub, tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("introspect by a public client = %d, want 401", status)
	}
	bad := *conf
	bad.ClientSecret = "wrong"
	if status, _ := introspect(t, e, &bad, tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("introspect with a wrong secret = %d, want 401", status)
	}

	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(conf.ClientID, conf.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()
	if status, out := introspect(t, e, conf, tok.AccessToken); status != 200 || out["active"] != false {
		t.Errorf("introspect(revoked) = %d %v; want inactive", status, out)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, conf := e.register(true, "openid")
	first, _ := e.login(conf).Extra("id_token").(string)
	e.clk.Advance(keyRotation + time.Hour)
	second, _ := e.login(conf).Extra("id_token").(string)
	k1, k2 := kid(t, first), kid(t, second)
	if k1 == "" || k1 == k2 {
		t.Fatalf("kids %q then %q, want a new key after %v", k1, k2, keyRotation)
	}
	v := e.verifier(c.ID)
	for _, raw := range []string{first, second} {
		if _, err := v.Verify(ctx, raw); err != nil && !strings.Contains(err.Error(), "expired") {
			t.Errorf("Verify(kid %s): %v", kid(t, raw), err)
		}
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	resp, err := http.Get(e.srv.URL + "/oauth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 2 || set.Keys[0].Kid != k2 || set.Keys[1].Kid != k1 {
		t.Errorf("JWKS = %+v, want %s then %s", set.Keys, k2, k1)
	}
	e.clk.Advance(keyOverlap)
	keys, err := e.p.published(ctx)
	if err != nil || len(keys) != 1 || keys[0].id != k2 {
		t.Errorf("published keys %v later = %d keys, want only %s", err, len(keys), k2)
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, conf := e.register(false, "openid")
	raw, _ := e.login(conf).Extra("id_token").(string)
	forged := raw[:len(raw)-4] + "AAAA"
	tests := []struct {
		name     string
		q        url.Values
		status   int
		location string
	}{
		{"good", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {redirect}, "state": {"s1"}}, http.StatusSeeOther, redirect + "?state=s1"},
		{"bad signature", url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {redirect}}, http.StatusBadRequest, ""},
		{"garbage hint", url.Values{"id_token_hint": {"x.y.z"}}, http.StatusBadRequest, ""},
		{"unregistered redirect", url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example/"}}, http.StatusBadRequest, ""},
		{"redirect without hint", url.Values{"post_logout_redirect_uri": {redirect}, "client_id": {c.ID}}, http.StatusBadRequest, ""},
		{"no redirect", url.Values{}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.http.Get(e.srv.URL + "/oauth/end-session?" + tt.q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
			}
		})
	}
}

func TestRegisterClientRules(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	ok := NewClient{Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Scopes: []string{"openid"}}
	tests := []struct {
		name   string
		change func(c *NewClient)
		valid  bool
	}{
		{"https", func(*NewClient) {}, true},
		{"loopback v4", func(c *NewClient) { c.RedirectURIs = []string{"http://127.0.0.1:8123/cb"} }, true},
		{"loopback v6", func(c *NewClient) { c.RedirectURIs = []string{"http://[::1]/cb"} }, true},
		{"localhost", func(c *NewClient) { c.RedirectURIs = []string{"http://localhost:3000/cb"} }, true},
		{"plain http", func(c *NewClient) { c.RedirectURIs = []string{"http://app.example/cb"} }, false},
		{"fragment", func(c *NewClient) { c.RedirectURIs = []string{"https://app.example/cb#x"} }, false},
		{"custom scheme", func(c *NewClient) { c.RedirectURIs = []string{"com.example.app:/cb"} }, false},
		{"no redirect", func(c *NewClient) { c.RedirectURIs = nil }, false},
		{"no name", func(c *NewClient) { c.Name = " " }, false},
		{"unknown scope", func(c *NewClient) { c.Scopes = []string{"openid", "admin"} }, false},
		{"http logo", func(c *NewClient) { c.LogoURL = "http://app.example/logo.png" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			_, _, err := e.p.RegisterClient(ctx, e.user.ID, c)
			if tt.valid && err != nil {
				t.Errorf("RegisterClient: %v, want success", err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalid) {
				t.Errorf("RegisterClient = %v, want ErrInvalid", err)
			}
		})
	}
	list, err := e.p.Clients(ctx, e.user.ID)
	if err != nil || len(list) != 4 {
		t.Errorf("Clients = %d apps, %v; want 4", len(list), err)
	}
}

func TestAccessDenied(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	c, _ := e.register(true, "openid")
	r := httptest.NewRequest("GET", e.authorizeURL(c.ID, nil), nil)
	ar, err := e.p.ParseAuthorize(ctx, r)
	if err != nil {
		t.Fatalf("ParseAuthorize: %v", err)
	}
	if ar.Client.ID != c.ID || len(ar.Scopes) != 1 || ar.Scopes[0] != "openid" {
		t.Errorf("ParseAuthorize = client %s scopes %v", ar.Client.ID, ar.Scopes)
	}
	w := httptest.NewRecorder()
	e.p.WriteAuthorizeError(w, r, ar, ErrAccessDenied)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code/100 != 3 || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != state {
		t.Errorf("WriteAuthorizeError(ErrAccessDenied) = %d %s, want a redirect with error=access_denied and the state", w.Code, loc)
	}
	w = httptest.NewRecorder()
	e.p.WriteAuthorizeError(w, r, nil, ErrAccessDenied)
	if w.Code != http.StatusForbidden || w.Header().Get("Location") != "" {
		t.Errorf("WriteAuthorizeError(nil request) = %d %q, want 403 without a redirect", w.Code, w.Header().Get("Location"))
	}
}

// Two refreshes with one token at once: one wins, the other is reuse and
// revokes the grant.
func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t, openSQLite(t))
	_, conf := e.register(true, "openid")
	tok := e.login(conf)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.refresh(conf, tok.RefreshToken) })
	}
	wg.Wait()
	if errs[0] == nil && errs[1] == nil {
		t.Fatal("both concurrent refreshes with one token succeeded")
	}
	if grants, _ := e.p.Grants(ctx, e.user.ID); len(grants) != 0 {
		t.Errorf("Grants after a concurrent reuse = %+v, want none", grants)
	}
}
