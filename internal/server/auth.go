package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/names"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/ratelimit"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/uainfo"
)

// Messages of the sign-in pages. The same one answers an unknown account and
// a wrong password.
const (
	msgBadLogin = "The email or mobile number and password you entered don't match an account."
	msgTooFast  = "Too many attempts from here. Wait a minute and try again."
	nextCookie  = "cs_next"
)

// normalizeLogin reads what people type in the login field: an email
// address (lower-cased) or a mobile number with its country code (+…,
// spaces, dots, hyphens and brackets allowed), returned as E.164.
func normalizeLogin(in string) (email, phone string, ok bool) {
	in = strings.TrimSpace(in)
	if strings.Contains(in, "@") {
		a, err := mail.ParseAddress(in)
		if err != nil || a.Address != in || len(in) > 254 || strings.ContainsAny(in, " <>\"") {
			return "", "", false
		}
		at := strings.LastIndexByte(in, '@')
		if at < 1 || !strings.Contains(in[at+1:], ".") {
			return "", "", false
		}
		return strings.ToLower(in), "", true
	}
	p := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, in)
	if len(p) < 9 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return "", "", false
	}
	for _, r := range p[1:] {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	return "", p, true
}

// loginKey is what was typed as the rate limits and ghost locks know it:
// the email or E.164 number, or the text itself lower-cased.
func loginKey(login string) (key string, ok bool) {
	email, phone, ok := normalizeLogin(login)
	if !ok {
		return strings.ToLower(strings.TrimSpace(login)), false
	}
	return email + phone, true
}

// findUser looks an account up by what was typed; ErrNotFound for anything
// that is not a known email or number.
func (s *Server) findUser(ctx context.Context, login string) (*store.User, string, error) {
	key, ok := loginKey(login)
	if !ok {
		return nil, key, store.ErrNotFound
	}
	u, err := s.store.UserByLogin(ctx, key)
	return u, key, err
}

type signupForm struct{ Name, Login string }

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if st.sess != nil && st.sess.Stage == store.StageFull {
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "signup", &view{Title: "Create account", D: signupForm{}})
	return nil
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	f := signupForm{Name: strings.TrimSpace(r.PostFormValue("name")), Login: strings.TrimSpace(r.PostFormValue("login"))}
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	// show answers with msg about the field (a form's field name; "" for
	// the whole form).
	show := func(status int, field, msg string) error {
		s.render(w, r, status, "signup", &view{Title: "Create account", Error: msg, Field: field, D: f})
		return nil
	}
	if !s.ipLimit.Allow("signup:" + st.ip) {
		return show(http.StatusTooManyRequests, "", msgTooFast)
	}
	email, phone, ok := normalizeLogin(f.Login)
	_, nameErr := names.Check(f.Name, 100)
	switch {
	case f.Name == "":
		return show(http.StatusBadRequest, "name", "Enter your name.")
	case errors.Is(nameErr, names.ErrTooLong):
		return show(http.StatusBadRequest, "name", "Your name can be at most 100 characters.")
	case nameErr != nil:
		return show(http.StatusBadRequest, "name", "Enter your name "+names.Rule+".")
	case !ok:
		return show(http.StatusBadRequest, "login", "Enter an email address, or a mobile number with its country code (like +1 206 555 0100).")
	case pw != confirm:
		return show(http.StatusBadRequest, "password_confirm", "The passwords don't match.")
	}
	if err := password.Check(pw, f.Name, email, phone); err != nil {
		return show(http.StatusBadRequest, "password", passwordMessage(err))
	}
	u, err := s.newUser(ctx, f.Name, email, phone, pw)
	if errors.Is(err, store.ErrConflict) {
		return show(http.StatusConflict, "login", "An account with this email or mobile number exists already. Sign in, or reset its password.")
	}
	if err != nil {
		return err
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActSignUp, true, ""); err != nil {
		return err
	}
	if err := s.startSession(ctx, w, r, st, u, store.StageFull, "", ""); err != nil {
		return err
	}
	if err := s.watchSignIn(ctx, r, st, u); err != nil {
		return err
	}
	s.flash(w, "Welcome to Countersign. Turn on two-step verification to protect your account.")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
	return nil
}

// passwordMessage turns a password.Check error into words for people.
func passwordMessage(err error) string {
	switch {
	case errors.Is(err, password.ErrTooShort), errors.Is(err, password.ErrTooLong),
		errors.Is(err, password.ErrCommon), errors.Is(err, password.ErrLikeAccount):
		msg := err.Error()
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	return "Choose another password."
}

type signinForm struct {
	Login string
	Next  string
	App   string // the app an OAuth sign-in continues to, named on the page
}

// appOf is the name of the app whose authorization request next is ("" when
// next is none, or names no app this server knows).
func (s *Server) appOf(ctx context.Context, next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Path != "/oauth/authorize" || u.Host != "" || s.oauth == nil {
		return ""
	}
	id := u.Query().Get("client_id")
	if id == "" {
		return ""
	}
	c, err := s.oauth.Client(ctx, id)
	if err != nil {
		return ""
	}
	return c.Name
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	next := r.URL.Query().Get("next")
	if st.sess != nil && st.sess.Stage == store.StageFull && !s.reauthenticating(st, next) {
		http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
		return nil
	}
	s.signInFormsReach(r.Context(), w, next)
	s.render(w, r, http.StatusOK, "signin", &view{Title: "Sign in", WebAuthn: true, D: signinForm{Next: next, App: s.appOf(r.Context(), next)}})
	return nil
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	f := signinForm{Login: strings.TrimSpace(r.PostFormValue("login")), Next: r.PostFormValue("next")}
	f.App = s.appOf(ctx, f.Next)
	pw := r.PostFormValue("password")
	show := func(status int, msg string) error {
		s.signInFormsReach(ctx, w, f.Next)
		s.render(w, r, status, "signin", &view{Title: "Sign in", Error: msg, WebAuthn: true, D: f})
		return nil
	}
	if f.Login == "" || pw == "" {
		return show(http.StatusBadRequest, "Enter your email or mobile number and your password.")
	}
	u, key, err := s.findUser(ctx, f.Login)
	if !s.ipLimit.Allow("signin:"+st.ip) || !s.acctLimit.Allow("signin:"+key) {
		s.metrics.signin("limited")
		return show(http.StatusTooManyRequests, msgTooFast)
	}
	now := s.now()
	// What is known of the login before its password is checked: its
	// failures and lock, from the account or, for an unknown login, from the
	// ghost locks. An unknown or locked login is checked against the dummy
	// hash, which takes the time a real check takes.
	var seen loginFailures
	hash := s.dummyHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
		seen = s.ghosts.get(key)
	case err != nil:
		return err
	default:
		seen = loginFailures{n: u.FailedLogins, until: u.LockedUntil}
	}
	locked := now.Before(seen.until)
	if u != nil && !locked {
		hash = u.PasswordHash
	}
	ok, err := s.verifyPassword(ctx, hash, pw)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if u == nil || locked || !ok {
		return show(s.refuseSignIn(r, st, u, key, seen, locked, now))
	}
	if password.NeedsRehash(u.PasswordHash, s.pwParams) {
		if h, err := s.hashPassword(ctx, pw); err == nil {
			u.PasswordHash = h
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
	}
	next := safeNext(f.Next)
	if !u.TwoStep {
		if err := s.completeSignIn(ctx, w, r, st, u, "", "", "Password"); err != nil {
			return err
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	d, err := s.trustedDevice(ctx, r, st, u)
	if err != nil {
		return err
	}
	if d != nil {
		if err := s.completeSignIn(ctx, w, r, st, u, d.ID, d.MemberID, "Password on trusted browser "+d.Name); err != nil {
			return err
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	s.metrics.signin("two_step")
	if err := s.startSession(ctx, w, r, st, u, store.StagePassword, "", ""); err != nil {
		return err
	}
	if next != "/account/security" {
		s.setCookie(w, nextCookie, next, now.Add(pendingLifetime))
	}
	http.Redirect(w, r, "/signin/verify", http.StatusSeeOther)
	return nil
}

// lockedMessage is the sign-in form's answer while the account (or the
// unknown login) is locked: the usual words, then how long to wait.
func lockedMessage(until, now time.Time) string {
	return msgBadLogin + " " + tooManyAttempts(until, now)
}

// tooManyAttempts says how long a lock lasts without saying whose.
func tooManyAttempts(until, now time.Time) string {
	m := int(math.Ceil(until.Sub(now).Minutes()))
	unit := "minutes"
	if m <= 1 {
		m, unit = 1, "minute"
	}
	return fmt.Sprintf("Too many attempts; try again in %d %s.", m, unit)
}

// loginFailures is what a login's failed attempts left: how many in a row
// and the end of the lock they caused.
type loginFailures struct {
	n     int
	until time.Time
}

// lockEnd is the end of the lock the n-th failure in a row at now causes;
// zero for none.
func lockEnd(n int, now time.Time) time.Time {
	if b := ratelimit.Backoff(n); b > 0 {
		return now.Add(b)
	}
	return time.Time{}
}

// refuseSignIn answers a sign-in with a wrong password, an unknown login or
// a lock in force: it returns the status and message of the answer. The
// answer comes from what was read before the password was checked (the
// failures so far and the lock), for a real account and an unknown login
// alike, and recording the attempt is queued for after the answer: for an
// account the failure count, the lock and the activity log (database
// writes), for an unknown login its ghost lock. So neither the words nor
// the time of the answer tell whether the account exists.
func (s *Server) refuseSignIn(r *http.Request, st *reqState, u *store.User, key string, seen loginFailures, locked bool, now time.Time) (int, string) {
	from := originOf(r, st)
	until := seen.until
	var record func(ctx context.Context) error
	if locked {
		s.metrics.signin("locked")
		record = func(ctx context.Context) error {
			if u == nil {
				return nil // an unknown login's refusal changes nothing
			}
			return s.addActivity(ctx, from, u.ID, store.ActSignInFailed, false, "Refused: sign-in is locked after failed attempts")
		}
	} else {
		s.metrics.signin("failure")
		if until = lockEnd(seen.n+1, now); !until.IsZero() {
			s.metrics.signin("locked")
		}
		record = func(ctx context.Context) error {
			if u == nil {
				s.ghosts.fail(key, now)
				return nil
			}
			_, err := s.recordFailure(ctx, from, u.ID, now, store.ActSignInFailed, "Wrong password")
			return err
		}
	}
	st.later("record a failed sign-in", record)
	if until.IsZero() {
		return http.StatusUnauthorized, msgBadLogin
	}
	return http.StatusTooManyRequests, lockedMessage(until, now)
}

// loginFailed counts a wrong password or second-step code of a signed-in
// (or half signed-in) person against the account and records it; it
// returns the end of the lock it caused, if any. now is the time the
// caller's answer counts the lock from, so that the answer says the wait
// the lock has.
func (s *Server) loginFailed(ctx context.Context, r *http.Request, st *reqState, u *store.User, now time.Time, kind, detail string) (time.Time, error) {
	until, err := s.recordFailure(ctx, originOf(r, st), u.ID, now, kind, detail)
	if err == nil && !until.IsZero() {
		s.metrics.signin("locked")
	}
	return until, err
}

// recordFailure counts a failure against the account, locks it when the
// count calls for it (from now) and records both in the activity log; it
// returns the end of the lock it caused, if any.
func (s *Server) recordFailure(ctx context.Context, from origin, userID string, now time.Time, kind, detail string) (time.Time, error) {
	n, err := s.store.RecordLoginFailure(ctx, userID, func(n int) time.Time { return lockEnd(n, now) })
	if err != nil {
		return time.Time{}, fmt.Errorf("record failure: %w", err)
	}
	if err := s.addActivity(ctx, from, userID, kind, false, detail); err != nil {
		return time.Time{}, err
	}
	b := ratelimit.Backoff(n)
	if b == 0 {
		return time.Time{}, nil
	}
	detail = fmt.Sprintf("Sign-in locked for %s after %d failed attempts", humanDuration(b), n)
	if err := s.addActivity(ctx, from, userID, store.ActLockedOut, false, detail); err != nil {
		return time.Time{}, err
	}
	return now.Add(b), nil
}

func humanDuration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	m := int(math.Ceil(d.Minutes()))
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// completeSignIn ends a successful sign-in: failures forgotten, a new
// signed-in session, the event logged, and an alert when the browser or
// place is new (watchSignIn). Every sign-in path ends here. The session acts as memberID, the
// member whose second step signed it in ("": the owner, for the account's
// own password, codes and authenticator).
func (s *Server) completeSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, u *store.User, deviceID, memberID, detail string) error {
	if u.FailedLogins > 0 || !u.LockedUntil.IsZero() {
		if err := s.store.ResetLoginFailures(ctx, u.ID); err != nil {
			return fmt.Errorf("reset failures: %w", err)
		}
	}
	if err := s.startSession(ctx, w, r, st, u, store.StageFull, deviceID, memberID); err != nil {
		return err
	}
	s.metrics.signin("success")
	if err := s.activity(ctx, r, st, u.ID, store.ActSignIn, true, detail); err != nil {
		return err
	}
	return s.watchSignIn(ctx, r, st, u)
}

// takeNext is where a finished sign-in goes (remembered across the second
// step in a cookie).
func (s *Server) takeNext(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(nextCookie)
	if err != nil {
		return "/account/security"
	}
	s.clearCookie(w, nextCookie)
	return safeNext(c.Value)
}

// trustedDevice is this browser's trusted-device record for u, if its
// cs_device cookie proves one that is still trusted.
func (s *Server) trustedDevice(ctx context.Context, r *http.Request, st *reqState, u *store.User) (*store.Device, error) {
	c, err := r.Cookie(deviceCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	d, err := s.store.DeviceByToken(ctx, sha(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trusted device: %w", err)
	}
	now := s.now()
	if d.UserID != u.ID || !now.Before(d.TrustedUntil) {
		return nil, nil
	}
	d.LastSeenAt, d.IP, d.UserAgent = now, st.ip, truncate(r.UserAgent(), 512)
	if err := s.store.UpdateDevice(ctx, d); err != nil {
		return nil, fmt.Errorf("update device: %w", err)
	}
	return d, nil
}

// trustDevice makes this browser a trusted device of u, belonging to the
// household member memberID ("" for the owner).
func (s *Server) trustDevice(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, u *store.User, memberID string) (*store.Device, error) {
	tok, err := s.newToken()
	if err != nil {
		return nil, err
	}
	info := uainfo.Parse(r.UserAgent())
	now := s.now()
	kind := info.Kind
	switch kind {
	case uainfo.Desktop, uainfo.Phone, uainfo.Tablet, uainfo.TV:
	default:
		kind = "browser"
	}
	d := &store.Device{
		ID:           s.newID(),
		UserID:       u.ID,
		Name:         deviceName(info),
		Kind:         kind,
		Browser:      info.Browser,
		OS:           info.OS,
		IP:           st.ip,
		UserAgent:    truncate(r.UserAgent(), 512),
		TokenHash:    sha(tok),
		MemberID:     memberID,
		CreatedAt:    now,
		LastSeenAt:   now,
		TrustedUntil: now.Add(deviceTrust),
	}
	if err := s.store.AddDevice(ctx, d); err != nil {
		return nil, fmt.Errorf("add device: %w", err)
	}
	s.setCookie(w, deviceCookie, tok, d.TrustedUntil)
	return d, s.activity(ctx, r, st, u.ID, store.ActDeviceTrusted, true, d.Name)
}

// deviceName is "Chrome on Linux": the browser without its version.
func deviceName(info uainfo.Info) string {
	b := info.Browser
	if i := strings.LastIndexByte(b, ' '); i > 0 && strings.IndexAny(b[i+1:], "0123456789") == 0 {
		b = b[:i]
	}
	switch {
	case b != "" && info.OS != "":
		return b + " on " + info.OS
	case b != "":
		return b
	case info.OS != "":
		return "Browser on " + info.OS
	}
	return "Browser"
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	if st.sess != nil && st.sess.Stage == store.StageFull {
		if err := s.activity(ctx, r, st, st.user.ID, store.ActSignOut, true, ""); err != nil {
			return err
		}
	}
	if err := s.endSession(ctx, w, st); err != nil {
		return err
	}
	s.flash(w, "You are signed out.")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

// origin is where a request came from, as the activity log keeps it; work
// done after the answer takes it along.
type origin struct{ ip, userAgent string }

func originOf(r *http.Request, st *reqState) origin {
	return origin{ip: st.ip, userAgent: truncate(r.UserAgent(), 512)}
}

// activity records a security event with the request's IP and browser.
func (s *Server) activity(ctx context.Context, r *http.Request, st *reqState, userID, kind string, ok bool, detail string) error {
	return s.addActivity(ctx, originOf(r, st), userID, kind, ok, detail)
}

// addActivity records a security event that came from from.
func (s *Server) addActivity(ctx context.Context, from origin, userID, kind string, ok bool, detail string) error {
	a := &store.Activity{
		UserID:    userID,
		At:        s.now(),
		Kind:      kind,
		OK:        ok,
		IP:        from.ip,
		UserAgent: from.userAgent,
		Detail:    detail,
	}
	if err := s.store.AddActivity(ctx, a); err != nil {
		return fmt.Errorf("activity %s: %w", kind, err)
	}
	for _, what := range changedBy(kind) {
		s.house.Changed(ctx, userID, what)
	}
	return nil
}

// changedBy says what an activity of kind changed on the companions'
// dashboards (api.Changed…), which are then told.
func changedBy(kind string) []string {
	switch kind {
	case store.ActSignIn, store.ActSignOut, store.ActSessionRevoked, store.ActPasswordChanged, store.ActPasswordReset:
		return []string{api.ChangedSessions}
	case store.ActTwoStepOn, store.ActTwoStepOff, store.ActMethodAdded, store.ActMethodRemoved, store.ActBackupCodes:
		return []string{api.ChangedAccount}
	case store.ActKeyAdded, store.ActKeyRemoved, store.ActPasskeyAdded, store.ActPasskeyRemoved:
		return []string{api.ChangedDevices, api.ChangedAccount}
	case store.ActDeviceTrusted, store.ActDeviceRenamed, store.ActDeviceRemoved, store.ActDeviceMoved:
		return []string{api.ChangedDevices}
	case store.ActOAuthGranted, store.ActOAuthRevoked:
		return []string{api.ChangedApps}
	}
	return nil
}

// ghostLocks locks unknown logins the way RecordLoginFailure locks accounts,
// so lockout does not reveal which accounts exist. It is per instance and
// bounded.
type ghostLocks struct {
	mu sync.Mutex
	m  map[string]loginFailures
}

const maxGhosts = 10000

func (g *ghostLocks) get(key string) loginFailures {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[key]
}

// fail counts a failure of the unknown login key at now, as
// RecordLoginFailure does for an account.
func (g *ghostLocks) fail(key string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil || len(g.m) >= maxGhosts {
		g.m = map[string]loginFailures{}
	}
	e := g.m[key]
	e.n++
	e.until = lockEnd(e.n, now)
	g.m[key] = e
}
