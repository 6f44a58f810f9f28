// Package server is the web side of countersign-server: the HTML pages people
// use to create an account, sign in (password, then a second step; or a
// passkey alone), and manage
// their login and security settings, plus the JSON endpoints the WebAuthn
// script of those pages calls, health checks and Prometheus metrics. API v1 is
// served by package apiv1 and mounted here under /api/v1/.
//
// Pages are rendered on the server with html/template and need no JavaScript,
// except for security keys and passkeys (static/webauthn.js). Every POST form carries a
// CSRF token; every response carries the security headers; every failure is
// rendered by one function (Server.fail) that logs internals and shows people
// only a plain message.
//
// It is also the web side of "Sign in with Countersign": the authorization
// endpoint (sign-in, consent page), the developer's apps and the account's
// authorized apps; the OAuth 2.0 / OpenID Connect protocol is package oauth's,
// whose endpoints are mounted here as they are.
//
// The package holds the sign-in policy (sessions, lockout, rate limits, code
// checks); storage is package store, hashing package password.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/ratelimit"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/server/apiv1"
	"github.com/countersign/countersign/internal/store"
)

// The demo account SeedDemo creates. Its secrets are published: it exists
// only on a development server on a loopback address.
const (
	DemoEmail    = "demo@countersign.test"
	DemoPassword = "countersign-demo"
	DemoName     = "Demo"
	DemoMember   = "Sam" // the other person of the demo's household
	// DemoTOTPSecret is the demo's authenticator-app secret (base32) and
	// DemoTOTPURI its otpauth:// URI, which make run adds to the companion.
	DemoTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	DemoTOTPURI    = "otpauth://totp/Countersign%20demo:demo@countersign.test?secret=" + DemoTOTPSecret + "&issuer=Countersign%20demo"
	// DemoPhone receives the demo's text-message codes (in the outbox).
	DemoPhone = "+15555550100"
)

// Config is what New needs. Store, Mailer and SMS are required.
type Config struct {
	PublicURL      string      // "http://127.0.0.1:8080": links in mail, WebAuthn RP ID (host) and origin; Secure cookies and HSTS when it is https
	Store          store.Store // required
	Mailer         notify.Mailer
	SMS            notify.SMSSender
	Log            *slog.Logger          // nil: discard
	Now            func() time.Time      // nil: time.Now
	Rand           io.Reader             // nil: crypto/rand.Reader
	Dev            bool                  // development: a banner on every page; SeedDemo allowed
	TrustProxy     bool                  // take the client IP from X-Forwarded-For's last hop (only behind a reverse proxy)
	Registry       prometheus.Registerer // nil: a private registry; it must also be a prometheus.Gatherer
	PasswordParams *password.Params      // nil: password.OWASP
	GeoIP          approval.Locator      // places sign-ins shown to approver desktops; nil: "Unknown place"
}

// Lifetimes and limits of the sign-in policy.
const (
	pendingLifetime  = 30 * time.Minute    // a session waiting for its second step
	fullLifetime     = 14 * 24 * time.Hour // a signed-in session, at most
	fullIdle         = 3 * 24 * time.Hour  // a signed-in session unused this long ends
	touchEvery       = time.Minute         // LastSeenAt is written at most this often
	deviceTrust      = 60 * 24 * time.Hour // "Don't require codes on this browser"
	resetLifetime    = 30 * time.Minute    // a password-reset link
	smsLifetime      = 10 * time.Minute    // an SMS or voice code
	smsTries         = 5                   // tries per SMS or voice code
	backupCodeCount  = 10
	activityPageSize = 5 // the latest events on the overview
	maxFormBytes     = 64 << 10
	purgeEvery       = time.Hour
)

// Server serves countersign-server's pages. Build it with New.
type Server struct {
	store    store.Store
	mailer   notify.Mailer
	sms      notify.SMSSender
	log      *slog.Logger
	now      func() time.Time
	rand     io.Reader
	dev      bool
	trust    bool
	secure   bool
	public   *url.URL
	pwParams password.Params
	geo      approval.Locator // names places; nil: none

	keys      *seckey.Service
	approvals *approval.Service
	house     *household.Service
	oauth     *oauth.Provider
	api       http.Handler
	closing   chan struct{} // closed by EndStreams: long-lived streams end
	ping      time.Duration // how often an idle stream sends a comment
	closeOnce sync.Once

	ipLimit   *ratelimit.Limiter // sign-in, reset and code attempts per client IP
	acctLimit *ratelimit.Limiter // the same per account (or per login for unknown ones)
	sendLimit *ratelimit.Limiter // SMS, voice and mail sends per account

	secret    []byte // HMAC key shared by every instance (CSRF tokens, flash, SMS code hashes)
	hashers   hashers
	dummyHash string // verified against for unknown logins so timing matches
	ghosts    ghostLocks

	writeMu  sync.Mutex
	writeAt  time.Time // when /readyz last checked that the database writes
	writeErr error     // what that check found

	purgeMu   sync.Mutex
	lastPurge time.Time // expired rows are deleted at most once per purgeEvery
	closed    bool      // set by Close: no purge starts after it
	purges    sync.WaitGroup
	bg        context.Context // ends at Close: background work (purges) stops
	stopBG    context.CancelFunc
	queue     *queue // work done after the answer (background.go)

	pages    map[string]*template.Template
	actions  map[string]household.Action // signed-in pages by pattern: what each does, in the permission table
	metrics  *metrics
	gatherer prometheus.Gatherer
	handler  http.Handler
}

// New validates cfg and builds the server: the WebAuthn service, the
// approval service, the OAuth provider, the API v1 handler, the shared CSRF key (created in the
// store on first start), the templates and the metrics. Close releases what
// it started.
func New(cfg Config) (_ *Server, err error) {
	if cfg.Store == nil {
		return nil, errors.New("server: no store")
	}
	if cfg.Mailer == nil {
		return nil, errors.New("server: no mailer")
	}
	if cfg.SMS == nil {
		return nil, errors.New("server: no SMS sender")
	}
	pub, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" || pub.Path != "" {
		return nil, fmt.Errorf("server: public URL %q must be http(s)://host[:port]", cfg.PublicURL)
	}
	s := &Server{
		store:   cfg.Store,
		mailer:  cfg.Mailer,
		sms:     cfg.SMS,
		log:     cfg.Log,
		now:     cfg.Now,
		rand:    cfg.Rand,
		dev:     cfg.Dev,
		trust:   cfg.TrustProxy,
		secure:  pub.Scheme == "https",
		public:  pub,
		closing: make(chan struct{}),
		ping:    pingEvery,
		geo:     cfg.GeoIP,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	s.rand = &lockedReader{r: s.rand}
	s.pwParams = password.OWASP
	s.hashers = newHashers()
	if cfg.PasswordParams != nil {
		s.pwParams = *cfg.PasswordParams
	}
	s.ipLimit = ratelimit.New(20, 20, s.now)
	s.acctLimit = ratelimit.New(10, 10, s.now)
	s.sendLimit = ratelimit.New(1, 3, s.now)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, err := s.randomBytes(32)
	if err != nil {
		return nil, err
	}
	if s.secret, err = s.store.SetSettingIfAbsent(ctx, "csrf-key", key); err != nil {
		return nil, fmt.Errorf("server: csrf key: %w", err)
	}
	if len(s.secret) < 32 {
		return nil, errors.New("server: the stored csrf key is too short")
	}
	if s.dummyHash, err = password.Hash("countersign timing dummy", s.pwParams, s.rand); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	s.keys, err = seckey.New(seckey.Config{
		RPID:    pub.Hostname(),
		RPName:  "Countersign",
		Origins: []string{pub.Scheme + "://" + pub.Host},
		Store:   s.store,
		Now:     s.now,
		Rand:    s.rand,
		Timeout: 5 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("server: security keys: %w", err)
	}
	s.approvals, err = approval.New(ctx, approval.Config{
		Store:     s.store,
		Keys:      s.keys,
		PublicURL: pub.String(),
		Now:       s.now,
		Rand:      s.rand,
		Log:       s.log,
		Locator:   cfg.GeoIP,
		Mailer:    cfg.Mailer,
	})
	if err != nil {
		return nil, fmt.Errorf("server: approvals: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.approvals.Close()
		}
	}()
	s.house, err = household.New(household.Options{Store: s.store, Approvals: s.approvals, Rand: s.rand, Now: s.now, Log: s.log})
	if err != nil {
		return nil, fmt.Errorf("server: household: %w", err)
	}
	s.oauth, err = oauth.New(ctx, oauth.Config{Store: s.store, Issuer: pub.String(), Now: s.now, Rand: s.rand, Log: s.log})
	if err != nil {
		return nil, fmt.Errorf("server: oauth: %w", err)
	}
	s.api, err = apiv1.New(apiv1.Options{Store: s.store, Keys: s.keys, Now: s.now, Log: s.log, Approvals: s.approvals, OAuth: s.oauth, Household: s.house, Locator: cfg.GeoIP, ClientIP: s.clientIP, Closing: s.closing, StepUp: apiStepUp{s}, Alerts: apiAlerts{s}})
	if err != nil {
		return nil, fmt.Errorf("server: api: %w", err)
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("server: templates: %w", err)
	}
	if err := s.setupMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.lastPurge = s.now()
	s.bg, s.stopBG = context.WithCancel(context.Background())
	s.actions = map[string]household.Action{}
	s.queue = newQueue(s.log)
	s.handler = s.routes()
	return s, nil
}

// EndStreams ends the sign-in pages' approval streams, which otherwise last
// until a decision or the request's expiry: give it to
// http.Server.RegisterOnShutdown so that Shutdown need not wait for them.
// The pages' script reconnects once, then asks people to press the button.
func (s *Server) EndStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// Close ends the streams, runs the work queued after answers (failed
// sign-ins recorded, mail sent) and waits for it, stops a purge under way
// (and waits for it) and stops the approval service; call it after
// http.Server.Shutdown.
func (s *Server) Close() error {
	s.EndStreams()
	s.queue.close()
	s.purgeMu.Lock()
	s.closed = true
	s.purgeMu.Unlock()
	s.stopBG()
	s.purges.Wait()
	return s.approvals.Close()
}

// WaitIdle returns once the work queued after answers so far (failed
// sign-ins recorded, reset links and notices sent) is done: tests call it
// before they read what that work writes.
func (s *Server) WaitIdle() { s.queue.wait() }

// maybePurge deletes expired sessions, codes, challenges and reset tokens in
// the background, at most once per purgeEvery, driven by traffic.
func (s *Server) maybePurge() {
	now := s.now()
	s.purgeMu.Lock()
	due := !s.closed && now.Sub(s.lastPurge) >= purgeEvery
	if due {
		s.lastPurge = now
		s.purges.Add(1) // under purgeMu, so never after Close's Wait has begun
	}
	s.purgeMu.Unlock()
	if !due {
		return
	}
	go func() {
		defer s.purges.Done()
		ctx, cancel := context.WithTimeout(s.bg, time.Minute)
		defer cancel()
		if err := s.store.Purge(ctx, now); err != nil && s.bg.Err() == nil {
			s.log.Warn("purge expired rows", "err", err)
		}
	}()
}

// Handler serves everything people and apps reach: pages, the OAuth and
// OpenID Connect endpoints, /static/, /api/v1/, /healthz and /readyz. The
// metrics are MetricsHandler's.
func (s *Server) Handler() http.Handler { return s.handler }

// SeedDemo creates the demo account on a database without users: DemoEmail
// and DemoPassword, with two-step verification on — an authenticator app
// (DemoTOTPSecret) and text messages to DemoPhone as its backup — so that a
// sign-in asks for a second step, which is an approval once a desktop is
// paired — and DemoMember in its household. It reports false when users
// exist.
func (s *Server) SeedDemo(ctx context.Context) (bool, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	// The demo password is on no list of strong ones; password.Check is
	// skipped here on purpose.
	u, err := s.newUser(ctx, DemoName, DemoEmail, "", DemoPassword)
	if err != nil {
		return false, err
	}
	if err := s.store.AddActivity(ctx, &store.Activity{
		UserID: u.ID, At: s.now(), Kind: store.ActSignUp, OK: true, Detail: "Demo account created",
	}); err != nil {
		return false, fmt.Errorf("activity: %w", err)
	}
	secret, err := otp.DecodeSecret(DemoTOTPSecret)
	if err != nil {
		return false, err
	}
	now := s.now()
	for _, m := range []*store.Method{
		{ID: s.newID(), UserID: u.ID, Kind: store.MethodTOTP, Label: "Authenticator app", Secret: secret, Confirmed: true, CreatedAt: now},
		{ID: s.newID(), UserID: u.ID, Kind: store.MethodSMS, Label: "Text message", Phone: DemoPhone, Confirmed: true, CreatedAt: now},
	} {
		if err := s.store.AddMethod(ctx, m); err != nil {
			return false, fmt.Errorf("demo two-step method: %w", err)
		}
	}
	u.TwoStep = true
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return false, fmt.Errorf("demo two-step: %w", err)
	}
	if err := s.store.AddActivity(ctx, &store.Activity{
		UserID: u.ID, At: now, Kind: store.ActTwoStepOn, OK: true, Detail: "Authenticator app, text message (demo)",
	}); err != nil {
		return false, fmt.Errorf("activity: %w", err)
	}
	// A second person of the household, with no devices yet: the household
	// board has a column to drag devices to and to invite a desktop for.
	if _, err := s.house.AddMember(ctx, u.ID, DemoMember); err != nil {
		return false, fmt.Errorf("demo household member: %w", err)
	}
	return true, nil
}

// newUser creates an account with a fresh password hash and WebAuthn handle.
func (s *Server) newUser(ctx context.Context, name, email, phone, pw string) (*store.User, error) {
	hash, err := s.hashPassword(ctx, pw)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	handle, err := s.randomBytes(32)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{
		ID:                s.newID(),
		Email:             email,
		Phone:             phone,
		Name:              name,
		PasswordHash:      hash,
		PasswordChangedAt: now,
		WebAuthnID:        handle,
		CreatedAt:         now,
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// lockedReader makes an injected io.Reader safe for concurrent requests.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
