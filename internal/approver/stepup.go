package approver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
)

// Step-up: the server asks a desktop to confirm, with the account's
// password or a security key, that the account's person is at it before it
// moves devices between members, invites a member's desktop, shares the
// authenticator or adds a security key (api.CodeStepUpRequired). The
// confirmation lasts five minutes and is kept in memory only: it is sent
// with every request of the account until it ends, and forgotten when the
// desktop locks (ForgetStepUps) or the process ends.

// NeedsStepUp reports whether err is the server asking for a confirmation
// before the request can be done.
func NeedsStepUp(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == api.CodeStepUpRequired
}

// WrongPassword reports whether err is the server refusing a confirmation's
// password.
func WrongPassword(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == api.CodeWrongPassword
}

// StepUp confirms with the account's password that the account's person is
// at this desktop; the requests of the next five minutes carry it. A wrong
// password is an *APIError (WrongPassword) and counts as a failed sign-in
// of the account.
func (m *Manager) StepUp(ctx context.Context, accountID, password string) error {
	return m.stepUpWith(ctx, accountID, api.StepUpRequest{Password: password})
}

// StepUpWithKey confirms with a touch of a security key of this desktop's
// member (Options.Keys asks the key), as StepUp does with the password.
func (m *Manager) StepUpWithKey(ctx context.Context, accountID string) error {
	a, err := m.paired(accountID)
	if err != nil {
		return err
	}
	var begin api.LoginBegin
	if err := m.authed(ctx, a, http.MethodPost, "/api/v1/security-keys/assertions", struct{}{}, &begin); err != nil {
		return err
	}
	cred, err := m.keys.Touch(ctx, begin.Options, a.origin())
	if err != nil {
		return fmt.Errorf("security key: %w", err)
	}
	return m.stepUpWith(ctx, accountID, api.StepUpRequest{ChallengeID: begin.ChallengeID, Credential: cred})
}

func (m *Manager) stepUpWith(ctx context.Context, accountID string, req api.StepUpRequest) error {
	a, err := m.paired(accountID)
	if err != nil {
		return err
	}
	var su api.StepUp
	if err := m.authed(ctx, a, http.MethodPost, "/api/v1/step-up", req, &su); err != nil {
		return err
	}
	m.mu.Lock()
	a.stepUp = su
	m.mu.Unlock()
	return nil
}

// ForgetStepUps forgets every confirmation: the next sensitive request asks
// again. The window calls it when it locks.
func (m *Manager) ForgetStepUps() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.accounts {
		a.stepUp = api.StepUp{}
	}
}

// stepUpHeader is the header that carries a's confirmation while it lasts.
func (m *Manager) stepUpHeader(a *account) http.Header {
	m.mu.Lock()
	su := a.stepUp
	m.mu.Unlock()
	if su.Token == "" || !m.now().Before(su.ExpiresAt) {
		return nil
	}
	return http.Header{api.StepUpHeader: {su.Token}}
}
