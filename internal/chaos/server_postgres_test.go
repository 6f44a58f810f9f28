//go:build chaos

package chaos

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store/pgtest"
)

// postgresRestart: two instances on one PostgreSQL carry a steady stream
// of sign-ins, each approved on a desktop; every request is made on A and
// held by a desktop on B, every decision sent to B and awaited on A, so
// each one crosses instances through LISTEN/NOTIFY. PostgreSQL is stopped
// at once (immediate shutdown, as a crash) and started again three seconds
// later. The servers must stay up, hear each other again, and approvals
// must flow within seconds, on every desktop's stream as it was.
func postgresRestart(t *testing.T) {
	row := Begin(t, "3. PostgreSQL restarted under traffic (2 instances)")
	pg := pgtest.Start(t)
	const accounts = 6
	logins := seedAccounts(t, pg.DSN(), "traffic", accounts)
	lb := newBalancer(t)
	a := newServer(t, "A", pg.DSN(), lb.URL)
	b := newServer(t, "B", pg.DSN(), lb.URL)
	a.start()
	b.start()
	lb.add("A", a)
	lb.add("B", b)
	desks := make([]*desk, accounts)
	for i, login := range logins {
		desks[i] = pairDesk(t, a.pairingURI(login), fmt.Sprintf("desktop %d", i+1), "B")
	}

	tr := &traffic{lb: lb, logins: logins, desks: desks, stop: make(chan struct{})}
	tr.run(2)
	if !tr.waitOK(time.Time{}, 4, 30*time.Second) {
		tr.halt()
		t.Fatalf("no steady traffic before the restart: %s", tr.summary())
	}
	// One more sign-in waits on its desktop when the database goes.
	caught := newBrowser(t, lb.URL, "198.51.100.30", "A")
	if _, err := caught.signIn(logins[0]); err != nil {
		tr.halt()
		t.Fatal(err)
	}
	caughtReq, err := desks[0].requestFrom(caught.ip, 10*time.Second)
	if err != nil {
		tr.halt()
		t.Fatal(err)
	}
	caughtFollow := make(chan following, 1)
	go func() { caughtFollow <- caught.follow(time.Minute) }()

	crashed := time.Now()
	pg.Crash()
	time.Sleep(time.Second)
	downStatus, downBody, _ := get(a.base + "/readyz")
	if downStatus != http.StatusServiceUnavailable {
		t.Errorf("/readyz with PostgreSQL down: %d %q", downStatus, downBody)
	}
	time.Sleep(2 * time.Second)
	if err := pg.Restart(); err != nil {
		tr.halt()
		t.Fatal(err)
	}
	up := time.Now()
	// The person approves the waiting one as soon as the desktop lets them.
	var caughtErrs []string
	waitFor(30*time.Second, func() bool {
		st, err := desks[0].approve(caughtReq, caught.number)
		if err != nil && !slices.Contains(caughtErrs, err.Error()) {
			caughtErrs = append(caughtErrs, err.Error())
		}
		return err == nil && st == "approved"
	})
	cf := <-caughtFollow
	cp, err := caught.complete()
	if cf.status != "approved" || err != nil || cp.status != http.StatusSeeOther || cp.loc != "/account/security" {
		t.Errorf("the sign-in caught by the restart: stream %+v, finishing %v, %v; approving said %q", cf, cp, err, caughtErrs)
	}
	// Every account, so every desktop's stream, must carry an approval
	// after the restart.
	_, flowing := waitFor(90*time.Second, func() bool { _, covered := tr.after(crashed); return len(covered) == accounts })
	tr.halt()
	if !flowing {
		t.Errorf("approvals did not flow again within 90 s of the restart: %s", tr.summary())
	}
	first, covered := tr.after(crashed)
	if len(covered) < accounts {
		t.Errorf("after the restart only the desktops of %v approved anything", covered)
	}
	reconnects := 0
	for _, d := range desks {
		reconnects += d.rec.streamsSince(crashed)
	}
	for _, p := range []*serverProc{a, b} {
		if !p.alive() || p.panicked() {
			t.Errorf("instance %s: alive %v; log:\n%s", p.name, p.alive(), p.logText())
		}
		if st, body, err := get(p.base + "/readyz"); err != nil || st != http.StatusOK {
			t.Errorf("instance %s /readyz after the restart: %d %q, %v", p.name, st, body, err)
		}
	}
	row.Done = fmt.Sprintf("sign-ins from 2 browsers at a time on A, approved by 6 desktops on B (every request and decision crossing instances by LISTEN/NOTIFY); PostgreSQL stopped -m immediate and started again %.1f s later", up.Sub(crashed).Seconds())
	row.Saw = fmt.Sprintf("%d sign-ins completed before, %d during or after; during the outage %s; approvals flowed again %.1f s after PostgreSQL was back (%.1f s after the crash), on all %d desktops' streams (%d reconnections); /readyz said %d %q while it was down; the sign-in waiting at the crash was approved after it (%s) and its page signed in %.1f s after PostgreSQL was back; both servers stayed up, no panic, /readyz 200",
		tr.okBefore(crashed), tr.okAfter(crashed), tr.failures(), first.Sub(up).Seconds(), first.Sub(crashed).Seconds(), len(covered), reconnects, downStatus, strings.TrimSpace(downBody),
		triedFirst(caughtErrs), cf.at.Sub(up).Seconds())
	if !t.Failed() {
		row.Lost = Nothing
	}
}

// traffic runs sign-ins, each approved on its account's desktop, from
// workers that start one every 1.5 s (the servers allow 10 sign-ins a
// minute per account: six accounts take turns).
type traffic struct {
	lb     *balancer
	logins []string
	desks  []*desk
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	rounds []round
	next   int
}

// round is one sign-in: when it started and ended, whose, and how it
// failed ("" when it signed in).
type round struct {
	start, end time.Time
	account    int
	failed     string
}

func (tr *traffic) run(workers int) {
	for range workers {
		tr.wg.Go(func() {
			for {
				begin := time.Now()
				tr.mu.Lock()
				n := tr.next
				tr.next++
				tr.mu.Unlock()
				r := tr.round(n)
				tr.mu.Lock()
				tr.rounds = append(tr.rounds, r)
				tr.mu.Unlock()
				select {
				case <-tr.stop:
					return
				case <-time.After(time.Until(begin.Add(1500 * time.Millisecond))):
				}
			}
		})
	}
}

func (tr *traffic) halt() {
	close(tr.stop)
	tr.wg.Wait()
}

// round signs in on A as account n%len, approved by its desktop on B.
func (tr *traffic) round(n int) (r round) {
	i := n % len(tr.logins)
	r = round{start: time.Now(), account: i}
	defer func() { r.end = time.Now() }()
	b := newBrowserFor(tr.lb.URL, fmt.Sprintf("203.0.%d.%d", 113+n/200, 1+n%200), "A")
	if p, err := b.signIn(tr.logins[i]); err != nil {
		r.failed = "password: " + seenOrErr(p, err)
		return r
	}
	req, err := tr.desks[i].requestFrom(b.ip, 20*time.Second)
	if err != nil {
		r.failed = "the desktop got no request"
		return r
	}
	if st, err := tr.desks[i].approve(req, b.number); err != nil || st != "approved" {
		r.failed = fmt.Sprintf("approving: %q, %v", st, err)
		return r
	}
	if f := b.follow(30 * time.Second); f.status != "approved" {
		r.failed = fmt.Sprintf("the page's stream: %q after %d breaks", f.status, f.drops)
		return r
	}
	if p, err := b.complete(); err != nil || p.status != http.StatusSeeOther || p.loc != "/account/security" {
		r.failed = "finishing: " + seenOrErr(p, err)
	}
	return r
}

func seenOrErr(p page, err error) string {
	if p.status != 0 {
		return p.String()
	}
	return err.Error()
}

// waitOK waits for want rounds started after since that signed in.
func (tr *traffic) waitOK(since time.Time, want int, limit time.Duration) bool {
	_, ok := waitFor(limit, func() bool { return tr.okAfter(since) >= want })
	return ok
}

func (tr *traffic) okAfter(since time.Time) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, r := range tr.rounds {
		if r.failed == "" && r.start.After(since) {
			n++
		}
	}
	return n
}

func (tr *traffic) okBefore(t time.Time) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, r := range tr.rounds {
		if r.failed == "" && r.end.Before(t) {
			n++
		}
	}
	return n
}

// after is when the first round begun after since signed in, and the
// accounts whose rounds did.
func (tr *traffic) after(since time.Time) (time.Time, []int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var first time.Time
	var accts []int
	for _, r := range tr.rounds {
		if r.failed != "" || !r.start.After(since) {
			continue
		}
		if first.IsZero() || r.end.Before(first) {
			first = r.end
		}
		if !slices.Contains(accts, r.account) {
			accts = append(accts, r.account)
		}
	}
	slices.Sort(accts)
	return first, accts
}

// failures says how the rounds that failed failed, each way once.
func (tr *traffic) failures() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	count := map[string]int{}
	var order []string
	for _, r := range tr.rounds {
		if r.failed == "" {
			continue
		}
		if count[r.failed] == 0 {
			order = append(order, r.failed)
		}
		count[r.failed]++
	}
	if len(order) == 0 {
		return "no sign-in failed"
	}
	parts := make([]string, len(order))
	for i, f := range order {
		parts[i] = fmt.Sprintf("%d× %s", count[f], f)
	}
	return "sign-ins failed: " + strings.Join(parts, "; ")
}

func (tr *traffic) summary() string {
	return fmt.Sprintf("%d rounds, %d signed in; %s", len(tr.rounds), tr.okAfter(time.Time{}), tr.failures())
}

// triedFirst says what a person approving saw before it worked.
func triedFirst(errs []string) string {
	if len(errs) == 0 {
		return "at the first try"
	}
	return "first told: " + strings.Join(errs, "; ")
}
