package e2e_test

import (
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/oauth"
)

const rpName = "Lovelace Notes"

// idClaims are the ID token's claims the relying party reads, with the
// profile userinfo answered (the ID token need not carry it).
type idClaims struct {
	Subject  string   `json:"sub"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	Email    string   `json:"-"`
	Name     string   `json:"-"`
}

// login is a sign-in the relying party started and waits to finish.
type login struct{ nonce, verifier string }

// relyingParty is a separate web app on its own loopback port that signs
// people in with Countersign as any Go app would: golang.org/x/oauth2 for
// the authorization code flow with PKCE, go-oidc for discovery, the ID
// token's signature and claims, and userinfo. /login sends the browser to
// the provider; /callback finishes and greets the person.
type relyingParty struct {
	t        *testing.T
	base     string // http://127.0.0.1:PORT
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
	provider *oidc.Provider

	mu      sync.Mutex
	pending map[string]login // by state
	token   *oauth2.Token    // of the last sign-in
	claims  idClaims
}

// newRelyingParty reserves the app's port (its redirect URI must be known
// to register it) without serving yet.
func newRelyingParty(t *testing.T) (*relyingParty, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{t: t, base: "http://" + ln.Addr().String(), pending: map[string]login{}}, ln
}

func (rp *relyingParty) redirectURI() string { return rp.base + "/callback" }

// start discovers the provider at issuer and serves the app on ln as the
// client id/secret.
func (rp *relyingParty) start(ln net.Listener, issuer, id, secret string) {
	rp.t.Helper()
	p, err := oidc.NewProvider(rp.t.Context(), issuer)
	if err != nil {
		ln.Close()
		rp.t.Fatalf("discovery at %s: %v", issuer, err)
	}
	rp.provider = p
	rp.verifier = p.Verifier(&oidc.Config{ClientID: id})
	endpoint := p.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	rp.config = oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: endpoint,
		RedirectURL: rp.redirectURI(), Scopes: appScopes}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	hs := httptest.NewUnstartedServer(mux)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	rp.t.Cleanup(hs.Close)
}

func (rp *relyingParty) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomState(), randomState(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = login{nonce: nonce, verifier: verifier}
	rp.mu.Unlock()
	http.Redirect(w, r, rp.config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (rp *relyingParty) callback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, format string, args ...any) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<!doctype html><title>%s</title><p id="error">%s</p>`, rpName, html.EscapeString(fmt.Sprintf(format, args...)))
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(http.StatusBadRequest, "the provider said %s: %s", e, q.Get("error_description"))
		return
	}
	rp.mu.Lock()
	l, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	if !ok {
		fail(http.StatusBadRequest, "unknown state %q", q.Get("state"))
		return
	}
	ctx := r.Context()
	tok, err := rp.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(l.verifier))
	if err != nil {
		fail(http.StatusBadGateway, "code exchange: %v", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		fail(http.StatusBadGateway, "ID token: %v", err)
		return
	}
	if idt.Nonce != l.nonce {
		fail(http.StatusBadGateway, "ID token nonce %q, want %q", idt.Nonce, l.nonce)
		return
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		fail(http.StatusBadGateway, "ID token claims: %v", err)
		return
	}
	info, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		fail(http.StatusBadGateway, "userinfo: %v", err)
		return
	}
	if info.Subject != idt.Subject {
		fail(http.StatusBadGateway, "userinfo is about %q, the ID token about %q", info.Subject, idt.Subject)
		return
	}
	var profile struct {
		Name string `json:"name"`
	}
	if err := info.Claims(&profile); err != nil {
		fail(http.StatusBadGateway, "userinfo claims: %v", err)
		return
	}
	claims.Email, claims.Name = info.Email, profile.Name
	rp.mu.Lock()
	rp.token, rp.claims = tok, claims
	rp.mu.Unlock()
	fmt.Fprintf(w, `<!doctype html><title>%s</title><p id="hello">Hello %s</p>`, rpName, html.EscapeString(info.Email))
}

// last returns the tokens and ID token claims of the last sign-in.
func (rp *relyingParty) last() (*oauth2.Token, idClaims) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.token == nil {
		rp.t.Fatal("the relying party has no tokens")
	}
	return rp.token, rp.claims
}

// refresh uses the refresh token as x/oauth2 does when the access token
// has expired.
func (rp *relyingParty) refresh(refreshToken string) (*oauth2.Token, error) {
	expired := &oauth2.Token{AccessToken: "expired", RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Minute)}
	return rp.config.TokenSource(rp.t.Context(), expired).Token()
}

// wantRefreshRefused fails the test unless the refresh token is refused.
func (rp *relyingParty) wantRefreshRefused(what, refreshToken string) {
	rp.t.Helper()
	tok, err := rp.refresh(refreshToken)
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		rp.t.Errorf("%s: the refresh got new tokens (expiring %v), want a refusal", what, tok.Expiry)
	case !errors.As(err, &re):
		rp.t.Errorf("%s: %v, want the token endpoint's error", what, err)
	case re.ErrorCode != "invalid_grant":
		rp.t.Errorf("%s: refused with %q (%s), want invalid_grant", what, re.ErrorCode, re.ErrorDescription)
	}
}

// toConsent opens the relying party's /login in s's tab and goes through
// the provider's sign-in page (and its two-step page with code(), when
// code is not nil) when the browser is not signed in yet. It returns
// whether the consent page is shown, after checking what it says.
func (s *site) toConsent(rp *relyingParty, login string, code func() string) bool {
	s.t.Helper()
	if _, err := browsertest.Open(s.tab, rp.base+"/login"); err != nil {
		s.t.Fatal(err)
	}
	if p, _ := browsertest.Path(s.tab); p == "/signin" {
		s.submit("form#signin-form", map[string]string{"login": login, "password": userPassword})
		if code != nil {
			s.wantPath("/signin/verify")
			s.submit("form#verify-form", map[string]string{"code": code()})
		}
	}
	if s.count("#consent") == 0 {
		return false
	}
	if got := s.text("#consent-app"); !strings.Contains(got, rpName) {
		s.t.Errorf("#consent-app: got %q, want the app's name %q", got, rpName)
	}
	var got, want []string
	if err := browsertest.Eval(s.tab, `Array.from(document.querySelectorAll("#consent-scopes li")).map(e => e.textContent.trim())`, &got); err != nil {
		s.t.Fatal(err)
	}
	for _, sc := range appScopes {
		want = append(want, oauth.ScopeDescriptions[sc])
	}
	if !slices.Equal(got, want) {
		s.t.Errorf("#consent-scopes li: got %q, want %q", got, want)
	}
	return true
}

// signInTo signs in to the relying party (see toConsent), allows it when
// consent is asked, and checks that the app greets login. It returns
// whether consent was asked.
func (s *site) signInTo(rp *relyingParty, login string, code func() string) (consented bool) {
	s.t.Helper()
	if consented = s.toConsent(rp, login, code); consented {
		s.shot("consent")
		if _, err := browsertest.Click(s.tab, "button#consent-allow"); err != nil {
			s.t.Fatal(err)
		}
	}
	s.wantPath("/callback")
	want := "Hello " + login
	if s.count("#hello") == 0 {
		s.t.Fatalf("the relying party's callback: %q, want %q", s.text("body"), want)
	}
	if got := s.text("#hello"); got != want {
		s.t.Fatalf("the relying party says %q, want %q", got, want)
	}
	return consented
}

// origin is the scheme, host and port of the tab's page.
func (s *site) origin() string {
	s.t.Helper()
	var o string
	if err := browsertest.Eval(s.tab, "location.origin", &o); err != nil {
		s.t.Fatal(err)
	}
	return o
}

// wantAppError fails the test unless the tab is at the relying party's
// callback with the provider's error code in it.
func (s *site) wantAppError(what, code string) {
	s.t.Helper()
	s.wantPath("/callback")
	if s.count("#error") == 0 || !strings.Contains(s.text("#error"), code) {
		s.t.Errorf("%s: the app says %q, want the error %s", what, s.text("body"), code)
	}
}

// TestOAuthRelyingParty is the scenario with a real relying party:
// sign in to it through Countersign in Chromium, allow it on the consent
// page, get tokens, read userinfo, refresh, come back without being asked
// again, remove the app's access on the security page, and see its
// refresh tokens and access tokens refused. Then the authorize step's
// refusals through the server, Cancel on the consent page and a sign-in
// with two-step; last, with the server's clock moved an hour on, expiry
// and a reused refresh token. The provider's rules one by one are
// TestOAuthRules's.
func TestOAuthRelyingParty(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), name) }
	browser := browsertest.Start(t)
	s := newApprovalSite(t, browser)
	s.shots = os.Getenv("COUNTERSIGN_SCREENSHOTS")
	ctx := t.Context()
	newAccount(t, s.db, userLogin, userName, false)
	grace, graceKey := newAccount(t, s.db, "grace@example.com", "Grace Hopper", true)
	dev, _ := newAccount(t, s.db, "dev@example.com", "Developer", false)

	rp, ln := newRelyingParty(t)
	client, secret, err := s.srv.OAuth().RegisterClient(ctx, dev.ID, oauth.NewClient{
		Name: rpName, Homepage: "https://example.com/notes", PrivacyURL: "https://example.com/privacy",
		RedirectURIs: []string{rp.redirectURI()}, Scopes: appScopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	rp.start(ln, s.base, client.ID, secret)
	ep := newEndpoints(t, s.base)
	self := app{id: client.ID, secret: secret, redirect: rp.redirectURI()}
	phase("app registered, discovery read")

	if !s.signInTo(rp, userLogin, nil) {
		t.Error("the first sign-in to the app asked no consent")
	}
	first, claims := rp.last()
	phase("signed in to the app")
	if claims.Email != userLogin || claims.Subject == "" || claims.Name != userName {
		t.Errorf("ID token and userinfo: got %+v, want sub, email %s and name %s", claims, userLogin, userName)
	}
	if !slices.Contains(claims.AMR, "pwd") || claims.AuthTime == 0 {
		t.Errorf("ID token: amr %q, auth_time %d, want pwd and the sign-in's time", claims.AMR, claims.AuthTime)
	}
	if first.RefreshToken == "" {
		t.Fatal("the code exchange gave no refresh token")
	}
	ep.wantUserinfo("the first access token", first.AccessToken, http.StatusOK)

	second, err := rp.refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.AccessToken == first.AccessToken || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatal("the refresh answered the same tokens, want new ones (rotation)")
	}
	ep.wantUserinfo("the refreshed access token", second.AccessToken, http.StatusOK)
	// The spent refresh token is dead. Using it would revoke the whole
	// grant (TestOAuthRules does); introspection only looks.
	if ep.active(self, first.RefreshToken) {
		t.Error("introspection: the spent refresh token is active")
	}
	if !ep.active(self, second.RefreshToken) {
		t.Error("introspection: the new refresh token is not active")
	}
	phase("refreshed")

	if s.signInTo(rp, userLogin, nil) {
		t.Error("the second sign-in to the app asked consent again, want the remembered grant")
	}
	third, _ := rp.last()
	phase("signed in again without consent")

	s.open("/account/security/apps")
	s.wantCount("#authorized-apps li", 1)
	if got := s.text("#authorized-apps li"); !strings.Contains(got, rpName) {
		t.Errorf("#authorized-apps li: got %q, want the app's name", got)
	}
	s.shot("authorized-apps")
	s.submit(`#authorized-apps li form[action$="/revoke"]`, nil)
	s.submit("form#confirm-form", nil) // removing access asks first
	s.open("/account/security/apps")
	s.wantCount("#authorized-apps li", 0)
	phase("access removed")
	for _, tok := range []*oauth2.Token{second, third} {
		rp.wantRefreshRefused("after Remove access", tok.RefreshToken)
		ep.wantUserinfo("after Remove access", tok.AccessToken, http.StatusUnauthorized)
	}

	// The grant is gone: the next sign-in asks again.
	if !s.signInTo(rp, userLogin, nil) {
		t.Error("after Remove access the sign-in asked no consent")
	}
	phase("consented again")

	// The web side's authorize step refuses what the provider refuses: a
	// redirect URI not registered gets an error page of the server's, a
	// scope the app may not ask for an error sent back to the app.
	q := authorizeQuery(self, "openid email", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	q.Set("redirect_uri", "https://attacker.example/callback")
	status, err := browsertest.Open(s.tab, s.base+"/oauth/authorize?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if origin := s.origin(); status < 400 || origin != s.base {
		t.Errorf("authorize with an unregistered redirect URI: status %d at %s, want an error page of the server", status, origin)
	}
	q = authorizeQuery(self, "openid profile:user_id", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	if _, err := browsertest.Open(s.tab, s.base+"/oauth/authorize?"+q.Encode()); err != nil {
		t.Fatal(err)
	}
	s.wantAppError("a scope the app may not ask for", "invalid_scope")

	t.Run("two-step", func(t *testing.T) {
		g := &site{t: t, base: s.base, outbox: s.outbox, tab: browsertest.NewProfile(t, browser)}
		if !g.toConsent(rp, grace.Email, func() string { return nextCode(t, graceKey) }) {
			t.Fatal("Grace's first sign-in to the app asked no consent")
		}
		if _, err := browsertest.Click(g.tab, "button#consent-cancel"); err != nil {
			t.Fatal(err)
		}
		g.wantAppError("Cancel on the consent page", "access_denied")
		if !g.signInTo(rp, grace.Email, nil) {
			t.Error("after Cancel, Grace's next sign-in to the app asked no consent")
		}
		_, claims := rp.last()
		if claims.Email != grace.Email {
			t.Errorf("userinfo email: got %q, want %q", claims.Email, grace.Email)
		}
		if !slices.Contains(claims.AMR, "mfa") || !slices.Contains(claims.AMR, "pwd") {
			t.Errorf("ID token amr after password and code: %q, want pwd and mfa", claims.AMR)
		}
		phase("signed in to the app with two-step")
	})

	// Last, as the server's clock moves: an hour later the access token
	// is dead and the refresh token good; a refresh token used twice
	// revokes the grant, which leaves the security page.
	if s.signInTo(rp, userLogin, nil) {
		t.Error("Ada's sign-in after consenting again asked consent")
	}
	fourth, _ := rp.last()
	s.clock.Advance(61 * time.Minute)
	ep.wantUserinfo("an access token after 61 minutes", fourth.AccessToken, http.StatusUnauthorized)
	fifth, err := rp.refresh(fourth.RefreshToken)
	if err != nil {
		t.Fatalf("a refresh after 61 minutes: %v", err)
	}
	ep.wantUserinfo("the access token refreshed after 61 minutes", fifth.AccessToken, http.StatusOK)
	rp.wantRefreshRefused("the spent refresh token used again", fourth.RefreshToken)
	rp.wantRefreshRefused("the newest refresh token after the reuse", fifth.RefreshToken)
	ep.wantUserinfo("the newest access token after the reuse", fifth.AccessToken, http.StatusUnauthorized)
	s.open("/account/security/apps")
	s.wantCount("#authorized-apps li", 0)
	phase("expiry and refresh-token reuse")
}
