package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/loopback"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

// NewClient is an app being registered.
type NewClient struct {
	Name, LogoURL, Homepage, PrivacyURL string
	RedirectURIs                        []string
	Scopes                              []string
	Public                              bool
}

// Grant is an app's access to a person's account.
type Grant struct {
	Client                store.OAuthClient
	Scopes                []string
	GrantedAt, LastUsedAt time.Time
}

// Limits on what an app registers.
const (
	maxNameLen      = 100
	maxURLLen       = 2000
	maxRedirectURIs = 10
)

// RegisterClient registers an app owned by ownerID. A confidential app gets
// a secret, shown once; a public one gets "".
func (p *Provider) RegisterClient(ctx context.Context, ownerID string, c NewClient) (*store.OAuthClient, string, error) {
	name, err := names.Check(c.Name, maxNameLen)
	if err != nil {
		return nil, "", invalid("give the app a name of 1 to %d characters, %s", maxNameLen, names.Rule)
	}
	for _, f := range []struct{ what, u string }{{"logo URL", c.LogoURL}, {"homepage", c.Homepage}, {"privacy policy URL", c.PrivacyURL}} {
		if err := checkPageURL(f.what, f.u); err != nil {
			return nil, "", err
		}
	}
	var redirects []string
	for _, raw := range c.RedirectURIs {
		raw = strings.TrimSpace(raw)
		if raw == "" || slices.Contains(redirects, raw) {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || len(raw) > maxURLLen {
			return nil, "", invalid("redirect URI %q is not a valid URL", raw)
		}
		if err := redirectAllowed(u); err != nil {
			return nil, "", err
		}
		redirects = append(redirects, raw)
	}
	if len(redirects) == 0 || len(redirects) > maxRedirectURIs {
		return nil, "", invalid("give between 1 and %d redirect URIs", maxRedirectURIs)
	}
	var scopes []string
	for _, s := range c.Scopes {
		if _, ok := ScopeDescriptions[s]; !ok {
			return nil, "", invalid("unknown scope %q", s)
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, "", invalid("choose at least one scope")
	}
	id, err := p.randomHex(16)
	if err != nil {
		return nil, "", err
	}
	oc := &store.OAuthClient{ID: id, OwnerID: ownerID, Name: name, LogoURL: c.LogoURL, Homepage: c.Homepage, PrivacyURL: c.PrivacyURL,
		RedirectURIs: redirects, Scopes: scopes, Public: c.Public, CreatedAt: p.now().UTC()}
	var secret string
	if !c.Public {
		if secret, oc.SecretHash, err = p.newSecret(); err != nil {
			return nil, "", err
		}
	}
	if err := p.store.CreateOAuthClient(ctx, oc); err != nil {
		return nil, "", fmt.Errorf("register app: %w", err)
	}
	return oc, secret, nil
}

// checkPageURL accepts "" or an https URL (data: too for a logo).
func checkPageURL(what, raw string) error {
	if raw == "" {
		return nil
	}
	if len(raw) > maxURLLen {
		return invalid("the %s is too long", what)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return invalid("the %s must be an https:// URL", what)
	}
	return nil
}

// redirectAllowed accepts https redirect URIs and, for native apps, http
// ones on a loopback host; never with a fragment.
func redirectAllowed(u *url.URL) error {
	if u.Fragment != "" || u.Host == "" {
		return invalid("redirect URI %q must be absolute and have no fragment", u.String())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback.Host(u.Hostname()) {
			return nil
		}
	}
	return invalid("redirect URI %q must use https (or http on 127.0.0.1, [::1] or localhost for a native app)", u.String())
}

// newSecret makes a client secret and its hash.
func (p *Provider) newSecret() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", nil, fmt.Errorf("make client secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	h, _ := secretHasher{}.Hash(context.Background(), []byte(secret))
	return secret, h, nil
}

func (p *Provider) randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(p.rand, b); err != nil {
		return "", fmt.Errorf("make id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// secretHasher hashes client secrets with SHA-256: they are 256 random
// bits, so a slow hash adds nothing. Compare runs in constant time.
type secretHasher struct{}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return h[:], nil
}

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	h := sha256.Sum256(data)
	if len(hash) != len(h) || subtle.ConstantTimeCompare(hash, h[:]) != 1 {
		return errors.New("client secret does not match")
	}
	return nil
}

// owned returns the owner's app, ErrNotFound for anyone else's.
func (p *Provider) owned(ctx context.Context, ownerID, clientID string) (*store.OAuthClient, error) {
	c, err := p.Client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if c.OwnerID != ownerID {
		return nil, ErrNotFound
	}
	return c, nil
}

// RotateSecret gives a confidential app a new secret; the old one stops
// working at once.
func (p *Provider) RotateSecret(ctx context.Context, ownerID, clientID string) (string, error) {
	c, err := p.owned(ctx, ownerID, clientID)
	if err != nil {
		return "", err
	}
	if c.Public {
		return "", invalid("a public app has no secret")
	}
	secret, hash, err := p.newSecret()
	if err != nil {
		return "", err
	}
	if err := p.store.SetOAuthClientSecret(ctx, ownerID, clientID, hash); err != nil {
		return "", mapStoreErr("rotate secret", err)
	}
	return secret, nil
}

// DeleteClient deletes the owner's app; every grant and token dies with it.
func (p *Provider) DeleteClient(ctx context.Context, ownerID, clientID string) error {
	return mapStoreErr("delete app", p.store.DeleteOAuthClient(ctx, ownerID, clientID))
}

// Clients lists the owner's apps, oldest first.
func (p *Provider) Clients(ctx context.Context, ownerID string) ([]store.OAuthClient, error) {
	cs, err := p.store.OAuthClients(ctx, ownerID)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return cs, nil
}

// Client returns an app by its client id.
func (p *Provider) Client(ctx context.Context, clientID string) (*store.OAuthClient, error) {
	c, err := p.store.OAuthClient(ctx, clientID)
	if err != nil {
		return nil, mapStoreErr("app", err)
	}
	return c, nil
}

// Grants lists the apps with access to the person's account.
func (p *Provider) Grants(ctx context.Context, userID string) ([]Grant, error) {
	gs, err := p.store.OAuthGrants(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list authorized apps: %w", err)
	}
	out := make([]Grant, 0, len(gs))
	for _, g := range gs {
		c, err := p.store.OAuthClient(ctx, g.ClientID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list authorized apps: %w", err)
		}
		out = append(out, Grant{Client: *c, Scopes: g.Scopes, GrantedAt: g.GrantedAt, LastUsedAt: g.LastUsedAt})
	}
	return out, nil
}

// RevokeGrant removes the app's access: the grant and every token of it
// die at once, so its next API call or refresh fails.
func (p *Provider) RevokeGrant(ctx context.Context, userID, clientID string) error {
	if err := p.store.RevokeOAuthGrant(ctx, userID, clientID, p.now().UTC()); err != nil {
		return mapStoreErr("remove access", err)
	}
	p.activity(ctx, userID, store.ActOAuthRevoked, clientID, "access removed")
	return nil
}

// revokeOnReuse revokes a grant whose spent refresh token came back.
func (p *Provider) revokeOnReuse(ctx context.Context, userID, clientID string) {
	err := p.store.RevokeOAuthGrant(ctx, userID, clientID, p.now().UTC())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.log.Error("oauth: revoke grant after refresh token reuse", "client", clientID, "err", err)
		return
	}
	p.log.Warn("oauth: refresh token reused; grant revoked", "client", clientID)
	p.activity(ctx, userID, store.ActOAuthRevoked, clientID, "a refresh token was used twice")
}

// activity records an event in the person's log, naming the app.
func (p *Provider) activity(ctx context.Context, userID, kind, clientID, detail string) {
	name := clientID
	if c, err := p.store.OAuthClient(ctx, clientID); err == nil {
		name = c.Name
	}
	a := &store.Activity{UserID: userID, At: p.now().UTC(), Kind: kind, OK: true, Detail: name + ": " + detail}
	if err := p.store.AddActivity(ctx, a); err != nil {
		p.log.Error("oauth: record activity", "kind", kind, "err", err)
	}
}

// mapStoreErr turns the store's ErrNotFound into this package's.
func mapStoreErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
