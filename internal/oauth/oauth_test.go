package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

const redirect = "http://127.0.0.1:9/cb"

// env is a provider behind an httptest server whose /oauth/authorize
// stands in for the web layer: the person is already signed in and
// consents to everything.
type env struct {
	t    *testing.T
	p    *Provider
	db   store.Store
	clk  *testkit.Clock // runs with the real time, as the token verifier does
	srv  *httptest.Server
	user *store.User
	http *http.Client // does not follow redirects
}

func newEnv(t *testing.T, dbURL string) *env {
	t.Helper()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, clk: testkit.NewRunningClock()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) { e.p.Discovery(w, r) })
	mux.HandleFunc("GET /oauth/jwks", func(w http.ResponseWriter, r *http.Request) { e.p.JWKS(w, r) })
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) { e.p.Token(w, r) })
	mux.HandleFunc("/oauth/userinfo", func(w http.ResponseWriter, r *http.Request) { e.p.UserInfo(w, r) })
	mux.HandleFunc("POST /oauth/revoke", func(w http.ResponseWriter, r *http.Request) { e.p.Revoke(w, r) })
	mux.HandleFunc("POST /oauth/introspect", func(w http.ResponseWriter, r *http.Request) { e.p.Introspect(w, r) })
	mux.HandleFunc("GET /oauth/end-session", func(w http.ResponseWriter, r *http.Request) { e.p.EndSession(w, r) })
	mux.HandleFunc("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		ar, err := e.p.ParseAuthorize(r.Context(), r)
		if err != nil {
			e.p.WriteAuthorizeError(w, r, ar, err)
			return
		}
		e.p.Authorize(r.Context(), w, r, ar, e.user.ID)
	})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.p, err = New(ctx, Config{Store: db, Issuer: e.srv.URL, Now: e.clk.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.user = &store.User{Email: "ada@example.com", Name: "Ada Lovelace", PasswordHash: "$argon2id$x", CreatedAt: time.Now(), WebAuthnID: []byte("handle-ada")}
	if err := db.CreateUser(ctx, e.user); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	e.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

func openSQLite(t *testing.T) string { return filepath.Join(t.TempDir(), "countersign.db") }

// register registers an app of the test user.
func (e *env) register(public bool, scopes ...string) (*store.OAuthClient, *oauth2.Config) {
	e.t.Helper()
	c, secret, err := e.p.RegisterClient(ctx, e.user.ID, NewClient{Name: "Test app", Homepage: "https://app.example", RedirectURIs: []string{redirect}, Scopes: scopes, Public: public})
	if err != nil {
		e.t.Fatalf("RegisterClient: %v", err)
	}
	if public != (secret == "") {
		e.t.Fatalf("RegisterClient(public=%v) secret %q", public, secret)
	}
	return c, &oauth2.Config{ClientID: c.ID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/oauth/authorize", TokenURL: e.srv.URL + "/oauth/token"}}
}

// authorize runs the authorization request and returns where the provider
// redirected (nil when it did not) and the response.
func (e *env) authorize(u string) (*url.URL, *http.Response) {
	e.t.Helper()
	resp, err := e.http.Get(u)
	if err != nil {
		e.t.Fatalf("GET authorize: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 3 {
		return nil, resp
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatalf("Location: %v", err)
	}
	return loc, resp
}

const state, nonce = "state-0123456789", "nonce-0123456789"

// code runs the authorization request with PKCE and returns the code and
// the verifier.
func (e *env) code(conf *oauth2.Config) (code, verifier string) {
	e.t.Helper()
	verifier = oauth2.GenerateVerifier()
	loc, resp := e.authorize(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)))
	if loc == nil {
		e.t.Fatalf("authorize: status %d, want a redirect", resp.StatusCode)
	}
	q := loc.Query()
	if q.Get("error") != "" || q.Get("state") != state || q.Get("code") == "" {
		e.t.Fatalf("authorize redirected to %s; want a code and state %s", loc, state)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		e.t.Fatalf("redirected to %s, want %s", got, redirect)
	}
	return q.Get("code"), verifier
}

// login runs the whole code flow and returns the tokens.
func (e *env) login(conf *oauth2.Config) *oauth2.Token {
	e.t.Helper()
	code, verifier := e.code(conf)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// userinfo calls the userinfo endpoint and returns the status and claims.
func (e *env) userinfo(access string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("userinfo: %v", err)
	}
	defer resp.Body.Close()
	var claims map[string]any
	json.NewDecoder(resp.Body).Decode(&claims)
	return resp.StatusCode, claims
}

// refresh uses a refresh token.
func (e *env) refresh(conf *oauth2.Config, rt string) (*oauth2.Token, error) {
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
}

// verifier checks ID tokens like a relying party.
func (e *env) verifier(clientID string) *oidc.IDTokenVerifier {
	e.t.Helper()
	op, err := oidc.NewProvider(ctx, e.srv.URL)
	if err != nil {
		e.t.Fatalf("oidc.NewProvider: %v", err)
	}
	return op.Verifier(&oidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"RS256"}})
}

func kid(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	var hdr struct {
		Kid string `json:"kid"`
	}
	b, err := base64URL(h)
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("bad JWT header %q", h)
	}
	return hdr.Kid
}

func TestCodeFlow(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{{"sqlite", openSQLite}, {"postgres", func(t *testing.T) string { return pgtest.DSN(t) }}} {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b.url(t))
			c, conf := e.register(false, "openid", "email", "profile")
			tok := e.login(conf)
			raw, _ := tok.Extra("id_token").(string)
			idt, err := e.verifier(c.ID).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("Verify(id_token): %v", err)
			}
			if idt.Nonce != nonce || idt.Subject != e.user.ID {
				t.Errorf("id token nonce %q sub %q, want %q %q", idt.Nonce, idt.Subject, nonce, e.user.ID)
			}
			var claims struct {
				AMR      []string `json:"amr"`
				AuthTime int64    `json:"auth_time"`
			}
			idt.Claims(&claims)
			if len(claims.AMR) == 0 || claims.AuthTime == 0 {
				t.Errorf("id token amr %v auth_time %d, want both", claims.AMR, claims.AuthTime)
			}
			status, info := e.userinfo(tok.AccessToken)
			if status != 200 || info["sub"] != e.user.ID || info["email"] != "ada@example.com" || info["name"] != "Ada Lovelace" || info["email_verified"] != false {
				t.Errorf("userinfo = %d %v", status, info)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			tok2, err := e.refresh(conf, tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
				t.Error("refresh did not rotate the tokens")
			}
			if status, _ := e.userinfo(tok.AccessToken); status != 401 {
				t.Errorf("userinfo with the access token before refresh = %d, want 401", status)
			}
			if status, _ := e.userinfo(tok2.AccessToken); status != 200 {
				t.Errorf("userinfo with the refreshed access token = %d, want 200", status)
			}
			grants, err := e.p.Grants(ctx, e.user.ID)
			if err != nil || len(grants) != 1 || grants[0].Client.ID != c.ID || len(grants[0].Scopes) != 3 || grants[0].GrantedAt.IsZero() || grants[0].LastUsedAt.IsZero() {
				t.Errorf("Grants = %+v, %v; want the one app with 3 scopes", grants, err)
			}

			// Reusing the spent refresh token revokes the grant: the
			// rotated-in tokens die too.
			if _, err := e.refresh(conf, tok.RefreshToken); err == nil {
				t.Fatal("reused refresh token accepted")
			}
			if _, err := e.refresh(conf, tok2.RefreshToken); err == nil {
				t.Error("refresh token rotated in before the reuse still works")
			}
			if status, _ := e.userinfo(tok2.AccessToken); status != 401 {
				t.Errorf("userinfo after reuse = %d, want 401", status)
			}
			if grants, _ := e.p.Grants(ctx, e.user.ID); len(grants) != 0 {
				t.Errorf("Grants after reuse = %+v, want none", grants)
			}
			acts, _ := e.db.ActivityPage(ctx, e.user.ID, 0, 10)
			var kinds []string
			for _, a := range acts {
				kinds = append(kinds, a.Kind)
			}
			if got := strings.Join(kinds, " "); got != "oauth.revoked oauth.granted" {
				t.Errorf("activity = %s, want oauth.revoked oauth.granted", got)
			}
		})
	}
}

func base64URL(s string) ([]byte, error) {
	return jsonB64.DecodeString(s)
}

var jsonB64 = base64.RawURLEncoding
