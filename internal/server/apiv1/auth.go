package apiv1

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

const (
	scopeRead  = api.ScopeRead
	scopeWrite = api.ScopeWrite
	// maxTokenLen bounds what is hashed and looked up.
	maxTokenLen = 512
	// touchEvery is how often a token's last use is written.
	touchEvery = time.Minute
)

// caller is who a request comes from.
type caller struct {
	user  *store.User
	token *store.APIToken
	ip    string
	ua    string
}

// authenticate checks the bearer token and that it has scope.
func (h *handler) authenticate(r *http.Request, scope string) (*caller, error) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
			msg:     "This needs an API token: send it as Authorization: Bearer <token>.",
			wwwAuth: `Bearer realm="countersign"`}
	}
	token := strings.TrimSpace(raw)
	invalid := &apiError{status: http.StatusUnauthorized, code: codeInvalidToken,
		msg:     "The API token is not valid: it may have been revoked or have expired.",
		wwwAuth: `Bearer realm="countersign", error="invalid_token"`}
	if token == "" || len(token) > maxTokenLen {
		return nil, invalid
	}
	sum := sha256.Sum256([]byte(token))
	tok, err := h.store.APITokenByHash(r.Context(), sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("looking up an API token: %w", err)
	}
	now := h.now()
	if subtle.ConstantTimeCompare(tok.Hash, sum[:]) != 1 || !tok.RevokedAt.IsZero() ||
		(!tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt)) {
		return nil, invalid
	}
	u, err := h.store.UserByID(r.Context(), tok.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("looking up the token's account: %w", err)
	}
	if !slices.Contains(tok.Scopes, scope) {
		return nil, &apiError{status: http.StatusForbidden, code: codeInsufficientScope,
			msg:     fmt.Sprintf("This API token may not do that: it needs the %q scope.", scope),
			wwwAuth: fmt.Sprintf(`Bearer realm="countersign", error="insufficient_scope", scope=%q`, scope)}
	}
	if now.Sub(tok.LastUsedAt) >= touchEvery {
		if err := h.store.TouchAPIToken(r.Context(), tok.ID, now.UTC()); err != nil {
			h.log.Warn("api: recording a token's use", "token_id", tok.ID, "err", err)
		}
	}
	return &caller{user: u, token: tok, ip: clientIP(r), ua: r.UserAgent()}, nil
}

// clientIP is the host of the peer's address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// record writes a security event of the caller's account. The change it
// records has happened, so it is written even if the client has gone, and a
// failure to write it is logged, not answered.
func (h *handler) record(r *http.Request, c *caller, kind string, ok bool, detail string) {
	a := &store.Activity{
		UserID: c.user.ID, At: h.now().UTC(), Kind: kind, OK: ok,
		IP: c.ip, UserAgent: c.ua, Detail: detail,
	}
	if err := h.store.AddActivity(context.WithoutCancel(r.Context()), a); err != nil {
		h.log.Error("api: recording activity", "kind", kind, "user_id", c.user.ID, "err", err)
	}
}

// via names the token in activity details.
func (c *caller) via() string {
	return fmt.Sprintf("through API token %q", c.token.Name)
}
