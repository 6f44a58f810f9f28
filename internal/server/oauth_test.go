package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

const (
	appRedirect = "https://app.example/callback"
	appState    = "state-1234567890"
	appVerifier = "verifier-0123456789-0123456789-0123456789-abcdef"
)

var (
	consentRequestRe = regexp.MustCompile(`name="request" value="([^"]+)"`)
	nextFieldRe      = regexp.MustCompile(`name="next" value="([^"]+)"`)
	clientIDRe       = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
	clientSecretRe   = regexp.MustCompile(`<code id="client-secret">([^<]+)</code>`)
	apiTokenRe       = regexp.MustCompile(`<code id="new-api-token">([^<]+)</code>`)
	formErrorRe      = regexp.MustCompile(`<p class="error" id="form-error" role="alert">([^<]+)</p>`)
)

// registerApp registers a confidential app owned by a fresh developer
// account and returns its client and secret.
func registerApp(t *testing.T, e *env, scopes ...string) (*store.OAuthClient, string) {
	t.Helper()
	dev := e.client()
	dev.signup("dev@example.com", pw)
	c, secret, err := e.srv.oauth.RegisterClient(context.Background(), e.user("dev@example.com").ID, oauth.NewClient{
		Name: "Photo Prints", LogoURL: "https://app.example/logo.png", Homepage: "https://app.example/",
		PrivacyURL: "https://app.example/privacy", RedirectURIs: []string{appRedirect}, Scopes: scopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

// authorizeURL is an app's authorization request for scope.
func authorizeURL(clientID, scope string) string {
	sum := sha256.Sum256([]byte(appVerifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {appRedirect},
		"scope":                 {scope},
		"state":                 {appState},
		"nonce":                 {"nonce-1234567890"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	return "/oauth/authorize?" + q.Encode()
}

// signInVia signs c in through the sign-in page that r (the answer of an
// authorize request while signed out) sends it to, and returns the answer
// of the sign-in post.
func signInVia(t *testing.T, c *client, r *resp, login string) *resp {
	t.Helper()
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin?next=") {
		t.Fatalf("signed-out authorize: %d %q, want a redirect to /signin?next=", r.status, r.loc)
	}
	page := c.get(r.loc)
	m := nextFieldRe.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the sign-in page does not carry next: %s", page.body)
	}
	return c.post("/signin", url.Values{"login": {login}, "password": {pw}, "next": {html.UnescapeString(m[1])}})
}

// consentRequest is the carried request of a consent page.
func consentRequest(t *testing.T, r *resp) string {
	t.Helper()
	m := consentRequestRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("no consent page: %d %s", r.status, r.body)
	}
	return html.UnescapeString(m[1])
}

// redirectedTo checks that r sends the browser to the app and returns the
// query it carries.
func redirectedTo(t *testing.T, r *resp) url.Values {
	t.Helper()
	u, err := url.Parse(r.loc)
	if r.status != http.StatusSeeOther && r.status != http.StatusFound || err != nil || !strings.HasPrefix(r.loc, appRedirect+"?") {
		t.Fatalf("got %d to %q, want a redirect to %s", r.status, r.loc, appRedirect)
	}
	if got := u.Query().Get("state"); got != appState {
		t.Errorf("state %q, want %q", got, appState)
	}
	return u.Query()
}

func TestAuthorizeFlow(t *testing.T) {
	e := newEnv(t)
	app, secret := registerApp(t, e, "openid", "email", "profile")
	c := e.client()
	c.signup("ada@example.com", pw)
	c.signout()

	// Signed out: to the sign-in page, which comes back to the request.
	start := authorizeURL(app.ID, "openid email")
	r := c.get(start)
	if want := "/signin?next=" + url.QueryEscape(start); r.loc != want {
		t.Errorf("signed-out authorize went to %q, want %q", r.loc, want)
	}
	page := c.get(r.loc)
	mustContain(t, page.body, `<p id="signin-app">to continue to <strong>Photo Prints</strong></p>`)
	if p := page.header.Get("Content-Security-Policy"); !strings.Contains(p, "form-action 'self' https://app.example") {
		t.Errorf("the sign-in page's form-action does not reach the app: %q", p)
	}
	r = signInVia(t, c, r, "ada@example.com")
	if r.status != http.StatusSeeOther || r.loc != start {
		t.Fatalf("sign-in went to %d %q, want %q", r.status, r.loc, start)
	}

	// The consent page names the app and says what it will see.
	r = c.get(r.loc)
	req := consentRequest(t, r)
	consent := sectionOf(r.body, "consent")
	mustContain(t, consent, `<span id="consent-app">Photo Prints</span>`, `<img id="consent-logo" class="app-logo" src="https://app.example/logo.png"`,
		`<ul id="consent-scopes"`, "<li>"+oauth.ScopeDescriptions["email"]+"</li>", "<li>"+oauth.ScopeDescriptions["openid"]+"</li>",
		`href="https://app.example/privacy" rel="noopener noreferrer"`, `href="https://app.example/" rel="noopener noreferrer"`,
		`id="consent-allow"`, `id="consent-cancel"`, "Signed in as <strong>ada@example.com</strong>")
	if strings.Contains(consent, oauth.ScopeDescriptions["profile"]) {
		t.Error("the consent page lists a scope the app did not ask for")
	}
	p := r.header.Get("Content-Security-Policy")
	if !strings.Contains(p, "img-src 'self' data: https:") || !strings.Contains(p, "form-action 'self' https://app.example") {
		t.Errorf("consent page CSP %q", p)
	}

	// Allow: back to the app with a code, which the app trades for tokens.
	q := redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}))
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in %v", q)
	}
	tok := e.tokenRequest(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {appVerifier},
	}, app.ID, secret)
	if tok.status != http.StatusOK || tok.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %q %s", tok.status, tok.header.Get("Cache-Control"), tok.body)
	}
	if tok.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("the token endpoint lost the security headers")
	}
	var tokens struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &tokens); err != nil || tokens.AccessToken == "" || tokens.IDToken == "" {
		t.Fatalf("token answer %s (%v)", tok.body, err)
	}
	ui := e.client().do("GET", "/oauth/userinfo", nil, "", http.Header{"Authorization": {"Bearer " + tokens.AccessToken}})
	if ui.status != http.StatusOK || !strings.Contains(ui.body, `"ada@example.com"`) {
		t.Errorf("userinfo: %d %s", ui.status, ui.body)
	}

	// Remembered: the same request goes straight back to the app.
	if code := redirectedTo(t, c.get(start)).Get("code"); code == "" {
		t.Error("a remembered grant gave no code")
	}
	// More scopes ask again; cancel tells the app access_denied.
	r = c.get(authorizeURL(app.ID, "openid email profile"))
	req = consentRequest(t, r)
	mustContain(t, r.body, "<li>"+oauth.ScopeDescriptions["profile"]+"</li>")
	q = redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"cancel"}}))
	if q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Errorf("cancel: %v, want error=access_denied and no code", q)
	}

	// The grant shows on the security page, and in the activity.
	r = c.sections()
	apps := sectionOf(r.body, "authorized-apps")
	mustContain(t, apps, "Photo Prints", "Can: sign you in, see your email address", "Allowed <time datetime=\"2026-11-22T12:00", "data-local>22 Nov 2026, 12:00 UTC</time>",
		`action="/account/apps/`+app.ID+`/revoke"`, "Remove access", `href="/developer/apps"`)
}

func (e *env) tokenRequest(t *testing.T, form url.Values, id, secret string) *resp {
	t.Helper()
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}}
	return e.client().do("POST", "/oauth/token", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", h)
}

func TestConsentRefusals(t *testing.T) {
	e := newEnv(t)
	app, _ := registerApp(t, e, "openid", "email", "profile")
	c := e.client()
	c.signup("ada@example.com", pw)
	r := c.get(authorizeURL(app.ID, "openid email"))
	req := consentRequest(t, r)

	// Without the CSRF token.
	if r := c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}, "csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("consent without CSRF: %d", r.status)
	}
	// A carried request changed to ask for more.
	parts := strings.Split(req, ".")
	if len(parts) != 3 {
		t.Fatalf("carried request %q", req)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	more := strings.Replace(string(raw), "scope=openid+email", "scope=openid+email+profile", 1)
	if more == string(raw) {
		t.Fatalf("no scope in %q", raw)
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(more)) + "." + parts[2]
	for name, v := range map[string]string{"more scopes": tampered, "empty": "", "garbage": "x.y.z"} {
		r := c.post("/oauth/consent", url.Values{"request": {v}, "decision": {"allow"}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "expired or was changed") || r.loc != "" {
			t.Errorf("%s: %d %q", name, r.status, r.loc)
		}
	}
	// Another session's consent form does not work here.
	other := e.client()
	other.signup("bob@example.com", pw)
	other.get("/account/security")
	if r := other.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}); r.status != http.StatusBadRequest {
		t.Errorf("another session's request: %d", r.status)
	}
	// Expired.
	e.clock.Advance(consentLifetime + 1)
	if r := c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}); r.status != http.StatusBadRequest {
		t.Errorf("expired request: %d", r.status)
	}
	// A bad request never reaches the sign-in page: an unknown client is
	// shown an error, not redirected.
	r = e.client().get(authorizeURL("no-such-client", "openid"))
	if r.status < 400 || strings.HasPrefix(r.loc, "/signin") {
		t.Errorf("unknown client: %d %q", r.status, r.loc)
	}
}

func TestDeveloperApps(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("dev@example.com", pw)
	r := c.get("/developer/apps")
	mustContain(t, r.body, `<form id="app-form"`, `name="redirect_uris"`, `value="profile:user_id"`, `id="app-type-public"`, "No apps yet.")
	if r := e.client().get("/developer/apps"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin?next=") {
		t.Errorf("signed out: %d %q", r.status, r.loc)
	}

	form := func(typ, uris string) url.Values {
		return url.Values{"name": {"Notes"}, "homepage": {"https://notes.example/"}, "redirect_uris": {uris},
			"scopes": {"openid", "email"}, "type": {typ}}
	}
	// http to a host on the network is refused, with words saying why.
	r = c.refused(c.post("/developer/apps", form("confidential", "http://example.com/cb")), "/developer/apps")
	if m := formErrorRe.FindStringSubmatch(r.body); m == nil ||
		!strings.Contains(m[1], "http://example.com/cb") || !strings.Contains(m[1], "must use https") {
		t.Errorf("http redirect URI: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, `value="Notes"`, "http://example.com/cb")

	// A native app on loopback: public, no secret.
	r = c.submit("/developer/apps", form("public", "http://127.0.0.1:8765/cb\n"))
	id := clientIDRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || id == nil || strings.Contains(r.body, `id="client-secret"`) {
		t.Fatalf("loopback public app: %d %s", r.status, r.body)
	}
	// A confidential app: its secret is shown once.
	r = c.submit("/developer/apps", form("confidential", "https://notes.example/cb\nhttps://notes.example/cb2"))
	cid, sec := clientIDRe.FindStringSubmatch(r.body), clientSecretRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || cid == nil || sec == nil {
		t.Fatalf("confidential app: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, "Copy it now")
	r = c.get("/developer/apps")
	if strings.Contains(r.body, sec[1]) || strings.Contains(r.body, `id="client-secret"`) {
		t.Error("the secret is shown again")
	}
	apps := sectionOf(r.body, "apps-list")
	if n := strings.Count(apps, "<li "); n != 2 {
		t.Errorf("%d apps listed, want 2", n)
	}
	mustContain(t, apps, cid[1], id[1], "confidential", "public", "https://notes.example/cb2", "http://127.0.0.1:8765/cb")

	// Rotate: a new secret, once.
	r = c.submit("/developer/apps/"+cid[1]+"/rotate", nil)
	sec2 := clientSecretRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || sec2 == nil || sec2[1] == sec[1] {
		t.Fatalf("rotate: %d %v", r.status, sec2)
	}
	// Not someone else's app.
	other := e.client()
	other.signup("eve@example.com", pw)
	for _, path := range []string{"/developer/apps/" + cid[1] + "/rotate", "/developer/apps/" + cid[1] + "/delete"} {
		if r := other.post(path, url.Values{"confirm": {"1"}}); r.status != http.StatusNotFound {
			t.Errorf("%s by another account: %d", path, r.status)
		}
	}

	// Delete asks first.
	r = c.post("/developer/apps/"+cid[1]+"/delete", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="app-delete-confirm"`) {
		t.Fatalf("delete without confirming: %d %s", r.status, r.body)
	}
	if r := c.get("/developer/apps/" + cid[1] + "/delete"); !strings.Contains(r.body, `name="confirm" value="1"`) {
		t.Error("GET delete shows no confirm form")
	}
	r = c.post("/developer/apps/"+cid[1]+"/delete", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/developer/apps" {
		t.Fatalf("delete: %d %q", r.status, r.loc)
	}
	r = c.follow(r)
	mustContain(t, r.body, "“Notes” is deleted")
	if strings.Contains(sectionOf(r.body, "apps-list"), cid[1]) {
		t.Error("the deleted app is still listed")
	}
	if _, err := e.srv.oauth.Client(context.Background(), cid[1]); err == nil {
		t.Error("the deleted app still exists")
	}
}

// grantedApp registers an app and lets ada allow it; it returns ada's
// signed-in client.
func grantedApp(t *testing.T, e *env) (*client, *store.OAuthClient) {
	t.Helper()
	app, _ := registerApp(t, e, "openid", "email")
	c := e.client()
	c.signup("ada@example.com", pw)
	req := consentRequest(t, c.get(authorizeURL(app.ID, "openid email")))
	redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}))
	return c, app
}

func TestAuthorizedAppsRemoveAccess(t *testing.T) {
	e := newEnv(t)
	c, app := grantedApp(t, e)
	c.get("/account/security")
	if r := c.post("/account/apps/nope/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown app: %d", r.status)
	}
	r := c.post("/account/apps/"+app.ID+"/revoke", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/account/security/apps#authorized-apps" {
		t.Fatalf("remove access: %d %q", r.status, r.loc)
	}
	r = c.follow(r)
	mustContain(t, r.body, "“Photo Prints” no longer has access to your account.")
	mustContain(t, c.get("/account/security").body, "App access removed: Photo Prints: access removed")
	if strings.Contains(sectionOf(r.body, "authorized-apps"), "/revoke") {
		t.Error("the app is still listed")
	}
	// Removed, the app must ask again.
	consentRequest(t, c.get(authorizeURL(app.ID, "openid email")))
}

func TestAPIApps(t *testing.T) {
	e := newEnv(t)
	c, app := grantedApp(t, e)
	c.get("/account/security")
	m := apiTokenRe.FindStringSubmatch(c.submit("/account/api-tokens", url.Values{"name": {"script"}, "scope": {"write"}}).body)
	if m == nil {
		t.Fatal("no API token")
	}
	bearer := http.Header{"Authorization": {"Bearer " + m[1]}}
	r := c.do("GET", "/api/v1/apps", nil, "", bearer)
	var list struct {
		Apps []struct {
			ClientID  string   `json:"client_id"`
			Name      string   `json:"name"`
			LogoURL   string   `json:"logo_url"`
			Homepage  string   `json:"homepage"`
			Scopes    []string `json:"scopes"`
			GrantedAt string   `json:"granted_at"`
			LastUsed  string   `json:"last_used_at"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(r.body), &list); r.status != http.StatusOK || err != nil || len(list.Apps) != 1 {
		t.Fatalf("GET apps: %d %s (%v)", r.status, r.body, err)
	}
	a := list.Apps[0]
	if a.ClientID != app.ID || a.Name != "Photo Prints" || a.LogoURL != "https://app.example/logo.png" || a.Homepage != "https://app.example/" ||
		strings.Join(a.Scopes, " ") != "openid email" || a.GrantedAt != "2026-11-22T12:00:15Z" {
		t.Errorf("app %+v", a)
	}
	if r := c.do("DELETE", "/api/v1/apps/nope", nil, "", bearer); r.status != http.StatusNotFound {
		t.Errorf("DELETE unknown app: %d %s", r.status, r.body)
	}
	if r := c.do("DELETE", "/api/v1/apps/"+app.ID, nil, "", bearer); r.status != http.StatusNoContent {
		t.Errorf("DELETE app: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/api/v1/apps", nil, "", bearer); r.status != http.StatusOK || strings.TrimSpace(r.body) != `{"apps":[]}` {
		t.Errorf("after DELETE: %d %s", r.status, r.body)
	}
	if !hasActivity(activityKinds(t, e, e.user("ada@example.com").ID), store.ActOAuthRevoked+": ") {
		t.Error("no activity for the removed access")
	}
}

func TestApprovalNamesTheApp(t *testing.T) {
	e := newEnv(t)
	app, _ := registerApp(t, e, "openid", "email")
	c, _ := approverUser(t, e)
	r := signInVia(t, c, c.get(authorizeURL(app.ID, "openid email")), "ada@example.com")
	if r.loc != "/signin/verify" {
		t.Fatalf("sign-in went to %q", r.loc)
	}
	r = c.get("/signin/verify")
	if p := r.header.Get("Content-Security-Policy"); !strings.Contains(p, "form-action 'self' https://app.example") {
		t.Errorf("the verify page's form-action does not reach the app: %q", p)
	}
	req, err := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie)))
	if err != nil {
		t.Fatal(err)
	}
	if req.App != "Photo Prints" {
		t.Errorf("the approval request names app %q, want Photo Prints", req.App)
	}

	// Without an app, none is named.
	c2, _ := approverUser(t, newEnv(t))
	req2, _ := waitingRequest(t, c2.e, c2)
	if req2.App != "" {
		t.Errorf("a plain sign-in names app %q", req2.App)
	}
}

func TestOAuthEndpointsMounted(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.get("/.well-known/openid-configuration")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"issuer":"`+testURL+`"`) || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("discovery: %d %v %s", r.status, r.header, r.body)
	}
	if r := c.get("/oauth/jwks"); r.status != http.StatusOK || !strings.Contains(r.body, `"keys"`) {
		t.Errorf("jwks: %d %s", r.status, r.body)
	}
	// Apps post without CSRF tokens: the answer is OAuth's, not a 403 page.
	r = c.do("POST", "/oauth/token", strings.NewReader("grant_type=authorization_code&code=x"), "application/x-www-form-urlencoded", nil)
	if r.status == http.StatusForbidden || !strings.Contains(r.body, `"error"`) || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token without client: %d %q %s", r.status, r.header.Get("Cache-Control"), r.body)
	}
	r = c.do("OPTIONS", "/oauth/token", nil, "", http.Header{"Origin": {"https://spa.example"}, "Access-Control-Request-Method": {"POST"}})
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
}
