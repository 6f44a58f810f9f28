package seckey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/countersign/countersign/internal/store"
)

// ErrUnknownPasskey is an ErrVerify: the passkey offered is not one of an
// account's passkeys (it was removed, belongs to no account here, or is a
// security key registered for the second step only).
var ErrUnknownPasskey = fmt.Errorf("%w: the passkey is not registered with any account", ErrVerify)

// BeginPasskeyLogin starts a sign-in with a passkey, for anyone: no account
// is named, and the browser offers the passkeys it holds for this site. It
// returns the id of the pending ceremony and the options for
// navigator.credentials.get (no allowed credentials; user verification
// required).
func (s *Service) BeginPasskeyLogin(ctx context.Context) (string, json.RawMessage, error) {
	challenge, err := s.random(32)
	if err != nil {
		return "", nil, err
	}
	assertion, session, err := s.wa.BeginDiscoverableLogin(
		webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithChallenge(challenge),
	)
	if err != nil {
		return "", nil, fmt.Errorf("starting a passkey sign-in: %w", err)
	}
	return s.begin(ctx, nil, kindPasskeyLogin, assertion, session)
}

// FinishPasskeyLogin verifies the answer to the passkey sign-in
// challengeID: the account is the one whose WebAuthn user handle the
// passkey returns, the credential one of its passkeys (Discoverable), and
// the user verified. It records the passkey's use and returns the account
// and the passkey. ErrChallenge, ErrUnknownPasskey, ErrVerify or ErrCloned
// when the answer is not good; with ErrCloned the account is returned too.
func (s *Service) FinishPasskeyLogin(ctx context.Context, challengeID string, credential json.RawMessage) (*store.User, *store.SecurityKey, error) {
	session, _, err := s.take(ctx, nil, challengeID, kindPasskeyLogin)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, nil, verifyError(err)
	}
	var (
		u       *store.User
		passkey []store.SecurityKey
		lookup  error // why the handle named no account's passkey
	)
	find := func(rawID, handle []byte) (webauthn.User, error) {
		u, lookup = s.store.UserByWebAuthnID(ctx, handle)
		if errors.Is(lookup, store.ErrNotFound) {
			lookup = ErrUnknownPasskey
		}
		if lookup != nil {
			return nil, lookup
		}
		wu, keys, err := s.user(ctx, u)
		if err != nil {
			lookup = err
			return nil, err
		}
		// Only the account's passkeys sign in on their own; its other keys
		// are a second step after the password.
		wu.creds = wu.creds[:0]
		for _, k := range keys {
			if !k.Discoverable {
				continue
			}
			var c webauthn.Credential
			if err := json.Unmarshal(k.Credential, &c); err != nil {
				lookup = fmt.Errorf("reading passkey %s: %w", k.ID, err)
				return nil, lookup
			}
			wu.creds = append(wu.creds, c)
			passkey = append(passkey, k)
		}
		if !hasCredential(wu.creds, rawID) {
			lookup = ErrUnknownPasskey
			return nil, lookup
		}
		return wu, nil
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(find, *session, parsed)
	switch {
	case lookup != nil && (errors.Is(lookup, ErrUnknownPasskey) || errors.Is(lookup, store.ErrNotFound)):
		return nil, nil, ErrUnknownPasskey
	case lookup != nil:
		return nil, nil, fmt.Errorf("finding the passkey's account: %w", lookup)
	case err != nil:
		return u, nil, verifyError(err)
	}
	// go-webauthn checked it, as the session requires; say it once more
	// here, where it decides that no password is asked.
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return u, nil, fmt.Errorf("%w: the authenticator did not verify the user", ErrVerify)
	}
	key, err := s.used(ctx, passkey, cred)
	return u, key, err
}

// hasCredential says whether creds hold the credential id.
func hasCredential(creds []webauthn.Credential, id []byte) bool {
	for _, c := range creds {
		if bytes.Equal(c.ID, id) {
			return true
		}
	}
	return false
}
