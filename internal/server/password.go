package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/store"
)

const msgResetSent = "If an account uses that email or mobile number, we sent it a link to choose a new password. The link works once, for 30 minutes."

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	s.render(w, r, http.StatusOK, "forgot", &view{Title: "Forgot your password?", D: ""})
	return nil
}

// forgot sends a reset link to the account, if there is one. The answer
// is the same either way and so is its time: the account is looked up, and
// the link made and sent, after the answer.
func (s *Server) forgot(w http.ResponseWriter, r *http.Request, st *reqState) error {
	login := strings.TrimSpace(r.PostFormValue("login"))
	show := func(status int, msg string) error {
		s.render(w, r, status, "forgot", &view{Title: "Forgot your password?", Error: msg, D: login})
		return nil
	}
	if login == "" {
		return show(http.StatusBadRequest, "Enter your email or mobile number.")
	}
	key, _ := loginKey(login)
	if !s.ipLimit.Allow("forgot:"+st.ip) || !s.acctLimit.Allow("forgot:"+key) {
		return show(http.StatusTooManyRequests, msgTooFast)
	}
	from := originOf(r, st)
	st.later("send a reset link", func(ctx context.Context) error { return s.sendResetLink(ctx, from, login) })
	s.render(w, r, http.StatusOK, "forgot", &view{Title: "Check your messages", Flash: msgResetSent, D: "sent"})
	return nil
}

// sendResetLink mails or texts a reset link to the account login names, if
// there is one and it has not had too many sends lately.
func (s *Server) sendResetLink(ctx context.Context, from origin, login string) error {
	u, _, err := s.findUser(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the account: %w", err)
	}
	if !s.sendLimit.Allow("send:" + u.ID) {
		return nil
	}
	tok, err := s.newToken()
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.store.AddResetToken(ctx, &store.ResetToken{Hash: sha(tok), UserID: u.ID, ExpiresAt: now.Add(resetLifetime)}); err != nil {
		return fmt.Errorf("add reset token: %w", err)
	}
	link := s.public.String() + "/password/reset?token=" + tok
	if u.Email != "" {
		err = s.mailer.SendMail(ctx, notify.Mail{
			To:      u.Email,
			Subject: "Reset your Countersign password",
			Text: "Hello " + u.Name + ",\n\n" +
				"Someone, hopefully you, asked to reset the password of your Countersign account.\n" +
				"To choose a new password, open this link within 30 minutes:\n\n" + link + "\n\n" +
				"The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n",
		})
	} else {
		err = s.sms.SendSMS(ctx, notify.SMS{To: u.Phone, Text: "Reset your Countersign password (link valid 30 minutes): " + link})
	}
	if err != nil {
		// The error names the account, never the link.
		return fmt.Errorf("send a reset link to account %s: %w", u.ID, err)
	}
	return s.addActivity(ctx, from, u.ID, store.ActResetRequested, true, "")
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		http.Redirect(w, r, "/password/forgot", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "reset", &view{Title: "Choose a new password", D: tok})
	return nil
}

// reset sets a new password from a reset link: the link is spent, the lock
// lifted and every session ended.
func (s *Server) reset(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	tok := r.PostFormValue("token")
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	show := func(status int, msg string) error {
		s.render(w, r, status, "reset", &view{Title: "Choose a new password", Error: msg, D: tok})
		return nil
	}
	if !s.ipLimit.Allow("reset:" + st.ip) {
		return show(http.StatusTooManyRequests, msgTooFast)
	}
	if pw != confirm {
		return show(http.StatusBadRequest, "The passwords don't match.")
	}
	if err := password.Check(pw); err != nil {
		return show(http.StatusBadRequest, passwordMessage(err))
	}
	const expired = "This link has expired or was used already. Ask for a new one."
	rt, err := s.store.UseResetToken(ctx, sha(tok), s.now())
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUsed) {
		return &userError{http.StatusGone, expired}
	}
	if err != nil {
		return fmt.Errorf("use reset token: %w", err)
	}
	if !s.now().Before(rt.ExpiresAt) {
		return &userError{http.StatusGone, expired}
	}
	u, err := s.store.UserByID(ctx, rt.UserID)
	if err != nil {
		return fmt.Errorf("reset user: %w", err)
	}
	if err := password.Check(pw, u.Name, u.Email, u.Phone); err != nil {
		// The link is spent; this is rare enough (the password is like the
		// account) that asking for a new link is acceptable.
		return show(http.StatusBadRequest, passwordMessage(err)+" Ask for a new link.")
	}
	if err := s.setPassword(r, u, pw); err != nil {
		return err
	}
	if err := s.store.ResetLoginFailures(ctx, u.ID); err != nil {
		return fmt.Errorf("reset failures: %w", err)
	}
	if _, err := s.store.DeleteOtherSessions(ctx, u.ID, ""); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActPasswordReset, true, "Every session was signed out"); err != nil {
		return err
	}
	if err := s.endSession(ctx, w, st); err != nil {
		return err
	}
	s.flash(w, "Your password is changed. Sign in with it.")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

func (s *Server) setPassword(r *http.Request, u *store.User, pw string) error {
	h, err := s.hashPassword(r.Context(), pw)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	u.PasswordHash = h
	u.PasswordChangedAt = s.now()
	if err := s.store.UpdateUser(r.Context(), u); err != nil {
		return fmt.Errorf("update password: %w", err)
	}
	return nil
}

func (s *Server) changePasswordPage(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	s.render(w, r, http.StatusOK, "password", &view{Title: "Change password"})
	return nil
}

// changePassword keeps this browser signed in (with a new session id) and
// signs out every other session.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	show := func(status int, msg string) error {
		s.render(w, r, status, "password", &view{Title: "Change password", Error: msg})
		return nil
	}
	ok, err := s.checkCurrentPassword(ctx, r, st, r.PostFormValue("current"))
	if err != nil {
		return err
	}
	if !ok {
		return show(http.StatusUnauthorized, "Your current password is not right.")
	}
	if pw != confirm {
		return show(http.StatusBadRequest, "The new passwords don't match.")
	}
	if err := password.Check(pw, u.Name, u.Email, u.Phone); err != nil {
		return show(http.StatusBadRequest, passwordMessage(err))
	}
	if err := s.setPassword(r, u, pw); err != nil {
		return err
	}
	if err := s.rotateSession(ctx, w, r, st); err != nil {
		return err
	}
	n, err := s.store.DeleteOtherSessions(ctx, u.ID, st.sess.ID)
	if err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	if err := s.activity(ctx, r, st, u.ID, store.ActPasswordChanged, true, fmt.Sprintf("%d other sessions signed out", n)); err != nil {
		return err
	}
	s.flash(w, "Your password is changed. Other sessions are signed out.")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
	return nil
}
