package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// Passkeys: discoverable credentials that sign in on their own, without the
// password or a second step (the authenticator holds the account's user
// handle and verifies the person: a PIN, a fingerprint, the device's lock).
// The sign-in page offers them with a button and in the login field's
// autofill (conditional mediation, static/webauthn.js); the security page
// lists, creates and removes them. A passkey is also a security key: it
// serves as a second step after the password like any key.

// msgPasskeyRefused answers a passkey that did not sign in, whatever the
// reason: the same words for an unknown passkey and a bad answer.
const msgPasskeyRefused = "That passkey was not accepted. Try again, or sign in with your email or mobile number and password."

// passkeySignInBegin starts a passkey sign-in for whoever is at the page.
func (s *Server) passkeySignInBegin(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if !s.ipLimit.Allow("passkey-begin:" + st.ip) {
		s.metrics.signin("limited")
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	id, opts, err := s.keys.BeginPasskeyLogin(r.Context())
	if err != nil {
		return fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return writeJSON(w, http.StatusOK, challengeJSON{ChallengeID: id, Options: opts})
}

// passkeySignInFinish signs in the account whose passkey answered: a full
// sign-in (the passkey is possession and the person verified), as the
// household member the passkey belongs to, then on to next. It counts
// against the same limits as a password sign-in, honours a lock, and
// counts a passkey that does not verify as a failed sign-in of its account.
func (s *Server) passkeySignInFinish(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
		Next        string          `json:"next"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChallengeID == "" || len(in.Credential) == 0 {
		return badRequest("The passkey's answer was incomplete; try again.")
	}
	if !s.ipLimit.Allow("signin:" + st.ip) {
		s.metrics.signin("limited")
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	now := s.now()
	u, key, err := s.keys.FinishPasskeyLogin(ctx, in.ChallengeID, in.Credential)
	switch {
	case errors.Is(err, seckey.ErrChallenge):
		s.metrics.signin("failure")
		return badRequest("The request expired; try again.")
	case errors.Is(err, seckey.ErrUnknownPasskey):
		s.metrics.signin("failure")
		return &userError{http.StatusUnauthorized, msgPasskeyRefused}
	case errors.Is(err, seckey.ErrVerify) && u != nil:
		s.metrics.signin("failure")
		s.log.Warn("passkey sign-in refused", "request_id", st.id, "err", err)
		if _, ferr := s.loginFailed(ctx, r, st, u, now, store.ActSignInFailed, "Passkey not accepted"); ferr != nil {
			return ferr
		}
		return &userError{http.StatusUnauthorized, msgPasskeyRefused}
	case errors.Is(err, seckey.ErrVerify):
		s.metrics.signin("failure")
		return &userError{http.StatusUnauthorized, msgPasskeyRefused}
	case err != nil:
		return fmt.Errorf("finish passkey sign-in: %w", err)
	}
	if !s.acctLimit.Allow("passkey:" + u.ID) {
		s.metrics.signin("limited")
		return &userError{http.StatusTooManyRequests, msgTooFast}
	}
	if now.Before(u.LockedUntil) {
		s.metrics.signin("locked")
		if err := s.activity(ctx, r, st, u.ID, store.ActSignInFailed, false, "Refused: sign-in is locked after failed attempts"); err != nil {
			return err
		}
		return &userError{http.StatusTooManyRequests, tooManyAttempts(u.LockedUntil, now)}
	}
	st.method = store.SignInPasskey
	if err := s.completeSignIn(ctx, w, r, st, u, "", key.MemberID, "Passkey “"+key.Name+"”"); err != nil {
		return err
	}
	s.clearCookie(w, nextCookie)
	return writeJSON(w, http.StatusOK, map[string]string{"redirect": safeNext(in.Next)})
}

// passkeyAddBegin starts creating a passkey for the account.
func (s *Server) passkeyAddBegin(w http.ResponseWriter, r *http.Request, st *reqState) error {
	id, opts, err := s.keys.BeginPasskeyRegistration(r.Context(), st.user)
	if err != nil {
		return fmt.Errorf("begin passkey registration: %w", err)
	}
	return writeJSON(w, http.StatusOK, challengeJSON{ChallengeID: id, Options: opts})
}

// passkeyAddFinish stores the passkey the browser created, as the session's
// member's.
func (s *Server) passkeyAddFinish(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.finishKeyRegistration(w, r, st, true)
}

// finishKeyRegistration stores the security key or passkey the browser
// registered, as the session's member's, and says so on its card; the words
// of the refusals name what was asked for.
func (s *Server) finishKeyRegistration(w http.ResponseWriter, r *http.Request, st *reqState, passkey bool) error {
	ctx := r.Context()
	what := "security key"
	if passkey {
		what = "passkey"
	}
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Name        string          `json:"name"`
		Credential  json.RawMessage `json:"credential"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChallengeID == "" || len(in.Credential) == 0 {
		return badRequest("The " + what + "'s answer was incomplete; try again.")
	}
	k, err := s.keys.FinishRegistration(ctx, st.user, in.ChallengeID, in.Name, in.Credential)
	switch {
	case errors.Is(err, seckey.ErrName):
		return badRequest(fmt.Sprintf("Give the %s a name of 1 to %d characters.", what, seckey.MaxNameLen))
	case errors.Is(err, seckey.ErrRegistered) && passkey:
		return &userError{http.StatusConflict, "This passkey or security key is registered already."}
	case errors.Is(err, seckey.ErrRegistered):
		return &userError{http.StatusConflict, "This security key is registered already."}
	case errors.Is(err, seckey.ErrChallenge):
		return badRequest("The request expired; try again.")
	case errors.Is(err, seckey.ErrNotDiscoverable):
		return badRequest("This security key or browser cannot store a passkey. Use another, or add it as a security key instead.")
	case errors.Is(err, seckey.ErrVerify) && passkey:
		return badRequest("The passkey could not be verified. A passkey needs your device's PIN, fingerprint or screen lock; try again.")
	case errors.Is(err, seckey.ErrVerify):
		return badRequest("The security key's answer could not be verified; try again.")
	case err != nil:
		return fmt.Errorf("finish %s registration: %w", what, err)
	}
	kind, card, msg := store.ActKeyAdded, "security-keys", "Security key “"+k.Name+"” is added."
	if k.Discoverable {
		kind, card, msg = store.ActPasskeyAdded, "passkeys", "Passkey “"+k.Name+"” is added. You can sign in with it, without your password."
	}
	if st.member.Role != api.RoleOwner { // registered from a member's browser: it is theirs
		if err := s.store.SetDeviceMember(ctx, st.user.ID, api.DeviceSecurityKey, k.ID, st.member.ID); err != nil {
			return fmt.Errorf("giving a new %s to its member: %w", what, err)
		}
	}
	if err := s.activity(ctx, r, st, st.user.ID, kind, true, k.Name); err != nil {
		return err
	}
	s.flash(w, card+flashCardSep+msg)
	return writeJSON(w, http.StatusOK, map[string]string{"id": k.ID, "name": k.Name})
}

// passkeyRemove removes one of the account's passkeys, after asking.
func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("id")
	keys, err := s.store.SecurityKeys(ctx, st.user.ID)
	if err != nil {
		return fmt.Errorf("security keys: %w", err)
	}
	var key *store.SecurityKey
	for i := range keys {
		if keys[i].ID == id && keys[i].Discoverable {
			key = &keys[i]
		}
	}
	if key == nil {
		return errNotFound
	}
	if err := s.permits(r, st, household.RemoveDevice, key.MemberID); err != nil {
		return err
	}
	if !s.confirmed(w, r, ask{Title: "Remove the passkey “" + key.Name + "”?",
		Text:   "It will no longer sign in to this account, on its own or as a second step. Also delete it from the device or security key that holds it, so that it is not offered again.",
		Button: "Remove passkey", Back: cardURL("passkeys")}) {
		return nil
	}
	if err := s.store.DeleteSecurityKey(ctx, st.user.ID, id); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActPasskeyRemoved, true, key.Name); err != nil {
		return err
	}
	s.done(w, r, "passkeys", "Passkey “"+key.Name+"” is removed.")
	return nil
}

// splitPasskeys parts the account's keys into security keys and passkeys,
// each in its own card of the security page.
func splitPasskeys(all []store.SecurityKey) (keys, passkeys []store.SecurityKey) {
	for _, k := range all {
		if k.Discoverable {
			passkeys = append(passkeys, k)
		} else {
			keys = append(keys, k)
		}
	}
	return keys, passkeys
}
