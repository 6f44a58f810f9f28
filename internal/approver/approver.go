// Package approver is the companion's side of sign-in approvals: paired
// accounts, the device key in the OS keyring, one event stream per account,
// and signed decisions.
//
// A Manager pairs this desktop with accounts on any number of
// countersign-servers (internal/approval/CONTRACT.md is the wire contract),
// keeps the list in paired.json (no secrets: each device's Ed25519 key is in
// the OS keyring), follows each account's approvals stream (Server-Sent
// Events, with a long-poll fallback for proxies that buffer) and signs the
// decisions the person takes. Beside approvals, Call makes any API v1
// request as the paired desktop (package client, the account dashboard, is
// built on it), the stream's "changed", "share", "signin_alert" and "vault"
// events come out as EventChanged, EventShare, EventAlert (NotMe answers an
// alert) and EventVault, Shares opens the authenticators the household's
// owner shared with this desktop, and the Sync… methods are the vault
// sync's calls (the sync key sealed to this desktop, joining with a code,
// records, rotation; package vaultsync/syncer drives them). It draws
// nothing: the window
// (app/ui) and the command line (internal/cli) are built on it.
//
// The window and the command line may run at once: paired.json is written
// under a lock file and merged with what the other wrote, and a running
// Manager takes in accounts paired or unpaired by another process within a
// second or two.
package approver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/keyring"
)

// Account is an account this desktop is paired with as an approver device.
type Account struct {
	ID          string    // local id (the server's device id)
	Server      string    // origin, e.g. "http://localhost:8080"
	AccountID   string    // the account's id on the server
	Name, Email string    // the account's
	DeviceName  string    // this desktop's name on the server
	PairedAt    time.Time // when this desktop was paired
	Unpaired    bool      // the server revoked this device
	Online      bool      // its stream is connected
	LastError   string    // why the last connection failed, "" when fine
}

// Request is a sign-in waiting for this desktop's decision. Its CreatedAt
// and ExpiresAt are in this desktop's clock (Options.Now): when that differs
// from the server's by more than a few seconds they are moved, and when the
// clock is set while it waits they move with it (EventRequest again).
type Request struct {
	Account Account
	api.Approval
}

// EventKind says what an Event is about.
type EventKind int

// Kinds of events.
const (
	EventRequest    EventKind = iota // a new request (Event.Request), or new times of one already sent after the desktop's clock was set
	EventResolved                    // a request stopped pending (Event.Resolved)
	EventUnpaired                    // the server removed this device (Event.Account)
	EventConnection                  // Event.Account.Online or LastError changed, or another process paired or unpaired it: read Accounts again
	EventChanged                     // something the account's dashboard shows changed on the server (Event.Changed)
	EventShare                       // an authenticator was offered to this desktop (Event.Share): read Shares
	EventAlert                       // the account was signed in to from a new browser or place (Event.Alert): offer NotMe
	EventVault                       // another desktop of this member changed the synced vault or asks to join (Event.Vault)
)

func (k EventKind) String() string {
	switch k {
	case EventRequest:
		return "request"
	case EventResolved:
		return "resolved"
	case EventUnpaired:
		return "unpaired"
	case EventConnection:
		return "connection"
	case EventChanged:
		return "changed"
	case EventShare:
		return "share"
	case EventAlert:
		return "signin alert"
	case EventVault:
		return "vault"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what Manager.Events delivers.
type Event struct {
	Kind     EventKind
	Account  Account
	Request  *Request          // EventRequest
	Resolved *api.Resolved     // EventResolved: the request was decided (here or elsewhere), expired, or "cancelled" when its account went
	Changed  *api.Changed      // EventChanged: what changed
	Share    *api.ShareOffered // EventShare: the offer
	Alert    *api.SignInAlert  // EventAlert: what signed in, where from and when
	Vault    *api.VaultChanged // EventVault: the new cursor, or a join request
}

// Choice is a decision on a request.
type Choice string

// Choices.
const (
	Approve Choice = "approve"
	Deny    Choice = "deny"
	Report  Choice = "report"
)

// KeyToucher performs the FIDO2 assertion a "require a security-key touch"
// account asks for; optionsJSON is Approval.KeyOptions, origin the server's.
// It returns the credential JSON the server verifies (the same shape the
// browser sends).
type KeyToucher interface {
	Touch(ctx context.Context, optionsJSON json.RawMessage, origin string) (json.RawMessage, error)
}

// Secrets holds device keys; keyring.New(KeyringService) is the real one.
type Secrets interface {
	Get(name string) (string, error)
	Set(name, secret string) error
	Delete(name string) error
}

// KeyringService is the keyring service device keys are stored under, one
// item per device id.
const KeyringService = "countersign-devices"

// FileName is the file in Options.Dir that lists the paired accounts.
const FileName = "paired.json"

// Options configure a Manager.
type Options struct {
	Dir     string       // where paired.json lives (vault.DefaultDir)
	Keyring Secrets      // keyring.New(KeyringService) in production
	HTTP    *http.Client // nil: a client with sane timeouts (no overall timeout for streams)
	Now     func() time.Time
	// Elapsed is the time run since a fixed point, sleep included, which
	// setting the clock does not move; the wall clock moving more or less
	// than it is a clock step, and requests' times move with it. nil: the
	// system's (CLOCK_BOOTTIME on Linux) with the system clock, Now's own
	// run (no step ever seen) with an injected Now.
	Elapsed func() time.Duration
	Rand    io.Reader
	Keys    KeyToucher // nil: FIDOToucher (libfido2, first key present)
	Log     *slog.Logger
}

// Errors callers may branch on.
var (
	// ErrNotPending means the request is not pending here: unknown,
	// decided or expired.
	ErrNotPending = errors.New("this sign-in request is no longer waiting")
	// ErrExpired means the request expired before the decision reached the server.
	ErrExpired = errors.New("this sign-in request expired")
	// ErrUnpaired means the server removed this device from the account.
	ErrUnpaired = errors.New("this desktop was removed from the account: pair it again")
	// ErrAlreadyPaired means this desktop is paired with the account
	// already; the error says as what.
	ErrAlreadyPaired = errors.New("this desktop is paired with this account already")
	// ErrNoAccount means no paired account has that id.
	ErrNoAccount = errors.New("no such paired account")
	// ErrOffline means the account's server could not be reached: the
	// error names the server and says why.
	ErrOffline = errors.New("the server cannot be reached")
)

// DecidedError means another decision on the request came first.
type DecidedError struct {
	Status    string // "approved", "denied", … when the server said
	DecidedBy string // the device that decided, when the server said
}

func (e *DecidedError) Error() string {
	switch {
	case e.DecidedBy != "" && e.Status != "":
		return fmt.Sprintf("this request was already %s on %s", e.Status, e.DecidedBy)
	case e.DecidedBy != "":
		return fmt.Sprintf("this request was already answered on %s", e.DecidedBy)
	}
	return "this request was already answered"
}

// Manager keeps the paired accounts, their streams and pending requests.
// Its methods are safe for concurrent use.
type Manager struct {
	dir     string
	secrets Secrets
	http    *http.Client
	now     func() time.Time
	elapsed func() time.Duration
	rand    io.Reader
	keys    KeyToucher
	log     *slog.Logger
	events  chan Event

	stepMu   sync.Mutex
	stepWall time.Time     // the wall clock at the last look for a step
	stepRun  time.Duration // elapsed then

	jitterMu sync.Mutex
	jitter   *mrand.Rand

	// test hooks
	forcePoll   bool          // follow accounts with long polls only
	idleTimeout time.Duration // a stream silent this long is dropped
	pollTimeout int           // seconds a long poll may wait
	backoffBase time.Duration

	mu        sync.Mutex
	accounts  map[string]*account
	forgotten map[string]bool     // accounts unpaired here: not to be taken back from paired.json
	diskMod   time.Time           // paired.json's modification time when last read or written
	pending   map[string]*Request // by account id + "/" + request id
	running   bool
	runCtx    context.Context
	wg        sync.WaitGroup
}

// account is an Account with what the manager keeps beside it.
type account struct {
	Account
	publicURL string               // the server's own URL: the origin of key assertions
	lastSeq   int64                // the last stream event seen
	seen      map[string]time.Time // request ids received or resolved, until they can no longer come back
	token     string
	tokenExp  time.Time
	stepUp    api.StepUp // the last confirmation that it is the account's person (step-up); kept in memory only
	priv      ed25519.PrivateKey
	cancel    context.CancelFunc // ends its stream
	follower  *int               // identifies the goroutine cancel belongs to
	order     int                // pairings in the same second keep their order
	saved     bool               // it is in paired.json (so its absence there means another process unpaired it)
}

// Open reads the paired accounts in opts.Dir; a missing file means none.
// A file that cannot be read is an error and is never overwritten.
func Open(opts Options) (*Manager, error) {
	if opts.Dir == "" {
		return nil, errors.New("approver: no directory")
	}
	if opts.Keyring == nil {
		return nil, errors.New("approver: no keyring")
	}
	m := &Manager{
		dir: opts.Dir, secrets: opts.Keyring, http: opts.HTTP, now: opts.Now, elapsed: opts.Elapsed, rand: opts.Rand,
		keys: opts.Keys, log: opts.Log, events: make(chan Event, 1024),
		idleTimeout: 45 * time.Second, pollTimeout: 25, backoffBase: backoffBase,
		accounts: map[string]*account{}, forgotten: map[string]bool{}, pending: map[string]*Request{},
	}
	if m.http == nil {
		m.http = defaultClient()
	}
	switch {
	case m.elapsed != nil:
	case m.now == nil:
		m.elapsed = systemElapsed
	default:
		t0 := m.now()
		m.elapsed = func() time.Duration { return m.now().Sub(t0) }
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.stepWall, m.stepRun = m.now(), m.elapsed()
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.keys == nil {
		m.keys = FIDOToucher()
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	var seed [32]byte
	if _, err := io.ReadFull(m.rand, seed[:]); err != nil {
		return nil, fmt.Errorf("approver: randomness: %w", err)
	}
	m.jitter = newJitter(seed)
	if err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second // long polls answer within 25 s
	return &http.Client{Transport: t}
}

// requestTimeout bounds one ordinary API call (not streams or long polls).
const requestTimeout = 30 * time.Second

func newJitter(seed [32]byte) *mrand.Rand { return mrand.New(mrand.NewChaCha8(seed)) }

// randN is uniform in [0, n), for jitter.
func (m *Manager) randN(n int64) int64 {
	m.jitterMu.Lock()
	defer m.jitterMu.Unlock()
	return m.jitter.Int64N(n)
}

// Accounts returns the paired accounts, oldest first.
func (m *Manager) Accounts() []Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accountsLocked()
}

func (m *Manager) accountsLocked() []Account {
	all := make([]*account, 0, len(m.accounts))
	for _, a := range m.accounts {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *account) int {
		if c := a.PairedAt.Compare(b.PairedAt); c != 0 {
			return c
		}
		return a.order - b.order
	})
	as := make([]Account, len(all))
	for i, a := range all {
		as[i] = a.Account
	}
	return as
}

// Events delivers requests, resolutions, unpairings and connection
// changes. It is buffered; when nobody reads it, events are dropped (and
// logged) rather than stalling the streams: Pending and Accounts always
// tell the current state.
func (m *Manager) Events() <-chan Event { return m.events }

func (m *Manager) emit(e Event) {
	select {
	case m.events <- e:
	default:
		m.log.Warn("approver: event dropped, nobody reads Events", "kind", e.Kind.String(), "account", e.Account.ID)
	}
}

// Pending returns the requests received and not resolved or expired, oldest first.
func (m *Manager) Pending() []Request {
	m.expire()
	m.mu.Lock()
	defer m.mu.Unlock()
	rs := make([]Request, 0, len(m.pending))
	for _, r := range m.pending {
		rc := *r
		if a := m.accounts[r.Account.ID]; a != nil {
			rc.Account = a.Account
		}
		rs = append(rs, rc)
	}
	slices.SortFunc(rs, func(a, b Request) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return rs
}

func pendingKey(accountID, requestID string) string { return accountID + "/" + requestID }

// stepSlack is how far the wall clock may drift from the elapsed time
// between two looks before it counts as set.
const stepSlack = 2 * time.Second

// clockStep is how far the wall clock was set since the last look (0 when
// it ran with the elapsed time, within stepSlack). A suspend is no step:
// both run on through it.
func (m *Manager) clockStep(now time.Time) time.Duration {
	run := m.elapsed()
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	step := now.Sub(m.stepWall) - (run - m.stepRun)
	m.stepWall, m.stepRun = now, run
	if step > -stepSlack && step < stepSlack {
		return 0
	}
	return step
}

// expire drops the pending requests whose expiry passed, with a local
// "expired" resolution each. When the desktop's clock was set since the
// last look, the requests' times (and how long their ids are remembered)
// move with it first, so that a step neither closes a live request nor
// keeps a dead one, and they are sent again with the new times.
func (m *Manager) expire() {
	now := m.now()
	step := m.clockStep(now)
	m.mu.Lock()
	var gone, moved []Event
	if step != 0 {
		m.log.Info("approver: the desktop's clock was set; waiting requests keep their time left", "by", step.Round(time.Second).String())
		for _, r := range m.pending {
			r.CreatedAt, r.ExpiresAt = r.CreatedAt.Add(step), r.ExpiresAt.Add(step)
			rc := *r
			if a := m.accounts[r.Account.ID]; a != nil {
				rc.Account = a.Account
			}
			moved = append(moved, Event{Kind: EventRequest, Account: rc.Account, Request: &rc})
		}
		for _, a := range m.accounts {
			for id, until := range a.seen {
				a.seen[id] = until.Add(step)
			}
		}
	}
	for k, r := range m.pending {
		if !now.Before(r.ExpiresAt) {
			delete(m.pending, k)
			acct := r.Account
			if a := m.accounts[r.Account.ID]; a != nil {
				acct = a.Account
			}
			gone = append(gone, Event{Kind: EventResolved, Account: acct,
				Resolved: &api.Resolved{ID: r.ID, Status: api.StatusExpired, DecidedAt: r.ExpiresAt}})
		}
	}
	for _, a := range m.accounts {
		for id, until := range a.seen {
			if now.After(until) {
				delete(a.seen, id)
			}
		}
	}
	m.mu.Unlock()
	for _, e := range append(moved, gone...) {
		m.emit(e)
	}
}

// DefaultDeviceName is "<user>'s <hostname>", or the hostname alone when the
// user's name is unknown, cut to the 64 characters the server accepts.
func DefaultDeviceName() string {
	host, _ := os.Hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	if host == "" {
		host = "desktop"
	}
	name := host
	if u, err := user.Current(); err == nil {
		who := strings.TrimSpace(strings.Split(u.Name, ",")[0]) // GECOS: full name first
		if f := strings.Fields(who); len(f) > 0 {
			who = f[0]
		} else {
			who = u.Username
		}
		if who != "" && who != "root" {
			name = who + "'s " + host
		}
	}
	return truncateRunes(name, maxDeviceName)
}

const maxDeviceName = 64

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Pair redeems a pairing code: uriOrServer is a countersign://pair link
// (code may then be "") or a server URL with the code shown beside the QR
// code. name is this desktop's name on the server ("" for
// DefaultDeviceName()). The device key goes to the keyring, the account to
// paired.json, and a running Manager starts following it.
func (m *Manager) Pair(ctx context.Context, uriOrServer, code, name string) (Account, error) {
	server, code, err := pairTarget(uriOrServer, code)
	if err != nil {
		return Account{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = DefaultDeviceName()
	}
	if n := utf8.RuneCountInString(name); n > maxDeviceName {
		return Account{}, fmt.Errorf("the desktop's name is %d characters long: at most %d please", n, maxDeviceName)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(m.rand, seed); err != nil {
		return Account{}, fmt.Errorf("making the device key: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	body := api.Pairing{
		Code:      code,
		PublicKey: b64.EncodeToString(priv.Public().(ed25519.PublicKey)),
		Name:      name,
		Platform:  runtime.GOOS,
	}
	var res api.PairingResult
	if err := m.call(ctx, server, "", http.MethodPost, "/api/v1/pairings", body, &res); err != nil {
		return Account{}, err
	}
	if res.DeviceID == "" {
		return Account{}, fmt.Errorf("%s answered the pairing without a device id", server)
	}
	a := &account{
		Account: Account{
			ID: res.DeviceID, Server: server, AccountID: res.Account.ID, Name: cleanText(res.Account.Name),
			Email: cleanText(res.Account.Email), DeviceName: name, PairedAt: m.now().UTC().Truncate(time.Second),
		},
		publicURL: res.Server,
		priv:      priv,
		seen:      map[string]time.Time{},
	}
	if a.publicURL == "" {
		a.publicURL = server
	}
	// One pairing per account on a desktop: a second (again, or as another
	// member of the household) would give two desktops in one, answering
	// the same requests twice. The server's new device goes again.
	m.mu.Lock()
	var twin *account
	for _, o := range m.accounts {
		if !o.Unpaired && o.Server == server && o.AccountID != "" && o.AccountID == a.AccountID {
			twin = o
		}
	}
	m.mu.Unlock()
	if twin != nil {
		m.undoPairing(a)
		who := twin.Email
		if who == "" {
			who = twin.Name
		}
		host := server
		if u, err := url.Parse(server); err == nil && u.Host != "" {
			host = u.Host
		}
		return Account{}, fmt.Errorf("%w (%s on %s, as %q): unpair it first to pair it again", ErrAlreadyPaired, who, host, twin.DeviceName)
	}
	if err := m.secrets.Set(a.ID, base64.StdEncoding.EncodeToString(seed)); err != nil {
		m.undoPairing(a)
		return Account{}, fmt.Errorf("storing the device key: %w", err)
	}
	m.mu.Lock()
	a.order = len(m.accounts)
	for _, o := range m.accounts {
		a.order = max(a.order, o.order+1)
	}
	m.accounts[a.ID] = a
	err = m.saveLocked()
	if err != nil {
		delete(m.accounts, a.ID)
	} else {
		m.startLocked(a)
	}
	acct := a.Account
	m.mu.Unlock()
	if err != nil {
		_ = m.secrets.Delete(a.ID)
		m.undoPairing(a)
		return Account{}, err
	}
	m.log.Info("approver: paired", "server", server, "account", a.Email, "device", a.ID)
	return acct, nil
}

// undoPairing removes a device from the server that could not be kept here.
func (m *Manager) undoPairing(a *account) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.authed(ctx, a, http.MethodDelete, "/api/v1/approvers/"+url.PathEscape(a.ID), nil, nil); err != nil {
		m.log.Warn("approver: could not undo a pairing", "server", a.Server, "device", a.ID, "err", err)
	}
}

// pairTarget reads what Pair was given.
func pairTarget(uriOrServer, code string) (server, normCode string, err error) {
	s := strings.TrimSpace(uriOrServer)
	if strings.HasPrefix(strings.ToLower(s), "countersign:") {
		server, normCode, err = api.ParsePairURI(s)
		if err != nil {
			return "", "", err
		}
		if c := api.NormalizePairCode(code); c != "" {
			normCode = c
		}
		return strings.TrimRight(server, "/"), normCode, nil
	}
	if server, err = ServerURL(s); err != nil {
		return "", "", err
	}
	normCode = api.NormalizePairCode(code)
	if normCode == "" {
		return "", "", errors.New("a pairing code is needed with a server URL: make one on the server's Login & security page")
	}
	return server, normCode, nil
}

// Unpair removes this device from the account on the server (an already
// removed device is fine), then forgets the account and deletes its key.
func (m *Manager) Unpair(ctx context.Context, id string) error {
	m.mu.Lock()
	a := m.accounts[id]
	m.mu.Unlock()
	if a == nil {
		return fmt.Errorf("%w: %s", ErrNoAccount, id)
	}
	// The stream stops first, so that the server's "unpaired" event for
	// this very removal is not taken for a removal by someone else.
	m.mu.Lock()
	m.stopLocked(a)
	unpaired := a.Unpaired
	m.mu.Unlock()
	if !unpaired {
		err := m.authed(ctx, a, http.MethodDelete, "/api/v1/approvers/"+url.PathEscape(a.ID), nil, nil)
		var ae *APIError
		switch {
		case err == nil, errors.Is(err, ErrUnpaired), errors.Is(err, keyring.ErrNotFound):
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		default:
			m.mu.Lock()
			m.startLocked(a)
			m.mu.Unlock()
			return fmt.Errorf("removing this desktop from %s: %w", a.Server, err)
		}
	}
	m.mu.Lock()
	m.forgetLocked(a)
	err := m.saveLocked()
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if err := m.secrets.Delete(id); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("deleting the device key: %w", err)
	}
	return nil
}

// markUnpaired records that the server removed the device: the account
// stays listed as unpaired, its requests go, its stream ends.
func (m *Manager) markUnpaired(a *account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a.Unpaired || m.accounts[a.ID] != a {
		return
	}
	m.unpairedLocked(a)
	if err := m.saveLocked(); err != nil {
		m.log.Error("approver: saving", "err", err)
	}
	m.log.Info("approver: the server removed this device", "server", a.Server, "device", a.ID)
}

func (m *Manager) unpairedLocked(a *account) {
	a.Unpaired, a.Online, a.LastError = true, false, ErrUnpaired.Error()
	a.token = ""
	m.stopLocked(a)
	m.dropPendingLocked(a)
	m.emit(Event{Kind: EventUnpaired, Account: a.Account})
}

// forgetLocked drops an account: its stream, its requests, its entry.
func (m *Manager) forgetLocked(a *account) {
	m.stopLocked(a)
	m.dropPendingLocked(a)
	delete(m.accounts, a.ID)
	m.forgotten[a.ID] = true
}

func (m *Manager) stopLocked(a *account) {
	if a.cancel != nil {
		a.cancel()
		a.cancel, a.follower = nil, nil
	}
}

// dropPendingLocked ends the account's requests with a local "cancelled".
func (m *Manager) dropPendingLocked(a *account) {
	for k, r := range m.pending {
		if r.Account.ID == a.ID {
			delete(m.pending, k)
			m.emit(Event{Kind: EventResolved, Account: a.Account,
				Resolved: &api.Resolved{ID: r.ID, Status: api.StatusCancelled, DecidedAt: m.now()}})
		}
	}
}

// Decide answers a pending request; number is the number picked (it is
// sent as 0 with Deny and Report). When the account requires a security
// key, approving asks Options.Keys for a touch first. It returns the
// server's status: "approved", "denied" (also for a wrong number) or
// "reported". When another device decided first the error is a
// *DecidedError.
func (m *Manager) Decide(ctx context.Context, accountID, requestID string, c Choice, number int) (status string, err error) {
	switch c {
	case Approve:
	case Deny, Report:
		number = 0
	default:
		return "", fmt.Errorf("unknown choice %q", c)
	}
	m.expire()
	m.mu.Lock()
	a := m.accounts[accountID]
	var r *Request
	unpaired := false
	if a != nil {
		r = m.pending[pendingKey(accountID, requestID)]
		unpaired = a.Unpaired
	}
	m.mu.Unlock()
	if a == nil {
		return "", fmt.Errorf("%w: %s", ErrNoAccount, accountID)
	}
	if unpaired {
		return "", ErrUnpaired
	}
	if r == nil {
		return "", ErrNotPending
	}
	withKey := r.RequireKey && c == Approve
	for {
		status, err = m.decide(ctx, a, r, c, number, withKey)
		var ae *APIError
		if !withKey && errors.As(err, &ae) && ae.Code == api.CodeKeyRequired && len(r.KeyOptions) > 0 {
			withKey = true // the server wants a touch even for this answer
			continue
		}
		break
	}
	var de *DecidedError
	switch {
	case err == nil:
		m.resolveLocal(a, &api.Resolved{ID: r.ID, Status: status, DecidedBy: a.DeviceName, DecidedAt: m.now()})
	case errors.As(err, &de):
		m.resolveLocal(a, &api.Resolved{ID: r.ID, Status: de.Status, DecidedBy: de.DecidedBy, DecidedAt: m.now()})
	case errors.Is(err, ErrExpired):
		m.resolveLocal(a, &api.Resolved{ID: r.ID, Status: api.StatusExpired, DecidedAt: r.ExpiresAt})
	}
	return status, err
}

func (m *Manager) decide(ctx context.Context, a *account, r *Request, c Choice, number int, withKey bool) (string, error) {
	priv, err := m.key(a)
	if err != nil {
		return "", err
	}
	d := api.Decision{
		Decision:  string(c),
		Number:    number,
		Nonce:     r.Nonce,
		Signature: b64.EncodeToString(ed25519.Sign(priv, api.DecisionMessage(r.ID, r.Nonce, string(c), number))),
	}
	if withKey {
		d.Assertion, err = m.keys.Touch(ctx, r.KeyOptions, a.origin())
		if err != nil {
			return "", fmt.Errorf("security key: %w", err)
		}
	}
	var res api.DecisionResult
	err = m.authed(ctx, a, http.MethodPost, "/api/v1/approvals/"+url.PathEscape(r.ID)+"/decision", d, &res)
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeAlreadyDecided:
			return "", &DecidedError{Status: ae.extra.Status, DecidedBy: cleanText(ae.extra.DecidedBy)}
		case api.CodeExpired:
			return "", ErrExpired
		}
	}
	if err != nil {
		return "", err
	}
	return res.Status, nil
}

// resolveLocal ends a pending request that was decided through this
// manager (or found decided), as the stream would.
func (m *Manager) resolveLocal(a *account, res *api.Resolved) {
	m.mu.Lock()
	_, was := m.pending[pendingKey(a.ID, res.ID)]
	delete(m.pending, pendingKey(a.ID, res.ID))
	if a.seen != nil {
		a.seen[res.ID] = m.now().Add(seenFor)
	}
	acct := a.Account
	m.mu.Unlock()
	if was {
		m.emit(Event{Kind: EventResolved, Account: acct, Resolved: res})
	}
}

// seenFor is how long a request id is remembered after it was resolved or
// expired, so that a replay or a late list does not bring it back.
const seenFor = 10 * time.Minute

func (a *account) origin() string {
	if a.publicURL != "" {
		return a.publicURL
	}
	return a.Server
}

var b64 = base64.RawURLEncoding

// key returns the account's device key, from the keyring the first time.
func (m *Manager) key(a *account) (ed25519.PrivateKey, error) {
	m.mu.Lock()
	priv := a.priv
	m.mu.Unlock()
	if priv != nil {
		return priv, nil
	}
	s, err := m.secrets.Get(a.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the device key of %s: %w", a.Email, err)
	}
	seed, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("the device key of %s in the keyring is damaged: unpair and pair again", a.Email)
	}
	priv = ed25519.NewKeyFromSeed(seed)
	m.mu.Lock()
	a.priv = priv
	m.mu.Unlock()
	return priv, nil
}
