package approver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/sealed"
)

// Call makes one API v1 request as this paired desktop: path is the API's
// path ("/api/v1/devices", query included), in the JSON body (nil for
// none) and out what a 2xx answer's JSON is decoded into (nil to drop it).
// The device token is fetched and refreshed as the stream's is, and a token
// the server refuses is replaced once.
//
// An error answer is an *APIError; an unreachable server an error for
// which errors.Is(err, ErrOffline) holds; a device the server removed is
// marked unpaired and the error is ErrUnpaired.
func (m *Manager) Call(ctx context.Context, accountID, method, path string, in, out any) error {
	if !strings.HasPrefix(path, "/api/v1/") {
		return fmt.Errorf("approver: %q is not an API v1 path", path)
	}
	a, err := m.paired(accountID)
	if err != nil {
		return err
	}
	return m.authed(ctx, a, method, path, in, out)
}

// paired returns a paired account that the server has not removed.
func (m *Manager) paired(accountID string) (*account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	switch {
	case a == nil:
		return nil, fmt.Errorf("%w: %s", ErrNoAccount, accountID)
	case a.Unpaired:
		return nil, ErrUnpaired
	}
	return a, nil
}

// Share is an authenticator a household's owner shared with this desktop,
// opened: URI is its otpauth:// enrollment, a secret (never log it). The
// embedded offer's Sealed is left empty.
type Share struct {
	api.ShareOffer
	URI string
}

// Shares lists the authenticators offered to this desktop on the account
// and not yet accepted or declined, each opened with the device key. An
// offer that does not open (sealed to another key, altered, or not an
// authenticator) is declined on the server and left out.
func (m *Manager) Shares(ctx context.Context, accountID string) ([]Share, error) {
	a, err := m.paired(accountID)
	if err != nil {
		return nil, err
	}
	var list api.ShareOfferList
	if err := m.authed(ctx, a, http.MethodGet, "/api/v1/shares", nil, &list); err != nil {
		return nil, err
	}
	priv, err := m.key(a)
	if err != nil {
		return nil, err
	}
	shares := make([]Share, 0, len(list.Offers))
	for _, o := range list.Offers {
		uri, why := openShare(priv, o.Sealed)
		if why != "" {
			// Only the reason is logged: never what the offer holds.
			m.log.Warn("approver: declining a share offer that does not open", "server", a.Server, "device", a.ID, "offer", o.ID, "why", why)
			if err := m.authed(ctx, a, http.MethodDelete, sharePath(o.ID), nil, nil); err != nil {
				m.log.Warn("approver: could not decline a share offer", "server", a.Server, "offer", o.ID, "err", err)
			}
			continue
		}
		o.Sealed = ""
		shares = append(shares, Share{ShareOffer: o, URI: uri})
	}
	return shares, nil
}

// openShare opens a sealed api.SharedEnrollment; why says in a few words
// (never with the content) why it does not open.
func openShare(priv []byte, s string) (uri, why string) {
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return "", "not base64url"
	}
	msg, err := sealed.Open(priv, blob)
	if err != nil {
		return "", "not sealed to this device's key, or altered"
	}
	defer clear(msg)
	var e api.SharedEnrollment
	if err := json.Unmarshal(msg, &e); err != nil {
		return "", "not an enrollment"
	}
	u, err := url.Parse(e.URI)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") == "" {
		return "", "not an otpauth:// URI with a secret"
	}
	return e.URI, ""
}

func sharePath(id string) string { return "/api/v1/shares/" + url.PathEscape(id) }

// AcceptShare tells the server the shared authenticator was taken in here
// (the caller adds Share.URI to the vault first); the server then forgets
// the sealed secret.
func (m *Manager) AcceptShare(ctx context.Context, accountID, id string) error {
	if id == "" {
		return errNoOffer
	}
	return m.Call(ctx, accountID, http.MethodPost, sharePath(id)+"/accept", nil, nil)
}

// DeclineShare turns an offered authenticator down.
func (m *Manager) DeclineShare(ctx context.Context, accountID, id string) error {
	if id == "" {
		return errNoOffer
	}
	return m.Call(ctx, accountID, http.MethodDelete, sharePath(id), nil, nil)
}

var errNoOffer = errors.New("approver: no share offer id")
