package server

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/store"
)

// Cookie names.
const (
	sessionCookie = "cs_session" // base64url(32 random bytes); the store keeps hex(SHA-256)
	deviceCookie  = "cs_device"  // a trusted device's token
	csrfCookie    = "cs_csrf"    // binds anonymous forms' CSRF tokens to this browser
	flashCookie   = "cs_flash"   // a one-time message for the next page, signed
)

func (s *Server) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if !expires.IsZero() {
		c.Expires = expires
		c.MaxAge = max(1, int(expires.Sub(s.now()).Seconds()))
	}
	http.SetCookie(w, c)
}

func (s *Server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func sessionID(cookie string) string { return hex.EncodeToString(sha(cookie)) }

// loadSession finds the request's session and user. A session past its idle
// limit ends here; LastSeenAt is written at most once a minute.
func (s *Server) loadSession(w http.ResponseWriter, r *http.Request, st *reqState) error {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		st.anonID = c.Value
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx := r.Context()
	sess, err := s.store.Session(ctx, sessionID(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		s.clearCookie(w, sessionCookie)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load session: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || (sess.Stage == store.StageFull && now.Sub(sess.LastSeenAt) > fullIdle) {
		if err := s.store.DeleteSession(ctx, sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("end idle session: %w", err)
		}
		s.clearCookie(w, sessionCookie)
		return nil
	}
	u, err := s.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		s.clearCookie(w, sessionCookie)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load session user: %w", err)
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery || sess.IP != st.ip {
		if err := s.store.TouchSession(ctx, sess.ID, now, st.ip); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt, sess.IP = now, st.ip
	}
	st.sess, st.user = sess, u
	return nil
}

// startSession replaces the request's session (if any) with a new one at
// stage for u: a new cookie value on every sign-in step and privilege change.
// Its sign-in time is now: signing in again while signed in is a fresh
// sign-in (prompt=login and max_age rely on it). It acts as memberID.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, u *store.User, stage store.SessionStage, deviceID, memberID string) error {
	return s.replaceSession(ctx, w, r, st, u, stage, deviceID, memberID, st.method, s.now())
}

func (s *Server) replaceSession(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, u *store.User, stage store.SessionStage, deviceID, memberID, method string, created time.Time) error {
	if st.sess != nil {
		if err := s.store.DeleteSession(ctx, st.sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("end old session: %w", err)
		}
	}
	tok, err := s.newToken()
	if err != nil {
		return err
	}
	now := s.now()
	life := fullLifetime
	if stage == store.StagePassword {
		life = pendingLifetime
	}
	sess := &store.Session{
		ID:         sessionID(tok),
		UserID:     u.ID,
		DeviceID:   deviceID,
		MemberID:   memberID,
		Stage:      stage,
		Method:     method,
		IP:         st.ip,
		UserAgent:  truncate(r.UserAgent(), 512),
		CreatedAt:  created,
		LastSeenAt: now,
		ExpiresAt:  now.Add(life),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	s.setCookie(w, sessionCookie, tok, sess.ExpiresAt)
	st.sess, st.user = sess, u
	return nil
}

// rotateSession gives the signed-in session a new id (after a privilege
// change), keeping its device binding, and its alerts and apps' tokens
// follow it (store.MoveSignIn).
func (s *Server) rotateSession(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState) error {
	old := st.sess.ID
	if err := s.replaceSession(ctx, w, r, st, st.user, store.StageFull, st.sess.DeviceID, st.sess.MemberID, st.sess.Method, st.sess.CreatedAt); err != nil { // not a new sign-in
		return err
	}
	return s.store.MoveSignIn(ctx, st.user.ID, old, st.sess.ID, s.oidcSID(old), s.oidcSID(st.sess.ID))
}

// endSession signs the browser out.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, st *reqState) error {
	if st.sess != nil {
		if err := s.store.DeleteSession(ctx, st.sess.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("end session: %w", err)
		}
	}
	s.clearCookie(w, sessionCookie)
	st.sess, st.user = nil, nil
	return nil
}

// csrfToken is the token the request's forms carry: bound to the session
// when there is one, else to the browser's cs_csrf cookie (set here when
// missing).
func (s *Server) csrfToken(w http.ResponseWriter, st *reqState) string {
	if st.sess != nil {
		return base64.RawURLEncoding.EncodeToString(s.mac("csrf-session", st.sess.ID))
	}
	if st.anonID == "" {
		tok, err := s.newToken()
		if err != nil {
			return ""
		}
		st.anonID = tok
		s.setCookie(w, csrfCookie, tok, time.Time{})
	}
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf-anon", st.anonID))
}

// checkCSRF refuses a POST from another site or without the right token.
func (s *Server) checkCSRF(r *http.Request, st *reqState) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return errCSRF
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || (u.Host != r.Host && u.Host != s.public.Host) {
			return errCSRF
		}
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && !st.json {
		// A form cut off at maxFormBytes has lost its token with the rest:
		// say it was too large, not that it expired.
		for _, parse := range []func() error{r.ParseForm, func() error { return r.ParseMultipartForm(maxFormBytes) }} {
			if tooBig := (*http.MaxBytesError)(nil); errors.As(parse(), &tooBig) {
				return tooBig
			}
		}
		got = r.PostFormValue("csrf")
	}
	if got == "" {
		return errCSRF
	}
	raw, err := base64.RawURLEncoding.DecodeString(got)
	if err != nil {
		return errCSRF
	}
	var want []byte
	switch {
	case st.sess != nil:
		want = s.mac("csrf-session", st.sess.ID)
	case st.anonID != "":
		want = s.mac("csrf-anon", st.anonID)
	default:
		return errCSRF
	}
	if !hmac.Equal(raw, want) {
		return errCSRF
	}
	return nil
}

// flash leaves a message for the next page the browser shows.
func (s *Server) flash(w http.ResponseWriter, msg string) {
	v := base64.RawURLEncoding.EncodeToString([]byte(msg))
	sig := base64.RawURLEncoding.EncodeToString(s.mac("flash", v)[:16])
	s.setCookie(w, flashCookie, v+"."+sig, s.now().Add(5*time.Minute))
}

// takeFlash reads and clears the message, if any.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	s.clearCookie(w, flashCookie)
	v, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(raw, s.mac("flash", v)[:16]) {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(msg)
}

// safeNext keeps a post-sign-in destination only when it is a path on this
// server.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\\") {
		return "/account/security"
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return "/account/security"
	}
	if strings.HasPrefix(u.Path, "/signin") || strings.HasPrefix(u.Path, "/signout") || strings.HasPrefix(u.Path, "/api/") {
		return "/account/security"
	}
	return next
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
