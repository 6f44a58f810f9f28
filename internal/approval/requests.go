package approval

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/uainfo"
)

// SignIn is a browser sign-in waiting for approval after its password.
type SignIn struct {
	UserID    string
	SessionID string // the pending session's id; one request per session at a time
	IP        string
	UserAgent string
	App       string // the OAuth client's name, "" for the account itself
}

// HasApprovers reports whether the user has a paired approver device.
func (s *Service) HasApprovers(ctx context.Context, userID string) (bool, error) {
	as, err := s.Approvers(ctx, userID)
	return len(as) > 0, err
}

// Request sends a sign-in to the user's approver devices. It returns the
// session's request if one is pending still; otherwise it makes one, unless
// MaxPending are pending (ErrTooManyPending) or the account's sign-in is
// locked (ErrLocked: after DenialLimit denials, or failed attempts).
func (s *Service) Request(ctx context.Context, in SignIn) (req *store.ApprovalRequest, err error) {
	u, err := s.store.UserByID(ctx, in.UserID)
	if err != nil {
		return nil, fmt.Errorf("approval request: %w", err)
	}
	now := s.now()
	if now.Before(u.LockedUntil) {
		return nil, ErrLocked
	}
	if in.SessionID != "" {
		r, err := s.store.SessionApprovalRequest(ctx, in.SessionID)
		switch {
		case err == nil && r.UserID == in.UserID && r.Status == store.ApprovalPending && now.Before(r.ExpiresAt):
			return r, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("approval request: %w", err)
		}
	}

	r := &store.ApprovalRequest{
		UserID:    in.UserID,
		SessionID: in.SessionID,
		IP:        in.IP,
		UserAgent: in.UserAgent,
		Place:     s.place(in.IP),
		App:       in.App,
		CreatedAt: now,
		ExpiresAt: now.Add(RequestLifetime),
		Status:    store.ApprovalPending,
	}
	ua := uainfo.Parse(in.UserAgent)
	r.Browser, r.OS = ua.Browser, ua.OS
	if r.ID, err = s.newID(); err != nil {
		return nil, err
	}
	nonce, err := s.random(16)
	if err != nil {
		return nil, err
	}
	r.Nonce = b64.EncodeToString(nonce)
	if r.Number, r.Decoys, err = s.numbers(); err != nil {
		return nil, err
	}
	if s.keys != nil {
		on, err := s.store.ApprovalRequireKey(ctx, u.ID)
		if err != nil {
			return nil, fmt.Errorf("approval request: %w", err)
		}
		if on {
			id, opts, err := s.keys.BeginLogin(ctx, u)
			switch {
			case errors.Is(err, seckey.ErrNoKeys):
				// The keys were removed since: the touch can't be asked for.
			case err != nil:
				return nil, fmt.Errorf("approval request: security key: %w", err)
			default:
				r.RequireKey, r.KeyChallengeID, r.KeyOptions = true, id, opts
			}
		}
	}
	ev, err := event(api.EventApproval, approvalOf(r, u))
	if err != nil {
		return nil, err
	}
	ev.Activity = &store.Activity{At: s.now(), Kind: store.ActApprovalRequested, OK: true, IP: in.IP, UserAgent: in.UserAgent,
		Detail: "Sign-in request sent to your devices"}
	err = s.store.CreateApprovalRequest(ctx, r, MaxPending, ev)
	if errors.Is(err, store.ErrLimit) {
		return nil, ErrTooManyPending
	}
	if err != nil {
		return nil, fmt.Errorf("approval request: %w", err)
	}
	s.broker.wake(u.ID)
	return r, nil
}

// numbers draws the right number (10–99) and two different decoys.
func (s *Service) numbers() (int, []int, error) {
	var picked []int
	for len(picked) < 3 {
		b, err := s.random(2)
		if err != nil {
			return 0, nil, err
		}
		v := binary.BigEndian.Uint16(b)
		if v >= 65520 { // 65520 = 90·728: reject the remainder so each number is as likely
			continue
		}
		n := 10 + int(v%90)
		if !slices.Contains(picked, n) {
			picked = append(picked, n)
		}
	}
	return picked[0], picked[1:], nil
}

// approvalOf is what approver devices see of a request. Numbers are sorted,
// which tells nothing about which one is right.
func approvalOf(r *store.ApprovalRequest, u *store.User) api.Approval {
	nums := append([]int{r.Number}, r.Decoys...)
	slices.Sort(nums)
	a := api.Approval{
		ID: r.ID, Nonce: r.Nonce, Numbers: nums, Account: accountRef(u),
		Browser: r.Browser, OS: r.OS, IP: r.IP, Place: r.Place, App: r.App,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), RequireKey: r.RequireKey,
	}
	if r.RequireKey && len(r.KeyOptions) > 0 {
		a.KeyOptions = json.RawMessage(r.KeyOptions)
	}
	return a
}

// event makes a store event of kind with data as JSON.
func event(kind string, data any) (*store.ApprovalEvent, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", kind, err)
	}
	return &store.ApprovalEvent{Kind: kind, Data: b}, nil
}

// SessionRequest returns the session's newest request (an expired pending
// one comes back expired). ErrNotFound when it has none.
func (s *Service) SessionRequest(ctx context.Context, sessionID string) (*store.ApprovalRequest, error) {
	r, err := s.store.SessionApprovalRequest(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("session approval request: %w", err)
	}
	return s.fresh(ctx, r)
}

// fresh expires r if it is pending past its expiry, and returns it as it now
// is.
func (s *Service) fresh(ctx context.Context, r *store.ApprovalRequest) (*store.ApprovalRequest, error) {
	if r.Status != store.ApprovalPending || s.now().Before(r.ExpiresAt) {
		return r, nil
	}
	return s.expire(ctx, r)
}

// expire marks a pending request past its expiry expired, with its
// "resolved" event, and returns the request as it now is (another instance
// or decision may have got there first).
func (s *Service) expire(ctx context.Context, r *store.ApprovalRequest) (*store.ApprovalRequest, error) {
	at := s.now()
	if at.Before(r.ExpiresAt) {
		at = r.ExpiresAt
	}
	ev, err := event(api.EventResolved, api.Resolved{ID: r.ID, Status: store.ApprovalExpired, DecidedAt: at.UTC()})
	if err != nil {
		return nil, err
	}
	err = s.store.ResolveApprovalRequest(ctx, store.Resolution{RequestID: r.ID, Status: store.ApprovalExpired, At: at}, ev)
	if errors.Is(err, store.ErrUsed) {
		return s.reload(ctx, r.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("expire approval request: %w", err)
	}
	s.broker.wake(r.UserID)
	s.activity(ctx, r.UserID, store.ActApprovalExpired, false, r.IP, r.UserAgent, "Sign-in request expired unanswered")
	e := *r
	e.Status, e.DecidedAt = store.ApprovalExpired, at
	return &e, nil
}

func (s *Service) reload(ctx context.Context, id string) (*store.ApprovalRequest, error) {
	r, err := s.store.ApprovalRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("approval request: %w", err)
	}
	return r, nil
}

// WaitDecided returns the request once it is no longer pending — decided,
// cancelled or expired — or, with ctx's error, when ctx ends.
func (s *Service) WaitDecided(ctx context.Context, requestID string) (*store.ApprovalRequest, error) {
	r, err := s.reload(ctx, requestID)
	if err != nil {
		return nil, err
	}
	sb := s.broker.subscribe(r.UserID)
	defer s.broker.unsubscribe(sb)
	for {
		if r, err = s.reload(ctx, requestID); err != nil {
			return nil, err
		}
		if r, err = s.fresh(ctx, r); err != nil || r.Status != store.ApprovalPending {
			return r, err
		}
		// Wake at the expiry even if nothing else happens.
		t := time.NewTimer(r.ExpiresAt.Sub(s.now()) + 10*time.Millisecond)
		select {
		case <-sb.wake:
			t.Stop()
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return r, ctx.Err()
		case <-s.ctx.Done():
			t.Stop()
			return r, errors.New("approval service closed")
		}
	}
}

// Consume spends the session's approved request to finish its sign-in, once,
// within RequestLifetime of the approval: ErrConsumed the second time,
// ErrExpired too late, ErrNotFound unless it is the session's approved
// request.
func (s *Service) Consume(ctx context.Context, requestID, sessionID string) error {
	r, err := s.reload(ctx, requestID)
	if err != nil {
		return err
	}
	if r.SessionID != sessionID || sessionID == "" || r.Status != store.ApprovalApproved {
		return ErrNotFound
	}
	if !r.ConsumedAt.IsZero() {
		return ErrConsumed
	}
	now := s.now()
	if !now.Before(r.DecidedAt.Add(RequestLifetime)) {
		return ErrExpired
	}
	err = s.store.ConsumeApprovalRequest(ctx, requestID, sessionID, now)
	switch {
	case errors.Is(err, store.ErrUsed):
		return ErrConsumed
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("consume approval: %w", err)
	}
	return nil
}

// Cancel withdraws the session's pending request (the person chose another
// way to sign in, or left): devices dismiss it. Cancelling a request that is
// no longer pending does nothing; ErrNotFound unless it is the session's.
func (s *Service) Cancel(ctx context.Context, requestID, sessionID string) error {
	r, err := s.reload(ctx, requestID)
	if err != nil {
		return err
	}
	if r.SessionID != sessionID || sessionID == "" {
		return ErrNotFound
	}
	if r.Status != store.ApprovalPending || !s.now().Before(r.ExpiresAt) {
		return nil
	}
	at := s.now()
	ev, err := event(api.EventResolved, api.Resolved{ID: r.ID, Status: store.ApprovalCancelled, DecidedAt: at.UTC()})
	if err != nil {
		return err
	}
	err = s.store.ResolveApprovalRequest(ctx, store.Resolution{RequestID: r.ID, Status: store.ApprovalCancelled,
		Reason: "cancelled by the browser", At: at}, ev)
	if errors.Is(err, store.ErrUsed) {
		return nil // decided or expired meanwhile
	}
	if err != nil {
		return fmt.Errorf("cancel approval request: %w", err)
	}
	s.broker.wake(r.UserID)
	return nil
}

// SetRequireKey turns "require a security-key touch to approve" on or off
// for the account. Turning it on needs a registered security key
// (seckey.ErrNoKeys otherwise) and a Service with Keys.
func (s *Service) SetRequireKey(ctx context.Context, userID string, on bool) error {
	if on {
		if s.keys == nil {
			return errors.New("set require key: security keys are not configured")
		}
		keys, err := s.store.SecurityKeys(ctx, userID)
		if err != nil {
			return fmt.Errorf("set require key: %w", err)
		}
		if len(keys) == 0 {
			return fmt.Errorf("set require key: %w", seckey.ErrNoKeys)
		}
	}
	if err := s.store.SetApprovalRequireKey(ctx, userID, on); err != nil {
		return fmt.Errorf("set require key: %w", err)
	}
	return nil
}

// RequireKey reports the account's "require a security-key touch" setting.
func (s *Service) RequireKey(ctx context.Context, userID string) (bool, error) {
	on, err := s.store.ApprovalRequireKey(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("require key: %w", err)
	}
	return on, nil
}
