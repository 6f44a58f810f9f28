package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// The pages follow the permission table of internal/household, as API v1
// does: a browser session acts as the member whose second step signed it
// in (store.Session.MemberID). act refuses a session
// whose column says no before the handler runs; handlers of actions a
// member may do to their own call permits with the member of what they act
// on.

// pageAs registers a page for signed-in sessions that does a.
func (s *Server) pageAs(mux *http.ServeMux, pattern string, a household.Action, h handlerFunc) {
	s.actions[pattern] = a
	s.page(mux, pattern, full, s.act(a, h))
}

// jsonAs is pageAs for a JSON endpoint of the WebAuthn script.
func (s *Server) jsonAs(mux *http.ServeMux, pattern string, a household.Action, h handlerFunc) {
	s.actions[pattern] = a
	s.jsonRoute(mux, pattern, full, s.act(a, h))
}

// act wraps the handler of a page that does a: it finds the session's
// member (st.member) and refuses what the session's column forbids.
func (s *Server) act(a household.Action, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, st *reqState) error {
		m, err := s.store.Member(r.Context(), st.user.ID, st.sess.MemberID)
		if err != nil {
			return fmt.Errorf("the session's member: %w", err)
		}
		st.member = m
		if rule := household.RuleOf(sessionCaller(m), a); rule != household.Yes && rule != household.Own {
			return &userError{http.StatusForbidden, household.Refusal(sessionCaller(m), a, nil)}
		}
		if household.NeedsFreshSignIn(a) && s.now().Sub(st.sess.CreatedAt) > household.StepUpWindow {
			return s.stepUp(w, r, st, a)
		}
		return h(w, r, st)
	}
}

// stepUpParam marks the page a browser goes back to after signing in again
// for an action that needs a fresh sign-in: the sign-in page asks a signed-in
// browser to sign in when next carries a valid mark newer than its sign-in.
const stepUpParam = "countersign_fresh"

// stepUp sends a browser whose sign-in is older than the step-up window to
// sign in again, then back to the page it was on, with a flash that says
// why. The action is not done: the person does it again, freshly signed in.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request, st *reqState, a household.Action) error {
	back := "/account/security"
	if r.Method == http.MethodGet {
		back = r.URL.RequestURI()
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" {
		back = ref.RequestURI()
	}
	back = safeNext(back)
	to := "/signin?next=" + url.QueryEscape(s.markStepUp(back))
	if st.json {
		return &userError{http.StatusForbidden, "For your safety, sign in again to " + a.Words() + ": " + s.public.ResolveReference(&url.URL{Path: "/signin"}).String() + " (you will come back here)."}
	}
	s.flash(w, "For your safety, sign in again to "+a.Words()+", then do it once more.")
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// markStepUp returns next with a mark of now.
func (s *Server) markStepUp(next string) string {
	u, err := url.Parse(next)
	if err != nil {
		return next
	}
	q := u.Query()
	q.Set(stepUpParam, s.timeMark("step-up", u.Path, s.now()))
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// stepUpMark returns when next's mark was made, if it carries a valid one
// younger than the window.
func (s *Server) stepUpMark(next string) (time.Time, bool) {
	u, err := url.Parse(next)
	if err != nil || u.Host != "" {
		return time.Time{}, false
	}
	return s.openTimeMark("step-up", u.Query().Get(stepUpParam), u.Path, household.StepUpWindow)
}

// sessionCaller is the column of a session acting as m.
func sessionCaller(m *store.Member) household.Caller {
	if m.Role == api.RoleOwner {
		return household.OwnerBrowser
	}
	return household.MemberBrowser
}

// permits refuses the session a done to something of the member target,
// unless its column allows it (act has set st.member).
func (s *Server) permits(r *http.Request, st *reqState, a household.Action, target string) error {
	if household.Permits(sessionCaller(st.member), a, st.member.ID, target) {
		return nil
	}
	m, err := s.store.Member(r.Context(), st.user.ID, target)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("the member of a refused change: %w", err)
	}
	return &userError{http.StatusForbidden, household.Refusal(sessionCaller(st.member), a, m)}
}
