package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// resetForm is the reset page's data: the link's token, and whether the
// link no longer works (unknown, used or expired), in which case the page
// says so and offers a new one instead of a form.
type resetForm struct {
	Token string
	Dead  bool
}

// msgDeadLink is what a reset link that no longer works gets.
const msgDeadLink = "This link no longer works: it expired or was used already. Send yourself a new one."

// liveResetToken is the reset token of tok if it can still be used.
func (s *Server) liveResetToken(ctx context.Context, tok string) (*store.ResetToken, error) {
	rt, err := s.store.ResetToken(ctx, sha(tok))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reset token: %w", err)
	}
	if !rt.UsedAt.IsZero() || !s.now().Before(rt.ExpiresAt) {
		return nil, nil
	}
	return rt, nil
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request, _ *reqState) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		http.Redirect(w, r, "/password/forgot", http.StatusSeeOther)
		return nil
	}
	// A dead link says so before anyone types a new password.
	rt, err := s.liveResetToken(r.Context(), tok)
	if err != nil {
		return err
	}
	if rt == nil {
		s.render(w, r, http.StatusGone, "reset", &view{Title: "Choose a new password", Error: msgDeadLink, D: resetForm{Dead: true}})
		return nil
	}
	s.render(w, r, http.StatusOK, "reset", &view{Title: "Choose a new password", D: resetForm{Token: tok}})
	return nil
}

// reset sets a new password from a reset link: the link is spent, the lock
// lifted, and every session, API token and app token ended (endSignIns). A
// password the policy refuses leaves the link as it was, to try another.
func (s *Server) reset(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	tok := r.PostFormValue("token")
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	show := func(status int, field, msg string) error {
		s.render(w, r, status, "reset", &view{Title: "Choose a new password", Error: msg, Field: field, D: resetForm{Token: tok}})
		return nil
	}
	dead := func() error {
		s.render(w, r, http.StatusGone, "reset", &view{Title: "Choose a new password", Error: msgDeadLink, D: resetForm{Dead: true}})
		return nil
	}
	if !s.ipLimit.Allow("reset:" + st.ip) {
		return show(http.StatusTooManyRequests, "", msgTooFast)
	}
	rt, err := s.liveResetToken(ctx, tok)
	if err != nil {
		return err
	}
	if rt == nil {
		return dead()
	}
	if pw != confirm {
		return show(http.StatusBadRequest, "password_confirm", "The passwords don't match.")
	}
	u, err := s.store.UserByID(ctx, rt.UserID)
	if err != nil {
		return fmt.Errorf("reset user: %w", err)
	}
	if err := password.Check(pw, u.Name, u.Email, u.Phone); err != nil {
		return show(http.StatusBadRequest, "password", passwordMessage(err))
	}
	// Spent now, once: of two tries at once only one gets through.
	if rt, err = s.store.UseResetToken(ctx, sha(tok), s.now()); errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUsed) {
		return dead()
	} else if err != nil {
		return fmt.Errorf("use reset token: %w", err)
	}
	if rt.UserID != u.ID || !s.now().Before(rt.ExpiresAt) {
		return dead()
	}
	if err := s.setPassword(r, u, pw); err != nil {
		return err
	}
	if err := s.store.ResetLoginFailures(ctx, u.ID); err != nil {
		return fmt.Errorf("reset failures: %w", err)
	}
	if err := s.endSignIns(r, st, u, "", store.ActPasswordReset); err != nil {
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

func (s *Server) changePasswordPage(w http.ResponseWriter, r *http.Request, st *reqState) error {
	shown := s.pageRefusal(w, r, st)
	s.render(w, r, http.StatusOK, "password", &view{Title: "Change password", Error: shown.Error, Field: shown.Field})
	return nil
}

// changePassword keeps this browser signed in (with a new session id) and
// ends every other session, API token and app token (endSignIns).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, st *reqState) error {
	ctx := r.Context()
	u := st.user
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("password_confirm")
	show := func(field, msg string) error {
		return s.refusePage(w, r, st, "/account/password", field, msg)
	}
	ok, err := s.checkCurrentPassword(ctx, r, st, r.PostFormValue("current"))
	if err != nil {
		return err
	}
	if !ok {
		return show("current", "Your current password is not right.")
	}
	if pw != confirm {
		return show("password_confirm", "The new passwords don't match.")
	}
	if err := password.Check(pw, u.Name, u.Email, u.Phone); err != nil {
		return show("password", passwordMessage(err))
	}
	if err := s.setPassword(r, u, pw); err != nil {
		return err
	}
	if err := s.rotateSession(ctx, w, r, st); err != nil {
		return err
	}
	if err := s.endSignIns(r, st, u, st.sess.ID, store.ActPasswordChanged); err != nil {
		return err
	}
	s.done(w, r, "password", "Your password is changed. Other sessions, API tokens and apps are signed out; your approver desktops stay paired.")
	return nil
}

// endSignIns ends what a password change or reset ends, for both in one
// place: every session but keepSession, the API tokens and the apps' OAuth
// codes and tokens (store.RevokeSignIns) — whoever took the old password
// may hold one. The apps' grants stay (they ask the person to sign in
// again, not to consent again), and so do the paired approver desktops:
// they are the second factor, not something the password opened. The
// activity log gets the change (kind), naming what ended and the desktops
// kept, and an "API token revoked" per token; the notice mailed to the
// account says the same, so that a desktop that is not the person's can be
// removed.
func (s *Server) endSignIns(r *http.Request, st *reqState, u *store.User, keepSession, kind string) error {
	ctx := r.Context()
	now := s.now()
	ended, err := s.store.RevokeSignIns(ctx, u.ID, keepSession, now)
	if err != nil {
		return err
	}
	apps := make([]string, len(ended.Apps))
	for i, id := range ended.Apps {
		apps[i] = id
		if c, err := s.store.OAuthClient(ctx, id); err == nil {
			apps[i] = c.Name
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("name the app %s: %w", id, err)
		}
	}
	approvers, err := s.store.Approvers(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("approver desktops: %w", err)
	}
	desktops := make([]string, len(approvers))
	for i, a := range approvers {
		desktops[i] = a.Name
	}

	how := map[string]string{store.ActPasswordChanged: "changed", store.ActPasswordReset: "reset"}[kind]
	for _, name := range ended.APITokens {
		if err := s.activity(ctx, r, st, u.ID, store.ActTokenRevoked, true, name+" (the password was "+how+")"); err != nil {
			return err
		}
	}
	sessions := plural(ended.Sessions, "other session") + " signed out"
	if keepSession == "" {
		sessions = plural(ended.Sessions, "session") + " signed out"
	}
	parts := []string{sessions}
	if len(ended.APITokens) > 0 {
		parts = append(parts, plural(len(ended.APITokens), "API token")+" revoked ("+strings.Join(ended.APITokens, ", ")+")")
	}
	if len(apps) > 0 {
		parts = append(parts, plural(len(apps), "app")+" signed out ("+strings.Join(apps, ", ")+")")
	}
	detail := capitalize(strings.Join(parts, ", "))
	if len(desktops) > 0 {
		detail += "; approver desktops stay paired (" + strings.Join(desktops, ", ") + ")"
	}
	if err := s.activity(ctx, r, st, u.ID, kind, true, detail); err != nil {
		return err
	}

	if u.Email == "" {
		return nil // a phone-only account: the activity log says it
	}
	mail := passwordNotice(u, how, now, originOf(r, st), parts, desktops, s.public.String())
	st.later("mail the password notice", func(ctx context.Context) error {
		if err := s.mailer.SendMail(ctx, mail); err != nil {
			return fmt.Errorf("mail account %s: %w", u.ID, err)
		}
		return nil
	})
	return nil
}

// passwordNotice is the mail that tells the account holder their password
// was changed or reset, what that ended and which approver desktops still
// approve their sign-ins.
func passwordNotice(u *store.User, how string, at time.Time, from origin, ended, desktops []string, public string) notify.Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nThe password of your Countersign account was %s on %s, from %s (IP address %s).\n\n",
		u.Name, how, at.UTC().Format("2 Jan 2006, 15:04 UTC"), browserOf(from.userAgent), from.ip)
	b.WriteString("So that only someone who knows the new password can use your account, we ended what the old one opened:\n\n")
	for _, e := range ended {
		b.WriteString("  - " + capitalize(e) + "\n")
	}
	if len(desktops) > 0 {
		b.WriteString("\nThese approver desktops stay paired and still approve your sign-ins:\n\n")
		for _, d := range desktops {
			b.WriteString("  - " + d + "\n")
		}
		b.WriteString("\nIf one of them is not yours, or is lost, remove it on the Login & security page:\n\n  " + public + "/account/security/devices\n")
	}
	b.WriteString("\nIf this was not you, someone else has your password or can read your mail: reset your password now,\n" +
		"then review your devices and sessions.\n\n  " + public + "/password/forgot\n")
	return notify.Mail{To: u.Email, Subject: "Your Countersign password was " + how, Text: b.String()}
}

// plural is "1 session", "2 sessions".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// capitalize upper-cases the first letter of a sentence.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
