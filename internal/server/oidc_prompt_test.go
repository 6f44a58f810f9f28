package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// with is an authorize URL with params set ("" deletes).
func with(start string, params map[string]string) string {
	u, _ := url.Parse(start)
	q := u.Query()
	for k, v := range params {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return u.Path + "?" + q.Encode()
}

// idTokenClaims trades code for tokens and returns the ID token's claims
// (the provider's own tests verify its signature).
func idTokenClaims(t *testing.T, e *env, code, clientID, secret string) map[string]any {
	t.Helper()
	tok := e.tokenRequest(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {appVerifier},
	}, clientID, secret)
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &body); tok.status != http.StatusOK || err != nil {
		t.Fatalf("token: %d %s", tok.status, tok.body)
	}
	parts := strings.Split(body.IDToken, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		t.Fatalf("ID token %q", body.IDToken)
	}
	return claims
}

// OIDC Core 3.1.2.1: prompt=none never shows a page, prompt=consent asks
// again, prompt=login and max_age make the person sign in again and then
// go on, with the new sign-in's auth_time in the ID token.
func TestAuthorizePrompts(t *testing.T) {
	e := newEnv(t)
	app, secret := registerApp(t, e, "openid", "email")
	start := authorizeURL(app.ID, "openid email")
	signedOut := e.client()
	none := with(start, map[string]string{"prompt": "none"})

	// Signed out, prompt=none: the app hears login_required.
	if q := redirectedTo(t, signedOut.get(none)); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Errorf("prompt=none signed out: %v, want error=login_required", q)
	}
	c := e.client()
	c.signup("ada@example.com", pw)
	// Signed in, never asked: consent_required.
	if q := redirectedTo(t, c.get(none)); q.Get("error") != "consent_required" {
		t.Errorf("prompt=none without a grant: %v, want error=consent_required", q)
	}
	req := consentRequest(t, c.get(start))
	redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}))
	// Granted: prompt=none gets a code; prompt=consent asks again.
	if q := redirectedTo(t, c.get(none)); q.Get("code") == "" {
		t.Errorf("prompt=none with a grant: %v, want a code", q)
	}
	consentRequest(t, c.get(with(start, map[string]string{"prompt": "consent"})))

	e.clock.Advance(10 * time.Minute)
	// A sign-in 10 minutes old is fresh enough for max_age=900, not for
	// max_age=300: prompt=none hears login_required, else sign in again.
	if q := redirectedTo(t, c.get(with(start, map[string]string{"max_age": "900"}))); q.Get("code") == "" {
		t.Errorf("max_age=900: %v, want a code", q)
	}
	if q := redirectedTo(t, c.get(with(start, map[string]string{"prompt": "none", "max_age": "300"}))); q.Get("error") != "login_required" {
		t.Errorf("prompt=none max_age=300: %v, want error=login_required", q)
	}
	for _, params := range []map[string]string{{"max_age": "300"}, {"prompt": "login"}, {"max_age": "0"}} {
		e.clock.Advance(300 * time.Millisecond) // the same second as the last sign-in
		signedInAt := e.clock.Now()
		r := c.get(with(start, params))
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin?next=") {
			t.Fatalf("%v: %d %q, want the sign-in page", params, r.status, r.loc)
		}
		// The sign-in page asks though the browser is signed in, and
		// comes back to the request, which now goes on.
		page := c.get(r.loc)
		if page.status != http.StatusOK || !strings.Contains(page.body, `name="password"`) {
			t.Fatalf("%v: the sign-in page answered %d %q", params, page.status, page.loc)
		}
		back := signInVia(t, c, r, "ada@example.com")
		if back.status != http.StatusSeeOther || !strings.HasPrefix(back.loc, "/oauth/authorize?") {
			t.Fatalf("%v: sign-in went to %q", params, back.loc)
		}
		q := redirectedTo(t, c.get(back.loc))
		if q.Get("code") == "" {
			t.Fatalf("%v: after signing in again: %v, want a code", params, q)
		}
		claims := idTokenClaims(t, e, q.Get("code"), app.ID, secret)
		if at, _ := claims["auth_time"].(float64); int64(at) != signedInAt.Unix() {
			t.Errorf("%v: auth_time %v, want the new sign-in's %d", params, claims["auth_time"], signedInAt.Unix())
		}
	}

	// Signed out, prompt=login: one sign-in, then on (no second round).
	fresh := e.client()
	r := signInVia(t, fresh, fresh.get(with(start, map[string]string{"prompt": "login"})), "ada@example.com")
	if q := redirectedTo(t, fresh.get(r.loc)); q.Get("code") == "" {
		t.Errorf("prompt=login signed out: %v, want a code after one sign-in", q)
	}

	// A mark moved to a later time is not believed: sign in again.
	e.clock.Advance(time.Minute)
	r = c.get(with(start, map[string]string{"prompt": "login"}))
	next, _ := url.QueryUnescape(strings.TrimPrefix(r.loc, "/signin?next="))
	u, _ := url.Parse(next)
	mark := u.Query().Get(authMarkParam)
	at, sig, _ := strings.Cut(mark, ".")
	n, _ := strconv.ParseInt(at, 10, 64)
	forged := with(next, map[string]string{authMarkParam: strconv.FormatInt(n+int64(time.Minute), 10) + "." + sig})
	if r := c.get(forged); !strings.HasPrefix(r.loc, "/signin?next=") {
		t.Errorf("a forged mark: %d %q, want the sign-in page", r.status, r.loc)
	}
	// The mark of one request does not excuse another (other state).
	other := with(next, map[string]string{"state": "another-state-123"})
	if r := c.get(other); !strings.HasPrefix(r.loc, "/signin?next=") {
		t.Errorf("a mark on another request: %d %q, want the sign-in page", r.status, r.loc)
	}
}

// An authorization request that cannot go back to the app is shown as a
// page of the site: its title, its language, a plain sentence.
func TestAuthorizeErrorPage(t *testing.T) {
	e := newEnv(t)
	app, _ := registerApp(t, e, "openid")
	for name, path := range map[string]string{
		"unknown client":        authorizeURL("no-such-client", "openid"),
		"unregistered redirect": with(authorizeURL(app.ID, "openid"), map[string]string{"redirect_uri": "https://evil.example/cb"}),
		"no redirect":           with(authorizeURL(app.ID, "openid"), map[string]string{"client_id": ""}),
	} {
		r := e.client().get(path)
		if r.status != http.StatusBadRequest || r.loc != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q %q, want a 400 page", name, r.status, r.header.Get("Content-Type"), r.loc)
			continue
		}
		mustContain(t, r.body, `<html lang="en">`, "<title>That did not work · Countersign</title>", `role="alert"`, "Go back to the app and try again")
		for _, dev := range []string{"OAuth 2.0", "error_description", "redirect_uri", "client_id"} {
			if strings.Contains(r.body, dev) {
				t.Errorf("%s: the page holds developer text %q", name, dev)
			}
		}
	}
}
