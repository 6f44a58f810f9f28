package apiv1

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// The household's rules: the owner may do everything; a member may read
// everything, change only their own devices (and the sessions on their own
// trusted browsers) and rename only themselves. permit is where they are
// decided; every handler that changes something asks it first.

// action is a change the household's rules govern.
type action int

const (
	// A member may do these to what is theirs.
	actChangeDevice action = iota // rename, move, remove a device, sign out a trusted browser
	actEndSession                 // end one session
	actRenameMember
	// Only the owner may do these.
	actEndAllSessions
	actRevokeApp
	actAddMember
	actRemoveMember
	actInvite
	actShare
)

// ownerOnly names, for a refusal, the actions only the owner may do.
var ownerOnly = map[action]string{
	actEndAllSessions: "end every session",
	actRevokeApp:      "remove an app's access",
	actAddMember:      "add household members",
	actRemoveMember:   "remove household members",
	actInvite:         "invite a household member's desktop",
	actShare:          "share the account's authenticator or stop sharing it",
}

// permit says whether c may do act to something that belongs to the member
// target ("" is the owner): nil, or a 403 forbidden whose sentence says who
// can.
func (h *handler) permit(ctx context.Context, c *caller, act action, target string) error {
	if c.owner() {
		return nil
	}
	if what, ok := ownerOnly[act]; ok {
		return errForbidden("Only the account's owner can %s.", what)
	}
	if target != "" && target == c.member.ID {
		return nil
	}
	m, err := h.memberOf(ctx, c.user.ID, target)
	if err != nil {
		return fmt.Errorf("looking up the member of a refused change: %w", err)
	}
	if m.Role == api.RoleOwner {
		switch act {
		case actRenameMember:
			return errForbidden("Only %s, the account's owner, can rename %s.", m.Name, m.Name)
		case actEndSession:
			return errForbidden("This session is not on one of your trusted browsers: only the account's owner, %s, can end it.", m.Name)
		}
		return errForbidden("This device belongs to %s, the account's owner: only %s can change it.", m.Name, m.Name)
	}
	switch act {
	case actRenameMember:
		return errForbidden("Only %s or the account's owner can rename %s.", m.Name, m.Name)
	case actEndSession:
		return errForbidden("This session runs on a browser of %s's: only %s or the account's owner can end it.", m.Name, m.Name)
	}
	return errForbidden("This device belongs to %s: only %s or the account's owner can change it.", m.Name, m.Name)
}

// memberOf is the household member id of the user's account ("" is the
// owner).
func (h *handler) memberOf(ctx context.Context, userID, id string) (*store.Member, error) {
	if id == "" {
		return h.store.OwnerMember(ctx, userID)
	}
	m, err := h.store.Member(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if m.UserID != userID { // the store filters by user; never trust one layer alone
		return nil, store.ErrNotFound
	}
	return m, nil
}

// member is the member named in the path, for a change.
func (h *handler) member(r *http.Request, c *caller) (*store.Member, error) {
	m, err := h.memberOf(r.Context(), c.user.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.PathValue("id") == "") {
		return nil, errNoMember
	}
	return m, err
}

var errNoMember = errNotFound("The household has no such member.")

func errForbidden(format string, args ...any) *apiError {
	return &apiError{status: http.StatusForbidden, code: api.CodeForbidden, msg: fmt.Sprintf(format, args...)}
}
