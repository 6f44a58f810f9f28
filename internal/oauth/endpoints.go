package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/countersign/countersign/internal/store"
)

// AuthorizeRequest is a validated authorization request waiting for the
// person's sign-in and consent.
type AuthorizeRequest struct {
	Client *store.OAuthClient
	Scopes []string // requested and allowed for the client
	// Prompt is the request's prompt values (OIDC Core 3.1.2.1): "none",
	// "login", "consent", "select_account"; none never comes with others.
	Prompt []string
	// MaxAge is the request's max_age: how long ago the person may have
	// signed in; negative when the request sets none.
	MaxAge time.Duration
	req    fosite.AuthorizeRequester
}

// Prompts reports whether the request's prompt holds v.
func (ar *AuthorizeRequest) Prompts(v string) bool { return slices.Contains(ar.Prompt, v) }

// Redirectable reports whether an error about this request may go to the
// client's redirect URI; when not, the web layer shows it to the person
// (see ErrorMessage).
func (ar *AuthorizeRequest) Redirectable() bool {
	return ar != nil && ar.req != nil && ar.req.IsRedirectURIValid()
}

// State is the request's state, "" when it has none.
func (ar *AuthorizeRequest) State() string {
	if ar == nil || ar.req == nil {
		return ""
	}
	return ar.req.GetState()
}

// promptValues are the prompt values OIDC Core 3.1.2.1 defines.
var promptValues = []string{"none", "login", "consent", "select_account"}

// ParseAuthorize validates an authorization request (GET /oauth/authorize):
// the client, the exact redirect URI, response_type=code, PKCE (S256;
// required for public clients), the scopes allowed for the client, state
// (which may be left out when PKCE protects the request), nonce, prompt and
// max_age. On error the returned request, when not nil, says whether
// WriteAuthorizeError may redirect to the client (Redirectable).
func (p *Provider) ParseAuthorize(ctx context.Context, r *http.Request) (*AuthorizeRequest, error) {
	fr, err := p.fosite.NewAuthorizeRequest(ctx, r)
	if err != nil && !stateless(fr, err) {
		return &AuthorizeRequest{req: fr}, err
	}
	form := fr.GetRequestForm()
	if raw := form.Get("redirect_uri"); raw != "" && !slices.Contains(fr.GetClient().GetRedirectURIs(), raw) {
		// fosite lets any port through on loopback hosts; this server
		// matches exactly, and an unmatched URI is not trusted.
		return nil, fosite.ErrInvalidRequest.WithHint("The redirect_uri does not exactly match a registered redirect URI.")
	}
	challenge, method := form.Get("code_challenge"), form.Get("code_challenge_method")
	if challenge == "" && fr.GetClient().IsPublic() {
		return &AuthorizeRequest{req: fr}, fosite.ErrInvalidRequest.WithHint("Public clients must use PKCE (code_challenge with code_challenge_method=S256).")
	}
	if challenge != "" && method != "S256" {
		return &AuthorizeRequest{req: fr}, fosite.ErrInvalidRequest.WithHint("Only the S256 code_challenge_method is supported.")
	}
	ar := &AuthorizeRequest{req: fr, MaxAge: -1}
	ar.Prompt = strings.Fields(form.Get("prompt"))
	for _, v := range ar.Prompt {
		if !slices.Contains(promptValues, v) {
			return ar, fosite.ErrInvalidRequest.WithHintf("The prompt value %q is not one of none, login, consent and select_account.", v)
		}
	}
	if ar.Prompts("none") && len(ar.Prompt) > 1 {
		return ar, fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other prompt values.")
	}
	if raw := form.Get("max_age"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 32)
		if err != nil || n < 0 {
			return ar, fosite.ErrInvalidRequest.WithHint("max_age must be a number of seconds, 0 or more.")
		}
		ar.MaxAge = time.Duration(n) * time.Second
	}
	c, err := p.Client(ctx, fr.GetClient().GetID())
	if err != nil {
		return nil, err
	}
	ar.Client, ar.Scopes = c, slices.Clone([]string(fr.GetRequestedScopes()))
	return ar, nil
}

// stateless reports whether err only says the request has no state, and
// PKCE (S256) binds it to the client instead: a missing state is then
// accepted (RFC 9700 2.1, OAuth 2.1), a short one is still refused. fosite
// checks state last, so the rest of the request is valid.
func stateless(fr fosite.AuthorizeRequester, err error) bool {
	if fr == nil || !errors.Is(err, fosite.ErrInvalidState) || fr.GetState() != "" {
		return false
	}
	form := fr.GetRequestForm()
	return form.Get("code_challenge") != "" && form.Get("code_challenge_method") == "S256"
}

// WriteAuthorizeError sends err to the client (error= on its redirect URI)
// when the request's redirect URI is trusted, else answers with a plain
// sentence (ErrorMessage); the web layer renders its own page instead.
func (p *Provider) WriteAuthorizeError(w http.ResponseWriter, r *http.Request, ar *AuthorizeRequest, err error) {
	w.Header().Set("Cache-Control", "no-store")
	if !ar.Redirectable() {
		status, msg := ErrorMessage(err)
		http.Error(w, msg, status)
		return
	}
	if ar.State() != "" {
		p.fosite.WriteAuthorizeError(r.Context(), w, ar.req, err)
		return
	}
	// fosite would add an empty state=, which a client that sent none
	// may take for someone else's answer.
	u := ar.req.GetRedirectURI()
	q := u.Query()
	for k, v := range fosite.ErrorToRFC6749Error(err).ToValues() {
		q[k] = v
	}
	u.RawQuery, u.Fragment = q.Encode(), ""
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

// ErrorMessage is what a person is told, in a plain sentence, about an
// authorization request that cannot go back to the app, and its HTTP status
// (500 for the server's own failures, which the caller logs).
func ErrorMessage(err error) (status int, msg string) {
	rfc := fosite.ErrorToRFC6749Error(err)
	again := " Go back to the app and try again, or tell its developer."
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrNotFound), rfc.ErrorField == fosite.ErrInvalidClient.ErrorField:
		return http.StatusBadRequest, "The app that sent you here is not registered with Countersign (its client ID is unknown, or the app was deleted)." + again
	case rfc.ErrorField == fosite.ErrServerError.ErrorField:
		return http.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	case rfc.ErrorField == fosite.ErrRequestURINotSupported.ErrorField, rfc.ErrorField == fosite.ErrRequestNotSupported.ErrorField:
		return http.StatusBadRequest, "The app sent its sign-in request in a form Countersign does not accept (a request object)." + again
	case rfc.ErrorField == fosite.ErrAccessDenied.ErrorField:
		return http.StatusForbidden, "You cancelled: nothing was shared with the app."
	}
	return http.StatusBadRequest, "The app asked to send you back to an address it has not registered with Countersign, so its sign-in request cannot be used." + again
}

// NeedsConsent reports whether the person must be asked: false when a
// remembered grant covers every requested scope.
func (p *Provider) NeedsConsent(ctx context.Context, userID string, ar *AuthorizeRequest) (bool, error) {
	g, err := p.store.OAuthGrant(ctx, userID, ar.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range ar.Scopes {
		if !slices.Contains(g.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// Authorize records or extends the person's grant to the app, issues the
// authorization code and redirects to the client.
func (p *Provider) Authorize(ctx context.Context, w http.ResponseWriter, r *http.Request, ar *AuthorizeRequest, userID string, opts ...AuthorizeOption) {
	var o authorizeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if ar == nil || ar.req == nil || ar.Client == nil {
		http.Error(w, "invalid authorization request", http.StatusBadRequest)
		return
	}
	now := p.now().UTC()
	for _, s := range ar.Scopes {
		ar.req.GrantScope(s)
	}
	resp, err := p.fosite.NewAuthorizeResponse(ctx, ar.req, p.newSession(userID, now, o))
	if err != nil {
		p.logServerError("authorize", err)
		p.WriteAuthorizeError(w, r, ar, err)
		return
	}
	if ar.State() == "" {
		resp.GetParameters().Del("state") // a request without state gets none back
	}
	old, err := p.store.OAuthGrant(ctx, userID, ar.Client.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.serverError(w, "authorize", err)
		return
	}
	var scopes []string
	if old != nil {
		scopes = slices.Clone(old.Scopes)
	}
	added := false
	for _, s := range ar.Scopes {
		if !slices.Contains(scopes, s) {
			scopes, added = append(scopes, s), true
		}
	}
	if err := p.store.SaveOAuthGrant(ctx, &store.OAuthGrant{UserID: userID, ClientID: ar.Client.ID, Scopes: scopes, GrantedAt: now, LastUsedAt: now}); err != nil {
		p.serverError(w, "authorize", err)
		return
	}
	if old == nil || added {
		p.activity(ctx, userID, store.ActOAuthGranted, ar.Client.ID, "access granted: "+strings.Join(scopes, " "))
	}
	p.fosite.WriteAuthorizeResponse(ctx, w, ar.req, resp)
}

// AuthorizeOption tells Authorize how the person signed in.
type AuthorizeOption func(*authorizeOptions)

type authorizeOptions struct {
	authTime    time.Time
	amr         []string
	requestedAt time.Time
	sid         string
}

// WithAuthentication gives the ID token's auth_time (when the person signed
// in) and amr (RFC 8176 method references, e.g. ["pwd", "mfa"] after a
// second step). Without it: now and ["pwd"].
func WithAuthentication(at time.Time, amr ...string) AuthorizeOption {
	return func(o *authorizeOptions) { o.authTime, o.amr = at, amr }
}

// WithRequestedAt gives the time the app's request first arrived, when the
// person signed in (again) since: fosite checks prompt=login and max_age
// against it. Without it: now.
func WithRequestedAt(t time.Time) AuthorizeOption {
	return func(o *authorizeOptions) { o.requestedAt = t }
}

// WithSession names the browser session the person authorizes in, as the
// OpenID Connect "sid" claim (Front-Channel and Back-Channel Logout): an
// opaque, stable name, never the session's cookie or key. The codes and
// tokens issued carry it (store.OAuthToken.SessionID), so that ending
// that session from a sign-in alert ends them too.
func WithSession(sid string) AuthorizeOption {
	return func(o *authorizeOptions) { o.sid = sid }
}

// newSession is the fosite session of a person's authorization.
func (p *Provider) newSession(userID string, now time.Time, o authorizeOptions) *openid.DefaultSession {
	if sys := time.Now().UTC(); now.After(sys) {
		now = sys // fosite refuses an auth_time ahead of the system clock
	}
	authTime, amr := now, []string{"pwd"}
	if !o.authTime.IsZero() && o.authTime.Before(now) {
		authTime = o.authTime.UTC()
	}
	requestedAt := now
	if !o.requestedAt.IsZero() && o.requestedAt.Before(now) {
		requestedAt = o.requestedAt.UTC()
	}
	if len(o.amr) > 0 {
		amr = o.amr
	}
	extra := map[string]any{}
	if o.sid != "" {
		extra["sid"] = o.sid
	}
	return &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Issuer:                          p.issuer,
			Subject:                         userID,
			AuthTime:                        authTime,
			RequestedAt:                     requestedAt,
			AuthenticationMethodsReferences: amr,
			Extra:                           extra,
		},
		Headers: jwt.NewHeaders(),
		Subject: userID,
	}
}

// Token is the token endpoint (POST /oauth/token): authorization codes with
// PKCE, and refresh tokens, rotated on use.
func (p *Provider) Token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.fosite.NewAccessRequest(ctx, r, openid.NewDefaultSession())
	if err != nil {
		p.logServerError("token", err)
		p.fosite.WriteAccessError(ctx, w, ar, err)
		return
	}
	resp, err := p.fosite.NewAccessResponse(ctx, ar)
	if err != nil {
		p.logServerError("token", err)
		p.fosite.WriteAccessError(ctx, w, ar, err)
		return
	}
	p.touch(ctx, ar)
	p.fosite.WriteAccessResponse(ctx, w, ar, resp)
}

// touch records the grant's last use, at most once every touchEvery.
func (p *Provider) touch(ctx context.Context, ar fosite.Requester) {
	userID := subject(ar)
	if userID == "" {
		return
	}
	now := p.now().UTC()
	if err := p.store.TouchOAuthGrant(ctx, userID, ar.GetClient().GetID(), now, now.Add(-touchEvery)); err != nil {
		p.log.Error("oauth: record grant use", "err", err)
	}
}

func subject(ar fosite.Requester) string {
	if s, ok := ar.GetSession().(*openid.DefaultSession); ok {
		return s.Subject
	}
	return ""
}

// UserInfo returns the claims of the scopes granted to the access token
// (GET/POST /oauth/userinfo).
func (p *Provider) UserInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := fosite.AccessTokenFromRequest(r)
	if token == "" {
		bearerError(w, http.StatusUnauthorized, "invalid_request")
		return
	}
	_, ar, err := p.fosite.IntrospectToken(ctx, token, fosite.AccessToken, openid.NewDefaultSession())
	if err != nil {
		bearerError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	granted := ar.GetGrantedScopes()
	if !granted.Has(scopeOpenID) {
		bearerError(w, http.StatusForbidden, "insufficient_scope")
		return
	}
	userID := subject(ar)
	u, err := p.store.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		bearerError(w, http.StatusUnauthorized, "invalid_token")
		return
	}
	if err != nil {
		p.serverError(w, "userinfo", err)
		return
	}
	claims := map[string]any{"sub": userID}
	if granted.Has(scopeProfile) {
		claims["name"] = u.Name
	}
	if granted.Has(scopeEmail) && u.Email != "" {
		claims["email"] = u.Email
		claims["email_verified"] = false
	}
	if granted.Has(scopeUserID) {
		claims["user_id"] = userID
	}
	// postal_code: accounts have none yet, so the claim is left out.
	p.touch(ctx, ar)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

func bearerError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
	writeJSON(w, status, map[string]string{"error": code})
}

// Revoke is the revocation endpoint (POST /oauth/revoke, RFC 7009).
func (p *Provider) Revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := p.fosite.NewRevocationRequest(ctx, r)
	p.logServerError("revoke", err)
	p.fosite.WriteRevocationResponse(ctx, w, err)
}

// Introspect is the introspection endpoint (POST /oauth/introspect, RFC
// 7662). Only confidential clients may ask, and only about their own
// tokens.
func (p *Provider) Introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	client, err := p.fosite.AuthenticateClient(ctx, r, r.PostForm)
	if err != nil || client.IsPublic() {
		w.Header().Set("WWW-Authenticate", `Basic realm="countersign"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	use := fosite.AccessToken
	if r.PostForm.Get("token_type_hint") == "refresh_token" {
		use = fosite.RefreshToken
	}
	w.Header().Set("Cache-Control", "no-store")
	tu, ar, err := p.fosite.IntrospectToken(ctx, r.PostForm.Get("token"), use, openid.NewDefaultSession())
	if err != nil || ar.GetClient().GetID() != client.GetID() {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	typ := "access_token"
	if tu == fosite.RefreshToken {
		typ = "refresh_token"
	}
	resp := map[string]any{
		"active":     true,
		"scope":      strings.Join(ar.GetGrantedScopes(), " "),
		"client_id":  client.GetID(),
		"sub":        subject(ar),
		"iat":        ar.GetRequestedAt().Unix(),
		"token_type": typ,
		"iss":        p.issuer,
	}
	if exp := ar.GetSession().GetExpiresAt(tu); !exp.IsZero() {
		resp["exp"] = exp.Unix()
	}
	p.touch(ctx, ar)
	writeJSON(w, http.StatusOK, resp)
}

// EndSessionRequest is a checked end-session request (OpenID Connect
// RP-Initiated Logout).
type EndSessionRequest struct {
	Subject  string // whom the id_token_hint names; "" without a hint
	ClientID string // the app the hint was issued to; "" without a hint
	Redirect string // where to send the browser afterwards (with state); "" for nowhere
}

// EndSessionError is a refused end-session request; its message is for
// people.
type EndSessionError struct{ Msg string }

func (e *EndSessionError) Error() string { return e.Msg }

// ParseEndSession checks an end-session request's parameters before
// anything is done: an id_token_hint must be a valid ID token of ours (an
// expired one is fine) for client_id when given, and a
// post_logout_redirect_uri needs a hint and must be registered for its
// client. The caller decides whether to sign the browser out: at once for a
// hint naming the person signed in, else after asking them.
func (p *Provider) ParseEndSession(ctx context.Context, q url.Values) (*EndSessionRequest, error) {
	es := &EndSessionRequest{}
	hint, post := q.Get("id_token_hint"), q.Get("post_logout_redirect_uri")
	clientID := q.Get("client_id")
	if hint != "" {
		t, err := p.parseIDToken(ctx, hint)
		if err != nil {
			return nil, &EndSessionError{"The id_token_hint is not a valid ID token."}
		}
		aud := audience(t.Claims["aud"])
		if len(aud) == 0 || (clientID != "" && !slices.Contains(aud, clientID)) {
			return nil, &EndSessionError{"The id_token_hint is not for this client."}
		}
		es.Subject, _ = t.Claims["sub"].(string)
		es.ClientID = aud[0]
	}
	if post == "" {
		return es, nil
	}
	if hint == "" {
		return nil, &EndSessionError{"A post_logout_redirect_uri needs an id_token_hint."}
	}
	c, err := p.Client(ctx, es.ClientID)
	if err != nil || !slices.Contains(c.RedirectURIs, post) {
		return nil, &EndSessionError{"The post_logout_redirect_uri is not registered for this app."}
	}
	u, err := url.Parse(post)
	if err != nil {
		return nil, &EndSessionError{"The post_logout_redirect_uri is not valid."}
	}
	if state := q.Get("state"); state != "" {
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
	}
	es.Redirect = u.String()
	return es, nil
}

// FinishEndSession answers a checked end-session request once the caller
// has signed the browser out: back to the app, or a word that it is done.
func (p *Provider) FinishEndSession(w http.ResponseWriter, r *http.Request, es *EndSessionRequest) {
	if es.Redirect == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("You are signed out.\n"))
		return
	}
	http.Redirect(w, r, es.Redirect, http.StatusSeeOther)
}

// EndSession is the end-session endpoint (GET /oauth/end-session) for a
// caller without sessions of its own: ParseEndSession, then
// FinishEndSession.
func (p *Provider) EndSession(w http.ResponseWriter, r *http.Request) {
	es, err := p.ParseEndSession(r.Context(), r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.FinishEndSession(w, r, es)
}

// audience reads an "aud" claim, a string or a list.
func audience(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []string:
		return a
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Discovery serves the OpenID Provider metadata
// (GET /.well-known/openid-configuration). It claims nothing the provider
// refuses: no request objects, no claims parameter; the signing algorithms
// are those of the keys in the JWKS, RS256 first.
func (p *Provider) Discovery(w http.ResponseWriter, r *http.Request) {
	keys, err := p.published(r.Context())
	if err != nil {
		p.serverError(w, "discovery", err)
		return
	}
	algs := []string{keyAlg}
	for _, k := range keys {
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/oauth/authorize",
		"token_endpoint":                        p.issuer + "/oauth/token",
		"userinfo_endpoint":                     p.issuer + "/oauth/userinfo",
		"jwks_uri":                              p.issuer + "/oauth/jwks",
		"revocation_endpoint":                   p.issuer + "/oauth/revoke",
		"introspection_endpoint":                p.issuer + "/oauth/introspect",
		"end_session_endpoint":                  p.issuer + "/oauth/end-session",
		"scopes_supported":                      scopeOrder,
		"response_types_supported":              clientResponseTypes,
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 clientGrantTypes,
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               promptValues,
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false,
		"claims_parameter_supported":            false,
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "name", "email", "email_verified", "user_id"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// logServerError logs err when fosite answers server_error: the client
// learns nothing of it, so the log must. Protocol errors are the client's
// and are not logged.
func (p *Provider) logServerError(what string, err error) {
	if err != nil && fosite.ErrorToRFC6749Error(err).ErrorField == fosite.ErrServerError.ErrorField {
		p.log.Error("oauth: "+what, "err", err)
	}
}

// serverError logs an internal failure and tells the client no more.
func (p *Provider) serverError(w http.ResponseWriter, what string, err error) {
	p.log.Error("oauth: "+what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
