package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"

	"github.com/countersign/countersign/internal/store"
)

// storage adapts the store to fosite's storage interfaces. Every row
// carries the request id (the family of tokens of one authorization) and
// the person and app, so that revoking a grant deletes all of it at once.
type storage struct{ p *Provider }

var (
	_ fosite.ClientManager               = (*storage)(nil)
	_ oauth2.AuthorizeCodeStorage        = (*storage)(nil)
	_ oauth2.TokenRevocationStorage      = (*storage)(nil)
	_ pkce.PKCERequestStorage            = (*storage)(nil)
	_ openid.OpenIDConnectRequestStorage = (*storage)(nil)
)

// Grant types and response types every client gets.
var (
	clientGrantTypes    = []string{"authorization_code", "refresh_token"}
	clientResponseTypes = []string{"code"}
)

// fositeClient turns a registered app into what fosite checks requests against.
func fositeClient(c *store.OAuthClient) *fosite.DefaultClient {
	return &fosite.DefaultClient{
		ID:            c.ID,
		Secret:        c.SecretHash,
		RedirectURIs:  c.RedirectURIs,
		GrantTypes:    clientGrantTypes,
		ResponseTypes: clientResponseTypes,
		Scopes:        c.Scopes,
		Public:        c.Public,
	}
}

// GetClient implements fosite.ClientManager.
func (s *storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.p.store.OAuthClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return fositeClient(c), nil
}

// ClientAssertionJWTValid implements fosite.ClientManager; JWT client
// assertions are not offered, so no JTI is ever known.
func (s *storage) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT implements fosite.ClientManager (see
// ClientAssertionJWTValid).
func (s *storage) SetClientAssertionJWT(context.Context, string, time.Time) error { return nil }

// storedRequest is a fosite request as kept in a token row.
type storedRequest struct {
	ID                string                 `json:"id"`
	RequestedAt       time.Time              `json:"requested_at"`
	ClientID          string                 `json:"client_id"`
	RequestedScope    []string               `json:"scopes"`
	GrantedScope      []string               `json:"granted_scopes"`
	RequestedAudience []string               `json:"audience"`
	GrantedAudience   []string               `json:"granted_audience"`
	Form              url.Values             `json:"form"`
	Session           *openid.DefaultSession `json:"session"`
}

// tokenLifetime is how long a row of each kind lives, by the provider's
// clock (fosite keeps its own expiry in the session, by the system clock).
var tokenLifetime = map[string]time.Duration{
	store.OAuthCode:    codeLife,
	store.OAuthPKCE:    codeLife,
	store.OAuthOIDC:    codeLife,
	store.OAuthAccess:  accessTokenLife,
	store.OAuthRefresh: refreshTokenLife,
}

func (s *storage) create(ctx context.Context, kind, signature string, r fosite.Requester) error {
	sess, ok := r.GetSession().(*openid.DefaultSession)
	if !ok {
		return fmt.Errorf("store %s: unexpected session type %T", kind, r.GetSession())
	}
	data, err := json.Marshal(storedRequest{
		ID:                r.GetID(),
		RequestedAt:       r.GetRequestedAt(),
		ClientID:          r.GetClient().GetID(),
		RequestedScope:    r.GetRequestedScopes(),
		GrantedScope:      r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(),
		GrantedAudience:   r.GetGrantedAudience(),
		Form:              r.GetRequestForm(),
		Session:           sess,
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	var sid string
	if sess.Claims != nil {
		sid, _ = sess.Claims.Extra["sid"].(string)
	}
	now := s.p.now()
	expires := now.Add(tokenLifetime[kind])
	return s.p.store.AddOAuthToken(ctx, &store.OAuthToken{
		Kind:      kind,
		Signature: signature,
		RequestID: r.GetID(),
		ClientID:  r.GetClient().GetID(),
		UserID:    sess.Subject,
		Data:      data,
		Active:    true,
		CreatedAt: now,
		ExpiresAt: expires,
		SessionID: sid,
	})
}

// get loads a row and rebuilds its request. An expired row (by the
// provider's clock) is not found; an inactive one comes back with its
// request and inactive set.
func (s *storage) get(ctx context.Context, kind, signature string) (r *fosite.Request, t *store.OAuthToken, err error) {
	t, err = s.p.store.OAuthToken(ctx, kind, signature)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.p.now().Before(t.ExpiresAt) {
		return nil, nil, fosite.ErrNotFound
	}
	if t.Kind == store.OAuthAccess || t.Kind == store.OAuthRefresh {
		// Revoking a grant deletes its tokens; checking the grant too
		// closes the window of a token created while it was revoked.
		if _, err := s.p.store.OAuthGrant(ctx, t.UserID, t.ClientID); errors.Is(err, store.ErrNotFound) {
			return nil, nil, fosite.ErrNotFound
		} else if err != nil {
			return nil, nil, err
		}
	}
	var sr storedRequest
	if err := json.Unmarshal(t.Data, &sr); err != nil {
		return nil, nil, fmt.Errorf("read stored %s: %w", kind, err)
	}
	client, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if sr.Session == nil {
		sr.Session = openid.NewDefaultSession()
	}
	if sr.Form == nil {
		sr.Form = url.Values{}
	}
	return &fosite.Request{
		ID:                sr.ID,
		RequestedAt:       sr.RequestedAt,
		Client:            client,
		RequestedScope:    sr.RequestedScope,
		GrantedScope:      sr.GrantedScope,
		RequestedAudience: sr.RequestedAudience,
		GrantedAudience:   sr.GrantedAudience,
		Form:              sr.Form,
		Session:           sr.Session,
	}, t, nil
}

// del deletes a row; a missing one is fine (a revoked grant took it).
func (s *storage) del(ctx context.Context, kind, signature string) error {
	if err := s.p.store.DeleteOAuthToken(ctx, kind, signature); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// CreateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, store.OAuthCode, code, r)
}

// GetAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *storage) GetAuthorizeCodeSession(ctx context.Context, code string, _ fosite.Session) (fosite.Requester, error) {
	r, t, err := s.get(ctx, store.OAuthCode, code)
	if err != nil {
		return nil, err
	}
	if !t.Active {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession implements oauth2.AuthorizeCodeStorage.
func (s *storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	return s.p.store.DeactivateOAuthToken(ctx, store.OAuthCode, code)
}

// CreateAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *storage) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, store.OAuthAccess, signature, r)
}

// GetAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *storage) GetAccessTokenSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, store.OAuthAccess, signature)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteAccessTokenSession implements oauth2.AccessTokenStorage.
func (s *storage) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.del(ctx, store.OAuthAccess, signature)
}

// CreateRefreshTokenSession implements oauth2.RefreshTokenStorage.
func (s *storage) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	return s.create(ctx, store.OAuthRefresh, signature, r)
}

// GetRefreshTokenSession implements oauth2.RefreshTokenStorage. A spent
// (rotated) refresh token comes back with fosite.ErrInactiveToken.
func (s *storage) GetRefreshTokenSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	r, t, err := s.get(ctx, store.OAuthRefresh, signature)
	if err != nil {
		return nil, err
	}
	if !t.Active {
		return r, fosite.ErrInactiveToken
	}
	return r, nil
}

// DeleteRefreshTokenSession implements oauth2.RefreshTokenStorage. fosite
// calls it only when a spent refresh token came back to the token
// endpoint: that is reuse, and the whole grant is revoked.
func (s *storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	t, err := s.p.store.OAuthToken(ctx, store.OAuthRefresh, signature)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !t.Active {
		s.p.revokeOnReuse(ctx, t.UserID, t.ClientID)
	}
	return s.del(ctx, store.OAuthRefresh, signature)
}

// RotateRefreshToken implements oauth2.RefreshTokenStorage: the used
// refresh token is kept, spent, to recognise its reuse, and the access
// tokens of the family die. When a concurrent request spent it first, this
// is reuse too.
func (s *storage) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	err := s.p.store.DeactivateOAuthToken(ctx, store.OAuthRefresh, signature)
	if errors.Is(err, store.ErrUsed) {
		if t, err := s.p.store.OAuthToken(ctx, store.OAuthRefresh, signature); err == nil {
			s.p.revokeOnReuse(ctx, t.UserID, t.ClientID)
		}
		return fosite.ErrInactiveToken
	}
	if errors.Is(err, store.ErrNotFound) {
		return fosite.ErrNotFound
	}
	if err != nil {
		return err
	}
	return s.p.store.DeleteOAuthRequestTokens(ctx, store.OAuthAccess, requestID)
}

// RevokeRefreshToken implements oauth2.TokenRevocationStorage.
func (s *storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.p.store.DeleteOAuthRequestTokens(ctx, store.OAuthRefresh, requestID)
}

// RevokeAccessToken implements oauth2.TokenRevocationStorage.
func (s *storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.p.store.DeleteOAuthRequestTokens(ctx, store.OAuthAccess, requestID)
}

// CreatePKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, store.OAuthPKCE, signature, r)
}

// GetPKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) GetPKCERequestSession(ctx context.Context, signature string, _ fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, store.OAuthPKCE, signature)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeletePKCERequestSession implements pkce.PKCERequestStorage.
func (s *storage) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.del(ctx, store.OAuthPKCE, signature)
}

// CreateOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, store.OAuthOIDC, code, r)
}

// GetOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *storage) GetOpenIDConnectSession(ctx context.Context, code string, _ fosite.Requester) (fosite.Requester, error) {
	r, _, err := s.get(ctx, store.OAuthOIDC, code)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, openid.ErrNoSessionFound
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteOpenIDConnectSession implements openid.OpenIDConnectRequestStorage.
func (s *storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.del(ctx, store.OAuthOIDC, code)
}
