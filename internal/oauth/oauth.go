// Package oauth is countersign-server's OAuth 2.0 and OpenID Connect
// provider ("Sign in with Countersign"): discovery, JWKS, the authorization
// code flow with PKCE, tokens (opaque access and refresh tokens, RS256 ID
// tokens), userinfo, revocation, introspection and end-session, plus the
// apps people register and the grants they give them.
//
// The protocol is github.com/ory/fosite's; this package is the glue between
// fosite and the store. It does not sign people in or ask for consent: the
// web layer does both and calls ParseAuthorize, NeedsConsent and Authorize.
package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/openid"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// Lifetimes of what the provider issues.
const (
	accessTokenLife  = time.Hour
	refreshTokenLife = 30 * 24 * time.Hour
	codeLife         = 10 * time.Minute
	idTokenLife      = time.Hour
	keyRotation      = 30 * 24 * time.Hour // a new signing key after this
	keyOverlap       = 7 * 24 * time.Hour  // an old key stays in the JWKS this long after its successor
	touchEvery       = time.Minute         // a grant's last use is written at most this often
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrInvalid is wrapped by errors whose message is for people (a bad
	// redirect URI, an unknown scope …): show err.Error().
	ErrInvalid = errors.New("invalid")
	// ErrAccessDenied is what the web layer passes to WriteAuthorizeError
	// when the person cancels consent: the client gets error=access_denied.
	ErrAccessDenied error = fosite.ErrAccessDenied
	// ErrLoginRequired and ErrConsentRequired answer prompt=none when the
	// person would have to sign in (again) or be asked (OIDC Core 3.1.2.6).
	ErrLoginRequired   error = fosite.ErrLoginRequired
	ErrConsentRequired error = fosite.ErrConsentRequired
)

// invalidError is an ErrInvalid with a message for people.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Scopes the provider knows.
const (
	scopeOpenID     = "openid"
	scopeProfile    = "profile"
	scopeEmail      = "email"
	scopeUserID     = "profile:user_id"
	scopePostalCode = "postal_code"
)

// ScopeDescriptions are the scopes apps may ask for, each with what it
// lets the app do (api.ScopeWords, the one table of those words).
var ScopeDescriptions = func() map[string]string {
	out := map[string]string{}
	for _, sc := range scopeOrder {
		out[sc] = api.ScopeWords(sc)
	}
	return out
}()

// scopeOrder lists the scopes in the order they are shown and published.
var scopeOrder = []string{scopeOpenID, scopeProfile, scopeEmail, scopeUserID, scopePostalCode}

// Config configures New.
type Config struct {
	Store  store.Store
	Issuer string           // the server's PublicURL, e.g. "http://localhost:8080"
	Now    func() time.Time // nil: time.Now
	Rand   io.Reader        // nil: crypto/rand.Reader
	Log    *slog.Logger     // nil: slog.Default()
}

// Provider is the OAuth 2.0 / OpenID Connect provider. It is safe for
// concurrent use.
type Provider struct {
	store  store.Store
	issuer string
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	fosite *fosite.Fosite

	mu       sync.Mutex
	keys     []signingKey // newest first
	loadedAt time.Time
}

// New builds the provider: it loads or creates the shared HMAC secret for
// opaque tokens. The RS256 signing key is kept in the store too, made when
// first needed, rotated every 30 days; old keys stay published in the JWKS
// for 7 more days.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Store == nil {
		return nil, errors.New("oauth: no store")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: no issuer")
	}
	p := &Provider{store: cfg.Store, issuer: cfg.Issuer, now: cfg.Now, rand: cfg.Rand, log: cfg.Log}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(p.rand, secret); err != nil {
		return nil, fmt.Errorf("oauth: make hmac secret: %w", err)
	}
	secret, err := cfg.Store.SetSettingIfAbsent(ctx, "oauth-hmac", secret)
	if err != nil {
		return nil, fmt.Errorf("oauth: load hmac secret: %w", err)
	}

	fc := &fosite.Config{
		AccessTokenLifespan:            accessTokenLife,
		RefreshTokenLifespan:           refreshTokenLife,
		AuthorizeCodeLifespan:          codeLife,
		IDTokenLifespan:                idTokenLife,
		IDTokenIssuer:                  p.issuer,
		AccessTokenIssuer:              p.issuer,
		TokenURL:                       p.issuer + "/oauth/token",
		GlobalSecret:                   secret,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		ClientSecretsHasher:            secretHasher{},
		RedirectSecureChecker:          func(_ context.Context, u *url.URL) bool { return redirectAllowed(u) == nil },
		MinParameterEntropy:            8,
		RefreshTokenScopes:             []string{}, // every code exchange gets a refresh token
	}
	st := &storage{p: p}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(fc),
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: &signer{p: p}, Config: fc},
		Signer:                     &signer{p: p},
	}
	p.fosite = compose.Compose(fc, st, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	).(*fosite.Fosite)
	return p, nil
}
