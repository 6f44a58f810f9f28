package approver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/names"
)

// Run keeps one stream per paired account until ctx ends, picking up
// accounts paired later, and expires requests whose time ran out. It
// returns when every stream has stopped. Run once per Manager.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		m.log.Error("approver: Run called twice")
		return
	}
	m.running, m.runCtx = true, ctx
	for _, a := range m.accounts {
		m.startLocked(a)
	}
	m.mu.Unlock()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			m.expire()
			m.reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	m.wg.Wait()
	m.mu.Lock()
	m.running = false
	m.mu.Unlock()
}

// startLocked starts following a paired account when Run is running.
func (m *Manager) startLocked(a *account) {
	if !m.running || a.Unpaired || a.cancel != nil || m.runCtx.Err() != nil {
		return
	}
	ctx, cancel := context.WithCancel(m.runCtx)
	gen := new(int) // tells this follower from a later one
	a.cancel, a.follower = cancel, gen
	m.wg.Go(func() {
		defer func() {
			cancel()
			m.mu.Lock()
			if a.follower == gen {
				a.cancel, a.follower = nil, nil
			}
			m.mu.Unlock()
		}()
		m.follow(ctx, a)
	})
}

// Errors of one connection that say how the next should be made.
var (
	// errStreamBuffered means the stream looks held back by a proxy that
	// buffers responses (nothing for a long time, or no stream endpoint).
	errStreamBuffered = errors.New("the event stream seems held back by a proxy")
	// errTryStream ends a long-poll spell to see whether streaming works again.
	errTryStream = errors.New("trying the event stream again")
)

// Long-poll policy: fall back after this many signs of a buffering proxy
// in a row; try the stream again after pollSpell of polling.
const (
	bufferedStrikes = 2
	pollSpell       = 30 * time.Minute
)

// follow keeps the account's stream (or long polls) going until ctx ends
// or the server removes the device.
func (m *Manager) follow(ctx context.Context, a *account) {
	bo := newBackoff(m.randN)
	bo.base = m.backoffBase
	strikes := 0
	poll := m.forcePoll
	for {
		start := time.Now()
		var up time.Duration
		var err error
		if poll {
			err = m.poll(ctx, a, &up)
		} else {
			err = m.stream(ctx, a, &up)
		}
		if errors.Is(err, errTryStream) {
			poll, strikes = m.forcePoll, 0
			continue
		}
		m.setOnline(a, false, err)
		if ctx.Err() != nil || errors.Is(err, ErrUnpaired) {
			return
		}
		switch {
		case errors.Is(err, errStreamBuffered):
			strikes++
			if strikes >= bufferedStrikes && !poll {
				m.log.Warn("approver: the event stream does not get through; polling instead", "server", a.Server, "err", err)
				poll = true
			}
		case up > 0:
			strikes = 0
		}
		m.log.Debug("approver: connection ended", "server", a.Server, "device", a.ID, "after", time.Since(start), "err", err)
		wait := bo.Next(up)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// setOnline records the account's connection state, with an
// EventConnection when it changed.
func (m *Manager) setOnline(a *account, online bool, err error) {
	msg := ""
	if err != nil && !online && !errors.Is(err, context.Canceled) && !errors.Is(err, errTryStream) {
		msg = err.Error()
	}
	m.mu.Lock()
	if a.Unpaired {
		online = false
		msg = a.LastError
	}
	changed := a.Online != online || a.LastError != msg
	a.Online, a.LastError = online, msg
	acct := a.Account
	m.mu.Unlock()
	if changed {
		m.emit(Event{Kind: EventConnection, Account: acct})
	}
}

// stream follows GET approvals/stream until it ends; up is set to how long
// it was connected.
func (m *Manager) stream(ctx context.Context, a *account, up *time.Duration) error {
	for attempt := 0; ; attempt++ {
		tok, err := m.token(ctx, a)
		if err != nil {
			return err
		}
		h := http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-cache"}}
		m.mu.Lock()
		if a.lastSeq > 0 {
			h.Set("Last-Event-ID", strconv.FormatInt(a.lastSeq, 10))
		}
		m.mu.Unlock()
		sctx, cancel := context.WithCancel(ctx)
		resp, err := m.send(sctx, a.Server, tok, http.MethodGet, "/api/v1/approvals/stream", nil, h)
		if err != nil {
			cancel()
			return err
		}
		if resp.StatusCode != http.StatusOK {
			err := decodeAnswer(resp, nil)
			resp.Body.Close()
			cancel()
			if err = m.checkAuth(a, tok, err, attempt); err == errRetry {
				continue
			}
			var ae *APIError
			if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
				return fmt.Errorf("%w: %v", errStreamBuffered, err)
			}
			return err
		}
		if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "text/event-stream" {
			resp.Body.Close()
			cancel()
			return fmt.Errorf("%w: the stream came back as %q", errStreamBuffered, ct)
		}
		err = m.readStream(sctx, cancel, a, resp.Body, up)
		resp.Body.Close()
		cancel()
		return err
	}
}

// readStream handles the events of one connected stream.
func (m *Manager) readStream(ctx context.Context, cancel context.CancelFunc, a *account, body io.Reader, up *time.Duration) error {
	connected := time.Now()
	defer func() { *up = time.Since(connected) }()
	m.setOnline(a, true, nil)
	if err := m.seed(ctx, a); err != nil {
		return err
	}
	// A watchdog drops a stream that stays silent through several pings.
	// Only whole lines count: a server that trickles a byte now and then
	// (slowloris) is as silent as one that sends nothing.
	var got, partial, idle atomic.Bool
	watchdog := time.AfterFunc(m.idleTimeout, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	r := newSSEReader(readFunc(func(p []byte) (int, error) {
		n, err := body.Read(p)
		if n > 0 {
			got.Store(true)
			partial.Store(true)
		}
		return n, err
	}), maxSSELine)
	r.onLine = func() {
		partial.Store(false)
		watchdog.Reset(m.idleTimeout)
	}
	for {
		ev, err := r.Next()
		if err != nil {
			if idle.Load() {
				switch {
				case !got.Load():
					return fmt.Errorf("%w: nothing came for %v", errStreamBuffered, m.idleTimeout)
				case partial.Load():
					return fmt.Errorf("the stream of %s sent no whole line for %v", a.Server, m.idleTimeout)
				}
				return fmt.Errorf("the stream of %s went silent", a.Server)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%s ended the stream", a.Server)
			}
			return fmt.Errorf("reading the stream of %s: %w", a.Server, err)
		}
		seq, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil {
			seq = 0
		}
		if err := m.handle(a, api.StreamEvent{ID: seq, Event: ev.Event, Data: json.RawMessage(ev.Data)}); err != nil {
			return err
		}
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

// seed adds the pending requests the server lists, on every (re)connection.
func (m *Manager) seed(ctx context.Context, a *account) error {
	var list api.ApprovalList
	if err := m.authed(ctx, a, http.MethodGet, "/api/v1/approvals", nil, &list); err != nil {
		return fmt.Errorf("listing the pending requests of %s: %w", a.Server, err)
	}
	for i := range list.Approvals {
		m.add(a, list.Approvals[i])
	}
	return nil
}

// poll follows GET approvals/poll until a request fails or it is time to
// try the stream again.
func (m *Manager) poll(ctx context.Context, a *account, up *time.Duration) error {
	// The list answers at once: a server that gives it is reachable.
	if err := m.seed(ctx, a); err != nil {
		return err
	}
	start := time.Now()
	defer func() { *up = time.Since(start) }()
	// A first poll that does not wait gives the point from which changes
	// count; only then is the account online (and the window reloads), so a
	// change made between the reload and the first long poll is not lost.
	res, err := m.pollFetch(ctx, a, 0)
	if err != nil {
		return err
	}
	m.setOnline(a, true, nil)
	if err := m.pollHandle(a, res); err != nil {
		return err
	}
	for time.Since(start) < pollSpell || m.forcePoll {
		res, err := m.pollFetch(ctx, a, m.pollTimeout)
		if err != nil {
			return err
		}
		if err := m.pollHandle(a, res); err != nil {
			return err
		}
	}
	return errTryStream
}

// pollFetch asks for the events after the last one seen, waiting up to
// wait seconds for one.
func (m *Manager) pollFetch(ctx context.Context, a *account, wait int) (*api.PollResult, error) {
	m.mu.Lock()
	after := a.lastSeq
	m.mu.Unlock()
	var res api.PollResult
	path := "/api/v1/approvals/poll?after=" + strconv.FormatInt(after, 10) + "&timeout=" + strconv.Itoa(wait)
	pctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second+requestTimeout)
	defer cancel()
	if err := m.authedLong(pctx, a, path, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// pollHandle handles a poll's events and moves the mark to the server's
// cursor (past the events it filtered out).
func (m *Manager) pollHandle(a *account, res *api.PollResult) error {
	for _, ev := range res.Events {
		if err := m.handle(a, ev); err != nil {
			return err
		}
	}
	m.markSeq(a, res.Cursor)
	return nil
}

// authedLong is authed for a long poll: no requestTimeout, ctx bounds it.
func (m *Manager) authedLong(ctx context.Context, a *account, path string, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := m.token(ctx, a)
		if err != nil {
			return err
		}
		resp, err := m.send(ctx, a.Server, tok, http.MethodGet, path, nil, nil)
		if err != nil {
			return err
		}
		err = decodeAnswer(resp, out)
		resp.Body.Close()
		if err = m.checkAuth(a, tok, err, attempt); err == errRetry {
			continue
		}
		return err
	}
}

// handle applies one stream event. It returns ErrUnpaired when the event
// says this device was removed.
func (m *Manager) handle(a *account, ev api.StreamEvent) error {
	switch ev.Event {
	case api.EventApproval:
		var ap api.Approval
		if err := json.Unmarshal(ev.Data, &ap); err != nil || ap.ID == "" {
			m.log.Warn("approver: a request that cannot be read", "server", a.Server, "err", err)
			break
		}
		m.add(a, ap)
	case api.EventResolved:
		var res api.Resolved
		if err := json.Unmarshal(ev.Data, &res); err != nil || res.ID == "" {
			m.log.Warn("approver: a resolution that cannot be read", "server", a.Server, "err", err)
			break
		}
		res.DecidedBy = cleanText(res.DecidedBy)
		m.resolveLocal(a, &res)
	case api.EventChanged:
		var c api.Changed
		if err := json.Unmarshal(ev.Data, &c); err != nil || c.What == "" {
			m.log.Warn("approver: a change that cannot be read", "server", a.Server, "err", err)
			break
		}
		m.emitFor(a, Event{Kind: EventChanged, Changed: &c})
	case api.EventShare:
		var s api.ShareOffered
		if err := json.Unmarshal(ev.Data, &s); err != nil || s.ID == "" {
			m.log.Warn("approver: a share offer that cannot be read", "server", a.Server, "err", err)
			break
		}
		if s.DeviceID == a.ID {
			m.emitFor(a, Event{Kind: EventShare, Share: &s})
		}
	case api.EventSignInAlert:
		var al api.SignInAlert
		if err := json.Unmarshal(ev.Data, &al); err != nil || al.ID == "" {
			m.log.Warn("approver: a sign-in alert that cannot be read", "server", a.Server, "err", err)
			break
		}
		al.Browser, al.Place, al.IP = cleanText(al.Browser), cleanText(al.Place), cleanText(al.IP)
		m.emitFor(a, Event{Kind: EventAlert, Alert: &al})
	case api.EventVault:
		var v api.VaultChanged
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			m.log.Warn("approver: a vault event that cannot be read", "server", a.Server, "err", err)
			break
		}
		m.emitFor(a, Event{Kind: EventVault, Vault: &v})
	case api.EventUnpaired:
		var u api.Unpaired
		if err := json.Unmarshal(ev.Data, &u); err == nil && (u.DeviceID == a.ID || u.DeviceID == "") {
			m.markSeq(a, ev.ID)
			m.markUnpaired(a)
			return ErrUnpaired
		}
	}
	m.markSeq(a, ev.ID)
	return nil
}

// emitFor emits e with the account as it is now, unless it was forgotten
// or unpaired meanwhile.
func (m *Manager) emitFor(a *account, e Event) {
	m.mu.Lock()
	live := m.accounts[a.ID] == a && !a.Unpaired
	e.Account = a.Account
	m.mu.Unlock()
	if live {
		m.emit(e)
	}
}

// markSeq remembers the last event seen, here and in paired.json.
func (m *Manager) markSeq(a *account, seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq <= a.lastSeq {
		return
	}
	a.lastSeq = seq
	if m.accounts[a.ID] == a {
		if err := m.saveLocked(); err != nil {
			m.log.Error("approver: saving", "err", err)
		}
	}
}

// What a request may carry: the contract's three different two-digit
// numbers, an id and a nonce of the sizes servers make, words short enough
// for the prompt.
const (
	maxRequestID = 128 // bytes of an id or a nonce
	maxText      = 200 // characters of the browser, system, address, place or app
)

// checkApproval refuses a request the prompt could not show as the
// contract says, or that no countersign-server would send.
func checkApproval(ap api.Approval) error {
	if !plainToken(ap.ID) {
		return fmt.Errorf("its id (%d bytes) is not 1–%d letters, digits, '-', '_' or '.'", len(ap.ID), maxRequestID)
	}
	if !plainToken(strings.ReplaceAll(ap.Nonce, "=", "")) {
		return fmt.Errorf("request %s: its nonce (%d bytes) is not 1–%d base64 characters", ap.ID, len(ap.Nonce), maxRequestID)
	}
	if len(ap.Numbers) != 3 {
		return fmt.Errorf("request %s: %d numbers to pick from, want 3", ap.ID, len(ap.Numbers))
	}
	for i, n := range ap.Numbers {
		if n < 10 || n > 99 || slices.Contains(ap.Numbers[:i], n) {
			return fmt.Errorf("request %s: numbers %v are not three different two-digit numbers", ap.ID, ap.Numbers)
		}
	}
	return nil
}

// plainToken reports whether s is 1–maxRequestID letters, digits, '-', '_'
// or '.': what server ids and base64url nonces are made of (ids go into URL
// paths).
func plainToken(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// cleanText makes a word from the server fit for the prompt: shown as
// names.Show shows names (controls become spaces, direction and invisible
// characters go), and cut to maxText characters.
func cleanText(s string) string {
	s = names.Show(s)
	if utf8.RuneCountInString(s) > maxText {
		s = string([]rune(s)[:maxText-1]) + "…"
	}
	return s
}

// Request lifetimes the companion assumes when the server's times make no sense.
const (
	defaultLifetime = 2 * time.Minute
	maxLifetime     = 10 * time.Minute
	clockSlack      = 5 * time.Second
)

// add makes a request pending unless it is known or resolved. The server
// sends only requests still pending, so one that looks expired (or to
// last longer than it can) means this desktop's clock differs from the
// server's: its times are then moved to this clock, so that it is shown
// for its lifetime and the server's "resolved" event ends it.
func (m *Manager) add(a *account, ap api.Approval) {
	if err := checkApproval(ap); err != nil {
		m.log.Warn("approver: a request that cannot be shown", "server", a.Server, "err", err)
		return
	}
	ap.Browser, ap.OS, ap.IP, ap.Place, ap.App = cleanText(ap.Browser), cleanText(ap.OS), cleanText(ap.IP), cleanText(ap.Place), cleanText(ap.App)
	now := m.now()
	lifetime := ap.ExpiresAt.Sub(ap.CreatedAt)
	if lifetime <= 0 || lifetime > maxLifetime {
		lifetime = defaultLifetime
	}
	if left := ap.ExpiresAt.Sub(now); left <= 0 || left > lifetime+clockSlack {
		shift := now.Add(lifetime).Sub(ap.ExpiresAt)
		ap.CreatedAt, ap.ExpiresAt = ap.CreatedAt.Add(shift), ap.ExpiresAt.Add(shift)
		m.log.Debug("approver: this desktop's clock differs from the server's", "server", a.Server, "by", -shift)
	}
	m.mu.Lock()
	if _, seen := a.seen[ap.ID]; seen || m.accounts[a.ID] != a || a.Unpaired {
		m.mu.Unlock()
		return
	}
	a.seen[ap.ID] = ap.ExpiresAt.Add(seenFor)
	r := &Request{Account: a.Account, Approval: ap}
	m.pending[pendingKey(a.ID, ap.ID)] = r
	rc := *r
	m.mu.Unlock()
	m.emit(Event{Kind: EventRequest, Account: rc.Account, Request: &rc})
}

// Fetch asks every paired account's server for its pending requests (one
// GET each, no stream) and returns Pending. It is for a one-shot look,
// such as the command line's; a failing account does not hide the others'
// requests, its error is joined to the returned one.
func (m *Manager) Fetch(ctx context.Context) ([]Request, error) {
	m.mu.Lock()
	var as []*account
	for _, acct := range m.accountsLocked() {
		if a := m.accounts[acct.ID]; !a.Unpaired {
			as = append(as, a)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, a := range as {
		if err := m.seed(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Email, err))
		}
	}
	return m.Pending(), errors.Join(errs...)
}
