package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// appScopes are the scopes the test apps are registered with.
var appScopes = []string{"openid", "profile", "email"}

// newAccount makes an account in db with the test password; with twoStep
// it has two-step verification on and an authenticator app, whose key is
// returned.
func newAccount(t *testing.T, db store.Store, email, name string, twoStep bool) (*store.User, otp.Key) {
	t.Helper()
	hash, err := password.Hash(userPassword, cheap, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	handle := make([]byte, 32)
	rand.Read(handle)
	now := time.Now()
	u := &store.User{Email: email, Name: name, PasswordHash: hash, PasswordChangedAt: now,
		TwoStep: twoStep, WebAuthnID: handle, CreatedAt: now}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if !twoStep {
		return u, otp.Key{}
	}
	secret := make([]byte, 20)
	rand.Read(secret)
	m := &store.Method{UserID: u.ID, Kind: store.MethodTOTP, Label: "Authenticator app", Secret: secret, Confirmed: true, CreatedAt: now}
	if err := db.AddMethod(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return u, otp.Key{Type: otp.TOTP, Name: email, Secret: secret}
}

// endpoints speaks to the provider's endpoints at base as an app does, by
// hand, so that a test sees every status and error code. Redirects are not
// followed.
type endpoints struct {
	t    *testing.T
	base string
	http *http.Client
}

func newEndpoints(t *testing.T, base string) *endpoints {
	return &endpoints{t: t, base: base, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// tokenAnswer is the token endpoint's JSON, success or error.
type tokenAnswer struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ExpiresIn    int    `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (a tokenAnswer) String() string {
	if a.Error != "" {
		return fmt.Sprintf("%d %s (%s)", a.status, a.Error, a.Description)
	}
	return fmt.Sprintf("%d with tokens", a.status)
}

// app is a registered client as the app holds it.
type app struct {
	id, secret, redirect string
}

// send makes a request and returns the status, the Location header and
// the body.
func (e *endpoints) send(req *http.Request) (int, string, []byte) {
	e.t.Helper()
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Location"), body
}

// post sends form to path, the app authenticating with HTTP Basic when it
// has a secret and by client_id alone when it is public.
func (e *endpoints) post(path string, a app, form url.Values) (int, []byte) {
	e.t.Helper()
	if a.secret == "" {
		form.Set("client_id", a.id)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a.secret != "" {
		req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
	}
	status, _, body := e.send(req)
	return status, body
}

func (e *endpoints) token(a app, form url.Values) tokenAnswer {
	e.t.Helper()
	status, body := e.post("/oauth/token", a, form)
	ans := tokenAnswer{status: status}
	if err := json.Unmarshal(body, &ans); err != nil {
		e.t.Fatalf("POST /oauth/token: status %d, not JSON: %.300s", status, body)
	}
	return ans
}

// exchange trades a code for tokens; verifier "" sends none.
func (e *endpoints) exchange(a app, code, verifier string) tokenAnswer {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return e.token(a, form)
}

func (e *endpoints) refresh(a app, refreshToken string) tokenAnswer {
	e.t.Helper()
	return e.token(a, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// mustTokens fails the test unless ans carries an access and a refresh
// token.
func mustTokens(t *testing.T, what string, ans tokenAnswer) tokenAnswer {
	t.Helper()
	if ans.status != http.StatusOK || ans.AccessToken == "" || ans.RefreshToken == "" {
		t.Fatalf("%s: got %v, want 200 with an access and a refresh token", what, ans)
	}
	return ans
}

// wantTokenError fails the test unless ans is the error code want.
func wantTokenError(t *testing.T, what string, ans tokenAnswer, want string) {
	t.Helper()
	if ans.Error != want || ans.AccessToken != "" {
		t.Errorf("%s: got %v, want the error %s", what, ans, want)
	}
}

// userinfo returns the status of GET /oauth/userinfo with the access token
// and its claims.
func (e *endpoints) userinfo(access string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.base+"/oauth/userinfo", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	status, _, body := e.send(req)
	var claims map[string]any
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &claims); err != nil {
			e.t.Fatalf("GET /oauth/userinfo: %v in %.300s", err, body)
		}
	}
	return status, claims
}

// wantUserinfo fails the test unless userinfo answers the access token
// with want.
func (e *endpoints) wantUserinfo(what, access string, want int) {
	e.t.Helper()
	if got, _ := e.userinfo(access); got != want {
		e.t.Errorf("%s: userinfo answers %d, want %d", what, got, want)
	}
}

// introspect asks the introspection endpoint, as the confidential app a,
// whether a's token is active; it returns the status too.
func (e *endpoints) introspect(a app, token string) (status int, active bool) {
	e.t.Helper()
	status, body := e.post("/oauth/introspect", a, url.Values{"token": {token}})
	var ans struct {
		Active bool `json:"active"`
	}
	if status == http.StatusOK && json.Unmarshal(body, &ans) != nil {
		e.t.Fatalf("POST /oauth/introspect: status %d: %.300s", status, body)
	}
	return status, ans.Active
}

// active is introspect for a request that must succeed.
func (e *endpoints) active(a app, token string) bool {
	e.t.Helper()
	status, active := e.introspect(a, token)
	if status != http.StatusOK {
		e.t.Fatalf("POST /oauth/introspect: status %d", status)
	}
	return active
}

// pkce is a code verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomState() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorizeQuery is the authorize request of app a for scope, with the
// PKCE challenge when it is not "".
func authorizeQuery(a app, scope, challenge string) url.Values {
	q := url.Values{
		"response_type": {"code"}, "client_id": {a.id}, "redirect_uri": {a.redirect}, "scope": {scope},
		"state": {randomState()}, "nonce": {randomState()},
	}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	return q
}

// authorizeResult is where an authorize request led: a redirect to the
// app (with a code or an error) or a page of the provider's own.
type authorizeResult struct {
	status   int
	location string
	body     string
	code     string // the code= of a redirect to the app
	err      string // the error= of a redirect to the app
}

// authorizeWith sends GET /oauth/authorize?q with the client c (a cookie
// jar's, for a signed-in browser) and reads where it leads.
func authorizeWith(t *testing.T, c *http.Client, base string, q url.Values) authorizeResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/oauth/authorize?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := authorizeResult{status: res.StatusCode, location: res.Header.Get("Location"), body: string(body)}
	if redirect := q.Get("redirect_uri"); redirect != "" && strings.HasPrefix(r.location, redirect) {
		u, err := url.Parse(r.location)
		if err != nil {
			t.Fatal(err)
		}
		r.code, r.err = u.Query().Get("code"), u.Query().Get("error")
		if r.code != "" && u.Query().Get("state") != q.Get("state") {
			t.Errorf("the redirect to the app carries state %q, want %q", u.Query().Get("state"), q.Get("state"))
		}
	}
	return r
}

func (r authorizeResult) String() string {
	if r.location != "" {
		return fmt.Sprintf("%d to %s", r.status, r.location)
	}
	return fmt.Sprintf("%d: %.200s", r.status, strings.Join(strings.Fields(r.body), " "))
}

// idp is the provider on its own on a loopback port, its clock in the
// test's hands, with a stand-in for the web side's authorize step: every
// authorization is Ada's and she allows it. The rules of the provider are
// tested through it without a browser or a sign-in; the web side's part
// is oauth_e2e_test.go's.
type idp struct {
	*endpoints
	p     *oauth.Provider
	db    store.Store
	clock *testkit.Clock
	owner *store.User // the developer who registers the apps
	user  *store.User // Ada, who signs in to them
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	clk := testkit.NewRunningClock()
	db, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "countersign.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := oauth.New(t.Context(), oauth.Config{Store: db, Issuer: base, Now: clk.Now, Log: log})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	owner, _ := newAccount(t, db, "dev@example.com", "Developer", false)
	user, _ := newAccount(t, db, userLogin, userName, false)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.Discovery)
	mux.HandleFunc("GET /oauth/jwks", p.JWKS)
	mux.HandleFunc("POST /oauth/token", p.Token)
	mux.HandleFunc("/oauth/userinfo", p.UserInfo)
	mux.HandleFunc("POST /oauth/revoke", p.Revoke)
	mux.HandleFunc("POST /oauth/introspect", p.Introspect)
	mux.HandleFunc("GET /oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		ar, err := p.ParseAuthorize(r.Context(), r)
		if err != nil {
			p.WriteAuthorizeError(w, r, ar, err)
			return
		}
		p.Authorize(r.Context(), w, r, ar, user.ID)
	})
	hs := httptest.NewUnstartedServer(mux)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	t.Cleanup(hs.Close)
	return &idp{endpoints: newEndpoints(t, base), p: p, db: db, clock: clk, owner: owner, user: user}
}

// register registers an app with the test scopes and a loopback redirect
// URI (never called: the tests read the redirects).
func (d *idp) register(name string, public bool) app {
	d.t.Helper()
	redirect := "http://127.0.0.1:9/callback"
	c, secret, err := d.p.RegisterClient(d.t.Context(), d.owner.ID, oauth.NewClient{
		Name: name, Homepage: "https://example.com/", RedirectURIs: []string{redirect}, Scopes: appScopes, Public: public,
	})
	if err != nil {
		d.t.Fatalf("RegisterClient(%s): %v", name, err)
	}
	if public != (secret == "") {
		d.t.Fatalf("RegisterClient(%s, public %v): secret %q", name, public, secret)
	}
	return app{id: c.ID, secret: secret, redirect: redirect}
}

// with is d reporting to t (a subtest).
func (d *idp) with(t *testing.T) *idp {
	e := *d.endpoints
	e.t = t
	c := *d
	c.endpoints = &e
	return &c
}

func (d *idp) authorize(q url.Values) authorizeResult {
	d.t.Helper()
	return authorizeWith(d.t, d.http, d.base, q)
}

// code authorizes a with PKCE and returns the code and its verifier.
func (d *idp) code(a app) (code, verifier string) {
	d.t.Helper()
	verifier, challenge := pkce()
	r := d.authorize(authorizeQuery(a, strings.Join(appScopes, " "), challenge))
	if r.code == "" {
		d.t.Fatalf("authorize: got %v, want a redirect to %s with a code", r, a.redirect)
	}
	return r.code, verifier
}

// tokens authorizes a and exchanges the code.
func (d *idp) tokens(a app) tokenAnswer {
	d.t.Helper()
	code, verifier := d.code(a)
	return mustTokens(d.t, "the code exchange", d.exchange(a, code, verifier))
}

// wantRefused fails the test when the authorize request r led to a code.
// With errCode set it must be a redirect to the app with that error.
func wantRefused(t *testing.T, what string, r authorizeResult, errCode string) {
	t.Helper()
	switch {
	case r.code != "":
		t.Errorf("%s: got a code (%v), want a refusal", what, r)
	case errCode != "" && r.err != errCode:
		t.Errorf("%s: got %v, want a redirect to the app with error=%s", what, r, errCode)
	case errCode == "" && r.err == "" && r.status < 400:
		t.Errorf("%s: got %v, want an error", what, r)
	}
}

// TestOAuthRules goes through the provider's rules one by one, each with
// its own app so that a revocation in one cannot hide a failure in another.
func TestOAuthRules(t *testing.T) {
	d := newIDP(t)
	scope := strings.Join(appScopes, " ")

	t.Run("PKCE verifier missing", func(t *testing.T) {
		d := d.with(t)
		a := d.register("No Verifier", false)
		code, _ := d.code(a)
		wantTokenError(t, "a code exchanged without its verifier", d.exchange(a, code, ""), "invalid_grant")
	})

	t.Run("PKCE verifier wrong", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Wrong Verifier", false)
		code, _ := d.code(a)
		other, _ := pkce()
		wantTokenError(t, "a code exchanged with another verifier", d.exchange(a, code, other), "invalid_grant")
	})

	t.Run("public client without PKCE", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Public App", true)
		wantRefused(t, "a public app's authorize request without a challenge", d.authorize(authorizeQuery(a, scope, "")), "")
		// With PKCE the public app is served, and needs no secret.
		code, verifier := d.code(a)
		mustTokens(t, "the public app's code exchange with PKCE", d.exchange(a, code, verifier))
	})

	t.Run("redirect URI not registered", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Redirects", false)
		_, challenge := pkce()
		for _, redirect := range []string{"http://127.0.0.1:9/elsewhere", "https://attacker.example/callback", a.redirect + "/more"} {
			q := authorizeQuery(a, scope, challenge)
			q.Set("redirect_uri", redirect)
			r := d.authorize(q)
			if r.location != "" && strings.HasPrefix(r.location, redirect) {
				t.Errorf("redirect_uri %s: got %v, want no redirect to it", redirect, r)
				continue
			}
			if r.status < 400 {
				t.Errorf("redirect_uri %s: got %v, want an error page", redirect, r)
			}
		}
		// The token endpoint, too, wants the redirect URI of the code.
		code, verifier := d.code(a)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
			"redirect_uri": {"http://127.0.0.1:9/elsewhere"}}
		if ans := d.token(a, form); ans.AccessToken != "" {
			t.Errorf("a code exchanged with another redirect URI: got %v, want an error", ans)
		}
	})

	t.Run("code reused", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Code Reuser", false)
		code, verifier := d.code(a)
		first := mustTokens(t, "the first exchange", d.exchange(a, code, verifier))
		d.wantUserinfo("before the reuse", first.AccessToken, http.StatusOK)
		wantTokenError(t, "the code exchanged again", d.exchange(a, code, verifier), "invalid_grant")
		// A reused code means it leaked: what it was exchanged for dies.
		d.wantUserinfo("the first exchange's access token after the reuse", first.AccessToken, http.StatusUnauthorized)
		if ans := d.refresh(a, first.RefreshToken); ans.AccessToken != "" {
			t.Errorf("the first exchange's refresh token after the reuse: got %v, want an error", ans)
		}
	})

	t.Run("refresh token reused", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Refresh Reuser", false)
		first := d.tokens(a)
		second := mustTokens(t, "the first refresh", d.refresh(a, first.RefreshToken))
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("the refresh answered the same tokens, want new ones (rotation)")
		}
		d.wantUserinfo("the refreshed access token", second.AccessToken, http.StatusOK)
		wantTokenError(t, "the spent refresh token used again", d.refresh(a, first.RefreshToken), "invalid_grant")
		// The reuse revokes the whole grant: the newest tokens die too.
		wantTokenError(t, "the newest refresh token after the reuse", d.refresh(a, second.RefreshToken), "invalid_grant")
		d.wantUserinfo("the newest access token after the reuse", second.AccessToken, http.StatusUnauthorized)
	})

	t.Run("scope not allowed", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Narrow App", false)
		_, challenge := pkce()
		for _, s := range []string{"openid profile:user_id", "openid email postal_code", "openid admin"} {
			wantRefused(t, "scope "+s, d.authorize(authorizeQuery(a, s, challenge)), "invalid_scope")
		}
	})

	t.Run("wrong client secret", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Secretive", false)
		code, verifier := d.code(a)
		wrong := a
		wrong.secret = "not-the-secret"
		wantTokenError(t, "a code exchanged with a wrong secret", d.exchange(wrong, code, verifier), "invalid_client")
		mustTokens(t, "the same code with the right secret", d.exchange(a, code, verifier))
	})

	t.Run("revoked by the app", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Signs Out", false)
		ans := d.tokens(a)
		if status, body := d.post("/oauth/revoke", a, url.Values{"token": {ans.RefreshToken}, "token_type_hint": {"refresh_token"}}); status != http.StatusOK {
			t.Fatalf("POST /oauth/revoke: status %d: %.200s", status, body)
		}
		if got := d.refresh(a, ans.RefreshToken); got.AccessToken != "" {
			t.Errorf("a revoked refresh token: got %v, want an error", got)
		}
	})

	t.Run("app deleted", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Short Lived", false)
		ans := d.tokens(a)
		if !d.active(a, ans.AccessToken) {
			t.Fatal("before the deletion the access token is not active")
		}
		if err := d.p.DeleteClient(t.Context(), d.owner.ID, a.id); err != nil {
			t.Fatal(err)
		}
		d.wantUserinfo("the deleted app's access token", ans.AccessToken, http.StatusUnauthorized)
		if status, active := d.introspect(a, ans.AccessToken); status != http.StatusUnauthorized || active {
			t.Errorf("introspection by the deleted app: status %d, active %v; want 401", status, active)
		}
		if got := d.refresh(a, ans.RefreshToken); got.AccessToken != "" || got.status < 400 {
			t.Errorf("the deleted app's refresh token: got %v, want an error", got)
		}
		_, challenge := pkce()
		r := d.authorize(authorizeQuery(a, scope, challenge))
		wantRefused(t, "authorize for the deleted app", r, "")
		if strings.HasPrefix(r.location, a.redirect) {
			t.Errorf("authorize for the deleted app: got %v, want no redirect (the app is unknown)", r)
		}
	})

	// Last: the clock moves forward and stays there. Everything is issued
	// before it moves.
	t.Run("expired", func(t *testing.T) {
		d := d.with(t)
		a := d.register("Slow App", false)
		code, verifier := d.code(a)
		ans := d.tokens(a)

		d.clock.Advance(11 * time.Minute) // codes live 10 minutes
		wantTokenError(t, "a code exchanged after 11 minutes", d.exchange(a, code, verifier), "invalid_grant")

		d.clock.Advance(50 * time.Minute) // access tokens live an hour
		d.wantUserinfo("an access token after 61 minutes", ans.AccessToken, http.StatusUnauthorized)
		if d.active(a, ans.AccessToken) {
			t.Error("introspection: an access token after 61 minutes is active")
		}
		fresh := mustTokens(t, "a refresh after 61 minutes (refresh tokens live 30 days)", d.refresh(a, ans.RefreshToken))
		d.wantUserinfo("the access token refreshed after 61 minutes", fresh.AccessToken, http.StatusOK)

		d.clock.Advance(31 * 24 * time.Hour)
		wantTokenError(t, "a refresh token after 31 days", d.refresh(a, fresh.RefreshToken), "invalid_grant")
	})
}
