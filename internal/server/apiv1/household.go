package apiv1

// The household: its members, the invitations that pair a member's desktop
// as theirs, and the sharing of the account's authenticator with members'
// desktops. The household service records these changes in the activity
// log and tells the companions; the handlers here decide who may make them
// (permit) and turn its errors into answers.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

var errNoHousehold = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable,
	msg: "The household is not set up on this server."}

// changed tells the account's companions what part of their dashboard to
// reload (api.Changed…).
func (h *handler) changed(r *http.Request, c *caller, whats ...string) {
	ctx := context.WithoutCancel(r.Context())
	for _, what := range whats {
		switch {
		case h.house != nil:
			h.house.Changed(ctx, c.user.ID, what)
		case h.approvals != nil:
			h.approvals.Changed(ctx, c.user.ID, what)
		}
	}
}

func (h *handler) getHousehold(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	ms, err := h.house.Members(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	ds, err := h.deviceList(r.Context(), c)
	if err != nil {
		return err
	}
	out := api.Household{Members: make([]api.Member, 0, len(ms)), Devices: ds, You: c.member.ID}
	for i := range ms {
		out.Members = append(out.Members, apiMember(&ms[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func apiMember(m *store.Member) api.Member {
	return api.Member{ID: m.ID, Name: m.Name, Role: m.Role, CreatedAt: utc(m.CreatedAt), SharesAuthenticator: m.SharesAuthenticator}
}

func (h *handler) addMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	name, err := h.memberName(w, r)
	if err != nil {
		return err
	}
	m, err := h.house.AddMember(r.Context(), c.user.ID, name)
	if err != nil {
		return memberError(name, err)
	}
	writeJSON(w, http.StatusCreated, apiMember(m))
	return nil
}

func (h *handler) renameMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	name, err := h.memberName(w, r)
	if err != nil {
		return err
	}
	m, err := h.member(r, c)
	if err != nil {
		return err
	}
	if err := h.permit(r.Context(), c, household.RenameMember, m.ID); err != nil {
		return err
	}
	m, err = h.house.RenameMember(r.Context(), c.user.ID, m.ID, name)
	if err != nil {
		return memberError(name, err)
	}
	writeJSON(w, http.StatusOK, apiMember(m))
	return nil
}

// memberName reads a MemberName body and checks the name.
func (h *handler) memberName(w http.ResponseWriter, r *http.Request) (string, error) {
	var body api.MemberName
	if err := h.decode(w, r, &body, false); err != nil {
		return "", err
	}
	name, err := household.CleanName(body.Name)
	if err != nil {
		return "", errBadRequest("name must be 1 to %d characters, %s.", household.MaxNameLen, names.Rule)
	}
	return name, nil
}

// memberError turns a failure to name a member into an answer.
func memberError(name string, err error) error {
	switch {
	case errors.Is(err, store.ErrConflict):
		return errConflict(api.CodeConflict, fmt.Sprintf("The household already has a member called %s: choose another name.", name))
	case errors.Is(err, household.ErrInvalidName):
		return errBadRequest("name must be 1 to %d characters, %s.", household.MaxNameLen, names.Rule)
	case errors.Is(err, store.ErrNotFound):
		return errNoMember
	}
	return err
}

// removeMember removes a member with all their devices at once.
func (h *handler) removeMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	m, err := h.member(r, c)
	if err != nil {
		return err
	}
	errOwner := errConflict(api.CodeConflict, fmt.Sprintf("%s is the account's owner and cannot be removed from the household.", m.Name))
	if m.Role == api.RoleOwner {
		return errOwner
	}
	err = h.house.RemoveMember(r.Context(), c.user.ID, m.ID, c.ip, c.ua, c.member.Name)
	switch {
	case errors.Is(err, household.ErrOwner):
		return errOwner
	case errors.Is(err, store.ErrNotFound):
		return errNoMember
	case err != nil:
		return err
	}
	h.changed(r, c, api.ChangedSessions)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invite makes a pairing code for a member's desktop.
func (h *handler) invite(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	m, err := h.member(r, c)
	if err != nil {
		return err
	}
	code, uri, expires, err := h.house.Invite(r.Context(), c.user.ID, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoMember
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, api.Invitation{MemberID: m.ID, Code: code, URI: uri, ExpiresAt: expires.UTC()})
	return nil
}

// shareAuthenticator offers the account's authenticator to a member's
// desktops, now and whenever it changes.
func (h *handler) shareAuthenticator(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	m, err := h.member(r, c)
	if err != nil {
		return err
	}
	n, err := h.house.Share(r.Context(), c.user.ID, m.ID, c.member.Name)
	switch {
	case errors.Is(err, household.ErrNoAuthenticator):
		return errConflict(api.CodeConflict, "Turn on an authenticator app for the account first: there is nothing to share yet.")
	case errors.Is(err, household.ErrNoDesktop):
		return errConflict(api.CodeConflict, fmt.Sprintf("Invite %s's desktop first: %s has no paired desktop to share with.", m.Name, m.Name))
	case errors.Is(err, store.ErrNotFound):
		return errNoMember
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, api.Shared{Offered: n})
	return nil
}

// stopSharing stops offering the authenticator to a member's desktops.
func (h *handler) stopSharing(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	m, err := h.member(r, c)
	if err != nil {
		return err
	}
	err = h.house.StopSharing(r.Context(), c.user.ID, m.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoMember
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// shares lists the calling device's unanswered offers.
func (h *handler) shares(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.house == nil {
		return errNoHousehold
	}
	os, err := h.house.Offers(r.Context(), c.device.ID)
	if err != nil {
		return err
	}
	acct := api.AccountRef{ID: c.user.ID, Name: c.user.Name, Email: c.user.Email, Phone: c.user.Phone}
	out := api.ShareOfferList{Offers: make([]api.ShareOffer, 0, len(os))}
	for _, o := range os {
		if o.UserID != c.user.ID || o.DeviceID != c.device.ID { // the store filters by device; never trust one layer alone
			continue
		}
		out.Offers = append(out.Offers, api.ShareOffer{
			ID: o.ID, Account: acct, From: o.FromName, Label: o.Label, Rekeyed: o.Rekeyed,
			Sealed: base64.RawURLEncoding.EncodeToString(o.Sealed), CreatedAt: utc(o.CreatedAt),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) acceptShare(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := h.decode(w, r, &struct{}{}, true); err != nil {
		return err
	}
	return h.answerShare(w, r, c, true)
}

func (h *handler) declineShare(w http.ResponseWriter, r *http.Request, c *caller) error {
	return h.answerShare(w, r, c, false)
}

// answerShare accepts or declines one of the calling device's offers, once.
func (h *handler) answerShare(w http.ResponseWriter, r *http.Request, c *caller, accepted bool) error {
	if h.house == nil {
		return errNoHousehold
	}
	err := h.house.Answer(r.Context(), c.user.ID, c.device.ID, r.PathValue("id"), accepted)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("This device has no such offer waiting for an answer.")
	}
	if err != nil {
		return err
	}
	h.changed(r, c, api.ChangedHousehold)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
