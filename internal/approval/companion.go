package approval

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/store"
)

// Pending lists the device's account's requests that wait for a decision,
// oldest first.
func (s *Service) Pending(ctx context.Context, a *store.Approver) ([]api.Approval, error) {
	u, err := s.store.UserByID(ctx, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	rs, err := s.store.PendingApprovalRequests(ctx, a.UserID, s.now())
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	out := make([]api.Approval, 0, len(rs))
	for i := range rs {
		out = append(out, approvalOf(&rs[i], u))
	}
	return out, nil
}

// Decide applies the device's signed decision (approve, deny, report) to a
// request and returns the resulting status: "approved"; "denied" (also for
// approving with the wrong number); "reported". The first decision wins:
// later ones get an *AlreadyDecidedError. Errors: ErrNotFound, ErrForeign,
// ErrSignature (bad signature or nonce), ErrExpired, ErrKeyRequired,
// ErrKeyFailed, ErrInvalid (an unknown decision).
func (s *Service) Decide(ctx context.Context, a *store.Approver, requestID string, d api.Decision) (status string, err error) {
	switch d.Decision {
	case api.DecisionApprove, api.DecisionDeny, api.DecisionReport:
	default:
		return "", fmt.Errorf("%w: decision must be approve, deny or report", ErrInvalid)
	}
	r, err := s.reload(ctx, requestID)
	if err != nil {
		return "", err
	}
	if r.UserID != a.UserID {
		return "", ErrForeign
	}
	sig, err := b64.DecodeString(d.Signature)
	if err != nil || subtle.ConstantTimeCompare([]byte(d.Nonce), []byte(r.Nonce)) != 1 ||
		!ed25519.Verify(a.PublicKey, api.DecisionMessage(r.ID, d.Nonce, d.Decision, d.Number), sig) {
		return "", ErrSignature
	}
	if r, err = s.fresh(ctx, r); err != nil {
		return "", err
	}
	if err := decided(r); err != nil {
		return "", err
	}

	member := s.memberName(ctx, a)
	res := store.Resolution{RequestID: r.ID, DecidedBy: a.ID, DecidedByName: a.Name}
	if member != "" {
		res.DecidedByName += " (" + member + ")"
	}
	switch {
	case d.Decision == api.DecisionReport:
		res.Status, res.Reason = store.ApprovalReported, "reported as not me"
	case d.Decision == api.DecisionDeny:
		res.Status, res.Reason = store.ApprovalDenied, "denied"
	case d.Number != r.Number:
		res.Status, res.Reason = store.ApprovalDenied, "wrong number picked"
	default:
		res.Status = store.ApprovalApproved
	}
	var u *store.User
	if r.RequireKey && res.Status == store.ApprovalApproved || res.Status == store.ApprovalReported {
		if u, err = s.store.UserByID(ctx, r.UserID); err != nil {
			return "", fmt.Errorf("decide: %w", err)
		}
	}
	if r.RequireKey && res.Status == store.ApprovalApproved {
		if len(d.Assertion) == 0 || string(d.Assertion) == "null" {
			return "", ErrKeyRequired
		}
		if s.keys == nil {
			return "", fmt.Errorf("%w: security keys are not configured", ErrKeyFailed)
		}
		if _, err := s.keys.FinishLogin(ctx, u, r.KeyChallengeID, d.Assertion); err != nil {
			return "", fmt.Errorf("%w: %w", ErrKeyFailed, err)
		}
	}

	res.At = s.now()
	ev, err := event(api.EventResolved, api.Resolved{ID: r.ID, Status: res.Status, DecidedBy: res.DecidedByName, DecidedAt: res.At.UTC()})
	if err != nil {
		return "", err
	}
	ev.Activity = decisionActivity(r, res)
	ev.Activity.Member = member
	err = s.store.ResolveApprovalRequest(ctx, res, ev)
	if errors.Is(err, store.ErrUsed) {
		// Another decision, or the expiry, came first.
		if r, err = s.reload(ctx, r.ID); err != nil {
			return "", err
		}
		if r, err = s.fresh(ctx, r); err != nil {
			return "", err
		}
		if err := decided(r); err != nil {
			return "", err
		}
		return "", fmt.Errorf("decide: the request is still pending after a lost update")
	}
	if err != nil {
		return "", fmt.Errorf("decide: %w", err)
	}
	s.broker.wake(r.UserID)
	s.afterDecision(ctx, r, res, u)
	return res.Status, nil
}

// decided returns the error for deciding a request that is no longer
// pending, nil for a pending one.
func decided(r *store.ApprovalRequest) error {
	switch r.Status {
	case store.ApprovalPending:
		return nil
	case store.ApprovalExpired:
		return ErrExpired
	default:
		return &AlreadyDecidedError{Status: r.Status, DecidedBy: r.DecidedByName}
	}
}

// decisionActivity is the activity-log entry of a decision, written with it.
func decisionActivity(r *store.ApprovalRequest, res store.Resolution) *store.Activity {
	a := &store.Activity{At: res.At, IP: r.IP, UserAgent: r.UserAgent}
	switch res.Status {
	case store.ApprovalApproved:
		a.Kind, a.OK, a.Detail = store.ActApprovalApproved, true, "Sign-in approved on "+res.DecidedByName
	case store.ApprovalDenied:
		a.Kind, a.Detail = store.ActApprovalDenied, "Sign-in denied on "+res.DecidedByName+": "+res.Reason
	default:
		a.Kind, a.Detail = store.ActApprovalReported, "Sign-in reported on "+res.DecidedByName+"; it was blocked"
	}
	return a
}

// afterDecision applies a decision's consequences: denials lock the
// password step when they pile up, a report mails the account.
func (s *Service) afterDecision(ctx context.Context, r *store.ApprovalRequest, res store.Resolution, u *store.User) {
	switch res.Status {
	case store.ApprovalApproved:
		return
	case store.ApprovalReported:
		s.mailReport(r, u)
	}
	n, err := s.store.CountApprovalRequests(ctx, r.UserID, res.At.Add(-DenialWindow), store.ApprovalDenied, store.ApprovalReported)
	if err != nil {
		s.log.Error("approval: count denials", "err", err)
		return
	}
	if n < DenialLimit {
		return
	}
	until := res.At.Add(LockDuration)
	if _, err := s.store.RecordLoginFailure(ctx, r.UserID, func(int) time.Time { return until }); err != nil {
		s.log.Error("approval: lock after denials", "err", err)
		return
	}
	s.activity(ctx, r.UserID, store.ActLockedOut, false, r.IP, r.UserAgent,
		fmt.Sprintf("Sign-in locked for 15 minutes after %d denied sign-in requests", n))
}

// mailReport tells the account holder their password is known, in the
// background.
func (s *Service) mailReport(r *store.ApprovalRequest, u *store.User) {
	if s.mailer == nil || u == nil || u.Email == "" {
		return
	}
	where := r.Place
	if r.Browser != "" || r.OS != "" {
		where = fmt.Sprintf("%s on %s, %s", orUnknown(r.Browser, "an unknown browser"), orUnknown(r.OS, "an unknown system"), r.Place)
	}
	m := notify.Mail{
		To:      u.Email,
		Subject: "Someone signed in with your password — change it now",
		Text: fmt.Sprintf(`Hello %s,

Someone signed in to your Countersign account with your password at %s
(%s, IP address %s), and you reported it on one of your devices. We blocked that
sign-in.

Your password is known to someone else: change it now.

  %s/password/forgot

Then review your devices and sessions on the Login & security page.
`, orUnknown(u.Name, "there"), r.CreatedAt.UTC().Format("2 January 2006 15:04 MST"), where, r.IP, s.public),
	}
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, mailTimeout)
		defer cancel()
		if err := s.mailer.SendMail(ctx, m); err != nil {
			s.log.Error("approval: mail after a reported sign-in", "user", u.ID, "err", err)
		}
	})
}

func orUnknown(s, unknown string) string {
	if s == "" {
		return unknown
	}
	return s
}

// streamPage is how many events a stream reads at once.
const streamPage = 16

// Feed is one device's following of its account's events (Follow): the
// events to send now, then a wake-up whenever there may be more. It has no
// goroutine of its own: its owner waits on Wake and calls Next, so that an
// open approvals stream costs the server nothing but the goroutine serving
// its connection. A Feed is not safe for concurrent use.
type Feed struct {
	s     *Service
	sub   *sub
	st    *stream
	first []api.StreamEvent // read by Follow
	taken bool              // Next has returned first
	done  bool
}

// Follow follows the device's account's events: first those after
// lastEventID that still matter (requests still pending, resolutions of the
// last two minutes), then every pending request not replayed (with the id of
// the last event read), then new events as they happen. An "unpaired" event
// for this device is the last: Done is true after it. ErrRevoked if the
// device is not paired. Close the feed when done with it.
func (s *Service) Follow(ctx context.Context, a *store.Approver, lastEventID int64) (*Feed, error) {
	if _, err := s.paired(ctx, a.ID); err != nil {
		return nil, err
	}
	sb := s.broker.subscribe(a.UserID)
	st := &stream{s: s, a: a, cursor: max(lastEventID, 0), fresh: true}
	first, done, err := st.replay(ctx, true)
	if err != nil {
		s.broker.unsubscribe(sb)
		return nil, err
	}
	return &Feed{s: s, sub: sb, st: st, first: first, done: done}, nil
}

// Next returns the events not taken yet: at first those Follow read, then
// those the account's new events bring (often none). After an error the
// events before it are returned with it, and a later call reads on from
// there.
func (f *Feed) Next(ctx context.Context) ([]api.StreamEvent, error) {
	if !f.taken {
		evs := f.first
		f.first, f.taken = nil, true
		return evs, nil
	}
	if f.done {
		return nil, nil
	}
	evs, done, err := f.st.replay(ctx, false)
	f.done = done
	return evs, err
}

// Wake receives when the account's events may have changed: call Next.
func (f *Feed) Wake() <-chan struct{} { return f.sub.wake }

// Ended is closed when the service closes: no more events will come.
func (f *Feed) Ended() <-chan struct{} { return f.s.ctx.Done() }

// Done says the feed has returned its last event, this device's "unpaired".
func (f *Feed) Done() bool { return f.done && f.taken }

// Close stops the wake-ups. It may be called more than once.
func (f *Feed) Close() { f.s.broker.unsubscribe(f.sub) }

// Stream is Follow as a channel, which a goroutine of its own fills: the
// channel closes after this device's "unpaired" event, when ctx ends and
// when the service closes.
func (s *Service) Stream(ctx context.Context, a *store.Approver, lastEventID int64) (<-chan api.StreamEvent, error) {
	f, err := s.Follow(ctx, a, lastEventID)
	if err != nil {
		return nil, err
	}
	ch := make(chan api.StreamEvent, 1)
	go func() {
		defer close(ch)
		defer f.Close()
		for {
			evs, err := f.Next(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("approval: read events for a stream", "device", a.ID, "err", err)
			}
			for _, e := range evs {
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				case <-f.Ended():
					return
				}
			}
			if f.Done() {
				return
			}
			select {
			case <-f.Wake():
			case <-ctx.Done():
				return
			case <-f.Ended():
				return
			}
		}
	}()
	return ch, nil
}

// Poll returns the device's account's events after after (filtered as
// Stream filters its replay), waiting up to timeout for one when there are
// none yet, and the last event id it read, kept or not: the after of the
// next poll, so events it filtered out are not read again and a fresh
// poll (after 0) gives the point from which changes count. ErrRevoked if
// the device is not paired.
func (s *Service) Poll(ctx context.Context, a *store.Approver, after int64, timeout time.Duration) ([]api.StreamEvent, int64, error) {
	if _, err := s.paired(ctx, a.ID); err != nil {
		return nil, 0, err
	}
	sb := s.broker.subscribe(a.UserID)
	defer s.broker.unsubscribe(sb)
	st := &stream{s: s, a: a, cursor: max(after, 0), fresh: after <= 0}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		evs, _, err := st.replay(ctx, false)
		if err != nil || len(evs) > 0 {
			return evs, st.cursor, err
		}
		select {
		case <-sb.wake:
		case <-t.C:
			return []api.StreamEvent{}, st.cursor, nil
		case <-ctx.Done():
			return []api.StreamEvent{}, st.cursor, nil
		case <-s.ctx.Done():
			return []api.StreamEvent{}, st.cursor, nil
		}
	}
}

// stream is a reader of one device's events; cursor is the last seq read.
// A fresh stream has not read yet and starts from scratch (the companion
// reloads everything): its first read skips "changed" events.
type stream struct {
	s      *Service
	a      *store.Approver
	cursor int64
	fresh  bool
}

// alertReplay is how long after a sign-in its alert still reaches a desktop
// that was away: a day, as long as events are kept.
const alertReplay = 24 * time.Hour

// replay reads the events after the cursor and keeps those that matter:
// "approval" events of requests still pending, "resolved" events of the last
// replayWindow (unless this read skipped the request's approval: the device
// never saw it), "changed" events of the last replayWindow unless the stream
// is fresh, "share" events for this device, "signin_alert" events of the
// last alertReplay for this device's member unless the stream is fresh,
// this device's "unpaired" event (done is then true and reading stops). With first, it then adds the
// pending requests it did not send. Which requests are pending is asked after each page is read, so a
// request made meanwhile is not mistaken for a gone one.
func (st *stream) replay(ctx context.Context, first bool) (out []api.StreamEvent, done bool, err error) {
	defer func() { st.fresh = false }()
	sent := map[string]bool{}    // approvals kept
	skipped := map[string]bool{} // approvals read but gone
	for {
		evs, err := st.s.store.ApprovalEvents(ctx, st.a.UserID, st.cursor, streamPage)
		if err != nil {
			return out, false, err
		}
		if len(evs) == 0 {
			break
		}
		now := st.s.now()
		pending, err := st.pending(ctx, now)
		if err != nil {
			return out, false, err
		}
		for _, e := range evs {
			st.cursor = e.Seq
			keep := false
			switch e.Kind {
			case api.EventApproval:
				id := requestID(e.Data)
				keep = pending[id]
				sent[id], skipped[id] = keep, !keep
			case api.EventResolved:
				keep = now.Sub(e.CreatedAt) <= replayWindow && !skipped[requestID(e.Data)]
			case api.EventUnpaired:
				var u api.Unpaired
				if json.Unmarshal(e.Data, &u) == nil && u.DeviceID == st.a.ID {
					keep, done = true, true
				}
			case api.EventChanged:
				keep = !st.fresh && now.Sub(e.CreatedAt) <= replayWindow
			case api.EventShare:
				var o api.ShareOffered
				keep = json.Unmarshal(e.Data, &o) == nil && o.DeviceID == st.a.ID
			case api.EventSignInAlert:
				var al api.SignInAlert
				keep = !st.fresh && now.Sub(e.CreatedAt) <= alertReplay &&
					json.Unmarshal(e.Data, &al) == nil && slices.Contains(al.For, st.a.MemberID)
			case api.EventVault:
				// The vault sync of this device's member, caused elsewhere.
				var v api.VaultChanged
				keep = json.Unmarshal(e.Data, &v) == nil && v.MemberID == st.a.MemberID && v.DeviceID != st.a.ID
			}
			if keep {
				out = append(out, api.StreamEvent{ID: e.Seq, Event: e.Kind, Data: json.RawMessage(e.Data)})
			}
			if done {
				return out, true, nil
			}
		}
		if len(evs) < streamPage {
			break
		}
	}
	if !first {
		return out, false, nil
	}
	rs, err := st.s.store.PendingApprovalRequests(ctx, st.a.UserID, st.s.now())
	if err != nil {
		return out, false, err
	}
	var u *store.User
	for i := range rs {
		if sent[rs[i].ID] {
			continue
		}
		if u == nil {
			if u, err = st.s.store.UserByID(ctx, st.a.UserID); err != nil {
				return out, false, err
			}
		}
		b, err := json.Marshal(approvalOf(&rs[i], u))
		if err != nil {
			return out, false, err
		}
		out = append(out, api.StreamEvent{ID: st.cursor, Event: api.EventApproval, Data: b})
	}
	return out, false, nil
}

// pending returns the ids of the account's pending, unexpired requests.
func (st *stream) pending(ctx context.Context, now time.Time) (map[string]bool, error) {
	rs, err := st.s.store.PendingApprovalRequests(ctx, st.a.UserID, now)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(rs))
	for _, r := range rs {
		m[r.ID] = true
	}
	return m, nil
}

// requestID reads the request id out of an "approval" or "resolved" event.
func requestID(data []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	return v.ID
}
