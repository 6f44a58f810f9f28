// Package approval runs sign-in approvals for countersign-server: pairing
// desktop companions with an account as approver devices, their
// challenge-signed short-lived tokens, the approval requests a sign-in makes
// after the password, the signed decisions on them (first one wins), and the
// event streams that carry requests to every approver device — across
// server instances through PostgreSQL LISTEN/NOTIFY.
//
// It holds the rules (lifetimes, limits, who may decide what) and no HTTP:
// the web pages (package server) and API v1 (package apiv1) call it and turn
// its sentinel errors into answers. Storage is package store.
package approval

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
)

// Lifetimes and limits.
const (
	PairingLifetime   = 10 * time.Minute // a pairing code
	ChallengeLifetime = 60 * time.Second // a device auth challenge
	TokenLifetime     = 10 * time.Minute // a device token
	RequestLifetime   = 2 * time.Minute  // an approval request
	MaxPending        = 3                // pending requests per account
	DenialLimit       = 3                // denials within DenialWindow lock the password step …
	DenialWindow      = 15 * time.Minute
	LockDuration      = 15 * time.Minute // … for this long
	MaxNameLen        = 64               // an approver's name, in characters

	touchEvery   = time.Minute      // an approver's LastSeenAt is written at most this often
	replayWindow = 2 * time.Minute  // resolved events older than this are not replayed
	sweepEvery   = 5 * time.Second  // expired requests are marked this often
	mailTimeout  = 30 * time.Second // sending the "change your password" mail
)

// Sentinel errors; callers branch on them with errors.Is. Their messages
// may be shown to people; wrapped detail is for logs.
var (
	ErrInvalidCode    = errors.New("this pairing code is wrong, used or expired: make a new one on the Login & security page")
	ErrInvalid        = errors.New("invalid request") // a malformed name, public key, decision …; the wrapping error says what
	ErrRevoked        = errors.New("this device is not paired with the account any more")
	ErrInvalidToken   = errors.New("the device token is unknown or expired")
	ErrSignature      = errors.New("the signature does not verify, or the challenge is unknown, used or expired")
	ErrTooManyPending = errors.New("too many sign-in requests are waiting for an answer: use another way to sign in")
	ErrLocked         = errors.New("sign-in is locked for a while after sign-in requests were denied")
	ErrAlreadyDecided = errors.New("this sign-in request was already answered")
	ErrExpired        = errors.New("this sign-in request has expired")
	ErrForeign        = errors.New("this sign-in request belongs to another account")
	ErrKeyRequired    = errors.New("approving this sign-in needs a security-key touch")
	ErrKeyFailed      = errors.New("the security key's answer could not be verified")
	ErrNotFound       = errors.New("no such sign-in request or device")
	ErrConsumed       = errors.New("this approval was already used to sign in")
)

// AlreadyDecidedError says who decided a request first. It is an
// ErrAlreadyDecided.
type AlreadyDecidedError struct {
	Status    string // "approved", "denied", "reported", "cancelled"
	DecidedBy string // the deciding device's name, "" when none
}

func (e *AlreadyDecidedError) Error() string {
	if e.DecidedBy == "" {
		return fmt.Sprintf("%v (%s)", ErrAlreadyDecided, e.Status)
	}
	return fmt.Sprintf("%v (%s on %s)", ErrAlreadyDecided, e.Status, e.DecidedBy)
}

func (e *AlreadyDecidedError) Is(target error) bool { return target == ErrAlreadyDecided }

// Config is what New needs. Store and PublicURL are required.
type Config struct {
	Store     store.Store
	Keys      *seckey.Service  // nil: "require a security-key touch" is not offered
	PublicURL string           // "https://accounts.example.com": pairing links, mail links
	Now       func() time.Time // nil: time.Now
	Rand      io.Reader        // nil: crypto/rand.Reader
	Log       *slog.Logger     // nil: discard
	Locator   Locator          // nil: every place is "Unknown place"
	Mailer    notify.Mailer    // nil: no mail after a report
}

// Service runs pairing and approvals. It is safe for concurrent use; Close
// stops its background work.
type Service struct {
	store  store.Store
	keys   *seckey.Service
	public string
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	loc    Locator
	mailer notify.Mailer

	broker   *broker
	onPaired atomic.Pointer[func(context.Context, *store.Approver)]
	ctx      context.Context // ends at Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// listener is what a store offers when it can announce events written by
// other server instances (PostgreSQL LISTEN): payloads are user ids, "" for
// "some may have been missed".
type listener interface {
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// New validates cfg and starts the service: the broker that wakes streams,
// the sweeper that expires requests and, when the store can listen
// (PostgreSQL), the loop that wakes streams for events written by other
// instances.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("approval: no store")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("approval: public URL %q must be http(s)://host[:port]", cfg.PublicURL)
	}
	s := &Service{
		store:  cfg.Store,
		keys:   cfg.Keys,
		public: strings.TrimRight(cfg.PublicURL, "/"),
		now:    cfg.Now,
		rand:   cfg.Rand,
		log:    cfg.Log,
		loc:    cfg.Locator,
		mailer: cfg.Mailer,
		broker: newBroker(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	s.rand = &lockedReader{r: s.rand}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if l, ok := cfg.Store.(listener); ok {
		ch, err := l.Listen(s.ctx, store.ApprovalChannel)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
		case err != nil:
			s.cancel()
			return nil, fmt.Errorf("approval: listen for other instances' events: %w", err)
		case ch != nil:
			s.wg.Go(func() { s.listen(ch) })
		}
	}
	s.wg.Go(s.sweepLoop)
	return s, nil
}

// Close stops the background work and ends every stream.
func (s *Service) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

// listen wakes local streams for every announced account.
func (s *Service) listen(ch <-chan string) {
	for userID := range ch {
		if userID == "" {
			s.broker.wakeAll()
			continue
		}
		s.broker.wake(userID)
	}
}

// sweepLoop marks expired requests now and then, so that streams hear of
// them; every read also expires lazily.
func (s *Service) sweepLoop() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.sweep(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Warn("approval: expire requests", "err", err)
			}
		}
	}
}

// sweep marks every pending request past its expiry expired.
func (s *Service) sweep(ctx context.Context) error {
	for {
		rs, err := s.store.ExpiredApprovalRequests(ctx, s.now(), 100)
		if err != nil {
			return err
		}
		for i := range rs {
			if _, err := s.expire(ctx, &rs[i]); err != nil {
				return err
			}
		}
		if len(rs) < 100 {
			return nil
		}
	}
}

// lockedReader makes an io.Reader safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// random fills n bytes from the service's entropy.
func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, fmt.Errorf("read random bytes: %w", err)
	}
	return b, nil
}

// activity records a security event; a failure is logged, not returned: the
// state change it describes has happened.
func (s *Service) activity(ctx context.Context, userID, kind string, ok bool, ip, userAgent, detail string) {
	s.record(ctx, &store.Activity{UserID: userID, Kind: kind, OK: ok, IP: ip, UserAgent: userAgent, Detail: detail})
}

// record is activity with every field of a (At is set).
func (s *Service) record(ctx context.Context, a *store.Activity) {
	a.At = s.now()
	if err := s.store.AddActivity(ctx, a); err != nil {
		s.log.Error("approval: record activity", "kind", a.Kind, "err", err)
	}
}

// OnPaired sets a function that Redeem calls with every newly paired
// approver (the household offers it the shared authenticator). It must
// not block for long; errors are its own to log.
func (s *Service) OnPaired(f func(ctx context.Context, a *store.Approver)) {
	s.onPaired.Store(&f)
}

// Publish appends an event to the account's stream and wakes the streams
// of this instance (other instances hear of it through the store: NOTIFY on
// PostgreSQL).
func (s *Service) Publish(ctx context.Context, userID string, ev *store.ApprovalEvent) error {
	if err := s.store.AppendEvent(ctx, userID, ev); err != nil {
		return fmt.Errorf("publish %s event: %w", ev.Kind, err)
	}
	s.broker.wake(userID)
	return nil
}

// Changed publishes an api.EventChanged event naming what changed
// (api.Changed…), so that the companions' dashboards reload it. A failure is
// logged, not returned: the change it announces has happened.
func (s *Service) Changed(ctx context.Context, userID, what string) {
	ev, err := event(api.EventChanged, api.Changed{What: what})
	if err == nil {
		err = s.Publish(ctx, userID, ev)
	}
	if err != nil {
		s.log.Error("approval: publish a change", "what", what, "err", err)
	}
}

// Wake wakes this instance's streams of the account, after a store write
// that appended events by itself (e.g. store.RemoveMember).
func (s *Service) Wake(userID string) { s.broker.wake(userID) }

// memberName is the name of the household member the approver belongs to,
// "" when it can't be read (logged).
func (s *Service) memberName(ctx context.Context, a *store.Approver) string {
	m, err := s.store.Member(ctx, a.UserID, a.MemberID)
	if err != nil {
		s.log.Warn("approval: the member of an approver", "device", a.ID, "err", err)
		return ""
	}
	return m.Name
}

// DeviceName names an approver for people: "Sam's laptop (Sam)", its name
// and its member's.
func (s *Service) DeviceName(ctx context.Context, a *store.Approver) string {
	if m := s.memberName(ctx, a); m != "" {
		return a.Name + " (" + m + ")"
	}
	return a.Name
}
