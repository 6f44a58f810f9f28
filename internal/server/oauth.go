package server

// Sign in with Countersign, the web side: the authorization endpoint (sign
// the person in, ask for consent, hand the request to the provider), the
// provider's own endpoints mounted as they are, and the pages around them:
// the developer's apps and the account's authorized apps. The protocol —
// clients, codes, tokens, grants — is package oauth's.

import (
	"cmp"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/loopback"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

const (
	authorizePath   = "/oauth/authorize"
	consentLifetime = 10 * time.Minute // a consent form's carried request
)

// oauthEndpoints mounts the provider's endpoints that apps call (not
// browsers' pages): no session, no CSRF token; the security headers stay.
func (s *Server) oauthEndpoints(mux *http.ServeMux) {
	preflighted := map[string]bool{}
	for _, e := range []struct {
		pattern string
		h       http.HandlerFunc
		cors    bool // called from apps' pages too (single-page apps)
	}{
		{"GET /.well-known/openid-configuration", s.oauth.Discovery, true},
		{"GET /oauth/jwks", s.oauth.JWKS, true},
		{"POST /oauth/token", s.oauth.Token, true},
		{"GET /oauth/userinfo", s.oauth.UserInfo, true},
		{"POST /oauth/userinfo", s.oauth.UserInfo, true},
		{"POST /oauth/revoke", s.oauth.Revoke, true},
		{"POST /oauth/introspect", s.oauth.Introspect, false},
	} {
		_, path, _ := strings.Cut(e.pattern, " ")
		mux.Handle(e.pattern, s.named(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hd := w.Header()
			if e.cors {
				allowCORS(hd)
			}
			if path != "/.well-known/openid-configuration" && path != "/oauth/jwks" {
				hd.Set("Cache-Control", "no-store")
				hd.Set("Pragma", "no-cache")
			}
			if r.Method == http.MethodPost {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			}
			e.h(w, r)
		})))
		if e.cors && !preflighted[path] {
			preflighted[path] = true
			mux.Handle("OPTIONS "+path, s.named(path, http.HandlerFunc(preflight)))
		}
	}
}

// allowCORS lets any origin's script read the answer: these endpoints take
// no cookies, only client credentials and bearer tokens.
func allowCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

func preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	allowCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// consentData is the consent page.
type consentData struct {
	Client  *store.OAuthClient
	Scopes  []string // in words
	Request string   // the sealed authorize query
	Login   string   // who is signed in
}

// authorize is GET /oauth/authorize: a valid request from a signed-in
// person goes to the app at once when a remembered grant covers it, else to
// the consent page; a signed-out person signs in first and comes back.
// prompt and max_age (OIDC Core 3.1.2.1): login, or a sign-in older than
// max_age, sends the person to sign in again, then on; consent asks again;
// none never shows a page: the app is told login_required or
// consent_required instead.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, st *reqState) error {
	w.Header().Set("Cache-Control", "no-store")
	ctx := r.Context()
	ar, err := s.oauth.ParseAuthorize(ctx, r)
	if err != nil {
		return s.authorizeError(w, r, ar, err)
	}
	q := r.URL.Query()
	requested, marked := s.openAuthMark(q)
	if !marked {
		requested = s.now()
	}
	if st.sess == nil || st.sess.Stage != store.StageFull || !authFresh(st.sess.CreatedAt, ar, requested) {
		if ar.Prompts("none") {
			return s.authorizeError(w, r, ar, oauth.ErrLoginRequired)
		}
		query := r.URL.RawQuery
		if !marked && (ar.Prompts("login") || ar.MaxAge >= 0) {
			query = s.markAuth(q, requested)
		}
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(authorizePath+"?"+query), http.StatusSeeOther)
		return nil
	}
	need := ar.Prompts("consent")
	if !need {
		if need, err = s.oauth.NeedsConsent(ctx, st.user.ID, ar); err != nil {
			return fmt.Errorf("needs consent: %w", err)
		}
	}
	if need && ar.Prompts("none") {
		return s.authorizeError(w, r, ar, oauth.ErrConsentRequired)
	}
	if !need {
		s.oauth.Authorize(ctx, w, r, ar, st.user.ID, s.authentication(st), oauth.WithRequestedAt(requested), oauth.WithSession(s.oidcSID(st.sess.ID)))
		return nil
	}
	return s.showConsent(w, r, st, ar, r.URL.RawQuery)
}

// authorizeError sends an authorization error to the app when its redirect
// URI is trusted, else shows it to the person on an error page.
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, ar *oauth.AuthorizeRequest, err error) error {
	if ar.Redirectable() {
		s.oauth.WriteAuthorizeError(w, r, ar, err)
		return nil
	}
	status, msg := oauth.ErrorMessage(err)
	if status >= http.StatusInternalServerError {
		return err
	}
	return &userError{status, msg}
}

// authMarkParam carries through a sign-in and the consent page, sealed,
// when an app's request that asks for a fresh sign-in (prompt=login,
// max_age) first arrived: the sign-in that follows is fresh when it is not
// older. The mark is bound to the rest of the query (the app's state, nonce
// and PKCE challenge), so it cannot excuse another request.
const (
	authMarkParam    = "countersign_requested"
	authMarkLifetime = 30 * time.Minute
)

// markAuth returns the authorize query q with the mark of requested.
func (s *Server) markAuth(q url.Values, requested time.Time) string {
	q = maps.Clone(q)
	q.Del(authMarkParam)
	q.Set(authMarkParam, s.timeMark("oauth-requested", q.Encode(), requested))
	return q.Encode()
}

// openAuthMark returns when the request of the authorize query q first
// arrived, if q carries a valid mark younger than authMarkLifetime.
func (s *Server) openAuthMark(q url.Values) (time.Time, bool) {
	mark := q.Get(authMarkParam)
	q = maps.Clone(q)
	q.Del(authMarkParam)
	return s.openTimeMark("oauth-requested", mark, q.Encode(), authMarkLifetime)
}

// authFresh reports whether a sign-in at auth is fresh enough for ar,
// made at requested: not before it for prompt=login, not more than max_age
// before it.
func authFresh(auth time.Time, ar *oauth.AuthorizeRequest, requested time.Time) bool {
	if ar.Prompts("login") && auth.Before(requested) {
		return false
	}
	return ar.MaxAge < 0 || !auth.Add(ar.MaxAge).Before(requested)
}

// reauthenticating reports whether the sign-in page must ask a signed-in
// person to sign in again before going on to next: an authorize request, or
// a page of an action that needs a fresh sign-in (stepUp), whose mark is
// newer than the session's sign-in.
func (s *Server) reauthenticating(st *reqState, next string) bool {
	if st.sess == nil {
		return false
	}
	if marked, ok := s.stepUpMark(next); ok { // a page's action that needs a fresh sign-in
		return st.sess.CreatedAt.Before(marked)
	}
	u, err := url.Parse(next)
	if err != nil || u.Path != authorizePath || u.Host != "" {
		return false
	}
	requested, ok := s.openAuthMark(u.Query())
	return ok && st.sess.CreatedAt.Before(requested)
}

func (s *Server) showConsent(w http.ResponseWriter, r *http.Request, st *reqState, ar *oauth.AuthorizeRequest, query string) error {
	d := &consentData{Client: ar.Client, Request: s.sealConsent(st, query), Login: st.user.Email}
	if d.Login == "" {
		d.Login = st.user.Phone
	}
	d.Scopes = scopeWords(ar.Scopes)
	s.widenCSP(w, true, appOrigins(ar.Client, query))
	s.render(w, r, http.StatusOK, "consent", &view{Title: "Sign in to " + ar.Client.Name, D: d})
	return nil
}

// consent is POST /oauth/consent: allow or cancel the carried request. The
// request is the one the page was made for (sealed, bound to the session),
// parsed again: nothing the browser could change is trusted.
func (s *Server) consent(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	query, ok := s.openConsent(st, r.PostFormValue("request"))
	if !ok {
		return badRequest("This sign-in request expired or was changed. Go back to the app and sign in again.")
	}
	ar2 := r.Clone(ctx)
	ar2.Method = http.MethodGet
	ar2.URL = &url.URL{Path: authorizePath, RawQuery: query}
	ar2.RequestURI = authorizePath + "?" + query
	ar2.Body = http.NoBody
	ar2.ContentLength = 0
	ar2.Header = r.Header.Clone()
	ar2.Header.Del("Content-Type")
	ar2.Form, ar2.PostForm = nil, nil
	ar, err := s.oauth.ParseAuthorize(ctx, ar2)
	if err != nil {
		return s.authorizeError(w, ar2, ar, err)
	}
	requested, ok := s.openAuthMark(ar2.URL.Query())
	if !ok {
		requested = s.now()
	}
	switch r.PostFormValue("decision") {
	case "allow":
		s.oauth.Authorize(ctx, w, ar2, ar, st.user.ID, s.authentication(st), oauth.WithRequestedAt(requested), oauth.WithSession(s.oidcSID(st.sess.ID)))
		s.house.Changed(ctx, st.user.ID, api.ChangedApps)
	case "cancel":
		s.oauth.WriteAuthorizeError(w, ar2, ar, oauth.ErrAccessDenied)
	default:
		return badRequest("Choose Allow or Cancel.")
	}
	return nil
}

// sealConsent signs the authorize query for the consent form, bound to the
// session and valid for consentLifetime.
func (s *Server) sealConsent(st *reqState, query string) string {
	payload := strconv.FormatInt(s.now().Add(consentLifetime).Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(query))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac("oauth-consent", st.sess.ID, payload))
}

// openConsent checks a sealed query and returns it.
func (s *Server) openConsent(st *reqState, sealed string) (string, bool) {
	i := strings.LastIndexByte(sealed, '.')
	if i < 0 {
		return "", false
	}
	payload, sig := sealed[:i], sealed[i+1:]
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(raw, s.mac("oauth-consent", st.sess.ID, payload)) {
		return "", false
	}
	exp, q, ok := strings.Cut(payload, ".")
	if !ok {
		return "", false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.now().Before(time.Unix(n, 0)) {
		return "", false
	}
	query, err := base64.RawURLEncoding.DecodeString(q)
	if err != nil {
		return "", false
	}
	return string(query), true
}

// endSessionData is the page asking whether to sign out.
type endSessionData struct {
	App     string // the app whose ID token came as the hint, "" without one
	Login   string // who is signed in
	Request string // the end-session query, posted back as it came
}

// oauthEndSession is /oauth/end-session (OpenID Connect RP-Initiated
// Logout). The request is checked first: a bad one is refused and signs no
// one out. A valid id_token_hint naming the person signed in signs the
// browser out at once; anything else (no hint, or someone else's) would
// let any site's link sign people out, so a page asks first and its form,
// with its CSRF token, posts the request back here. Then the provider sends
// the browser back to the app, or says it is signed out.
func (s *Server) oauthEndSession(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	query := r.URL.RawQuery
	if r.Method == http.MethodPost {
		query = r.PostFormValue("request")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return badRequest("This sign-out request is not valid. Go back to the app and sign out there again.")
	}
	es, err := s.oauth.ParseEndSession(ctx, q)
	if ee := (*oauth.EndSessionError)(nil); errors.As(err, &ee) {
		return badRequest(ee.Msg)
	} else if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if st.sess != nil && r.Method != http.MethodPost && es.Subject != st.sess.UserID {
		d := &endSessionData{Request: query}
		if st.user != nil && st.sess.Stage == store.StageFull {
			d.Login = cmp.Or(st.user.Email, st.user.Phone)
		}
		if es.ClientID != "" {
			if c, err := s.oauth.Client(ctx, es.ClientID); err == nil {
				d.App = c.Name
			}
		}
		var back []string
		if u, err := url.Parse(es.Redirect); err == nil && es.Redirect != "" && !strings.ContainsAny(u.Host, " ;,'\"") {
			back = []string{u.Scheme + "://" + u.Host}
		}
		s.widenCSP(w, false, back)
		s.render(w, r, http.StatusOK, "endsession", &view{Title: "Sign out?", D: d})
		return nil
	}
	if st.sess != nil && st.sess.Stage == store.StageFull {
		if err := s.activity(ctx, r, st, st.user.ID, store.ActSignOut, true, "Signed out by an app"); err != nil {
			return err
		}
	}
	if err := s.endSession(ctx, w, st); err != nil {
		return err
	}
	s.oauth.FinishEndSession(w, r, es)
	return nil
}

// scopeWords are scopes in plain words, in a stable order.
func scopeWords(scopes []string) []string {
	var out []string
	for _, sc := range scopes {
		if d, ok := oauth.ScopeDescriptions[sc]; ok {
			out = append(out, d)
		} else {
			out = append(out, sc)
		}
	}
	return out
}

// scopeChoice is a scope offered on the developer form.
type scopeChoice struct{ Scope, Words string }

func scopeChoices() []scopeChoice {
	var out []scopeChoice
	for _, sc := range slices.Sorted(maps.Keys(oauth.ScopeDescriptions)) {
		out = append(out, scopeChoice{sc, oauth.ScopeDescriptions[sc]})
	}
	return out
}

// logoURL is an app's logo as an image source: https or a data: image,
// else nothing.
func logoURL(u string) template.URL {
	switch {
	case strings.HasPrefix(u, "https://"):
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			return template.URL(u)
		}
	case strings.HasPrefix(u, "data:image/") && !strings.ContainsAny(u, "\"'<> \r\n"):
		return template.URL(u)
	}
	return ""
}

// widenCSP loosens the page's policy where it must: https logos of apps,
// and forms whose answer redirects to an app (Chromium applies form-action
// to the redirects that follow a form).
func (s *Server) widenCSP(w http.ResponseWriter, logos bool, formOrigins []string) {
	p := csp
	if logos {
		p = strings.Replace(p, "img-src 'self' data:", "img-src 'self' data: https:", 1)
	}
	if len(formOrigins) > 0 {
		p = strings.Replace(p, "form-action 'self'", "form-action 'self' "+strings.Join(formOrigins, " "), 1)
	}
	w.Header().Set("Content-Security-Policy", p)
}

// appOrigins are the origins an authorize request may redirect to: those
// of the client's redirect URIs, and the loopback port a native app asked
// for.
func appOrigins(c *store.OAuthClient, query string) []string {
	var out []string
	add := func(u *url.URL) {
		o := u.Scheme + "://" + u.Host
		if (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(o, " ;,'\"") && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	for _, ru := range c.RedirectURIs {
		if u, err := url.Parse(ru); err == nil {
			add(u)
		}
	}
	q, _ := url.ParseQuery(query)
	if u, err := url.Parse(q.Get("redirect_uri")); err == nil && u.Scheme == "http" && loopback.Host(u.Hostname()) {
		for _, ru := range c.RedirectURIs {
			if r, err := url.Parse(ru); err == nil && r.Scheme == u.Scheme && r.Hostname() == u.Hostname() {
				add(u)
			}
		}
	}
	return out
}

// nextApp is the app a sign-in is for: the client of the /oauth/authorize
// URL next points at, nil when it points elsewhere. It also returns the
// authorize query.
func (s *Server) nextApp(ctx context.Context, next string) (*store.OAuthClient, string) {
	u, err := url.Parse(next)
	if err != nil || u.Path != authorizePath || u.Host != "" {
		return nil, ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return nil, ""
	}
	c, err := s.oauth.Client(ctx, id)
	if err != nil {
		if !errors.Is(err, oauth.ErrNotFound) && !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("oauth client of a sign-in", "err", err)
		}
		return nil, ""
	}
	return c, u.RawQuery
}

// signInFormsReach widens the sign-in pages' form-action to the app a
// sign-in is for, since finishing it may redirect straight to the app.
func (s *Server) signInFormsReach(ctx context.Context, w http.ResponseWriter, next string) {
	if c, q := s.nextApp(ctx, next); c != nil {
		s.widenCSP(w, false, appOrigins(c, q))
	}
}

// pendingNext is where a sign-in waiting for its second step goes next.
func pendingNext(r *http.Request) string {
	if c, err := r.Cookie(nextCookie); err == nil {
		return safeNext(c.Value)
	}
	return ""
}

// authentication says how this browser signed in, for the ID token: when
// (the session's start) and with what (RFC 8176). A passkey is "pop" (a key
// the person holds; whether in hardware is not known), "user" (verified:
// PIN, fingerprint or face) and so "mfa". A password is "pwd", with "mfa"
// when two-step verification is on: its sessions passed a second step, now
// or — on a trusted browser — within the trust period.
func (s *Server) authentication(st *reqState) oauth.AuthorizeOption {
	if st.sess.Method == store.SignInPasskey {
		return oauth.WithAuthentication(st.sess.CreatedAt, "pop", "user", "mfa")
	}
	amr := []string{"pwd"}
	if st.user.TwoStep {
		amr = append(amr, "mfa")
	}
	return oauth.WithAuthentication(st.sess.CreatedAt, amr...)
}
