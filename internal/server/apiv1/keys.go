package apiv1

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

func (h *handler) securityKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	keys, err := h.store.SecurityKeys(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	out := api.SecurityKeyList{SecurityKeys: make([]api.SecurityKey, 0, len(keys))}
	for i := range keys {
		out.SecurityKeys = append(out.SecurityKeys, apiKey(&keys[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) removeSecurityKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	id := r.PathValue("id")
	keys, err := h.store.SecurityKeys(ctx, c.user.ID)
	if err != nil {
		return err
	}
	var key *store.SecurityKey
	for i := range keys {
		if keys[i].ID == id {
			key = &keys[i]
		}
	}
	if key == nil {
		return errNoKey
	}
	if err := h.permit(ctx, c, household.RemoveDevice, key.MemberID); err != nil {
		return err
	}
	if err := h.deleteKey(r, c, key, keys); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errNoKey = errNotFound("The account has no such security key.")

// deleteKey removes key, one of the account's keys, unless it is the last
// way through 2-step verification.
func (h *handler) deleteKey(r *http.Request, c *caller, key *store.SecurityKey, keys []store.SecurityKey) error {
	if c.user.TwoStep && len(keys) == 1 {
		last, err := h.onlyMethod(r, c)
		if err != nil {
			return err
		}
		if last {
			return errConflict(api.CodeLastMethod, "This security key is the account's only way through 2-step verification. Add another method, or turn 2-step verification off, before removing it.")
		}
	}
	if err := h.store.DeleteSecurityKey(r.Context(), c.user.ID, key.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNoKey
		}
		return err
	}
	if key.Discoverable {
		h.record(r, c, store.ActPasskeyRemoved, true, fmt.Sprintf("Passkey %q removed %s", key.Name, c.via()))
	} else {
		h.record(r, c, store.ActKeyRemoved, true, fmt.Sprintf("Security key %q removed %s", key.Name, c.via()))
	}
	h.changed(r, c, api.ChangedDevices, api.ChangedAccount)
	return nil
}

// onlyMethod says whether the account has no confirmed second-step method
// besides its security keys.
func (h *handler) onlyMethod(r *http.Request, c *caller) (bool, error) {
	methods, err := h.store.Methods(r.Context(), c.user.ID)
	if err != nil {
		return false, err
	}
	for _, m := range methods {
		if m.Confirmed {
			return false, nil
		}
	}
	return true, nil
}

func (h *handler) beginRegistration(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.keys == nil {
		return errNoKeys
	}
	var start api.RegistrationStart
	if err := h.decode(w, r, &start, true); err != nil {
		return err
	}
	begin := h.keys.BeginRegistration
	if start.Passkey {
		begin = h.keys.BeginPasskeyRegistration
	}
	id, opts, err := begin(r.Context(), c.user)
	if err != nil {
		return keyError(err)
	}
	writeJSON(w, http.StatusCreated, api.RegistrationBegin{ChallengeID: id, Options: opts})
	return nil
}

func (h *handler) finishRegistration(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.RegistrationFinish
	if err := h.finish(w, r, &body, &body.ChallengeID, &body.Credential); err != nil {
		return err
	}
	k, err := h.keys.FinishRegistration(r.Context(), c.user, body.ChallengeID, body.Name, body.Credential)
	if err != nil {
		return keyError(err)
	}
	if !c.owner() { // registered from a member's desktop: the key is theirs
		if err := h.store.SetDeviceMember(r.Context(), c.user.ID, api.DeviceSecurityKey, k.ID, c.member.ID); err != nil {
			return fmt.Errorf("giving a new security key to its member: %w", err)
		}
		k.MemberID = c.member.ID
	}
	if k.Discoverable {
		h.record(r, c, store.ActPasskeyAdded, true, fmt.Sprintf("Passkey %q added %s", k.Name, c.via()))
	} else {
		h.record(r, c, store.ActKeyAdded, true, fmt.Sprintf("Security key %q added %s", k.Name, c.via()))
	}
	h.changed(r, c, api.ChangedDevices, api.ChangedAccount)
	writeJSON(w, http.StatusCreated, apiKey(k))
	return nil
}

func (h *handler) beginAssertion(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.begin(w, r); err != nil {
		return err
	}
	id, opts, err := h.keys.BeginLogin(r.Context(), c.user)
	if err != nil {
		return keyError(err)
	}
	writeJSON(w, http.StatusCreated, api.LoginBegin{ChallengeID: id, Options: opts})
	return nil
}

func (h *handler) finishAssertion(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body api.LoginFinish
	if err := h.finish(w, r, &body, &body.ChallengeID, &body.Credential); err != nil {
		return err
	}
	k, err := h.keys.FinishLogin(r.Context(), c.user, body.ChallengeID, body.Credential)
	if errors.Is(err, seckey.ErrVerify) {
		h.record(r, c, store.ActTwoStepFailed, false, "A security key's answer did not verify "+c.via())
	}
	if err != nil {
		return keyError(err)
	}
	h.record(r, c, store.ActTwoStepUsed, true, fmt.Sprintf("Security key %q verified %s", k.Name, c.via()))
	writeJSON(w, http.StatusOK, apiKey(k))
	return nil
}

var errNoKeys = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable,
	msg: "Security keys are not set up on this server."}

// begin checks a begin request: the service exists and the body, if any,
// is an empty JSON object.
func (h *handler) begin(w http.ResponseWriter, r *http.Request) error {
	if h.keys == nil {
		return errNoKeys
	}
	return h.decode(w, r, &struct{}{}, true)
}

// finish reads a finish request's body into v, whose challenge id (if
// given) must match the path's, and whose credential must be an object.
func (h *handler) finish(w http.ResponseWriter, r *http.Request, v any, challengeID *string, credential *json.RawMessage) error {
	if h.keys == nil {
		return errNoKeys
	}
	if err := h.decode(w, r, v, false); err != nil {
		return err
	}
	id := r.PathValue("challenge_id")
	if *challengeID != "" && *challengeID != id {
		return errBadRequest("challenge_id in the body does not match the one in the address.")
	}
	*challengeID = id
	if c := bytes.TrimSpace(*credential); len(c) == 0 || c[0] != '{' {
		return errBadRequest("credential is required: the PublicKeyCredential as a JSON object.")
	}
	return nil
}

func apiKey(k *store.SecurityKey) api.SecurityKey {
	return api.SecurityKey{ID: k.ID, Name: k.Name, CreatedAt: utc(k.CreatedAt), LastUsedAt: utc(k.LastUsedAt), Passkey: k.Discoverable}
}
