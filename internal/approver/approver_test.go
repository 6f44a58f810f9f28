package approver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// wrongNumber is a number of r's that the browser does not show.
func wrongNumber(t *testing.T, req *Request, right int) int {
	t.Helper()
	for _, n := range req.Numbers {
		if n != right {
			return n
		}
	}
	t.Fatalf("numbers %v hold no decoy", req.Numbers)
	return 0
}

func TestPairAndApprove(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada Lovelace")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "Ada's laptop")
	if a.Email != "ada@example.com" || a.Name != "Ada Lovelace" || a.AccountID != ada.ID || a.DeviceName != "Ada's laptop" ||
		a.Server != srv.URL || a.ID == "" || a.Unpaired {
		t.Errorf("paired account = %+v", a)
	}
	approvers, err := srv.Approvals.Approvers(context.Background(), ada.ID)
	if err != nil || len(approvers) != 1 || approvers[0].ID != a.ID || approvers[0].Name != "Ada's laptop" {
		t.Fatalf("the server's approvers: %+v, %v", approvers, err)
	}
	if !c.hasKey(a.ID) {
		t.Error("the device key is not in the keyring")
	}
	// paired.json: the account, private to the user, and no secret.
	path := filepath.Join(c.dir, FileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", FileName, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	seed, _ := c.secrets.Get(a.ID)
	if !strings.Contains(string(b), a.ID) || strings.Contains(string(b), seed) {
		t.Errorf("%s = %s: want the device id and not its key", FileName, b)
	}

	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	r := srv.SignIn(ada)
	e := c.wait(EventRequest, nil)
	req := e.Request
	if req.ID != r.ID || req.Account.ID != a.ID || req.Nonce != r.Nonce || !slices.Contains(req.Numbers, r.Number) || len(req.Numbers) != 3 {
		t.Fatalf("request = %+v, want %s with %d among its numbers", req, r.ID, r.Number)
	}
	if req.Browser != "Firefox 133" || req.OS != "Windows 10" || req.IP != "203.0.113.7" || req.Account.Email != "ada@example.com" {
		t.Errorf("request context = %q %q %q %q", req.Browser, req.OS, req.IP, req.Account.Email)
	}
	if p := c.Pending(); len(p) != 1 || p[0].ID != r.ID {
		t.Errorf("Pending() = %+v, want the request", p)
	}

	status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number)
	if err != nil || status != api.StatusApproved {
		t.Fatalf("Decide approve right number = %q, %v; want approved", status, err)
	}
	e = c.wait(EventResolved, nil)
	// Decided here: named by this desktop, or by the stream's event if it
	// came first, which adds the household member.
	if e.Resolved.ID != r.ID || e.Resolved.Status != api.StatusApproved ||
		(e.Resolved.DecidedBy != "Ada's laptop" && e.Resolved.DecidedBy != "Ada's laptop (Ada Lovelace)") {
		t.Errorf("resolved = %+v", e.Resolved)
	}
	if got := srv.Request(r.ID); got.Status != store.ApprovalApproved || got.DecidedBy != a.ID {
		t.Errorf("the server's request: status %q decided by %q", got.Status, got.DecidedBy)
	}
	if p := c.Pending(); len(p) != 0 {
		t.Errorf("Pending() after the decision = %+v", p)
	}
	// The stream's own "resolved" event does not resolve it a second time.
	for _, e := range c.drain(300 * time.Millisecond) {
		if e.Kind == EventResolved || e.Kind == EventRequest {
			t.Errorf("extra event %v %+v", e.Kind, e)
		}
	}
	if _, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); !errors.Is(err, ErrNotPending) {
		t.Errorf("deciding again: %v, want ErrNotPending", err)
	}
}

func TestWrongNumberDenies(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	r := srv.SignIn(ada)
	req := c.wait(EventRequest, nil).Request
	status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, wrongNumber(t, req, r.Number))
	if err != nil || status != api.StatusDenied {
		t.Fatalf("approving with the wrong number = %q, %v; want denied", status, err)
	}
	if got := srv.Request(r.ID); got.Status != store.ApprovalDenied {
		t.Errorf("the server's request is %q, want denied", got.Status)
	}

	// Deny and report send number 0 whatever was given.
	for _, tc := range []struct {
		c    Choice
		want string
	}{{Deny, api.StatusDenied}, {Report, api.StatusReported}} {
		r := srv.SignIn(ada)
		c.wait(EventRequest, func(e Event) bool { return e.Request.ID == r.ID })
		status, err := c.Decide(context.Background(), a.ID, r.ID, tc.c, r.Number)
		if err != nil || status != tc.want {
			t.Errorf("%s = %q, %v; want %s", tc.c, status, err, tc.want)
		}
	}
}

// TestPairTwiceRefused: pairing this desktop again with an account it is
// paired with (again, or through a household invitation) is refused, and
// the server's new device goes again; the desktop keeps one pairing.
func TestPairTwiceRefused(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	first := c.pair(srv, uri, "Desk")
	_, uri = srv.PairingCode(ada)
	_, err := c.Pair(context.Background(), uri, "", "Desk again")
	if !errors.Is(err, ErrAlreadyPaired) || !strings.Contains(err.Error(), `ada@example.com on `) || !strings.Contains(err.Error(), `as "Desk"`) {
		t.Errorf("pairing again: %v, want ErrAlreadyPaired naming the account and the desktop", err)
	}
	if as := c.Accounts(); len(as) != 1 || as[0].ID != first.ID {
		t.Errorf("accounts after a second pairing: %+v, want the first only", as)
	}
	as, err := srv.Store.Approvers(context.Background(), ada.ID)
	if err != nil || len(as) != 1 || as[0].ID != first.ID {
		t.Errorf("the server's desktops after a refused second pairing: %+v, %v; want the first only", as, err)
	}
	// Another account on the same server pairs as usual.
	bob := srv.User("bob@example.com", "Bob")
	_, uri = srv.PairingCode(bob)
	c.pair(srv, uri, "Desk")
	if n := len(c.Accounts()); n != 2 {
		t.Errorf("%d accounts after pairing another account, want 2", n)
	}
}

func TestPairErrors(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	ctx := context.Background()

	c := newCompanion(t, srv)
	_, err := c.Pair(ctx, srv.URL, "ABCD-EFGH", "x")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != api.CodeInvalidCode || !strings.Contains(err.Error(), "pairing code is wrong") {
		t.Errorf("a wrong code: %v, want the server's invalid_code message", err)
	}
	if _, err := c.Pair(ctx, "http://127.0.0.1:1", "ABCDEFGH", "x"); err == nil || !strings.Contains(err.Error(), "cannot reach http://127.0.0.1:1") {
		t.Errorf("an unreachable server: %v, want it named", err)
	}
	if _, err := c.Pair(ctx, srv.URL, "", "x"); err == nil || !strings.Contains(err.Error(), "pairing code is needed") {
		t.Errorf("a URL without a code: %v", err)
	}
	if _, err := c.Pair(ctx, "countersign://pair?code=X", "", "x"); !errors.Is(err, api.ErrPairURI) {
		t.Errorf("a link without a server: %v, want ErrPairURI", err)
	}
	if _, err := c.Pair(ctx, "ftp://example.com", "ABCDEFGH", "x"); err == nil {
		t.Error("an ftp URL was accepted")
	}
	code, _ := srv.PairingCode(ada)
	if _, err := c.Pair(ctx, srv.URL, code, strings.Repeat("x", 65)); err == nil || !strings.Contains(err.Error(), "at most 64") {
		t.Errorf("a 65-character name: %v", err)
	}

	// No keyring: its error, and the server forgets the half-made pairing.
	c.secrets.Fail(fmt.Errorf("%w: no Secret Service: install gnome-keyring", keyring.ErrUnavailable))
	if _, err := c.Pair(ctx, srv.URL, strings.ToLower(code), "x"); !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(err.Error(), "install gnome-keyring") {
		t.Errorf("without a keyring: %v, want the keyring's error", err)
	}
	if as, _ := srv.Approvals.Approvers(ctx, ada.ID); len(as) != 0 {
		t.Errorf("the server kept %d approvers of a pairing that failed", len(as))
	}
	if len(c.Accounts()) != 0 {
		t.Errorf("Accounts() = %+v after failures", c.Accounts())
	}
}

func TestSeveralAccountsPersist(t *testing.T) {
	srv1, srv2 := approvertest.Start(t), approvertest.Start(t)
	ada, bob := srv1.User("ada@example.com", "Ada"), srv2.User("bob@example.com", "Bob")
	c := newCompanion(t, srv1)
	code, _ := srv1.PairingCode(ada)
	a1, err := c.Pair(context.Background(), srv1.URL+"/", code, "")
	if err != nil {
		t.Fatal(err)
	}
	if a1.DeviceName != DefaultDeviceName() || a1.Server != srv1.URL {
		t.Errorf("paired %+v, want the default name %q and %s", a1, DefaultDeviceName(), srv1.URL)
	}
	_, uri := srv2.PairingCode(bob)
	a2 := c.pair(srv2, uri, "second")

	c.open(srv1) // as after a restart of the companion
	got := c.Accounts()
	if len(got) != 2 || got[0].ID != a1.ID || got[1].ID != a2.ID || got[1].Email != "bob@example.com" || got[1].Server != srv2.URL {
		t.Fatalf("reopened Accounts() = %+v", got)
	}
	c.run()
	r1, r2 := srv1.SignIn(ada), srv2.SignIn(bob)
	seen := map[string]string{}
	for range 2 {
		e := c.wait(EventRequest, nil)
		seen[e.Request.ID] = e.Account.Email
	}
	if seen[r1.ID] != "ada@example.com" || seen[r2.ID] != "bob@example.com" {
		t.Errorf("requests by account: %v", seen)
	}

	// An account paired while running is followed at once.
	cy := srv2.User("cy@example.com", "Cy")
	_, uri = srv2.PairingCode(cy)
	c.pair(srv2, uri, "third")
	r3 := srv2.SignIn(cy)
	if e := c.wait(EventRequest, nil); e.Request.ID != r3.ID || e.Account.Email != "cy@example.com" {
		t.Errorf("after pairing while running: request %s of %s", e.Request.ID, e.Account.Email)
	}

	// Run again after it returned: the streams start again.
	c.stopRun()
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	if _, err := os.ReadFile(filepath.Join(c.dir, FileName)); err != nil {
		t.Fatal(err)
	}
}

func TestTokenRefresh(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	ctx := context.Background()
	list := func() {
		t.Helper()
		if _, err := c.Fetch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list()
	list()
	if n := c.rec.count("/api/v1/auth/token"); n != 1 {
		t.Errorf("two calls made %d tokens, want 1", n)
	}
	srv.Clock.Advance(8 * time.Minute)
	list()
	if n := c.rec.count("/api/v1/auth/token"); n != 1 {
		t.Errorf("8 minutes on: %d tokens, want the first still", n)
	}
	srv.Clock.Advance(90 * time.Second) // within a minute of the 10-minute expiry
	list()
	if n := c.rec.count("/api/v1/auth/token"); n != 2 {
		t.Errorf("9.5 minutes on: %d tokens, want a second", n)
	}
	// A token the server no longer knows (e.g. a clock out of step) is replaced once.
	c.mu.Lock()
	c.accounts[a.ID].token = "csd_" + strings.Repeat("A", 43)
	c.mu.Unlock()
	list()
	if n := c.rec.count("/api/v1/auth/token"); n != 3 {
		t.Errorf("after a refused token: %d tokens, want a third", n)
	}
}

func TestTwoDevicesRace(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	laptop, desk := newCompanion(t, srv), newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	la := laptop.pair(srv, uri, "laptop")
	_, uri = srv.PairingCode(ada)
	da := desk.pair(srv, uri, "desk")
	laptop.run()
	desk.run()

	// The laptop answers; the desk hears who did.
	r := srv.SignIn(ada)
	laptop.wait(EventRequest, nil)
	desk.wait(EventRequest, nil)
	if _, err := laptop.Decide(context.Background(), la.ID, r.ID, Approve, r.Number); err != nil {
		t.Fatal(err)
	}
	e := desk.wait(EventResolved, nil)
	if e.Resolved.ID != r.ID || e.Resolved.Status != api.StatusApproved || e.Resolved.DecidedBy != "laptop (Ada)" {
		t.Errorf("the desk heard %+v, want approved by laptop (Ada)", e.Resolved)
	}
	if len(desk.Pending()) != 0 {
		t.Error("the desk still shows the request")
	}

	// Both answer at once: one wins.
	r = srv.SignIn(ada)
	laptop.wait(EventRequest, nil)
	desk.wait(EventRequest, nil)
	var wg sync.WaitGroup
	var statuses [2]string
	var errs [2]error
	for i, c := range []*companion{laptop, desk} {
		id := []string{la.ID, da.ID}[i]
		wg.Go(func() { statuses[i], errs[i] = c.Decide(context.Background(), id, r.ID, Deny, 0) })
	}
	wg.Wait()
	wins := 0
	for i := range 2 {
		var de *DecidedError
		switch {
		case errs[i] == nil && statuses[i] == api.StatusDenied:
			wins++
		case errors.As(errs[i], &de):
			if de.DecidedBy == "" || (de.Status != "" && de.Status != api.StatusDenied) {
				t.Errorf("the loser's error: %+v", de)
			}
		case errors.Is(errs[i], ErrNotPending): // the winner's event came first
		default:
			t.Errorf("device %d: %q, %v", i, statuses[i], errs[i])
		}
	}
	if wins != 1 {
		t.Errorf("%d devices won, want 1 (%v %v)", wins, errs, statuses)
	}

	// A device that did not hear in time gets DecidedError naming the winner.
	desk.stopRun()
	r = srv.SignIn(ada)
	if _, err := desk.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	laptop.wait(EventRequest, func(e Event) bool { return e.Request.ID == r.ID })
	if _, err := laptop.Decide(context.Background(), la.ID, r.ID, Approve, r.Number); err != nil {
		t.Fatal(err)
	}
	_, err := desk.Decide(context.Background(), da.ID, r.ID, Approve, r.Number)
	var de *DecidedError
	if !errors.As(err, &de) || de.DecidedBy != "laptop (Ada)" || (de.Status != "" && de.Status != api.StatusApproved) {
		t.Errorf("deciding late: %v, want a DecidedError by laptop", err)
	} else if !strings.Contains(err.Error(), "laptop") {
		t.Errorf("the error %q does not say who", err)
	}
}

func TestRemovedOnServer(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	r := srv.SignIn(ada)
	c.wait(EventRequest, nil)

	srv.RemoveApprover(ada, a.ID)
	e := c.wait(EventUnpaired, nil)
	if e.Account.ID != a.ID || !e.Account.Unpaired {
		t.Errorf("unpaired event for %+v", e.Account)
	}
	if as := c.Accounts(); len(as) != 1 || !as[0].Unpaired || as[0].Online {
		t.Errorf("Accounts() = %+v, want it unpaired and offline", as)
	}
	if len(c.Pending()) != 0 {
		t.Error("a request of a removed device is still pending")
	}
	if _, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); !errors.Is(err, ErrUnpaired) {
		t.Errorf("deciding on a removed device: %v", err)
	}
	// It stays unpaired after a restart, with no stream.
	c.stopRun()
	n := c.rec.count("/api/v1/approvals/stream")
	c.open(srv)
	if as := c.Accounts(); len(as) != 1 || !as[0].Unpaired {
		t.Errorf("reopened Accounts() = %+v", as)
	}
	c.run()
	time.Sleep(200 * time.Millisecond)
	if m := c.rec.count("/api/v1/approvals/stream"); m != n {
		t.Errorf("an unpaired account was followed again (%d streams, was %d)", m, n)
	}
	// Unpairing it now needs no server and forgets it.
	if err := c.Unpair(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if len(c.Accounts()) != 0 || c.hasKey(a.ID) {
		t.Errorf("after Unpair: %+v, key kept %v", c.Accounts(), c.hasKey(a.ID))
	}
}

func TestRevokedToken(t *testing.T) {
	// Removal noticed through a refused token rather than the stream.
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.RemoveApprover(ada, a.ID)
	if _, err := c.Fetch(context.Background()); !errors.Is(err, ErrUnpaired) {
		t.Errorf("Fetch after removal: %v, want ErrUnpaired", err)
	}
	c.wait(EventUnpaired, nil)
	if as := c.Accounts(); !as[0].Unpaired {
		t.Error("not marked unpaired")
	}
}

func TestUnpair(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	if err := c.Unpair(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if as, _ := srv.Approvals.Approvers(context.Background(), ada.ID); len(as) != 0 {
		t.Errorf("the server still lists %+v", as)
	}
	if len(c.Accounts()) != 0 || c.hasKey(a.ID) {
		t.Errorf("after Unpair: accounts %+v, key kept %v", c.Accounts(), c.hasKey(a.ID))
	}
	for _, e := range c.drain(200 * time.Millisecond) {
		if e.Kind == EventUnpaired {
			t.Error("our own unpairing came back as a removal by the server")
		}
	}
	c.open(srv)
	if len(c.Accounts()) != 0 {
		t.Error("the account came back after a restart")
	}
	if err := c.Unpair(context.Background(), a.ID); !errors.Is(err, ErrNoAccount) {
		t.Errorf("unpairing twice: %v", err)
	}
}

func TestReconnect(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	r1 := srv.SignIn(ada)
	c.wait(EventRequest, nil)
	// The request may come from the list made on connecting; wait for its stream event.
	eventually(t, "the stream event", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.accounts[a.ID].lastSeq > 0
	})

	srv.Restart()
	c.wait(EventConnection, func(e Event) bool { return !e.Account.Online })
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	r2 := srv.SignIn(ada)
	e := c.wait(EventRequest, nil)
	if e.Request.ID != r2.ID {
		t.Errorf("after the restart the first request event is %s, want the new %s (not %s again)", e.Request.ID, r2.ID, r1.ID)
	}
	for _, e := range c.drain(300 * time.Millisecond) {
		if e.Kind == EventRequest {
			t.Errorf("a duplicate request event %s", e.Request.ID)
		}
	}
	if accept := c.rec.headers("/api/v1/approvals/stream", "Accept"); accept[0] != "text/event-stream" {
		t.Errorf("the stream was asked for with Accept %q", accept[0])
	}
	if auth := c.rec.headers("/api/v1/approvals/stream", "Authorization"); !strings.HasPrefix(auth[0], "Bearer csd_") {
		t.Errorf("the stream was asked for with Authorization %q", auth[0])
	}
	ids := c.rec.headers("/api/v1/approvals/stream", "Last-Event-ID")
	if len(ids) < 2 || ids[0] != "" || ids[len(ids)-1] == "" {
		t.Errorf("Last-Event-ID of the streams: %q, want none first, then the last seen", ids)
	}

	// The companion restarts: it resumes from paired.json's last event id and
	// shows the pending requests once each.
	c.stopRun()
	c.open(srv)
	c.run()
	got := map[string]int{}
	for _, e := range c.drain(time.Second) {
		if e.Kind == EventRequest {
			got[e.Request.ID]++
		}
	}
	if got[r1.ID] != 1 || got[r2.ID] != 1 || len(got) != 2 {
		t.Errorf("after the companion's restart, request events %v, want each pending one once", got)
	}
	ids = c.rec.headers("/api/v1/approvals/stream", "Last-Event-ID")
	if last := ids[len(ids)-1]; last == "" {
		t.Error("the restarted companion did not send Last-Event-ID")
	}
}

func TestLongPoll(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	c.forcePoll, c.pollTimeout = true, 2
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	r := srv.SignIn(ada)
	req := c.wait(EventRequest, nil).Request
	if req.ID != r.ID {
		t.Fatalf("polled %s, want %s", req.ID, r.ID)
	}
	if _, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); err != nil {
		t.Fatal(err)
	}
	c.wait(EventResolved, nil)
	r2 := srv.SignIn(ada)
	if e := c.wait(EventRequest, nil); e.Request.ID != r2.ID {
		t.Errorf("second poll got %s", e.Request.ID)
	}
	if n := c.rec.count("/api/v1/approvals/stream"); n != 0 {
		t.Errorf("%d stream requests with polling forced", n)
	}
	srv.RemoveApprover(ada, a.ID)
	c.wait(EventUnpaired, nil)
}

func TestExpiry(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	r := srv.SignIn(ada)
	c.wait(EventRequest, nil)
	srv.Clock.Advance(2*time.Minute + time.Second)
	e := c.wait(EventResolved, nil)
	if e.Resolved.ID != r.ID || e.Resolved.Status != api.StatusExpired {
		t.Errorf("resolved %+v, want expired", e.Resolved)
	}
	if len(c.Pending()) != 0 {
		t.Error("an expired request is pending")
	}
	if _, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); !errors.Is(err, ErrNotPending) {
		t.Errorf("deciding an expired request: %v", err)
	}
	for _, e := range c.drain(1500 * time.Millisecond) {
		if e.Kind == EventResolved || e.Kind == EventRequest {
			t.Errorf("extra %v event after expiry: %+v", e.Kind, e)
		}
	}
}

func TestDecideExpiredOnServer(t *testing.T) {
	// The server says expired (410) before the companion's clock does.
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	stopped := srv.Clock.Now()
	c := newCompanion(t, srv, func(o *Options) { o.Now = func() time.Time { return stopped } })
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	r := srv.SignIn(ada)
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(3 * time.Minute)
	if _, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); !errors.Is(err, ErrExpired) {
		t.Errorf("deciding: %v, want ErrExpired", err)
	}
	if len(c.Pending()) != 0 {
		t.Error("still pending")
	}
}

func TestKeyOptions(t *testing.T) {
	opts := json.RawMessage(`{"publicKey":{"challenge":"AQID","timeout":300000,"rpId":"example.com",
		"allowCredentials":[{"type":"public-key","id":"BAUG"},{"type":"other","id":"zz"}],"userVerification":"preferred"}}`)
	kr, err := parseKeyOptions(opts, "https://example.com")
	if err != nil {
		t.Fatal(err)
	}
	if string(kr.Challenge) != "\x01\x02\x03" || kr.RPID != "example.com" || len(kr.AllowCredentials) != 1 ||
		string(kr.AllowCredentials[0]) != "\x04\x05\x06" || kr.UserVerification != "preferred" {
		t.Errorf("parsed %+v", kr)
	}
	kr, err = parseKeyOptions(json.RawMessage(`{"challenge":"AQID"}`), "http://localhost:8080/x")
	if err != nil || kr.RPID != "localhost" {
		t.Errorf("bare options without rpId: %+v, %v", kr, err)
	}
	for _, bad := range []string{``, `null`, `{}`, `{"publicKey":{"challenge":"!!"}}`, `[1]`} {
		if _, err := parseKeyOptions(json.RawMessage(bad), "https://example.com"); err == nil {
			t.Errorf("options %q were accepted", bad)
		}
	}
	if got := webOrigin("http://localhost:8080/path?q"); got != "http://localhost:8080" {
		t.Errorf("webOrigin = %q", got)
	}
}

func TestPairTarget(t *testing.T) {
	tests := []struct {
		in, code, server, wantCode string
		ok                         bool
	}{
		{"countersign://pair?server=https%3A%2F%2Fa.example&code=K7Q9M2XD", "", "https://a.example", "K7Q9M2XD", true},
		{"countersign://pair?server=https%3A%2F%2Fa.example&code=K7Q9M2XD", "aaaa-bbbb", "https://a.example", "AAAABBBB", true},
		{"https://a.example/", "k7q9-m2xd", "https://a.example", "K7Q9M2XD", true},
		{"  http://localhost:8080  ", "K7Q9 M2XD", "http://localhost:8080", "K7Q9M2XD", true},
		{"https://a.example", "", "", "", false},
		{"a.example", "K7Q9M2XD", "https://a.example", "K7Q9M2XD", true},
		{"localhost:18084", "K7Q9M2XD", "http://localhost:18084", "K7Q9M2XD", true},
		{"a.example", "", "", "", false},
		{"ftp://a.example", "K7Q9M2XD", "", "", false},
		{"countersign://other?server=https%3A%2F%2Fa.example&code=K", "", "", "", false},
	}
	for _, tt := range tests {
		server, code, err := pairTarget(tt.in, tt.code)
		if (err == nil) != tt.ok || server != tt.server || code != tt.wantCode {
			t.Errorf("pairTarget(%q, %q) = %q, %q, %v; want %q, %q, ok %v", tt.in, tt.code, server, code, err, tt.server, tt.wantCode, tt.ok)
		}
	}
}

func TestOpenDamagedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir, Keyring: &testkit.FakeKeyring{}}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("Open on a damaged file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{not json" {
		t.Error("the damaged file was touched")
	}
}

func TestDefaultDeviceName(t *testing.T) {
	n := DefaultDeviceName()
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	if n == "" || len([]rune(n)) > 64 || !strings.Contains(n, host[:min(len(host), 20)]) {
		t.Errorf("DefaultDeviceName() = %q, want a name with the host %q", n, host)
	}
}

func TestTwoProcessesShareTheFile(t *testing.T) {
	// The window runs; the command line pairs and unpairs beside it.
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	gui := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	first := gui.pair(srv, uri, "first")
	gui.run()

	cli := &companion{t: t, dir: gui.dir, secrets: gui.secrets, rec: &recorder{next: http.DefaultTransport}}
	cli.open(srv)
	bob := srv.User("bob@example.com", "Bob")
	_, uri = srv.PairingCode(bob)
	second := cli.pair(srv, uri, "second")
	eventually(t, "the window taking in the second account", func() bool { return len(gui.Accounts()) == 2 })
	r, rb := srv.SignIn(ada), srv.SignIn(bob)
	got := map[string]bool{}
	for range 2 {
		e := gui.wait(EventRequest, func(e Event) bool { return e.Request.ID == r.ID || e.Request.ID == rb.ID })
		got[e.Account.ID] = true
	}
	if !got[first.ID] || !got[second.ID] {
		t.Errorf("the window heard the requests on %v, want both devices", got)
	}
	// A save by the window keeps the other's account.
	if _, err := gui.Decide(context.Background(), first.ID, r.ID, Deny, 0); err != nil {
		t.Fatal(err)
	}
	cli.open(srv)
	if n := len(cli.Accounts()); n != 2 {
		t.Errorf("paired.json holds %d accounts after the window saved, want 2", n)
	}
	if err := cli.Unpair(context.Background(), second.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the window forgetting the unpaired account", func() bool { return len(gui.Accounts()) == 1 })
	if as := gui.Accounts(); as[0].ID != first.ID {
		t.Errorf("the window kept %+v", as)
	}
}

// TestClockStep: the desktop's clock set forward or back while a request
// waits moves the request with it and sends it again, so it neither closes
// early nor lingers; elapsed time (a suspend included) still expires it.
func TestClockStep(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	clock := testkit.NewClock(srv.Clock.Now())
	c := newCompanion(t, srv, func(o *Options) { o.Now, o.Elapsed = clock.Now, clock.Elapsed })
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	r := srv.SignIn(ada)
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.wait(EventRequest, nil)
	exp := c.Pending()[0].ExpiresAt
	for _, step := range []time.Duration{20 * time.Minute, -30 * time.Minute, 10*time.Minute + 3*time.Second} {
		clock.Step(step)
		p := c.Pending()
		if len(p) != 1 || p[0].ID != r.ID || !p[0].ExpiresAt.Equal(exp.Add(step)) {
			t.Fatalf("after the clock was set %v: Pending() = %+v, want the request expiring at %v", step, p, exp.Add(step))
		}
		exp = p[0].ExpiresAt
		if e := c.wait(EventRequest, nil); e.Request.ID != r.ID || !e.Request.ExpiresAt.Equal(exp) {
			t.Errorf("after the clock was set %v: sent again as %+v, want its new expiry %v", step, e.Request, exp)
		}
	}
	// A drift within the slack is no step.
	clock.Step(time.Second)
	if p := c.Pending(); len(p) != 1 || !p[0].ExpiresAt.Equal(exp) {
		t.Errorf("a 1 s drift moved the request: %+v", p)
	}
	status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number)
	if err != nil || status != api.StatusApproved {
		t.Errorf("deciding after the steps: %q, %v", status, err)
	}

	// Time run (as over a suspend) is no step: the request expires.
	r2 := srv.SignIn(ada)
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2*time.Minute + time.Second)
	if p := c.Pending(); len(p) != 0 {
		t.Errorf("after 2 min had run the request %s is still pending: %+v", r2.ID, p)
	}
}

func TestClockSkew(t *testing.T) {
	// A desktop whose clock is off still shows requests for their lifetime.
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	for _, off := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		c := newCompanion(t, srv, func(o *Options) { o.Now = func() time.Time { return srv.Clock.Now().Add(off) } })
		_, uri := srv.PairingCode(ada)
		a := c.pair(srv, uri, "desk")
		r := srv.SignIn(ada)
		if _, err := c.Fetch(context.Background()); err != nil {
			t.Fatal(err)
		}
		p := c.Pending()
		if len(p) != 1 || p[0].ID != r.ID {
			t.Fatalf("clock off by %v: Pending() = %+v", off, p)
		}
		if left := p[0].ExpiresAt.Sub(c.now()); left < 2*time.Minute-time.Second || left > 2*time.Minute {
			t.Errorf("clock off by %v: the request expires in %v by this desktop's clock, want 2m", off, left)
		}
		if status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); err != nil || status != api.StatusApproved {
			t.Errorf("clock off by %v: Decide = %q, %v", off, status, err)
		}
	}
}
