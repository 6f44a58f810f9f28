package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// routes is the server's URL space.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Signing up, in and out.
	s.page(mux, "GET /{$}", anyone, s.home)
	s.page(mux, "GET /signup", anyone, s.signupPage)
	s.page(mux, "POST /signup", anyone, s.signup)
	s.page(mux, "GET /signin", anyone, s.signinPage)
	s.page(mux, "POST /signin", anyone, s.signin)
	s.page(mux, "POST /signout", anyone, s.signout)

	// The second step of a sign-in.
	s.page(mux, "GET /signin/verify", pending, s.verifyPage)
	s.page(mux, "POST /signin/verify", pending, s.verify)
	s.page(mux, "POST /signin/verify/send", pending, s.sendSignInCode)
	s.jsonRoute(mux, "POST /signin/key/begin", pending, s.keySignInBegin)
	s.jsonRoute(mux, "POST /signin/key/finish", pending, s.keySignInFinish)
	s.jsonRoute(mux, "GET /signin/approval/stream", pending, s.approvalStream)
	s.page(mux, "POST /signin/approval/complete", pending, s.approvalComplete)

	// Passkeys: signing in with one (anyone), and the account's own.
	s.jsonRoute(mux, "POST /signin/passkey/begin", anyone, s.passkeySignInBegin)
	s.jsonRoute(mux, "POST /signin/passkey/finish", anyone, s.passkeySignInFinish)
	s.jsonAs(mux, "POST /account/passkeys/begin", household.AddKey, s.passkeyAddBegin)
	s.jsonAs(mux, "POST /account/passkeys/finish", household.AddKey, s.passkeyAddFinish)
	s.pageAs(mux, "POST /account/passkeys/{id}/remove", household.RemoveDevice, s.passkeyRemove)

	// Passwords.
	s.page(mux, "GET /password/forgot", anyone, s.forgotPage)
	s.page(mux, "POST /password/forgot", anyone, s.forgot)
	s.page(mux, "GET /password/reset", anyone, s.resetPage)
	s.page(mux, "POST /password/reset", anyone, s.reset)
	s.pageAs(mux, "GET /account/password", household.Password, s.changePasswordPage)
	s.pageAs(mux, "POST /account/password", household.Password, s.changePassword)

	// Login & security.
	for _, sec := range sections {
		if sec.Page != "activity" {
			s.pageAs(mux, "GET "+sec.Path, household.See, s.sectionPage(sec.Path))
		}
	}
	s.pageAs(mux, "GET /account/activity", household.See, s.activityPage)
	s.pageAs(mux, "GET /account/two-step", household.TwoStep, s.twoStepPage)
	s.pageAs(mux, "GET /account/two-step/totp", household.TwoStep, s.totpPage)
	s.pageAs(mux, "POST /account/two-step/totp", household.TwoStep, s.totpConfirm)
	s.pageAs(mux, "GET /account/two-step/phone", household.TwoStep, s.phonePage)
	s.pageAs(mux, "POST /account/two-step/phone", household.TwoStep, s.phoneAdd)
	s.pageAs(mux, "POST /account/two-step/phone/verify", household.TwoStep, s.phoneConfirm)
	s.pageAs(mux, "POST /account/two-step/enable", household.TwoStep, s.twoStepEnable)
	s.pageAs(mux, "POST /account/two-step/disable", household.TwoStep, s.twoStepDisable)
	s.pageAs(mux, "POST /account/methods/{id}/remove", household.TwoStep, s.methodRemove)
	s.pageAs(mux, "POST /account/backup-codes", household.TwoStep, s.backupCodesRegenerate)
	s.jsonAs(mux, "POST /account/security-keys/begin", household.AddKey, s.keyAddBegin)
	s.jsonAs(mux, "POST /account/security-keys/finish", household.AddKey, s.keyAddFinish)
	s.pageAs(mux, "POST /account/security-keys/{id}/remove", household.RemoveDevice, s.keyRemove)
	s.pageAs(mux, "GET /account/approvers/pair", household.Pair, s.pairPage)
	s.pageAs(mux, "POST /account/approvers/pair", household.Pair, s.pairStart)
	s.pageAs(mux, "POST /account/approvers/{id}/remove", household.RemoveDevice, s.approverRemove)
	s.pageAs(mux, "POST /account/approvers/require-key", household.TwoStep, s.approverRequireKey)
	s.pageAs(mux, "GET /account/devices/{id}/rename", household.RenameDevice, s.deviceRenamePage)
	s.pageAs(mux, "POST /account/devices/{id}/rename", household.RenameDevice, s.deviceRename)
	s.pageAs(mux, "POST /account/devices/{id}/remove", household.RemoveDevice, s.deviceRemove)
	s.pageAs(mux, "POST /account/sessions/{id}/revoke", household.EndSession, s.sessionRevoke)
	s.pageAs(mux, "POST /account/sessions/others", household.EndAllSessions, s.sessionsRevokeOthers)
	s.pageAs(mux, "POST /account/household/members", household.AddMember, s.memberAdd)
	s.pageAs(mux, "GET /account/household/members/{id}/rename", household.RenameMember, s.memberRenamePage)
	s.pageAs(mux, "POST /account/household/members/{id}/rename", household.RenameMember, s.memberRename)
	s.pageAs(mux, "GET /account/household/members/{id}/remove", household.RemoveMember, s.memberRemove)
	s.pageAs(mux, "POST /account/household/members/{id}/remove", household.RemoveMember, s.memberRemove)
	s.pageAs(mux, "GET /account/household/members/{id}/invite", household.Invite, s.memberInvite)
	s.pageAs(mux, "POST /account/household/members/{id}/invite", household.Invite, s.memberInvite)
	s.pageAs(mux, "POST /account/household/members/{id}/share", household.Share, s.memberShare)
	s.pageAs(mux, "POST /account/household/members/{id}/stop-sharing", household.Share, s.memberStopSharing)
	s.pageAs(mux, "GET /account/household/devices/{id}/move", household.MoveDevice, s.deviceMovePage)
	s.pageAs(mux, "POST /account/household/devices/{id}/move", household.MoveDevice, s.deviceMove)
	s.pageAs(mux, "POST /account/api-tokens", household.APITokens, s.apiTokenCreate)
	s.pageAs(mux, "POST /account/api-tokens/{id}/revoke", household.APITokens, s.apiTokenRevoke)

	// Sign-in alerts: the settings, and the mailed link's "This wasn't me",
	// which its token authorizes, signed in or not.
	s.pageAs(mux, "POST /account/alerts", household.TwoStep, s.alertSettings)
	s.page(mux, "GET "+notMePath, anyone, s.notMePage)
	s.page(mux, "POST "+notMePath, anyone, s.notMe)
	s.page(mux, "POST "+notMePath+"/password", anyone, s.notMePassword)

	// Sign in with Countersign: the pages, then the endpoints apps call.
	s.page(mux, "GET /oauth/authorize", anyone, s.authorize)
	s.pageAs(mux, "POST /oauth/consent", household.Consent, s.consent)
	s.page(mux, "GET /oauth/end-session", anyone, s.oauthEndSession)
	s.page(mux, "POST /oauth/end-session", anyone, s.oauthEndSession)
	s.pageAs(mux, "GET /developer/apps", household.SeeDeveloperApps, s.appsPage)
	s.pageAs(mux, "POST /developer/apps", household.DeveloperApps, s.appCreate)
	s.pageAs(mux, "POST /developer/apps/{id}/rotate", household.DeveloperApps, s.appRotate)
	s.pageAs(mux, "GET /developer/apps/{id}/delete", household.DeveloperApps, s.appDelete)
	s.pageAs(mux, "POST /developer/apps/{id}/delete", household.DeveloperApps, s.appDelete)
	s.pageAs(mux, "POST /account/apps/{client_id}/revoke", household.RevokeApp, s.appRevoke)
	s.oauthEndpoints(mux)

	// Everything else on a page is "not found", rendered like the rest.
	s.page(mux, "/", anyone, func(http.ResponseWriter, *http.Request, *reqState) error { return errNotFound })

	// Not pages.
	mux.Handle("GET /static/", s.named("/static/", http.HandlerFunc(serveStatic)))
	mux.Handle("GET /favicon.ico", s.named("/favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := assetURL("favicon.svg")
		http.Redirect(w, r, u, http.StatusMovedPermanently)
	})))
	mux.Handle("/api/v1/", s.named("/api/v1/", s.api))
	mux.Handle("GET /healthz", s.named("/healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("GET /readyz", s.named("/readyz", http.HandlerFunc(s.readyz)))

	return s.outer(mux)
}

// named labels a non-page route for logs and metrics.
func (s *Server) named(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stateOf(r).route = route
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 when the database answers and can write: a full disk
// makes it 503 "database cannot write: disk full", until there is room
// again.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Error("not ready", "request_id", stateOf(r).id, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unavailable\n"))
		return
	}
	if err := s.checkWrite(ctx); err != nil {
		s.log.Error("not ready: the database cannot write", "request_id", stateOf(r).id, "err", err)
		msg := "database cannot write\n"
		if errors.Is(store.Outage(err), store.ErrStorageFull) {
			msg = "database cannot write: disk full\n"
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(msg))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// writeCheckEvery bounds /readyz's writes: however often it is asked, the
// database is written to at most once in this time.
const writeCheckEvery = time.Second

// checkWrite has the store write a row, or says what the last try, less
// than writeCheckEvery ago, found.
func (s *Server) checkWrite(ctx context.Context) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now()
	if since := now.Sub(s.writeAt); !s.writeAt.IsZero() && since >= 0 && since < writeCheckEvery {
		return s.writeErr
	}
	err := s.store.CheckWrite(ctx)
	if ctx.Err() == nil { // a caller who left tells nothing of the database
		s.writeErr, s.writeAt = err, now
	}
	return err
}

// home sends people where they belong.
func (s *Server) home(w http.ResponseWriter, r *http.Request, st *reqState) error {
	to := "/signin"
	if st.user != nil && st.sess.Stage == store.StageFull {
		to = "/account/security"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
