package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/store"
)

// securityData is the "Login & security" page.
type securityData struct {
	Methods     []store.Method // confirmed
	BackupLeft  int
	BackupTotal int
	CanEnable   bool // two-step off and two confirmed methods
	Keys        []store.SecurityKey
	Approvers   []store.Approver
	RequireKey  bool // approving a sign-in takes a security-key touch
	Devices     []store.Device
	CurrentDev  string
	Sessions    []store.Session
	CurrentSess string
	Activity    []store.Activity
	MoreAct     bool
	Tokens      []store.APIToken
	NewToken    string // shown once, right after creation
	BackupCodes []string
	Apps        []authorizedApp // apps signed in to with Countersign
	Household   []houseMember   // owner first, each with their devices
	Now         time.Time
	As          *store.Member // the member this session acts as

	// The section's own: its navigation, the card the last form's error or
	// message belongs to, the overview's things to mend, and the browsers
	// (trusted and signed in) joined.
	Nav       sectionNav
	ErrorCard string
	FlashCard string // "top" for a message of no card
	Attention []attention
	Browsers  []browserRow

	Passkeys []store.SecurityKey // the keys that sign in on their own (Keys holds the others)
	Alerts   store.AlertSettings // the sign-in alerts' channels
}

// MemberName is the name of the member id on a device's row when the
// household has more than one member, "" otherwise (nobody to tell apart).
func (d *securityData) MemberName(id string) string {
	if len(d.Household) < 2 {
		return ""
	}
	for _, m := range d.Household {
		if m.ID == id {
			return m.Name
		}
	}
	return ""
}

// CanMove says whether a device of the member id offers "Move to…": when
// there is another member to give it to and this session may.
func (d *securityData) CanMove(memberID string) (bool, error) {
	if len(d.Household) < 2 {
		return false, nil
	}
	return d.May("MoveDevice", memberID)
}

// Count is "1 desktop", "2 desktops", "no desktops" for the overview.
func (d *securityData) Count(n int, one, many string) string { return count(n, one, many) }

// Say is the sentence for n things: zero, one, or many with %d for n.
func (d *securityData) Say(n int, zero, one, many string) string {
	switch n {
	case 0:
		return zero
	case 1:
		return one
	}
	return fmt.Sprintf(many, n)
}

// May says whether this session may do the action named act (a constant of
// household, "RemoveDevice") to something of the member target ("": the
// account's): the page offers only what it may. An unknown name fails the
// page, so that a typo cannot hide a form.
func (d *securityData) May(act, target string) (bool, error) {
	a, ok := household.ActionNamed(act)
	if !ok {
		return false, fmt.Errorf("the page asks about an action household does not have: %q", act)
	}
	if target == "" {
		target = d.As.ID
	}
	return household.Permits(sessionCaller(d.As), a, d.As.ID, target), nil
}

func (s *Server) securityData(ctx context.Context, st *reqState) (*securityData, error) {
	u := st.user
	d := &securityData{CurrentSess: st.sess.ID, CurrentDev: st.sess.DeviceID, Now: s.now(), As: st.member}
	var err error
	if d.As == nil {
		if d.As, err = s.store.Member(ctx, u.ID, st.sess.MemberID); err != nil {
			return nil, fmt.Errorf("the session's member: %w", err)
		}
	}
	if d.Methods, err = s.confirmedMethods(ctx, u.ID); err != nil {
		return nil, err
	}
	d.CanEnable = !u.TwoStep && len(d.Methods) >= 2
	codes, err := s.store.BackupCodes(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("backup codes: %w", err)
	}
	d.BackupTotal = len(codes)
	for _, c := range codes {
		if c.UsedAt.IsZero() {
			d.BackupLeft++
		}
	}
	if d.Keys, err = s.store.SecurityKeys(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("security keys: %w", err)
	}
	d.Keys, d.Passkeys = splitPasskeys(d.Keys)
	if d.Approvers, err = s.approvals.Approvers(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	if d.RequireKey, err = s.approvals.RequireKey(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("require key: %w", err)
	}
	devs, err := s.store.Devices(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	for _, dv := range devs {
		if d.Now.Before(dv.TrustedUntil) {
			d.Devices = append(d.Devices, dv)
		}
	}
	if d.Sessions, err = s.store.Sessions(ctx, u.ID, d.Now); err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	if d.Alerts, err = s.store.AlertSettings(ctx, u.ID); err != nil {
		return nil, err
	}
	act, err := s.store.ActivityPage(ctx, u.ID, 0, activityPageSize+1)
	if err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	if len(act) > activityPageSize {
		act, d.MoreAct = act[:activityPageSize], true
	}
	d.Activity = act
	if d.Tokens, err = s.store.APITokens(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("api tokens: %w", err)
	}
	grants, err := s.oauth.Grants(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("authorized apps: %w", err)
	}
	d.Apps = authorizedApps(grants)
	if d.Household, err = s.household(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("household: %w", err)
	}
	d.Browsers = browserRows(d.Devices, d.Sessions, d.CurrentSess)
	d.Attention = d.needsAttention(u.TwoStep)
	return d, nil
}

func (s *Server) confirmedMethods(ctx context.Context, userID string) ([]store.Method, error) {
	all, err := s.store.Methods(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("methods: %w", err)
	}
	var ms []store.Method
	for _, m := range all {
		if m.Confirmed {
			ms = append(ms, m)
		}
	}
	return ms, nil
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("That page of activity does not exist.")
		}
		before = n
	}
	const size = 50
	act, err := s.store.ActivityPage(r.Context(), st.user.ID, before, size+1)
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	d := struct {
		Activity []store.Activity
		Older    int64
		Nav      sectionNav
	}{Activity: act, Nav: navAt("/account/activity")}
	if len(act) > size {
		d.Activity = act[:size]
		d.Older = act[size-1].ID
	}
	s.render(w, r, http.StatusOK, "activity", &view{Title: "Activity · Login & security", D: d})
	return nil
}

// Two-step verification: the wizard's hub.

type twoStepData struct {
	Methods     []store.Method
	HasTOTP     bool
	HasPhone    bool
	CanEnable   bool
	BackupCodes []string
}

func (s *Server) twoStepPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	shown := s.takeReveal(w, r, st) // new backup codes, once, or the error of turning on
	ms, err := s.confirmedMethods(r.Context(), st.user.ID)
	if err != nil {
		return err
	}
	d := &twoStepData{Methods: ms, CanEnable: !st.user.TwoStep && len(ms) >= 2, BackupCodes: shown.BackupCodes}
	for _, m := range ms {
		if m.Kind == store.MethodTOTP {
			d.HasTOTP = true
		} else {
			d.HasPhone = true
		}
	}
	s.render(w, r, http.StatusOK, "twostep", &view{Title: "Two-step verification", Error: shown.Error, D: d})
	return nil
}

func (s *Server) twoStepEnable(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	if u.TwoStep {
		http.Redirect(w, r, cardURL("two-step"), http.StatusSeeOther)
		return nil
	}
	ms, err := s.confirmedMethods(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(ms) < 2 {
		return s.refusePage(w, r, st, "/account/two-step", "", "Add a backup method first: a backup method is required.")
	}
	codes, hashes, err := s.newBackupCodes(u.ID)
	if err != nil {
		return err
	}
	if err := s.store.ReplaceBackupCodes(ctx, u.ID, hashes); err != nil {
		return fmt.Errorf("backup codes: %w", err)
	}
	u.TwoStep = true
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("turn on two-step: %w", err)
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActTwoStepOn, true, methodList(ms)); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActBackupCodes, true, "10 new backup codes"); err != nil {
		return err
	}
	if err := s.rotateSession(ctx, w, r, st); err != nil {
		return err
	}
	// Shown once by the page it redirects to: a reload makes no new codes.
	if err := s.reveal(w, st, revealed{BackupCodes: codes}); err != nil {
		return err
	}
	http.Redirect(w, r, "/account/two-step", http.StatusSeeOther)
	return nil
}

func methodList(ms []store.Method) string {
	var names []string
	for _, m := range ms {
		names = append(names, methodName(m))
	}
	return strings.Join(names, ", ")
}

func (s *Server) twoStepDisable(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	if !u.TwoStep {
		http.Redirect(w, r, cardURL("two-step"), http.StatusSeeOther)
		return nil
	}
	a := ask{Title: "Turn off two-step verification?",
		Text:   "Then your password alone signs you in: anyone who learns it gets into your account. Your methods, security keys and desktops are kept, should you turn it on again. Enter your password to turn it off.",
		Button: "Turn off two-step", Back: cardURL("two-step"), Password: true}
	if !s.confirmed(w, r, a) {
		return nil
	}
	ok, err := s.checkCurrentPassword(ctx, r, st, r.PostFormValue("password"))
	if err != nil {
		return err
	}
	if !ok {
		s.askAgain(w, r, http.StatusUnauthorized, "That password is not right, so two-step verification is still on.", a)
		return nil
	}
	u.TwoStep = false
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return fmt.Errorf("turn off two-step: %w", err)
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActTwoStepOff, true, ""); err != nil {
		return err
	}
	if err := s.rotateSession(ctx, w, r, st); err != nil {
		return err
	}
	s.done(w, r, "two-step", "Two-step verification is off. Your methods are kept, should you turn it on again.")
	return nil
}

// checkCurrentPassword verifies the signed-in user's password for a
// sensitive change; a wrong one counts as a failed sign-in.
func (s *Server) checkCurrentPassword(ctx context.Context, r *http.Request, st *reqState, pw string) (bool, error) {
	if !s.acctLimit.Allow("password:" + st.user.ID) {
		return false, &userError{http.StatusTooManyRequests, msgTooFast}
	}
	ok, err := s.verifyPassword(r.Context(), st.user.PasswordHash, pw)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		if _, err := s.loginFailed(ctx, r, st, st.user, s.now(), store.ActSignInFailed, "Wrong password for a settings change"); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func (s *Server) methodRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	m, err := s.store.Method(ctx, u.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if m.Confirmed && u.TwoStep {
		ms, err := s.confirmedMethods(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(ms) <= 2 {
			return s.refuse(w, r, st, "two-step", "",
				"You can't remove this method: a backup method is required while two-step verification is on. Add another method first, or turn two-step verification off.")
		}
	}
	if !s.confirmed(w, r, ask{Title: "Remove " + methodName(*m) + "?",
		Text:   "You will no longer be able to use it for the second step of signing in. You can add it again later.",
		Button: "Remove method", Back: cardURL("two-step")}) {
		return nil
	}
	if err := s.store.DeleteMethod(ctx, u.ID, m.ID); err != nil {
		return err
	}
	if m.Confirmed {
		if err := s.activity(ctx, r, st, u.ID, store.ActMethodRemoved, true, methodName(*m)); err != nil {
			return err
		}
	}
	s.done(w, r, "two-step", methodName(*m)+" is removed.")
	return nil
}

func (s *Server) backupCodesRegenerate(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	if !s.confirmed(w, r, ask{Title: "Get new backup codes?",
		Text:   "Your current backup codes stop working at once, including any you printed or saved. Keep the new ones somewhere safe.",
		Button: "Get new codes", Back: cardURL("backup")}) {
		return nil
	}
	codes, hashes, err := s.newBackupCodes(st.user.ID)
	if err != nil {
		return err
	}
	if err := s.store.ReplaceBackupCodes(ctx, st.user.ID, hashes); err != nil {
		return fmt.Errorf("backup codes: %w", err)
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActBackupCodes, true, "10 new backup codes; the old ones no longer work"); err != nil {
		return err
	}
	if err := s.reveal(w, st, revealed{BackupCodes: codes}); err != nil {
		return err
	}
	http.Redirect(w, r, cardURL("backup"), http.StatusSeeOther)
	return nil
}

// Security keys.

func (s *Server) keyAddBegin(w http.ResponseWriter, r *http.Request, st *reqState) error {
	id, opts, err := s.keys.BeginRegistration(r.Context(), st.user)
	if err != nil {
		return fmt.Errorf("begin key registration: %w", err)
	}
	return writeJSON(w, http.StatusOK, challengeJSON{ChallengeID: id, Options: opts})
}

func (s *Server) keyAddFinish(w http.ResponseWriter, r *http.Request, st *reqState) error {
	return s.finishKeyRegistration(w, r, st, false)
}

func (s *Server) keyRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("id")
	keys, err := s.store.SecurityKeys(ctx, st.user.ID)
	if err != nil {
		return fmt.Errorf("security keys: %w", err)
	}
	name, member := "", ""
	for _, k := range keys {
		if k.ID == id {
			name, member = k.Name, k.MemberID
		}
	}
	if name == "" {
		return errNotFound
	}
	if err := s.permits(r, st, household.RemoveDevice, member); err != nil {
		return err
	}
	if !s.confirmed(w, r, ask{Title: "Remove the security key “" + name + "”?",
		Text:   "It will no longer sign in to this account or confirm it is you. To use it again, add it again.",
		Button: "Remove key", Back: cardURL("security-keys")}) {
		return nil
	}
	if err := s.store.DeleteSecurityKey(ctx, st.user.ID, id); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActKeyRemoved, true, name); err != nil {
		return err
	}
	s.done(w, r, "security-keys", "Security key “"+name+"” is removed.")
	return nil
}

// Trusted devices.

func (s *Server) deviceRename(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	d, err := s.store.Device(ctx, st.user.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.permits(r, st, household.RenameDevice, d.MemberID); err != nil {
		return err
	}
	name, err := names.Check(r.PostFormValue("name"), 64)
	if err != nil {
		return s.refuseEdit(w, r, st, "name", "Give the browser a name of 1 to 64 characters, "+names.Rule+".")
	}
	old := d.Name
	d.Name = name
	if err := s.store.UpdateDevice(ctx, d); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActDeviceRenamed, true, old+" → "+name); err != nil {
		return err
	}
	s.done(w, r, "browsers", "Renamed to “"+name+"”.")
	return nil
}

func (s *Server) deviceRemove(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	d, err := s.store.Device(ctx, st.user.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.permits(r, st, household.RemoveDevice, d.MemberID); err != nil {
		return err
	}
	current := st.sess.DeviceID == d.ID
	text := "It will ask for the second step again, and its sessions are signed out now."
	if current {
		text = "This is the browser you are using: it will ask for the second step again, and you are signed out now."
	}
	if !s.confirmed(w, r, ask{Title: "Stop trusting “" + d.Name + "”?", Text: text,
		Button: "Stop trusting", Back: cardURL("browsers")}) {
		return nil
	}
	// The activity first: removing the device may end this very session.
	if err := s.activity(ctx, r, st, st.user.ID, store.ActDeviceRemoved, true, d.Name); err != nil {
		return err
	}
	if err := s.store.DeleteDevice(ctx, st.user.ID, d.ID); err != nil {
		return err
	}
	if current {
		s.clearCookie(w, deviceCookie)
		s.clearCookie(w, sessionCookie)
		s.flash(w, "This browser is no longer trusted, and you are signed out.")
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	s.done(w, r, "browsers", "“"+d.Name+"” is no longer trusted and its sessions are signed out.")
	return nil
}

// Sessions.

func (s *Server) sessionRevoke(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if id == st.sess.ID {
		return s.signout(w, r, st)
	}
	sessions, err := s.store.Sessions(ctx, st.user.ID, s.now())
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	var sess *store.Session
	for i := range sessions {
		if sessions[i].ID == id {
			sess = &sessions[i]
		}
	}
	if sess == nil {
		return errNotFound
	}
	if err := s.permits(r, st, household.EndSession, sess.MemberID); err != nil {
		return err
	}
	detail := browserOf(sess.UserAgent) + " (" + sess.IP + ")"
	if !s.confirmed(w, r, ask{Title: "Sign out " + detail + "?",
		Text:   "That browser is signed out now and must sign in again.",
		Button: "Sign it out", Back: cardURL("browsers")}) {
		return nil
	}
	if err := s.store.DeleteUserSession(ctx, st.user.ID, id); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActSessionRevoked, true, "Signed out "+detail); err != nil {
		return err
	}
	s.done(w, r, "browsers", "That session is signed out.")
	return nil
}

func (s *Server) sessionsRevokeOthers(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	if !s.confirmed(w, r, ask{Title: "Sign out everywhere else?",
		Text:   "Every other browser signed in to this account is signed out now and must sign in again; this one stays signed in.",
		Button: "Sign out everywhere else", Back: cardURL("browsers")}) {
		return nil
	}
	n, err := s.store.DeleteOtherSessions(ctx, st.user.ID, st.sess.ID)
	if err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActSessionRevoked, true, fmt.Sprintf("Signed out everywhere else (%d sessions)", n)); err != nil {
		return err
	}
	msg := fmt.Sprintf("Signed out of %d other sessions.", n)
	switch n {
	case 0:
		msg = "You were signed in nowhere else."
	case 1:
		msg = "Signed out of 1 other session."
	}
	s.done(w, r, "browsers", msg)
	return nil
}

// API tokens.

func (s *Server) apiTokenCreate(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	name, err := names.Check(r.PostFormValue("name"), 64)
	if err != nil {
		return s.refuse(w, r, st, "api-tokens", "name", "Give the token a name of 1 to 64 characters, "+names.Rule+".")
	}
	scopes := []string{"read"}
	switch r.PostFormValue("scope") {
	case "read":
	case "write":
		scopes = append(scopes, "write")
	default:
		return s.refuse(w, r, st, "api-tokens", "scope", "Choose what the token may do.")
	}
	raw, err := s.randomBytes(32)
	if err != nil {
		return err
	}
	tok := "cs_" + base64.RawURLEncoding.EncodeToString(raw)
	t := &store.APIToken{ID: s.newID(), UserID: st.user.ID, Name: name, Hash: sha(tok), Scopes: scopes, CreatedAt: s.now()}
	if err := s.store.AddAPIToken(ctx, t); err != nil {
		return fmt.Errorf("add api token: %w", err)
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActTokenCreated, true, name+" ("+strings.Join(scopes, ", ")+")"); err != nil {
		return err
	}
	if err := s.reveal(w, st, revealed{APIToken: tok}); err != nil {
		return err
	}
	http.Redirect(w, r, cardURL("api-tokens"), http.StatusSeeOther)
	return nil
}

func (s *Server) apiTokenRevoke(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	id := r.PathValue("id")
	toks, err := s.store.APITokens(ctx, st.user.ID)
	if err != nil {
		return fmt.Errorf("api tokens: %w", err)
	}
	name := ""
	for _, t := range toks {
		if t.ID == id && t.RevokedAt.IsZero() {
			name = t.Name
		}
	}
	if name == "" {
		return errNotFound
	}
	if !s.confirmed(w, r, ask{Title: "Revoke the API token “" + name + "”?",
		Text:   "Scripts and apps that use it stop working at once. This cannot be undone; make a new token if you need one.",
		Button: "Revoke token", Back: cardURL("api-tokens")}) {
		return nil
	}
	if err := s.store.RevokeAPIToken(ctx, st.user.ID, id, s.now()); err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, st.user.ID, store.ActTokenRevoked, true, name); err != nil {
		return err
	}
	s.done(w, r, "api-tokens", "API token “"+name+"” is revoked.")
	return nil
}
