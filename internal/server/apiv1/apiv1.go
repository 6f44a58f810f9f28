// Package apiv1 serves countersign-server's JSON API v1 under /api/v1/: the
// account, its devices (trusted browsers, paired desktops, security keys),
// sessions, security keys, the activity log, the household, the apps the
// account let sign in with Countersign and those it registered, and the
// pairing, device sign-in, sign-in approval and authenticator-sharing
// endpoints of the desktop companion.
//
// Requests carry a bearer token (Authorization: Bearer). An API token
// ("cs_…", issued from a signed-in web session) has the scopes it was made
// with: GET needs "read", everything else "write". A device token ("csd_…",
// issued to a paired approver device that signed a challenge) has "read",
// "approve" and "write". Only device tokens may use the approval and share
// endpoints, and only API tokens the developer/apps endpoints (the account's
// own OAuth apps), even to read.
//
// Every caller is a member of the account's household: an API token acts as
// the owner, a device token as the member its device belongs to. What a
// member may change beyond reading is decided in one place, permit.
//
// The wire types and the OpenAPI document are in internal/api; the route
// table below is the one list both the mux and the OpenAPI sync test read.
// Pages, cookies and CSRF are the web server's, not this package's.
package apiv1

import (
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/ratelimit"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// Options configure the handler.
type Options struct {
	Store store.Store
	Keys  *seckey.Service // nil: the security-key endpoints answer 503
	// Approvals pairs approver devices, signs them in and takes their
	// decisions; nil: the pairing, device sign-in and approval endpoints
	// answer 503 and device tokens are not accepted.
	Approvals *approval.Service
	// OAuth is the Sign in with Countersign provider, behind the
	// authorized-apps and developer/apps endpoints; nil: they answer 503.
	OAuth *oauth.Provider
	// Household manages the account's members, their invitations and the
	// sharing of the authenticator, and tells companions what changed;
	// nil: the household and share endpoints answer 503 and companions
	// are not told of changes.
	Household *household.Service
	// Locator names the place of a device's address in GET devices (the
	// approval service's, when configured); nil: places are left empty.
	Locator approval.Locator
	// StepUp checks passwords and seals the marks of step-up (POST
	// step-up); nil: the step-up endpoint answers 503 and the actions that
	// need a fresh sign-in are refused through the API.
	StepUp StepUp
	// Alerts ends the session of a sign-in alert (POST alerts/{id}/not-me);
	// nil: that endpoint answers 503.
	Alerts Alerts
	// ClientIP is the client's address, for rate limits and the activity
	// log; nil: the peer's address. Behind a reverse proxy, pass the
	// server's own (the one that trusts X-Forwarded-For).
	ClientIP func(*http.Request) string
	// Closing, when closed, ends the approval streams (the companion
	// reconnects), so that http.Server.Shutdown need not wait for them;
	// nil: they last until the client goes or the device is removed.
	Closing <-chan struct{}
	Now     func() time.Time
	Log     *slog.Logger
	MaxBody int64 // request body limit in bytes, default 64 KiB
}

// DefaultMaxBody is the request body limit when Options.MaxBody is 0.
const DefaultMaxBody = 64 << 10

// route is one operation of the API.
type route struct {
	Method, Pattern string
	Act             household.Action // what it does, in the permission table; public serves without a token
	handle          func(h *handler, w http.ResponseWriter, r *http.Request, c *caller) error
}

// public is the Act of a route that needs no token: the OpenAPI document,
// pairing and a device's own sign-in, which prove themselves otherwise.
const public household.Action = -1

// routes is the API. The OpenAPI document must list exactly these.
var routes = []route{
	{"GET", "/api/v1/openapi.json", public, (*handler).openAPI},
	{"GET", "/api/v1/account", household.See, (*handler).account},
	{"POST", "/api/v1/step-up", household.StepUp, (*handler).stepUpNow},
	{"GET", "/api/v1/devices", household.See, (*handler).devices},
	{"PATCH", "/api/v1/devices/{id}", household.RenameDevice, (*handler).updateDevice},
	{"DELETE", "/api/v1/devices/{id}", household.RemoveDevice, (*handler).removeDevice},
	{"POST", "/api/v1/devices/{id}/sign-out", household.SignOutDevice, (*handler).signOutDevice},
	{"GET", "/api/v1/sessions", household.See, (*handler).sessions},
	{"DELETE", "/api/v1/sessions", household.EndAllSessions, (*handler).revokeAllSessions},
	{"DELETE", "/api/v1/sessions/{id}", household.EndSession, (*handler).revokeSession},
	{"POST", "/api/v1/alerts/{id}/not-me", household.DisownSignIn, (*handler).disownSignIn},
	{"GET", "/api/v1/security-keys", household.See, (*handler).securityKeys},
	{"DELETE", "/api/v1/security-keys/{id}", household.RemoveDevice, (*handler).removeSecurityKey},
	{"POST", "/api/v1/security-keys/registrations", household.AddKey, (*handler).beginRegistration},
	{"POST", "/api/v1/security-keys/registrations/{challenge_id}", household.AddKey, (*handler).finishRegistration},
	{"POST", "/api/v1/security-keys/assertions", household.CheckKey, (*handler).beginAssertion},
	{"POST", "/api/v1/security-keys/assertions/{challenge_id}", household.CheckKey, (*handler).finishAssertion},
	{"GET", "/api/v1/activity", household.See, (*handler).activity},
	{"GET", "/api/v1/apps", household.See, (*handler).apps},
	{"DELETE", "/api/v1/apps/{client_id}", household.RevokeApp, (*handler).revokeApp},
	{"GET", "/api/v1/developer/apps", household.SeeDeveloperApps, (*handler).developerApps},
	{"POST", "/api/v1/developer/apps", household.DeveloperApps, (*handler).registerApp},
	{"POST", "/api/v1/developer/apps/{client_id}/secret", household.DeveloperApps, (*handler).rotateAppSecret},
	{"DELETE", "/api/v1/developer/apps/{client_id}", household.DeveloperApps, (*handler).deleteApp},
	{"POST", "/api/v1/pairings", public, (*handler).pair},
	{"POST", "/api/v1/auth/challenge", public, (*handler).authChallenge},
	{"POST", "/api/v1/auth/token", public, (*handler).authToken},
	{"GET", "/api/v1/approvers", household.See, (*handler).listApprovers},
	{"DELETE", "/api/v1/approvers/{id}", household.RemoveDevice, (*handler).removeApprover},
	{"GET", "/api/v1/approvals", household.Approve, (*handler).listApprovals},
	{"GET", "/api/v1/approvals/stream", household.Approve, (*handler).streamApprovals},
	{"GET", "/api/v1/approvals/poll", household.Approve, (*handler).pollApprovals},
	{"POST", "/api/v1/approvals/{id}/decision", household.Approve, (*handler).decide},
	{"GET", "/api/v1/household", household.See, (*handler).getHousehold},
	{"POST", "/api/v1/household/members", household.AddMember, (*handler).addMember},
	{"PATCH", "/api/v1/household/members/{id}", household.RenameMember, (*handler).renameMember},
	{"DELETE", "/api/v1/household/members/{id}", household.RemoveMember, (*handler).removeMember},
	{"POST", "/api/v1/household/members/{id}/invitations", household.Invite, (*handler).invite},
	{"POST", "/api/v1/household/members/{id}/authenticator", household.Share, (*handler).shareAuthenticator},
	{"DELETE", "/api/v1/household/members/{id}/authenticator", household.Share, (*handler).stopSharing},
	// A device's own offers: "approve", which only device tokens have.
	{"GET", "/api/v1/shares", household.AnswerShare, (*handler).shares},
	{"POST", "/api/v1/shares/{id}/accept", household.AnswerShare, (*handler).acceptShare},
	{"DELETE", "/api/v1/shares/{id}", household.AnswerShare, (*handler).declineShare},
	// Vault sync between the caller's member's desktops (sync.go).
	{"GET", "/api/v1/sync", household.Sync, (*handler).syncStatus},
	{"DELETE", "/api/v1/sync", household.Sync, (*handler).syncStop},
	{"POST", "/api/v1/sync/start", household.Sync, (*handler).syncStart},
	{"GET", "/api/v1/sync/records", household.Sync, (*handler).syncPull},
	{"POST", "/api/v1/sync/records", household.Sync, (*handler).syncPush},
	{"POST", "/api/v1/sync/rotate", household.Sync, (*handler).syncRotate},
	{"GET", "/api/v1/sync/joins", household.Sync, (*handler).syncJoins},
	{"POST", "/api/v1/sync/joins", household.Sync, (*handler).syncJoin},
	{"POST", "/api/v1/sync/joins/{id}/approve", household.Sync, (*handler).syncApprove},
}

type handler struct {
	store     store.Store
	keys      *seckey.Service
	approvals *approval.Service
	oauth     *oauth.Provider
	house     *household.Service
	locator   approval.Locator
	stepUp    StepUp
	alerts    Alerts
	pairLimit *ratelimit.Limiter // pairing attempts per IP
	clientIP  func(*http.Request) string
	closing   <-chan struct{}
	now       func() time.Time
	log       *slog.Logger
	maxBody   int64
	mux       *http.ServeMux
	// paths knows every route's path whatever the method, to tell a
	// wrong method (405) from an unknown path (404).
	paths   *http.ServeMux
	allow   map[string]string // pattern → Allow header
	streams atomic.Int64      // approval streams open, for tests
}

// New returns the API handler. It serves full paths under /api/v1/; mount
// it with mux.Handle("/api/v1/", h).
func New(opts Options) (http.Handler, error) {
	if opts.Store == nil {
		return nil, errors.New("apiv1: a store is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBody < 0 {
		return nil, errors.New("apiv1: MaxBody must not be negative")
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.ClientIP == nil {
		opts.ClientIP = peerIP
	}
	h := &handler{
		store: opts.Store, keys: opts.Keys, approvals: opts.Approvals, oauth: opts.OAuth,
		house: opts.Household, locator: opts.Locator, stepUp: opts.StepUp, alerts: opts.Alerts,
		pairLimit: ratelimit.New(pairingsPerMinute, pairingsPerMinute, opts.Now), clientIP: opts.ClientIP,
		closing: opts.Closing, now: opts.Now, log: opts.Log, maxBody: opts.MaxBody,
		mux: http.NewServeMux(), paths: http.NewServeMux(), allow: map[string]string{},
	}
	for _, rt := range routes {
		h.mux.Handle(rt.Method+" "+rt.Pattern, h.serve(rt))
		if _, ok := h.allow[rt.Pattern]; !ok {
			h.paths.Handle(rt.Pattern, http.NotFoundHandler())
			h.allow[rt.Pattern] = rt.Method
		} else {
			h.allow[rt.Pattern] += ", " + rt.Method
		}
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern != "" {
		h.mux.ServeHTTP(w, r)
		return
	}
	setHeaders(w)
	if _, pattern := h.paths.Handler(r); pattern != "" {
		allow := h.allow[pattern]
		w.Header().Set("Allow", allow)
		h.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			msg: "This address does not accept " + r.Method + "; it accepts " + allow + "."})
		return
	}
	h.fail(w, r, errNotFound("There is no such API address."))
}

// serve wraps a route: headers, authentication, and errors rendered in one
// place.
func (h *handler) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		var c *caller
		if rt.Act != public {
			var err error
			if c, err = h.authenticate(r, scopeOf(rt.Act)); err != nil {
				h.fail(w, r, err)
				return
			}
			// Refused outright when the caller's column says no; an "own"
			// rule is the handler's, which knows whose the target is.
			if err := h.mayAtAll(c, rt.Act); err != nil {
				h.fail(w, r, err)
				return
			}
			if err := h.fresh(r, c, rt.Act); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		if err := rt.handle(h, w, r, c); err != nil {
			h.fail(w, r, err)
		}
	})
}

func setHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
}
