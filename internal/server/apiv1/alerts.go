package apiv1

import (
	"context"
	"errors"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// Alerts is what the API needs of the server for "This wasn't me" on a
// sign-in alert: the server ends the session and the apps' tokens issued in
// it (it knows the "sid" they carry) and says what ended, with the
// activity's detail for the caller to record.
type Alerts interface {
	Disown(ctx context.Context, alertID string) (*store.SignInAlert, api.Disowned, string, error)
}

var errNoAlerts = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable, msg: "Sign-in alerts are not available on this server."}

// disownSignIn is "This wasn't me" on a desktop: the alert's session
// ends, with its apps' tokens. The owner may do it to any alert, a member
// to the alerts of their own sign-ins.
func (h *handler) disownSignIn(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.alerts == nil {
		return errNoAlerts
	}
	ctx := r.Context()
	noAlert := errNotFound("The account has no such sign-in alert.")
	a, err := h.store.SignInAlert(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return noAlert
	}
	if err != nil {
		return err
	}
	if a.UserID != c.user.ID {
		return noAlert
	}
	if err := h.permit(ctx, c, household.DisownSignIn, a.MemberID); err != nil {
		return err
	}
	if !a.UsedAt.IsZero() {
		return errConflict(api.CodeAlertUsed, `"This wasn't me" was used on this sign-in already: it is signed out.`)
	}
	if !h.now().Before(a.ExpiresAt) {
		return &apiError{status: http.StatusGone, code: api.CodeAlertExpired,
			msg: "This alert is too old to act on. End the session from the list of sessions if it is still there."}
	}
	_, out, detail, err := h.alerts.Disown(ctx, a.ID)
	if errors.Is(err, store.ErrUsed) {
		return errConflict(api.CodeAlertUsed, `"This wasn't me" was used on this sign-in already: it is signed out.`)
	}
	if err != nil {
		return err
	}
	h.record(r, c, store.ActSignInDisowned, true, detail+" "+c.via())
	writeJSON(w, http.StatusOK, out)
	return nil
}
