package apiv1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// Who may do what is household's permission table: the routes name their
// action, the route's token scope comes from it (scopeOf), and permit
// decides the rest for the handler that knows what the action is done to.

// kinds are the caller's columns in the permission table: a desktop's
// one, or one per scope of an API token (its rights are their union).
func (c *caller) kinds() []household.Caller {
	switch {
	case c.device != nil && c.owner():
		return []household.Caller{household.OwnerDesktop}
	case c.device != nil:
		return []household.Caller{household.MemberDesktop}
	}
	var ks []household.Caller
	if slices.Contains(c.token.Scopes, scopeRead) {
		ks = append(ks, household.ReadToken)
	}
	if slices.Contains(c.token.Scopes, scopeWrite) {
		ks = append(ks, household.WriteToken)
	}
	return ks
}

// scopeOf is the token scope a route of act needs: the one whose column
// allows it, "approve" (device tokens only) when no API token's does.
func scopeOf(act household.Action) string {
	switch {
	case household.RuleOf(household.ReadToken, act) == household.Yes:
		return scopeRead
	case household.RuleOf(household.WriteToken, act) == household.Yes:
		return scopeWrite
	}
	return scopeApprove
}

// mayAtAll refuses c an action that its columns forbid whatever it is done
// to.
func (h *handler) mayAtAll(c *caller, act household.Action) error {
	ks := c.kinds()
	for _, k := range ks {
		if r := household.RuleOf(k, act); r == household.Yes || r == household.Own {
			return nil
		}
	}
	msg := household.Refusal(ks[0], act, nil)
	if c.device != nil && household.RuleOf(household.OwnerDesktop, act) == household.No {
		// No desktop may, whoever's: the token's kind is at fault.
		return &apiError{status: http.StatusForbidden, code: codeInsufficientScope, msg: msg,
			wwwAuth: `Bearer realm="countersign", error="insufficient_scope"`}
	}
	return errForbidden("%s", msg)
}

// permit says whether c may do act to something that belongs to the member
// target: nil, or a 403 forbidden whose sentence says who can. An API
// token reaching here has the route's scope, and acts as the owner.
func (h *handler) permit(ctx context.Context, c *caller, act household.Action, target string) error {
	own, ks := false, c.kinds()
	for _, k := range ks {
		if household.Permits(k, act, c.member.ID, target) {
			return nil
		}
		own = own || household.RuleOf(k, act) == household.Own
	}
	if !own {
		return errForbidden("%s", household.Refusal(ks[0], act, nil))
	}
	m, err := h.memberOf(ctx, c.user.ID, target)
	if err != nil {
		return fmt.Errorf("looking up the member of a refused change: %w", err)
	}
	return errForbidden("%s", household.Refusal(ks[0], act, m))
}

// memberOf is the household member id of the user's account.
func (h *handler) memberOf(ctx context.Context, userID, id string) (*store.Member, error) {
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
