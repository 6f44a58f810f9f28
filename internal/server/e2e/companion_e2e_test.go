package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/server"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// approvalSite is a site whose server the test reaches into: its clock,
// its store and its approval service. newSite cannot give these out.
type approvalSite struct {
	*site
	srv   *server.Server
	db    store.Store
	clock *testkit.Clock // the real time, plus what the test adds
	away  *outage        // makes the server unreachable on demand
}

// newApprovalSite starts a server on its own SQLite store and opens a tab
// in a fresh profile of browser.
func newApprovalSite(t *testing.T, browser context.Context) *approvalSite {
	t.Helper()
	return newInstance(t, "sqlite://"+filepath.Join(t.TempDir(), "countersign.db"), browser)
}

// newInstance starts a server on the store dsn names, on a loopback port of
// its own; with a browser (not nil) it opens a tab in a fresh profile.
func newInstance(t *testing.T, dsn string, browser context.Context) *approvalSite {
	t.Helper()
	dir := t.TempDir()
	clk := testkit.NewRunningClock()
	db, err := store.Open(t.Context(), dsn, store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	outbox, err := notify.NewOutbox(filepath.Join(dir, "outbox"), log, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	srv, err := server.New(server.Config{
		PublicURL: base, Store: db, Mailer: outbox, SMS: outbox, Log: log, Now: clk.Now, PasswordParams: &cheap,
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	away := &outage{}
	hs := httptest.NewUnstartedServer(away.wrap(nullOrigins(t, srv.Handler())))
	away.hs = hs
	hs.Listener.Close()
	hs.Listener = ln
	hs.Config.RegisterOnShutdown(srv.EndStreams)
	hs.Start()
	t.Cleanup(func() {
		srv.EndStreams() // the pages' streams would hold Close up
		hs.Close()
	})
	var tab context.Context
	if browser != nil {
		tab = browsertest.NewProfile(t, browser)
	}
	return &approvalSite{
		site: &site{t: t, base: base, outbox: outbox, tab: tab},
		srv:  srv, db: db, clock: clk, away: away,
	}
}

// user makes Ada's account, two-step on, with no method yet: pairing a
// desktop makes approval its second step.
func (s *approvalSite) user() *store.User {
	s.t.Helper()
	hash, err := password.Hash(userPassword, cheap, rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	handle := make([]byte, 32)
	rand.Read(handle)
	now := s.clock.Now()
	u := &store.User{Email: userLogin, Name: userName, PasswordHash: hash, PasswordChangedAt: now,
		TwoStep: true, WebAuthnID: handle, CreatedAt: now}
	if err := s.db.CreateUser(context.Background(), u); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// apiToken issues an API token ("cs_…") as the settings page does.
func (s *approvalSite) apiToken(u *store.User, scopes ...string) string {
	s.t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := "cs_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(tok))
	err := s.db.AddAPIToken(context.Background(), &store.APIToken{
		UserID: u.ID, Name: "e2e", Hash: sum[:], Scopes: scopes, CreatedAt: s.clock.Now(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// sent is one request a desktop sent, with its body.
type sent struct {
	method, path, auth string
	body               []byte
}

// recorder keeps every request a Manager sends.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sent{req.Method, req.URL.Path, req.Header.Get("Authorization"), body})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// last returns the last request to path.
func (r *recorder) last(method, path string) (sent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range slices.Backward(r.reqs) {
		if q.method == method && q.path == path {
			return q, true
		}
	}
	return sent{}, false
}

// desk is a real companion (approver.Manager) paired with an account and
// following it.
type desk struct {
	*approver.Manager
	t    *testing.T
	acct approver.Account
	rec  *recorder
}

// newDesk opens a Manager on a fresh directory, pairs it with u by a code
// from the server's approval service and runs it until the test ends.
// now is its clock (nil: time.Now); keys its security-key toucher (nil: none
// is expected).
func (s *approvalSite) newDesk(u *store.User, name string, now func() time.Time, keys approver.KeyToucher) *desk {
	s.t.Helper()
	_, uri, _, err := s.srv.Approvals().NewPairingCode(context.Background(), u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return s.pairDesk(uri, name, now, keys)
}

// pairDesk is newDesk with a countersign://pair link made elsewhere.
func (s *approvalSite) pairDesk(uri, name string, now func() time.Time, keys approver.KeyToucher) *desk {
	s.t.Helper()
	if keys == nil {
		keys = noKeys{}
	}
	rec := &recorder{}
	m, err := approver.Open(approver.Options{
		Dir: s.t.TempDir(), Keyring: &testkit.FakeKeyring{},
		HTTP: &http.Client{Transport: rec}, Now: now, Keys: keys,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	acct, err := m.Pair(context.Background(), uri, "", name)
	if err != nil {
		s.t.Fatalf("pairing %s: %v", name, err)
	}
	if acct.Email != userLogin || acct.Server != s.base {
		s.t.Errorf("paired with %s on %s, want %s on %s", acct.Email, acct.Server, userLogin, s.base)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	s.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.t.Errorf("%s: Run did not return 10 s after its context ended", name)
		}
	})
	d := &desk{Manager: m, t: s.t, acct: acct, rec: rec}
	d.wait(approver.EventConnection, func(approver.Event) bool { return d.online() })
	return d
}

func (d *desk) online() bool {
	as := d.Accounts()
	return len(as) == 1 && as[0].Online
}

// wait returns the next event of kind that ok accepts (nil: any), skipping
// others; it fails the test after 10 s.
func (d *desk) wait(kind approver.EventKind, ok func(approver.Event) bool) approver.Event {
	d.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-d.Events():
			if e.Kind == kind && (ok == nil || ok(e)) {
				return e
			}
		case <-timeout:
			d.t.Fatalf("%s: no %v event within 10 s (accounts %+v)", d.acct.DeviceName, kind, d.Accounts())
			return approver.Event{}
		}
	}
}

// request waits for the next sign-in request.
func (d *desk) request() *approver.Request {
	d.t.Helper()
	return d.wait(approver.EventRequest, nil).Request
}

// decide answers r and fails the test unless the server says want.
func (d *desk) decide(r *approver.Request, c approver.Choice, number int, want string) time.Duration {
	d.t.Helper()
	start := time.Now()
	status, err := d.Decide(context.Background(), d.acct.ID, r.ID, c, number)
	if err != nil || status != want {
		d.t.Fatalf("%s %d: got %q, %v; want %q", c, number, status, err, want)
	}
	return time.Since(start)
}

// noKeys is a KeyToucher for accounts that never ask for a key.
type noKeys struct{}

func (noKeys) Touch(context.Context, json.RawMessage, string) (json.RawMessage, error) {
	return nil, errors.New("no security key in this test")
}

// waitingForApproval signs in with the password in the site's tab and
// returns the number the approval page shows.
func (s *approvalSite) waitingForApproval() int {
	s.t.Helper()
	s.signIn()
	s.wantPath("/signin/verify")
	s.wantCount("#approval-number", 1)
	return s.shownNumber()
}

// landed waits until the tab is signed in on /account/security, the page
// loaded (the address changes when the navigation commits, before the new
// page's elements are there).
func (s *approvalSite) landed(what string) time.Duration {
	s.t.Helper()
	return s.waitFor(what, 5*time.Second, func() (bool, string) {
		p, err := browsertest.Path(s.tab)
		if err != nil || p != "/account/security" {
			return false, p
		}
		var state string
		err = browsertest.Eval(s.tab, `document.readyState`, &state)
		return err == nil && state != "loading", p + " " + state
	})
}

// statusSays waits until #approval-status begins with want.
func (s *approvalSite) statusSays(want string) {
	s.t.Helper()
	s.waitFor("#approval-status "+want, 5*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#approval-status")
		return err == nil && strings.HasPrefix(got, want), got
	})
}

// wantSignedOut checks that the tab's sign-in did not complete.
func (s *approvalSite) wantSignedOut() {
	s.t.Helper()
	s.open("/account/security")
	s.wantPath("/signin")
}

// wrongNumber is one of the offered numbers other than right.
func wrongNumber(t *testing.T, r *approver.Request, right int) int {
	t.Helper()
	for _, n := range r.Numbers {
		if n != right {
			return n
		}
	}
	t.Fatalf("the desktop is offered only %v", r.Numbers)
	return 0
}

// checkOffer fails the test unless r offers three numbers, right among
// them, with what Chromium's sign-in looks like from the server.
func checkOffer(t *testing.T, r *approver.Request, right int) {
	t.Helper()
	if len(r.Numbers) != 3 || !slices.Contains(r.Numbers, right) {
		t.Fatalf("the desktop is offered %v, the page shows %d", r.Numbers, right)
	}
	if !strings.Contains(r.Browser, "Chrome") || r.OS == "" || r.IP != "127.0.0.1" || r.Place != "Unknown place" {
		t.Errorf("the request says %q on %q from %q at %q; want Chrome, an OS, 127.0.0.1, Unknown place",
			r.Browser, r.OS, r.IP, r.Place)
	}
	if r.Account.Email != userLogin || r.Account.Name != userName {
		t.Errorf("the request names %+v", r.Account)
	}
	if r.RequireKey {
		t.Error("the request asks for a key; the account does not require one")
	}
}

// TestCompanion is the scenario with real parts: Chromium signs in
// with the password and waits on the approval page; the companion's core
// (approver.Manager, following the account's event stream) receives the
// request and answers it with the number the page shows.
func TestCompanion(t *testing.T) {
	browser := browsertest.Start(t)

	t.Run("approve", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		start := time.Now()
		n := s.waitingForApproval()
		r := d.request()
		t.Logf("the request reached the desktop %v after the password was sent", time.Since(start))
		checkOffer(t, r, n)
		t.Logf("offered %v: %s on %s, %s, %s", r.Numbers, r.Browser, r.OS, r.IP, r.Place)
		decided := time.Now()
		rtt := d.decide(r, approver.Approve, n, api.StatusApproved)
		s.landed("landing on /account/security")
		t.Logf("Decide took %v; the browser landed signed in %v after Decide was called", rtt, time.Since(decided))
		if got := s.text("#two-step-status"); got != "On" {
			t.Errorf("#two-step-status: got %q, want On", got)
		}
		if len(d.Pending()) != 0 {
			t.Errorf("still pending on the desktop: %+v", d.Pending())
		}
	})

	t.Run("deny", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		r := d.request()
		checkOffer(t, r, n)
		d.decide(r, approver.Deny, 0, api.StatusDenied)
		s.statusSays("The request was denied.")
		s.wantCount("#approval-new", 1)
		s.wantSignedOut()
	})

	t.Run("report", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		r := d.request()
		checkOffer(t, r, n)
		d.decide(r, approver.Report, 0, api.StatusReported)
		s.statusSays("The sign-in was blocked.")
		s.wantCount("#approval-new", 0)
		var mail notify.Message
		s.waitFor("the warning mail", 5*time.Second, func() (bool, string) {
			var err error
			mail, err = s.outbox.Last(userLogin)
			return err == nil && mail.Kind == notify.KindMail, fmt.Sprint(err)
		})
		if !strings.Contains(mail.Subject, "Someone signed in with your password") || !strings.Contains(mail.Text, s.base+"/password/forgot") {
			t.Errorf("the mail to %s: %q\n%s", mail.To, mail.Subject, mail.Text)
		}
		s.wantSignedOut()
	})

	t.Run("wrong number", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		r := d.request()
		checkOffer(t, r, n)
		d.decide(r, approver.Approve, wrongNumber(t, r, n), api.StatusDenied)
		s.statusSays("The request was denied.")
		s.wantSignedOut()
	})

	t.Run("expiry", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		// The desktop keeps the real time: only the server's moves on, so
		// the decision reaches the server and is refused there.
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		r := d.request()
		checkOffer(t, r, n)
		s.clock.Advance(2*time.Minute + time.Second)
		status, err := d.Decide(context.Background(), d.acct.ID, r.ID, approver.Approve, n)
		if !errors.Is(err, approver.ErrExpired) {
			t.Fatalf("approving an expired request: %q, %v; want ErrExpired", status, err)
		}
		if e := d.wait(approver.EventResolved, nil); e.Resolved.ID != r.ID || e.Resolved.Status != api.StatusExpired {
			t.Errorf("resolved %+v, want %s expired", e.Resolved, r.ID)
		}
		// The page's stream waits by the real clock; a reload asks the
		// server's.
		s.open("/signin/verify")
		if got := s.text("#approval-status"); !strings.Contains(got, "expired") {
			t.Errorf("#approval-status after expiry: %q", got)
		}
		s.wantSignedOut()
	})

	t.Run("two desktops race", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		u := s.user()
		desks := []*desk{s.newDesk(u, "Ada's laptop", nil, nil), s.newDesk(u, "Ada's tower", nil, nil)}
		n := s.waitingForApproval()
		reqs := make([]*approver.Request, len(desks))
		for i, d := range desks {
			reqs[i] = d.request()
			checkOffer(t, reqs[i], n)
		}
		if reqs[0].ID != reqs[1].ID {
			t.Fatalf("the desktops got requests %s and %s", reqs[0].ID, reqs[1].ID)
		}
		type answer struct {
			status string
			err    error
		}
		answers := make([]answer, len(desks))
		var ready, wg sync.WaitGroup
		ready.Add(len(desks))
		gate := make(chan struct{})
		for i, d := range desks {
			wg.Go(func() {
				ready.Done()
				<-gate
				answers[i].status, answers[i].err = d.Decide(context.Background(), d.acct.ID, reqs[i].ID, approver.Approve, n)
			})
		}
		ready.Wait()
		close(gate)
		wg.Wait()
		winner := slices.IndexFunc(answers, func(a answer) bool { return a.err == nil })
		if winner < 0 || answers[1-winner].err == nil {
			t.Fatalf("answers %+v: want exactly one to win", answers)
		}
		if answers[winner].status != api.StatusApproved {
			t.Errorf("the winner's status %q", answers[winner].status)
		}
		won, lost := desks[winner], desks[1-winner]
		// Decisions name the device and its household member (the owner).
		winnerName := won.acct.DeviceName + " (" + userName + ")"
		var de *approver.DecidedError
		switch err := answers[1-winner].err; {
		case errors.As(err, &de):
			if de.DecidedBy != winnerName || de.Status != api.StatusApproved {
				t.Errorf("the loser's error %q names %q/%q, want %q/approved", err, de.DecidedBy, de.Status, winnerName)
			}
		case errors.Is(err, approver.ErrNotPending):
			// Its stream told it first; the resolution names the winner.
			e := lost.wait(approver.EventResolved, func(e approver.Event) bool { return e.Resolved.ID != "" })
			if e.Resolved.DecidedBy != winnerName {
				t.Errorf("the loser heard %+v, want decided by %q", e.Resolved, winnerName)
			}
		default:
			t.Errorf("the loser's error: %v", err)
		}
		t.Logf("%s won, %s was told %v", won.acct.DeviceName, lost.acct.DeviceName, answers[1-winner].err)
		s.landed("landing on /account/security after the race")
	})

	t.Run("revoked desktop", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		d.decide(d.request(), approver.Approve, n, api.StatusApproved)
		s.landed("landing on /account/security")

		// A second desktop pairs through the pairing page's link.
		s.open("/account/security/devices")
		s.submit("form#pair-start-form", nil)
		s.wantPath("/account/approvers/pair")
		other := s.pairDesk(s.text("#pair-uri"), "Ada's tower", nil, nil)
		s.open("/account/security/devices")
		s.wantCount("#approvers li", 2)

		s.submit(`#approvers li form[action="/account/approvers/`+d.acct.ID+`/remove"]`, nil)
		s.submit("form#confirm-form", nil) // removing asks first
		s.wantPath("/account/security/devices")
		s.wantCount("#approvers li", 1)
		if got := s.text("#approvers li"); !strings.Contains(got, "Ada's tower") {
			t.Errorf("the desktop left listed: %q, want Ada's tower", got)
		}
		e := d.wait(approver.EventUnpaired, nil)
		if e.Account.ID != d.acct.ID {
			t.Errorf("unpaired %s, want %s", e.Account.ID, d.acct.ID)
		}
		if as := d.Accounts(); len(as) != 1 || !as[0].Unpaired || as[0].Online {
			t.Errorf("accounts after removal: %+v, want one, unpaired and offline", as)
		}
		// Its token, still within its ten minutes, is refused at once.
		stream, ok := d.rec.last(http.MethodGet, "/api/v1/approvals/stream")
		if !ok {
			t.Fatal("the desktop never opened its stream")
		}
		status, refused := apiGet(t, s.base+"/api/v1/approvals", stream.auth)
		if status != http.StatusUnauthorized || refused.Code != api.CodeDeviceRevoked {
			t.Errorf("the removed desktop's token: status %d, code %q; want 401 %s", status, refused.Code, api.CodeDeviceRevoked)
		}
		if !other.online() {
			t.Errorf("the other desktop: %+v, want it paired and online", other.Accounts())
		}
	})

	t.Run("replayed decision", func(t *testing.T) {
		s := newApprovalSite(t, browser)
		d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
		n := s.waitingForApproval()
		r := d.request()
		d.decide(r, approver.Approve, n, api.StatusApproved)
		s.landed("landing on /account/security")
		path := "/api/v1/approvals/" + r.ID + "/decision"
		sent, ok := d.rec.last(http.MethodPost, path)
		if !ok {
			t.Fatalf("the desktop sent no POST %s", path)
		}
		req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(sent.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", sent.auth)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e api.Error
		body, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(body, &e)
		if res.StatusCode != http.StatusConflict || e.Code != api.CodeAlreadyDecided {
			t.Errorf("the replayed decision: status %d, %s; want 409 %s", res.StatusCode, body, api.CodeAlreadyDecided)
		}
	})
}

// apiGet sends GET u with the Authorization header auth and returns the
// status and the error body, if any.
func apiGet(t *testing.T, u, auth string) (int, api.Error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e api.Error
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e
}
