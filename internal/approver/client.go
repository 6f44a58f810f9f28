package approver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// maxAnswer bounds an ordinary API answer.
const maxAnswer = 4 << 20

// tokenMargin is how long before its expiry a device token is replaced.
const tokenMargin = time.Minute

// call sends one API request to server with an optional bearer token, and
// decodes a 2xx answer's JSON into out (when not nil). An error answer
// becomes an *APIError; an unreachable server an error naming it.
func (m *Manager) call(ctx context.Context, server, token, method, path string, in, out any) error {
	return m.callWith(ctx, server, token, method, path, in, out, nil)
}

// callWith is call with more request headers.
func (m *Manager) callWith(ctx context.Context, server, token, method, path string, in, out any, header http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := m.send(ctx, server, token, method, path, in, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, out)
}

// send makes and sends a request; the caller closes the body.
func (m *Manager) send(ctx context.Context, server, token, method, path string, in any, header http.Header) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, server+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", server, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "countersign-companion")
	resp, err := m.http.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		return nil, &offlineError{server: server, err: unwrapURLError(err)}
	}
	return resp, nil
}

// offlineError is a server that could not be reached: it is ErrOffline
// and the network's own error.
type offlineError struct {
	server string
	err    error
}

func (e *offlineError) Error() string   { return "cannot reach " + e.server + ": " + e.err.Error() }
func (e *offlineError) Unwrap() []error { return []error{ErrOffline, e.err} }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeAnswer turns a 2xx answer into out and anything else into an *APIError.
func decodeAnswer(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", resp.Request.URL.Host, err)
	}
	if len(b) > maxAnswer {
		return fmt.Errorf("%s answered with more than %d MiB, which is not what countersign-server sends", resp.Request.URL.Host, maxAnswer>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s answered something that is not what countersign-server sends: %w", resp.Request.URL.Host, err)
	}
	return nil
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int    // HTTP status
	Code    string // api.Code…
	Message string // the server's sentence for people
	extra   errorExtra
}

// errorExtra are the fields some error answers carry besides api.Error.
type errorExtra struct {
	Status    string `json:"status"`
	DecidedBy string `json:"decided_by"`
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

func apiError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var a api.Error
	if json.Unmarshal(body, &a) == nil {
		e.Code, e.Message = a.Code, a.Error
		_ = json.Unmarshal(body, &e.extra)
	}
	if e.Message == "" && status == http.StatusNotFound {
		e.Message = "the server does not know this request (is it a countersign-server, and new enough?)"
	}
	return e
}

// authed is call with the account's device token, fetched or refreshed as
// needed; a token the server refuses is replaced once. A device the server
// removed is marked unpaired and the error is ErrUnpaired.
func (m *Manager) authed(ctx context.Context, a *account, method, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := m.token(ctx, a)
		if err != nil {
			return err
		}
		err = m.callWith(ctx, a.Server, tok, method, path, in, out, m.stepUpHeader(a))
		if err = m.checkAuth(a, tok, err, attempt); err == errRetry {
			continue
		}
		return err
	}
}

// errRetry means a request failed because its token was refused: get a new one.
var errRetry = errors.New("retry with a new token")

// errTokenRefused means the server refused even a fresh token.
var errTokenRefused = errors.New("the server refused this desktop's fresh token")

// checkAuth looks at an API error for what it says about the device: a
// removed device is marked unpaired (ErrUnpaired), a refused token is
// forgotten (errRetry, on the first attempt only).
func (m *Manager) checkAuth(a *account, tok string, err error, attempt int) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		return err
	}
	if ae.Code == api.CodeDeviceRevoked {
		m.markUnpaired(a)
		return ErrUnpaired
	}
	if ae.Code == api.CodeInvalidSignature {
		return err // the decision's signature, not the token: a new token would not help
	}
	m.mu.Lock()
	if a.token == tok {
		a.token = ""
	}
	m.mu.Unlock()
	if attempt > 0 {
		return fmt.Errorf("%w: %v", errTokenRefused, err)
	}
	return errRetry
}

// token returns a device token valid for at least tokenMargin, signing a
// fresh challenge when the cached one is too old.
func (m *Manager) token(ctx context.Context, a *account) (string, error) {
	m.mu.Lock()
	tok, exp, unpaired := a.token, a.tokenExp, a.Unpaired
	m.mu.Unlock()
	if unpaired {
		return "", ErrUnpaired
	}
	if tok != "" && m.now().Before(exp.Add(-tokenMargin)) {
		return tok, nil
	}
	priv, err := m.key(a)
	if err != nil {
		return "", err
	}
	var ch api.AuthChallenge
	err = m.call(ctx, a.Server, "", http.MethodPost, "/api/v1/auth/challenge", api.AuthChallengeRequest{DeviceID: a.ID}, &ch)
	if err == nil {
		var t api.AuthToken
		err = m.call(ctx, a.Server, "", http.MethodPost, "/api/v1/auth/token", api.AuthTokenRequest{
			DeviceID:  a.ID,
			Challenge: ch.Challenge,
			Signature: b64.EncodeToString(ed25519.Sign(priv, api.AuthMessage(a.ID, ch.Challenge))),
		}, &t)
		if err == nil {
			if !strings.HasPrefix(t.Token, api.DeviceTokenPrefix) {
				return "", fmt.Errorf("%s answered with something that is not a device token", a.Server)
			}
			m.mu.Lock()
			a.token, a.tokenExp = t.Token, t.ExpiresAt
			m.mu.Unlock()
			return t.Token, nil
		}
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized && ae.Code == api.CodeDeviceRevoked {
		m.markUnpaired(a)
		return "", ErrUnpaired
	}
	return "", fmt.Errorf("signing in to %s as this desktop: %w", a.Server, err)
}
