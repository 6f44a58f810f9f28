package apiv1

import (
	"errors"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// pairingsPerMinute is how many pairing codes one IP address may try a
// minute (and at once).
const pairingsPerMinute = 10

var errNoApprovals = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable,
	msg: "Sign-in approvals are not set up on this server."}

var errTooManyPairings = &apiError{status: http.StatusTooManyRequests, code: api.CodeTooMany,
	msg: "Too many pairing codes were tried from this address: wait a minute and try again."}

// pair redeems a pairing code: the companion becomes an approver device of
// the code's account.
func (h *handler) pair(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	ip := h.clientIP(r)
	if !h.pairLimit.Allow(ip) {
		w.Header().Set("Retry-After", "60")
		return errTooManyPairings
	}
	var body api.Pairing
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	res, err := h.approvals.Redeem(r.Context(), body, ip, r.UserAgent())
	if err != nil {
		return approvalError(err)
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// authChallenge gives a paired device a challenge to sign.
func (h *handler) authChallenge(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	var body api.AuthChallengeRequest
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	if body.DeviceID == "" {
		return errBadRequest("device_id is required.")
	}
	ch, expires, err := h.approvals.Challenge(r.Context(), body.DeviceID)
	if err != nil {
		return approvalError(err)
	}
	writeJSON(w, http.StatusOK, api.AuthChallenge{Challenge: ch, ExpiresAt: expires.UTC()})
	return nil
}

// authToken trades a signed challenge for a device token.
func (h *handler) authToken(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	var body api.AuthTokenRequest
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	if body.DeviceID == "" || body.Challenge == "" || body.Signature == "" {
		return errBadRequest("device_id, challenge and signature are required.")
	}
	tok, expires, err := h.approvals.Token(r.Context(), body)
	if err != nil {
		return approvalError(err)
	}
	writeJSON(w, http.StatusOK, api.AuthToken{Token: tok, ExpiresAt: expires.UTC()})
	return nil
}

func (h *handler) listApprovers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	as, err := h.approvals.Approvers(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	out := api.ApproverList{Approvers: make([]api.Approver, 0, len(as))}
	for _, a := range as {
		out.Approvers = append(out.Approvers, apiApprover(&a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// removeApprover unpairs one of the account's approver devices, as
// DELETE devices/{id} does; a device may always unpair itself.
func (h *handler) removeApprover(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	noApprover := errNotFound("The account has no such approver device.")
	a, err := h.store.Approver(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (a.UserID != c.user.ID || !a.RemovedAt.IsZero())) {
		return noApprover
	}
	if err != nil {
		return err
	}
	if err := h.permit(r.Context(), c, household.RemoveDevice, a.MemberID); err != nil {
		return err
	}
	if err := h.unpair(r, c, a); err != nil {
		if errors.Is(err, errNoDevice) {
			return noApprover
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func apiApprover(a *store.Approver) api.Approver {
	return api.Approver{
		ID: a.ID, Name: a.Name, Platform: a.Platform,
		CreatedAt: utc(a.CreatedAt), LastSeenAt: utc(a.LastSeenAt),
	}
}

// listApprovals lists the account's pending sign-in requests.
func (h *handler) listApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	as, err := h.approvals.Pending(r.Context(), c.device)
	if err != nil {
		return approvalError(err)
	}
	if as == nil {
		as = []api.Approval{}
	}
	writeJSON(w, http.StatusOK, api.ApprovalList{Approvals: as})
	return nil
}

// decide takes a device's decision on a sign-in request.
func (h *handler) decide(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.approvals == nil {
		return errNoApprovals
	}
	var body api.Decision
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	status, err := h.approvals.Decide(r.Context(), c.device, r.PathValue("id"), body)
	if errors.Is(err, approval.ErrNotFound) {
		return errNotFound("There is no such sign-in request.")
	}
	if err != nil {
		return approvalError(err)
	}
	writeJSON(w, http.StatusOK, api.DecisionResult{Status: status})
	return nil
}
