package apiv1

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// Step-up through the API. The actions that need a fresh sign-in
// (household.NeedsFreshSignIn) hand out access or change who owns what; a
// browser must have signed in within household.StepUpWindow, and a desktop
// or an API token must have confirmed, within the same window, that the
// account's person is at it: POST step-up with the account's password or a
// security key of the caller's member answers with a sealed mark, bound to
// that token or desktop, which the requests carry as api.StepUpHeader. A
// stolen device or API token alone does none of these actions.

// StepUp is what the API needs of the server for step-up: the password
// check of the sign-in page (with its failure count and lock) and its
// sealed time marks.
type StepUp interface {
	// CheckPassword checks pw against u's password. A wrong one counts as
	// a failed sign-in of the account, recorded with detail; locked is the
	// end of the account's sign-in lock when it is (or has just become)
	// locked, in which case ok is false.
	CheckPassword(r *http.Request, u *store.User, pw, detail string) (ok bool, locked time.Time, err error)
	// Mark seals the time at for purpose, bound to bound.
	Mark(purpose, bound string, at time.Time) string
	// OpenMark returns the time a Mark of purpose and bound holds, if it is
	// valid, not in the future and not older than life.
	OpenMark(purpose, mark, bound string, life time.Duration) (time.Time, bool)
}

// stepUpPurpose names the API's marks among the server's.
const stepUpPurpose = "api-step-up"

// bound is what a caller's mark is bound to: its desktop or its token.
func (c *caller) bound() string {
	if c.device != nil {
		return "device:" + c.device.ID
	}
	return "token:" + c.token.ID
}

var errNoStepUp = &apiError{status: http.StatusServiceUnavailable, code: api.CodeUnavailable,
	msg: "This server cannot confirm who you are through the API; use the web pages."}

// fresh refuses act to c unless act needs no fresh sign-in or the request
// carries c's step-up mark from the last household.StepUpWindow.
func (h *handler) fresh(r *http.Request, c *caller, act household.Action) error {
	if !household.NeedsFreshSignIn(act) {
		return nil
	}
	if h.stepUp != nil {
		mark := r.Header.Get(api.StepUpHeader)
		if _, ok := h.stepUp.OpenMark(stepUpPurpose, mark, c.bound(), household.StepUpWindow); ok {
			return nil
		}
	}
	return &apiError{status: http.StatusForbidden, code: api.CodeStepUpRequired,
		msg: fmt.Sprintf("For your safety, confirm it is you to %s: POST /api/v1/step-up with the account's password or a security key, then send its step_up as the %s header within %d minutes.",
			act.Words(), api.StepUpHeader, int(household.StepUpWindow.Minutes())),
		wwwAuth: fmt.Sprintf(`Bearer realm="countersign", error="insufficient_user_authentication", max_age="%d"`, int(household.StepUpWindow.Seconds()))}
}

// stepUpNow confirms it is the account's person with the password or a
// security key of the caller's member, and answers with the mark.
func (h *handler) stepUpNow(w http.ResponseWriter, r *http.Request, c *caller) error {
	if h.stepUp == nil {
		return errNoStepUp
	}
	var body api.StepUpRequest
	if err := h.decode(w, r, &body, false); err != nil {
		return err
	}
	var how string
	switch {
	case body.Password != "" && (body.ChallengeID != "" || len(body.Credential) > 0):
		return errBadRequest("Send either password or a security key's answer (challenge_id and credential), not both.")
	case body.Password != "":
		ok, locked, err := h.stepUp.CheckPassword(r, c.user, body.Password, "Wrong password confirming it is you "+c.via())
		if err != nil {
			return err
		}
		if !locked.IsZero() {
			wait := max(1, int(math.Ceil(locked.Sub(h.now()).Seconds())))
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			return &apiError{status: http.StatusTooManyRequests, code: api.CodeTooManyAttempts,
				msg: fmt.Sprintf("Sign-in is locked after wrong passwords: try again in %s.", minutes(wait))}
		}
		if !ok {
			return &apiError{status: http.StatusForbidden, code: api.CodeWrongPassword,
				msg: "That is not the account's password. Wrong passwords count as failed sign-ins and lock sign-in for a while."}
		}
		how = "the password"
	case body.ChallengeID != "":
		if h.keys == nil {
			return errNoKeys
		}
		k, err := h.keys.FinishLogin(r.Context(), c.user, body.ChallengeID, body.Credential)
		if errors.Is(err, seckey.ErrVerify) {
			h.record(r, c, store.ActTwoStepFailed, false, "A security key's answer did not verify confirming it is you "+c.via())
		}
		if err != nil {
			return keyError(err)
		}
		if k.MemberID != c.member.ID {
			return errForbidden("The security key %q is not %s's: confirm with one of theirs, or with the password.", k.Name, c.member.Name)
		}
		how = fmt.Sprintf("security key %q", k.Name)
	default:
		return errBadRequest("Send password, or a security key's answer (challenge_id and credential) to a challenge from POST /api/v1/security-keys/assertions.")
	}
	now := h.now()
	h.record(r, c, store.ActConfirmed, true, fmt.Sprintf("Confirmed with %s %s", how, c.via()))
	writeJSON(w, http.StatusOK, api.StepUp{
		Token:     h.stepUp.Mark(stepUpPurpose, c.bound(), now),
		ExpiresAt: utc(now.Add(household.StepUpWindow)),
	})
	return nil
}

// minutes says a wait of s seconds in whole minutes, at least one.
func minutes(s int) string {
	m := (s + 59) / 60
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
