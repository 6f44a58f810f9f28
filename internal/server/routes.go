package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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

	// Passwords.
	s.page(mux, "GET /password/forgot", anyone, s.forgotPage)
	s.page(mux, "POST /password/forgot", anyone, s.forgot)
	s.page(mux, "GET /password/reset", anyone, s.resetPage)
	s.page(mux, "POST /password/reset", anyone, s.reset)
	s.page(mux, "GET /account/password", full, s.act(household.Password, s.changePasswordPage))
	s.page(mux, "POST /account/password", full, s.act(household.Password, s.changePassword))

	// Login & security.
	s.page(mux, "GET /account/security", full, s.act(household.See, s.securityPage))
	s.page(mux, "GET /account/activity", full, s.act(household.See, s.activityPage))
	s.page(mux, "GET /account/two-step", full, s.act(household.TwoStep, s.twoStepPage))
	s.page(mux, "GET /account/two-step/totp", full, s.act(household.TwoStep, s.totpPage))
	s.page(mux, "POST /account/two-step/totp", full, s.act(household.TwoStep, s.totpConfirm))
	s.page(mux, "GET /account/two-step/phone", full, s.act(household.TwoStep, s.phonePage))
	s.page(mux, "POST /account/two-step/phone", full, s.act(household.TwoStep, s.phoneAdd))
	s.page(mux, "POST /account/two-step/phone/verify", full, s.act(household.TwoStep, s.phoneConfirm))
	s.page(mux, "POST /account/two-step/enable", full, s.act(household.TwoStep, s.twoStepEnable))
	s.page(mux, "POST /account/two-step/disable", full, s.act(household.TwoStep, s.twoStepDisable))
	s.page(mux, "POST /account/methods/{id}/remove", full, s.act(household.TwoStep, s.methodRemove))
	s.page(mux, "POST /account/backup-codes", full, s.act(household.TwoStep, s.backupCodesRegenerate))
	s.jsonRoute(mux, "POST /account/security-keys/begin", full, s.act(household.AddKey, s.keyAddBegin))
	s.jsonRoute(mux, "POST /account/security-keys/finish", full, s.act(household.AddKey, s.keyAddFinish))
	s.page(mux, "POST /account/security-keys/{id}/remove", full, s.act(household.RemoveDevice, s.keyRemove))
	s.page(mux, "GET /account/approvers/pair", full, s.act(household.Pair, s.pairPage))
	s.page(mux, "POST /account/approvers/pair", full, s.act(household.Pair, s.pairStart))
	s.page(mux, "POST /account/approvers/{id}/remove", full, s.act(household.RemoveDevice, s.approverRemove))
	s.page(mux, "POST /account/approvers/require-key", full, s.act(household.TwoStep, s.approverRequireKey))
	s.page(mux, "POST /account/devices/{id}/rename", full, s.act(household.RenameDevice, s.deviceRename))
	s.page(mux, "POST /account/devices/{id}/remove", full, s.act(household.RemoveDevice, s.deviceRemove))
	s.page(mux, "POST /account/sessions/{id}/revoke", full, s.act(household.EndSession, s.sessionRevoke))
	s.page(mux, "POST /account/sessions/others", full, s.act(household.EndAllSessions, s.sessionsRevokeOthers))
	s.page(mux, "POST /account/household/members", full, s.act(household.AddMember, s.memberAdd))
	s.page(mux, "POST /account/household/members/{id}/rename", full, s.act(household.RenameMember, s.memberRename))
	s.page(mux, "GET /account/household/members/{id}/remove", full, s.act(household.RemoveMember, s.memberRemove))
	s.page(mux, "POST /account/household/members/{id}/remove", full, s.act(household.RemoveMember, s.memberRemove))
	s.page(mux, "GET /account/household/members/{id}/invite", full, s.act(household.Invite, s.memberInvite))
	s.page(mux, "POST /account/household/members/{id}/invite", full, s.act(household.Invite, s.memberInvite))
	s.page(mux, "POST /account/household/members/{id}/share", full, s.act(household.Share, s.memberShare))
	s.page(mux, "POST /account/household/members/{id}/stop-sharing", full, s.act(household.Share, s.memberStopSharing))
	s.page(mux, "POST /account/household/devices/{id}/move", full, s.act(household.MoveDevice, s.deviceMove))
	s.page(mux, "POST /account/api-tokens", full, s.act(household.APITokens, s.apiTokenCreate))
	s.page(mux, "POST /account/api-tokens/{id}/revoke", full, s.act(household.APITokens, s.apiTokenRevoke))

	// Sign in with Countersign: the pages, then the endpoints apps call.
	s.page(mux, "GET /oauth/authorize", anyone, s.authorize)
	s.page(mux, "POST /oauth/consent", full, s.act(household.Consent, s.consent))
	s.page(mux, "GET /oauth/end-session", anyone, s.oauthEndSession)
	s.page(mux, "GET /developer/apps", full, s.act(household.SeeDeveloperApps, s.appsPage))
	s.page(mux, "POST /developer/apps", full, s.act(household.DeveloperApps, s.appCreate))
	s.page(mux, "POST /developer/apps/{id}/rotate", full, s.act(household.DeveloperApps, s.appRotate))
	s.page(mux, "GET /developer/apps/{id}/delete", full, s.act(household.DeveloperApps, s.appDelete))
	s.page(mux, "POST /developer/apps/{id}/delete", full, s.act(household.DeveloperApps, s.appDelete))
	s.page(mux, "POST /account/apps/{client_id}/revoke", full, s.act(household.RevokeApp, s.appRevoke))
	s.oauthEndpoints(mux)

	// Everything else on a page is "not found", rendered like the rest.
	s.page(mux, "/", anyone, func(http.ResponseWriter, *http.Request, *reqState) error { return errNotFound })

	// Not pages.
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", s.named("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	mux.Handle("/api/v1/", s.named("/api/v1/", s.api))
	mux.Handle("GET /healthz", s.named("/healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("GET /readyz", s.named("/readyz", http.HandlerFunc(s.readyz)))
	mux.Handle("GET /metrics", s.named("/metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})))

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
