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
	scopeRead    = api.ScopeRead
	scopeWrite   = api.ScopeWrite
	scopeApprove = api.ScopeApprove
	// maxTokenLen bounds what is hashed and looked up.
	maxTokenLen = 512
	// touchEvery is how often a token's last use is written.
	touchEvery = time.Minute
)

// caller is who a request comes from: an API token or an approver device
// acting for its account, as a member of the account's household (an API
// token as the owner, a device as the member it belongs to).
type caller struct {
	user   *store.User
	member *store.Member
	token  *store.APIToken // nil for a device
	device *store.Approver // nil for an API token
	ip     string
	ua     string
}

// owner says whether the caller acts as the account's owner.
func (c *caller) owner() bool { return c.member.Role == api.RoleOwner }

// authenticate checks the bearer token and that it has scope.
func (h *handler) authenticate(r *http.Request, scope string) (*caller, error) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
			msg:     "This needs an API token: send it as Authorization: Bearer <token>.",
			wwwAuth: `Bearer realm="countersign"`}
	}
	token := strings.TrimSpace(raw)
	if token == "" || len(token) > maxTokenLen {
		return nil, errInvalidToken
	}
	var c *caller
	var err error
	if strings.HasPrefix(token, api.DeviceTokenPrefix) {
		c, err = h.deviceCaller(r, token)
	} else {
		c, err = h.tokenCaller(r, token)
	}
	if err != nil {
		return nil, err
	}
	if !c.may(scope) {
		msg := fmt.Sprintf("This API token may not do that: it needs the %q scope.", scope)
		if scope == scopeApprove {
			msg = "Only a paired approver device may do that, with the token it gets by signing a challenge."
		}
		return nil, &apiError{status: http.StatusForbidden, code: codeInsufficientScope, msg: msg,
			wwwAuth: fmt.Sprintf(`Bearer realm="countersign", error="insufficient_scope", scope=%q`, scope)}
	}
	if c.token != nil && h.now().Sub(c.token.LastUsedAt) >= touchEvery {
		if err := h.store.TouchAPIToken(r.Context(), c.token.ID, h.now().UTC()); err != nil {
			h.log.Warn("api: recording a token's use", "token_id", c.token.ID, "err", err)
		}
	}
	return c, nil
}

var errInvalidToken = &apiError{status: http.StatusUnauthorized, code: codeInvalidToken,
	msg:     "The API token is not valid: it may have been revoked or have expired.",
	wwwAuth: `Bearer realm="countersign", error="invalid_token"`}

var errInvalidDeviceToken = &apiError{status: http.StatusUnauthorized, code: codeInvalidToken,
	msg:     "The device token is not valid: it may have expired. Sign the device in again (POST /api/v1/auth/challenge).",
	wwwAuth: `Bearer realm="countersign", error="invalid_token"`}

// errDeviceRevoked answers a device that is no longer paired (or never was).
var errDeviceRevoked = &apiError{status: http.StatusUnauthorized, code: api.CodeDeviceRevoked,
	msg:     "This device is no longer paired with the account: pair it again from the Login & security page.",
	wwwAuth: `Bearer realm="countersign", error="invalid_token", error_description="device revoked"`}

// tokenCaller looks up an API token ("cs_…").
func (h *handler) tokenCaller(r *http.Request, token string) (*caller, error) {
	sum := sha256.Sum256([]byte(token))
	tok, err := h.store.APITokenByHash(r.Context(), sum[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("looking up an API token: %w", err)
	}
	now := h.now()
	if subtle.ConstantTimeCompare(tok.Hash, sum[:]) != 1 || !tok.RevokedAt.IsZero() ||
		(!tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt)) {
		return nil, errInvalidToken
	}
	u, err := h.tokenUser(r, tok.UserID)
	if err != nil {
		return nil, err
	}
	m, err := h.store.OwnerMember(r.Context(), u.ID)
	if err != nil {
		return nil, fmt.Errorf("looking up the account's owner: %w", err)
	}
	return &caller{user: u, member: m, token: tok, ip: h.clientIP(r), ua: r.UserAgent()}, nil
}

// deviceCaller looks up a device token ("csd_…").
func (h *handler) deviceCaller(r *http.Request, token string) (*caller, error) {
	if h.approvals == nil {
		return nil, errInvalidDeviceToken
	}
	a, err := h.approvals.Authenticate(r.Context(), token)
	if err != nil {
		return nil, approvalError(err)
	}
	u, err := h.tokenUser(r, a.UserID)
	if err != nil {
		return nil, err
	}
	m, err := h.memberOf(r.Context(), u.ID, a.MemberID)
	if errors.Is(err, store.ErrNotFound) { // removed with its member
		return nil, errDeviceRevoked
	}
	if err != nil {
		return nil, fmt.Errorf("looking up the device's member: %w", err)
	}
	return &caller{user: u, member: m, device: a, ip: h.clientIP(r), ua: r.UserAgent()}, nil
}

// tokenUser is the account a token acts for.
func (h *handler) tokenUser(r *http.Request, id string) (*store.User, error) {
	u, err := h.store.UserByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("looking up the token's account: %w", err)
	}
	return u, nil
}

// may says whether the caller has scope. A device token has "read",
// "approve" and "write" (what it may change is the household's rules, see
// permit); an API token has its scopes, never "approve".
func (c *caller) may(scope string) bool {
	if c.device == nil {
		return scope != scopeApprove && slices.Contains(c.token.Scopes, scope)
	}
	return scope == scopeRead || scope == scopeApprove || scope == scopeWrite
}

// peerIP is the host of the peer's address.
func peerIP(r *http.Request) string {
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
		IP: c.ip, UserAgent: c.ua, Member: c.member.Name, Detail: detail,
	}
	if err := h.store.AddActivity(context.WithoutCancel(r.Context()), a); err != nil {
		h.log.Error("api: recording activity", "kind", kind, "user_id", c.user.ID, "err", err)
	}
}

// via names the token in activity details.
func (c *caller) via() string {
	if c.device != nil {
		return fmt.Sprintf("from approver device %q", c.device.Name)
	}
	return fmt.Sprintf("through API token %q", c.token.Name)
}
