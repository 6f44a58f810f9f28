package apiv1

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

const (
	devRedirect = "https://notes.example/callback"
	devVerifier = "verifier-0123456789-0123456789-0123456789-abcdef"
)

// registerBody is a registration of "Notes" with the given type.
func registerBody(t *testing.T, public bool) string {
	t.Helper()
	return jsonOf(t, api.NewDeveloperApp{
		Name: "Notes", LogoURL: "https://notes.example/logo.png", Homepage: "https://notes.example/",
		PrivacyURL: "https://notes.example/privacy", RedirectURIs: []string{devRedirect, "http://127.0.0.1:8765/cb"},
		Scopes: []string{"openid", "email"}, Public: public,
	})
}

// register registers an app through the API with token.
func (e *env) register(t *testing.T, token string, public bool) api.DeveloperApp {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/api/v1/developer/apps", token: token, body: registerBody(t, public)})
	if r.status != http.StatusCreated {
		t.Fatalf("register: status %d: %s", r.status, r.body)
	}
	var app api.DeveloperApp
	r.decode(t, &app)
	return app
}

func TestDeveloperAppsRegisterListRotate(t *testing.T) {
	e := newEnv(t)
	bob := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead, api.ScopeWrite)

	conf := e.register(t, e.rw, false)
	want := api.DeveloperApp{
		ClientID: conf.ClientID, Name: "Notes", LogoURL: "https://notes.example/logo.png", Homepage: "https://notes.example/",
		PrivacyURL: "https://notes.example/privacy", RedirectURIs: []string{devRedirect, "http://127.0.0.1:8765/cb"},
		Scopes: []string{"openid", "email"}, CreatedAt: e.clock.Now(), ClientSecret: conf.ClientSecret,
	}
	if conf.ClientID == "" || conf.ClientSecret == "" || !appEqual(conf, want) {
		t.Errorf("confidential app %+v, want %+v with a client id and secret", conf, want)
	}
	e.clock.Advance(time.Second)
	pub := e.register(t, e.rw, true)
	if !pub.Public || pub.ClientSecret != "" {
		t.Errorf("public app %+v: want public and no secret", pub)
	}

	// The list is the account's own apps, oldest first, without secrets.
	r := e.do(t, req{method: "GET", path: "/api/v1/developer/apps", token: e.ro})
	if r.status != http.StatusOK {
		t.Fatalf("list: status %d: %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "client_secret") {
		t.Errorf("the list shows a secret: %s", r.body)
	}
	var list api.DeveloperAppList
	r.decode(t, &list)
	want.ClientSecret = ""
	if len(list.Apps) != 2 || !appEqual(list.Apps[0], want) || list.Apps[1].ClientID != pub.ClientID {
		t.Errorf("list %+v, want [%+v, %s]", list.Apps, want, pub.ClientID)
	}
	r = e.do(t, req{method: "GET", path: "/api/v1/developer/apps", token: bob})
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"apps":[]}` {
		t.Errorf("bob's list: %d %s, want no apps", r.status, r.body)
	}

	// Rotating gives a new secret, once.
	r = e.send(t, "POST", "/api/v1/developer/apps/"+conf.ClientID+"/secret", "")
	if r.status != http.StatusOK {
		t.Fatalf("rotate: status %d: %s", r.status, r.body)
	}
	var got api.ClientSecret
	r.decode(t, &got)
	if got.ClientSecret == "" || got.ClientSecret == conf.ClientSecret {
		t.Errorf("rotated secret %q, want a new one (was %q)", got.ClientSecret, conf.ClientSecret)
	}
	if r := e.send(t, "POST", "/api/v1/developer/apps/"+conf.ClientID+"/secret", "{}"); r.status != http.StatusOK {
		t.Errorf("rotate with an empty object: status %d: %s", r.status, r.body)
	}

	secretPath := "/api/v1/developer/apps/" + conf.ClientID + "/secret"
	tests := []struct {
		name          string
		q             req
		status        int
		code, msgPart string
	}{
		{"public app", req{method: "POST", path: "/api/v1/developer/apps/" + pub.ClientID + "/secret", token: e.rw},
			http.StatusBadRequest, api.CodeInvalidRequest, "A public app has no secret."},
		{"another account's app", req{method: "POST", path: secretPath, token: bob}, http.StatusNotFound, api.CodeNotFound, "no such app"},
		{"no such app", req{method: "POST", path: "/api/v1/developer/apps/nope/secret", token: e.rw}, http.StatusNotFound, api.CodeNotFound, "no such app"},
		{"read-only token", req{method: "POST", path: secretPath, token: e.ro}, http.StatusForbidden, api.CodeInsufficientScope, `"write"`},
		{"a body", req{method: "POST", path: secretPath, token: e.rw, body: `{"client_secret":"mine"}`},
			http.StatusBadRequest, api.CodeInvalidRequest, `"client_secret" is not known`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.do(t, tt.q), tt.status, tt.code, tt.msgPart)
		})
	}
}

// appEqual compares apps, times by instant.
func appEqual(a, b api.DeveloperApp) bool {
	at, bt := a.CreatedAt, b.CreatedAt
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	return at.Equal(bt) && a.ClientID == b.ClientID && a.Name == b.Name && a.LogoURL == b.LogoURL &&
		a.Homepage == b.Homepage && a.PrivacyURL == b.PrivacyURL && slices.Equal(a.RedirectURIs, b.RedirectURIs) &&
		slices.Equal(a.Scopes, b.Scopes) && a.Public == b.Public && a.ClientSecret == b.ClientSecret
}

func TestDeveloperAppsRefusals(t *testing.T) {
	e := newEnv(t)
	device := e.signIn(t, e.pair(t, e.alice, "Desk"))
	with := func(f func(*api.NewDeveloperApp)) string {
		var a api.NewDeveloperApp
		if err := json.Unmarshal([]byte(registerBody(t, false)), &a); err != nil {
			t.Fatal(err)
		}
		f(&a)
		return jsonOf(t, a)
	}
	post := func(token, body string) req {
		return req{method: "POST", path: "/api/v1/developer/apps", token: token, body: body}
	}
	tests := []struct {
		name          string
		q             req
		status        int
		code, msgPart string
	}{
		{"http redirect URI", post(e.rw, with(func(a *api.NewDeveloperApp) { a.RedirectURIs = []string{"http://example.com"} })),
			http.StatusBadRequest, api.CodeInvalidRequest,
			`Redirect URI "http://example.com" must use https (or http on 127.0.0.1, [::1] or localhost for a native app).`},
		{"redirect URI with a fragment", post(e.rw, with(func(a *api.NewDeveloperApp) { a.RedirectURIs = []string{devRedirect + "#x"} })),
			http.StatusBadRequest, api.CodeInvalidRequest, "must be absolute and have no fragment."},
		{"no redirect URI", post(e.rw, with(func(a *api.NewDeveloperApp) { a.RedirectURIs = nil })),
			http.StatusBadRequest, api.CodeInvalidRequest, "Give between 1 and 10 redirect URIs."},
		{"unknown scope", post(e.rw, with(func(a *api.NewDeveloperApp) { a.Scopes = []string{"openid", "admin"} })),
			http.StatusBadRequest, api.CodeInvalidRequest, `Unknown scope "admin".`},
		{"no name", post(e.rw, with(func(a *api.NewDeveloperApp) { a.Name = " " })),
			http.StatusBadRequest, api.CodeInvalidRequest, "Give the app a name of 1 to 100 characters, without control characters"},
		{"http homepage", post(e.rw, with(func(a *api.NewDeveloperApp) { a.Homepage = "http://notes.example/" })),
			http.StatusBadRequest, api.CodeInvalidRequest, "The homepage must be an https:// URL."},
		{"malformed JSON", post(e.rw, `{"name":"Notes",`), http.StatusBadRequest, api.CodeInvalidRequest, "not valid JSON"},
		{"unknown field", post(e.rw, `{"name":"Notes","redirect_uris":["`+devRedirect+`"],"scopes":["openid"],"client_secret":"mine"}`),
			http.StatusBadRequest, api.CodeInvalidRequest, `The field "client_secret" is not known here.`},
		{"wrong type", post(e.rw, `{"public":"yes"}`), http.StatusBadRequest, api.CodeInvalidRequest, `"public" must be true or false`},
		{"no body", post(e.rw, ""), http.StatusBadRequest, api.CodeInvalidRequest, "empty"},
		{"read-only token", post(e.ro, registerBody(t, false)), http.StatusForbidden, api.CodeInsufficientScope, `"write"`},
		{"device token registers", post(device, registerBody(t, false)), http.StatusForbidden, api.CodeInsufficientScope, "A paired desktop cannot register"},
		{"device token lists", req{method: "GET", path: "/api/v1/developer/apps", token: device},
			http.StatusForbidden, api.CodeInsufficientScope, "use the web pages or an API token"},
		{"device token deletes", req{method: "DELETE", path: "/api/v1/developer/apps/x", token: device},
			http.StatusForbidden, api.CodeInsufficientScope, "A paired desktop cannot register"},
		{"write-only token lists", req{method: "GET", path: "/api/v1/developer/apps", token: e.wo},
			http.StatusForbidden, api.CodeInsufficientScope, `"read"`},
		{"no token", req{method: "GET", path: "/api/v1/developer/apps"}, http.StatusUnauthorized, api.CodeUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.q)
			wantError(t, r, tt.status, tt.code, tt.msgPart)
			if tt.status == http.StatusForbidden && !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate %q, want insufficient_scope", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if r := e.do(t, req{method: "GET", path: "/api/v1/developer/apps", token: e.ro}); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"apps":[]}` {
		t.Errorf("after the refusals: %d %s, want no apps", r.status, r.body)
	}

	// Without the provider, the endpoints say so.
	off := newEnv(t, func(o *Options) { o.OAuth = nil })
	wantError(t, off.get(t, "/api/v1/developer/apps"), http.StatusServiceUnavailable, api.CodeUnavailable, "Sign in with Countersign")
	wantError(t, off.send(t, "POST", "/api/v1/developer/apps", registerBody(t, false)), http.StatusServiceUnavailable, api.CodeUnavailable, "")
}

// TestDeveloperAppsSecretAndDelete: a rotated secret stops working at the
// token endpoint, and deleting the app kills the tokens people gave it.
func TestDeveloperAppsSecretAndDelete(t *testing.T) {
	e := newEnv(t)
	bob := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead, api.ScopeWrite)
	app := e.register(t, e.rw, false)
	old := app.ClientSecret

	// Bob signs in to alice's app.
	access, refresh := e.signInToApp(t, app.ClientID, old)
	if got := e.userinfo(t, access); got != http.StatusOK {
		t.Fatalf("userinfo: status %d, want 200", got)
	}

	r := e.send(t, "POST", "/api/v1/developer/apps/"+app.ClientID+"/secret", "")
	var rotated api.ClientSecret
	r.decode(t, &rotated)
	if status, body := e.refresh(t, app.ClientID, old, refresh); status != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
		t.Errorf("refresh with the old secret: %d %s, want 401 invalid_client", status, body)
	}
	if got := e.userinfo(t, access); got != http.StatusOK {
		t.Errorf("userinfo after the rotation: status %d, want 200 (issued tokens stay)", got)
	}
	tokens := mustTokens(t, "refresh with the new secret")(e.refresh(t, app.ClientID, rotated.ClientSecret, refresh))

	// Another account may not delete it; its owner may.
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/developer/apps/" + app.ClientID, token: bob}), http.StatusNotFound, api.CodeNotFound, "no such app")
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/developer/apps/" + app.ClientID, token: e.ro}), http.StatusForbidden, api.CodeInsufficientScope, "")
	if got := e.userinfo(t, tokens.AccessToken); got != http.StatusOK {
		t.Fatalf("userinfo before the deletion: status %d, want 200", got)
	}
	if r := e.send(t, "DELETE", "/api/v1/developer/apps/"+app.ClientID, ""); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: status %d: %s", r.status, r.body)
	}

	if got := e.userinfo(t, tokens.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("userinfo after the deletion: status %d, want 401", got)
	}
	if status, body := e.refresh(t, app.ClientID, rotated.ClientSecret, tokens.RefreshToken); status == http.StatusOK {
		t.Errorf("refresh after the deletion: %d %s, want a refusal", status, body)
	}
	if _, err := e.oauth.Client(context.Background(), app.ClientID); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("Client after the deletion: %v, want ErrNotFound", err)
	}
	if gs, err := e.oauth.Grants(context.Background(), e.bob.ID); err != nil || len(gs) != 0 {
		t.Errorf("bob's grants after the deletion: %+v %v, want none", gs, err)
	}
	if r := e.do(t, req{method: "GET", path: "/api/v1/apps", token: bob}); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"apps":[]}` {
		t.Errorf("bob's authorized apps after the deletion: %d %s", r.status, r.body)
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/developer/apps/"+app.ClientID, ""), http.StatusNotFound, api.CodeNotFound, "no such app")
	wantError(t, e.send(t, "POST", "/api/v1/developer/apps/"+app.ClientID+"/secret", ""), http.StatusNotFound, api.CodeNotFound, "no such app")
}

// signInToApp runs the authorization code flow with PKCE for bob against
// the provider, as the web layer's authorize endpoint and the app would,
// and returns the access and refresh tokens.
func (e *env) signInToApp(t *testing.T, clientID, secret string) (access, refresh string) {
	t.Helper()
	return e.signInToAppAs(t, e.bob, clientID, secret)
}

// signInToAppAs is signInToApp for u.
func (e *env) signInToAppAs(t *testing.T, u *store.User, clientID, secret string) (access, refresh string) {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(devVerifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {devRedirect},
		"scope": {"openid email"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	r := httptest.NewRequest("GET", publicOrigin+"/oauth/authorize?"+q.Encode(), nil)
	ar, err := e.oauth.ParseAuthorize(ctx, r)
	if err != nil {
		t.Fatalf("ParseAuthorize: %v", err)
	}
	w := httptest.NewRecorder()
	e.oauth.Authorize(ctx, w, r, ar, u.ID)
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d to %q, want a code", w.Code, w.Header().Get("Location"))
	}
	tok := mustTokens(t, "code exchange")(e.tokenCall(t, clientID, secret, url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {devRedirect}, "code_verifier": {devVerifier},
	}))
	return tok.AccessToken, tok.RefreshToken
}

// tokenAnswer is a token endpoint's answer.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// mustTokens reads a token endpoint's answer that must hold both tokens.
func mustTokens(t *testing.T, what string) func(status int, body string) tokenAnswer {
	return func(status int, body string) tokenAnswer {
		t.Helper()
		var tok tokenAnswer
		if err := json.Unmarshal([]byte(body), &tok); status != http.StatusOK || err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("%s: %d %s (%v), want an access and a refresh token", what, status, body, err)
		}
		return tok
	}
}

func (e *env) refresh(t *testing.T, clientID, secret, refresh string) (int, string) {
	t.Helper()
	return e.tokenCall(t, clientID, secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
}

// tokenCall posts form to the provider's token endpoint as the client.
func (e *env) tokenCall(t *testing.T, clientID, secret string, form url.Values) (int, string) {
	t.Helper()
	r := httptest.NewRequest("POST", publicOrigin+"/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	w := httptest.NewRecorder()
	e.oauth.Token(w, r)
	return w.Code, w.Body.String()
}

// userinfo calls the provider's userinfo endpoint with an access token.
func (e *env) userinfo(t *testing.T, access string) int {
	t.Helper()
	r := httptest.NewRequest("GET", publicOrigin+"/oauth/userinfo", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	w := httptest.NewRecorder()
	e.oauth.UserInfo(w, r)
	return w.Code
}
