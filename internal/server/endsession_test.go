package server

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/store"
)

// idTokenOf has c (signed in) sign in to app and returns the ID token the
// app gets.
func idTokenOf(t *testing.T, e *env, c *client, app *store.OAuthClient, secret string) string {
	t.Helper()
	r := c.get(authorizeURL(app.ID, "openid"))
	if r.status == http.StatusOK {
		r = c.post("/oauth/consent", url.Values{"request": {consentRequest(t, r)}, "decision": {"allow"}})
	}
	tok := e.tokenRequest(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {redirectedTo(t, r).Get("code")}, "redirect_uri": {appRedirect}, "code_verifier": {appVerifier},
	}, app.ID, secret)
	var tokens struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &tokens); err != nil || tokens.IDToken == "" {
		t.Fatalf("token answer %d %s (%v)", tok.status, tok.body, err)
	}
	return tokens.IDToken
}

func signedIn(c *client) bool {
	c.t.Helper()
	return c.get("/account/security").status == http.StatusOK
}

var endSessionRequestRe = regexp.MustCompile(`<form id="end-session-form"[^>]*>[\s\S]*?name="request" value="([^"]*)"`)

// TestEndSessionAsksFirst: /oauth/end-session signs the browser out at once
// only for a valid id_token_hint of the person signed in; a bare link (from
// any site) or a hint of someone else gets a page that asks, whose form
// needs its CSRF token; a bad request is refused before anything happens.
func TestEndSessionAsksFirst(t *testing.T) {
	e := newEnv(t)
	app, secret := registerApp(t, e, "openid")
	ada := e.client()
	ada.signup("ada@example.com", pw)
	adaToken := idTokenOf(t, e, ada, app, secret)
	bob := e.client()
	bob.signup("bob@example.com", pw)
	bobToken := idTokenOf(t, e, bob, app, secret)

	// A link without a hint: asked, still signed in.
	r := ada.get("/oauth/end-session")
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="end-session-form"`) {
		t.Fatalf("end-session without a hint: %d, want the page asking to sign out", r.status)
	}
	if !signedIn(ada) {
		t.Fatal("a bare /oauth/end-session link signed the browser out")
	}
	// Its form without the CSRF token (a cross-site post) does nothing.
	if r := ada.post("/oauth/end-session", url.Values{"csrf": {""}, "request": {""}}); r.status != http.StatusForbidden || !signedIn(ada) {
		t.Errorf("end-session post without a CSRF token: %d, signed in %v; want 403 and still signed in", r.status, signedIn(ada))
	}
	// Confirmed: signed out.
	r = ada.get("/oauth/end-session")
	m := endSessionRequestRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no end-session form: %s", r.body)
	}
	if r := ada.post("/oauth/end-session", url.Values{"request": {html.UnescapeString(m[1])}}); r.status != http.StatusOK || signedIn(ada) {
		t.Errorf("confirmed end-session: %d, signed in %v; want 200 and signed out", r.status, signedIn(ada))
	}

	// A bad hint is refused, and the browser stays signed in.
	ada.signin("ada@example.com", pw)
	for _, hint := range []string{"x.y.z", adaToken[:len(adaToken)-4] + "AAAA"} {
		if r := ada.get("/oauth/end-session?" + url.Values{"id_token_hint": {hint}}.Encode()); r.status != http.StatusBadRequest || !signedIn(ada) {
			t.Errorf("end-session with a bad hint: %d, signed in %v; want 400 and still signed in", r.status, signedIn(ada))
		}
	}

	// Bob's hint in Ada's browser: asked, with the way back to the app
	// carried through the form (and allowed by its form-action).
	q := url.Values{"id_token_hint": {bobToken}, "post_logout_redirect_uri": {appRedirect}, "state": {appState}}
	r = ada.get("/oauth/end-session?" + q.Encode())
	m = endSessionRequestRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || !signedIn(ada) {
		t.Fatalf("end-session with another person's hint: %d, signed in %v; want the page asking", r.status, signedIn(ada))
	}
	mustContain(t, r.body, "Photo Prints")
	if p := r.header.Get("Content-Security-Policy"); !strings.Contains(p, "form-action 'self' https://app.example") {
		t.Errorf("the end-session page's form-action does not reach the app: %q", p)
	}
	r = ada.post("/oauth/end-session", url.Values{"request": {html.UnescapeString(m[1])}})
	if r.status != http.StatusSeeOther || r.loc != appRedirect+"?state="+appState || signedIn(ada) {
		t.Errorf("confirmed end-session for the app: %d to %q, signed in %v; want signed out and back at the app", r.status, r.loc, signedIn(ada))
	}

	// Ada's own valid hint signs her out at once, back to the app.
	ada.signin("ada@example.com", pw)
	q.Set("id_token_hint", adaToken)
	r = ada.get("/oauth/end-session?" + q.Encode())
	if r.status != http.StatusSeeOther || r.loc != appRedirect+"?state="+appState || signedIn(ada) {
		t.Errorf("end-session with her own hint: %d to %q, signed in %v; want signed out and back at the app", r.status, r.loc, signedIn(ada))
	}
	if kinds := activityKinds(t, e, e.user("ada@example.com").ID); !hasActivity(kinds, store.ActSignOut+": Signed out by an app") {
		t.Errorf("no \"signed out by an app\" in the activity log: %q", kinds)
	}
}
