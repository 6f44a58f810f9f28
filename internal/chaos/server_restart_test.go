//go:build chaos

package chaos

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
)

// restartAfter is how long a killed server stays down: systemd's
// RestartSec in packaging/systemd.
const restartAfter = 5 * time.Second

// serverKilled: countersign-server on SQLite is SIGKILLed while two
// desktops hold their streams and three sign-ins wait (one approved but not
// yet finished by its browser, two pending), and started again on the same
// file five seconds later, as systemd would. The desktops must come back by
// themselves, every request must still be answerable, each browser must
// finish its sign-in exactly once, and nothing replayed may count.
func serverKilled(t *testing.T) {
	row := Begin(t, "1. countersign-server SIGKILLed (SQLite)")
	path := filepath.Join(t.TempDir(), "countersign.db")
	dsn := "sqlite://" + path
	login := seedAccounts(t, dsn, "killed", 1)[0]
	srv := newServer(t, "A", dsn, "")
	srv.start()
	d1 := pairDesk(t, srv.pairingURI(login), "Ada's laptop", "")
	d2 := pairDesk(t, srv.pairingURI(login), "Ada's desktop", "")

	// Three sign-ins wait, both desktops holding each request: two in
	// browsers of this package (the first with no script, the second
	// following its stream as the page's script does) and one in a real
	// Chromium running the page's script.
	var bs [2]*browser
	var reqs [3]*approver.Request
	hold := func(i int, ip string) {
		for _, d := range []*desk{d1, d2} {
			r, err := d.requestFrom(ip, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			reqs[i] = r
		}
	}
	for i := range bs {
		bs[i] = newBrowser(t, srv.public, fmt.Sprintf("198.51.100.%d", 10+i), "")
		if _, err := bs[i].signIn(login); err != nil {
			t.Fatalf("browser %d: %v", i+1, err)
		}
		hold(i, bs[i].ip)
	}
	tab := newTab(t)
	tabNumber := tab.signIn(srv.public, login)
	hold(2, "127.0.0.1") // Chromium sends no X-Forwarded-For
	// The first is approved before the kill; its browser has not pressed
	// the button yet.
	if st, err := d1.approve(reqs[0], bs[0].number); err != nil || st != "approved" {
		t.Fatalf("approving the first request before the kill: %q, %v", st, err)
	}
	follow := make(chan following, 1)
	go func() { follow <- bs[1].follow(2 * time.Minute) }()
	watch := tab.watch()
	time.Sleep(300 * time.Millisecond) // the pages' streams are open

	srv.kill()
	if !d1.waitOffline(5*time.Second) || !d2.waitOffline(5*time.Second) {
		t.Errorf("the desktops still say they are connected 5 s after the server died")
	}
	time.Sleep(restartAfter)
	restarted := time.Now()
	took := srv.start()
	back := make(chan time.Duration, 1)
	go func() {
		took, _ := d2.waitOnline(60 * time.Second)
		back <- took
	}()
	back1, ok1 := d1.waitOnline(60 * time.Second)
	back2 := <-back
	if !ok1 || !d2.online() {
		t.Fatalf("the desktops did not reconnect within 60 s of the restart: %+v, %+v", d1.m.Accounts(), d2.m.Accounts())
	}
	row.Done = fmt.Sprintf("SIGKILL while 2 desktops streamed and 3 sign-ins waited (1 approved but not finished, 2 pending); restarted on the same file %.0f s later (systemd's RestartSec), up in %.1f s",
		restartAfter.Seconds(), took.Seconds())

	// The pending two are still on both desktops, and answerable.
	for _, d := range []*desk{d1, d2} {
		for _, r := range reqs[1:] {
			if _, err := d.requestFrom(r.IP, 10*time.Second); err != nil {
				t.Errorf("after the restart: %v", err)
			}
		}
	}
	if st, err := d2.approve(reqs[1], bs[1].number); err != nil || st != "approved" {
		t.Fatalf("approving request 2 after the restart: %q, %v", st, err)
	}
	if st, err := d1.approve(reqs[2], tabNumber); err != nil || st != "approved" {
		t.Fatalf("approving request 3 after the restart: %q, %v", st, err)
	}
	copied := bs[1].copyOf(t) // someone holding browser 2's cookies
	f := <-follow
	if f.status != "approved" {
		t.Fatalf("browser 2's page: %+v, want approved", f)
	}
	for i := range bs {
		p, err := bs[i].complete()
		if err != nil || p.status != http.StatusSeeOther || p.loc != "/account/security" || !bs[i].signedIn() {
			t.Fatalf("browser %d finishing its sign-in after the restart: %v, %v", i+1, p, err)
		}
	}
	seen := watch.stop(15 * time.Second)
	if !seen.landed {
		t.Errorf("Chromium's page did not finish the sign-in by itself after the approval; it said %q", seen.said)
		defer func() { row.Lost = "the approved sign-in in Chromium: the page gave up and needed its button" }()
		if !tab.press() {
			t.Fatalf("Chromium: pressing \"I approved it — continue\" did not sign in either")
		}
	}

	// Replays: the desktop's decision sent again, the other desktop
	// deciding too, the copied cookies finishing the sign-in again.
	code, body, err := d2.replay(reqs[1].ID)
	if err != nil || code != http.StatusConflict {
		t.Errorf("the decision on request 2 replayed: %d %s, %v; want 409", code, body, err)
	}
	if _, err := d1.approve(reqs[1], bs[1].number); err == nil {
		t.Errorf("the other desktop approving request 2 again: no error")
	}
	again, err := copied.complete()
	if err == nil && again.status == http.StatusSeeOther && again.loc == "/account/security" {
		t.Errorf("finishing sign-in 2 again with copied cookies: %v", again)
	}
	n := signIns(t, dsn, login)
	if n != 3 {
		t.Errorf("%d sign-ins in the activity log, want 3", n)
	}
	ic := integrity(t, path)
	row.Saw = fmt.Sprintf("desktops offline, back by themselves %.1f s and %.1f s after the restart, still holding the 2 pending requests, and approved them; Chromium's waiting page said %s and %s; the other waiting page's stream broke %d× and said \"approved\" %.1f s after the restart; the page approved before the kill finished with its button; decision replayed → %d %s; the other desktop deciding again → refused; copied cookies finishing again → %v; %d sign-ins logged; integrity_check %s",
		back1.Seconds(), back2.Seconds(), quoteAll(seen.said), seen.outcome(), f.drops, f.at.Sub(restarted).Seconds(), code, apiCode(body), again, n, ic)
	if !t.Failed() {
		row.Lost = Nothing
	}
}

// integrity runs PRAGMA integrity_check on the SQLite file at path.
func integrity(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res []string
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		res = append(res, s)
	}
	got := strings.Join(res, "; ")
	if got != "ok" {
		t.Errorf("PRAGMA integrity_check: %s", got)
	}
	return got
}

// downPastExpiry is the case of a server that stays down longer than a
// request lives.
type downPastExpiry struct {
	srv     *serverProc
	d       *desk
	b       *browser
	req     *approver.Request
	killed  time.Time
	follows chan following
}

// beginDownPastExpiry starts a server, a desktop and a waiting sign-in,
// then kills the server; finish starts it again after the request expired.
func beginDownPastExpiry(t *testing.T) *downPastExpiry {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "countersign.db")
	login := seedAccounts(t, dsn, "expiry", 1)[0]
	c := &downPastExpiry{srv: newServer(t, "E", dsn, "")}
	c.srv.start()
	c.d = pairDesk(t, c.srv.pairingURI(login), "Ada's laptop", "")
	c.b = newBrowser(t, c.srv.public, "198.51.100.40", "")
	if _, err := c.b.signIn(login); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.req, err = c.d.requestFrom(c.b.ip, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c.follows = make(chan following, 1)
	go func() { c.follows <- c.b.follow(time.Until(c.req.ExpiresAt) + 30*time.Second) }()
	time.Sleep(300 * time.Millisecond)
	c.srv.kill()
	c.killed = time.Now()
	return c
}

// finish waits for the request's expiry, starts the server again and
// checks that everyone is told the request expired, that it cannot be
// answered any more, and that a new request works.
func (c *downPastExpiry) finish(t *testing.T) {
	row := Begin(t, "1b. countersign-server down past a request's expiry (SQLite)")
	time.Sleep(time.Until(c.req.ExpiresAt.Add(time.Second)))
	down := time.Since(c.killed)
	c.srv.start()
	back, ok := c.d.waitOnline(60 * time.Second)
	if !ok {
		t.Fatalf("the desktop did not reconnect within 60 s: %+v", c.d.m.Accounts())
	}
	row.Done = fmt.Sprintf("SIGKILL while a sign-in waited; restarted %.0f s later, after the request's 2-minute expiry", down.Seconds())
	f := <-c.follows
	p, err := c.b.approvalPage()
	if err != nil {
		t.Fatal(err)
	}
	if f.status != "expired" || !strings.Contains(p.says(), "expired") {
		t.Errorf("the waiting page: stream %+v, page %v; want expired", f, p)
	}
	pending := len(c.d.m.Pending())
	if pending != 0 {
		t.Errorf("the desktop still shows %d requests", pending)
	}
	_, decideErr := c.d.approve(c.req, c.b.number)
	if decideErr == nil {
		t.Errorf("approving the expired request: no error")
	}
	fin, err := c.b.complete()
	if err != nil || fin.status == http.StatusSeeOther {
		t.Errorf("finishing the expired sign-in: %v, %v", fin, err)
	}
	// "Send a new request" works.
	np, err := c.b.do(http.MethodGet, "/signin/verify?method=approve&new=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := approvalNumber.FindStringSubmatch(np.body)
	if m == nil {
		t.Fatalf("a new request: %v", np)
	}
	fmt.Sscan(m[1], &c.b.number)
	r2, err := c.d.requestFrom(c.b.ip, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.d.approve(r2, c.b.number); err != nil || st != "approved" {
		t.Fatalf("approving the new request: %q, %v", st, err)
	}
	done, err := c.b.complete()
	if err != nil || done.status != http.StatusSeeOther || done.loc != "/account/security" {
		t.Fatalf("finishing with the new request: %v, %v", done, err)
	}
	row.Saw = fmt.Sprintf("the desktop reconnected %.1f s after the restart and dropped the request as expired (deciding it: %v); the page's stream said \"expired\" and the page \"%s\"; finishing it → %v; a new request from the page was approved and signed in",
		back.Seconds(), decideErr, p.says(), fin)
	if !t.Failed() {
		row.Lost = Nothing
	}
}
