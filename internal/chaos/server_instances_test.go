//go:build chaos

package chaos

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store/pgtest"
)

// twoInstances: two countersign-servers on one PostgreSQL behind a
// balancer. A sign-in waits on instance A while a desktop follows the
// account on B (and another on A). First A, the browser's instance, is
// SIGKILLed mid-approval; then, A restarted, B, the desktop's. Each time
// the survivor must carry the request to the desktop and the decision to
// the browser, and the sign-in must complete once.
func twoInstances(t *testing.T) {
	row := Begin(t, "2. one of two instances SIGKILLed (PostgreSQL)")
	pg := pgtest.Start(t)
	login := seedAccounts(t, pg.DSN(), "instances", 1)[0]
	lb := newBalancer(t)
	a := newServer(t, "A", pg.DSN(), lb.URL)
	b := newServer(t, "B", pg.DSN(), lb.URL)
	a.start()
	b.start()
	lb.add("A", a)
	lb.add("B", b)
	onB := pairDesk(t, a.pairingURI(login), "Ada's laptop", "B")
	onA := pairDesk(t, a.pairingURI(login), "Ada's desktop", "A")

	// The browser's instance dies while the request waits on the desktops.
	b1 := newBrowser(t, lb.URL, "198.51.100.20", "A")
	if _, err := b1.signIn(login); err != nil {
		t.Fatal(err)
	}
	r1, err := onB.requestFrom(b1.ip, 10*time.Second)
	if err != nil {
		t.Fatalf("a request made on A, the desktop on B: %v", err)
	}
	if _, err := onA.requestFrom(b1.ip, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	follow := make(chan following, 1)
	go func() { follow <- b1.follow(time.Minute) }()
	time.Sleep(300 * time.Millisecond)
	a.kill()
	killed := time.Now()
	movedA := onA.returns(killed)
	if st, err := onB.approve(r1, b1.number); err != nil || st != "approved" {
		t.Fatalf("approving on B after A died: %q, %v", st, err)
	}
	f1 := <-follow
	p1, err := b1.complete()
	if f1.status != "approved" || err != nil || p1.status != http.StatusSeeOther || p1.loc != "/account/security" {
		t.Fatalf("browser 1 after A died: stream %+v, finishing %v, %v", f1, p1, err)
	}
	took1 := f1.at.Sub(killed)
	backA := <-movedA
	if backA < 0 {
		t.Errorf("A's desktop did not move to B: %+v", onA.m.Accounts())
	}

	// A comes back; now the desktop's instance, B, dies mid-approval.
	a.start()
	b2 := newBrowser(t, lb.URL, "198.51.100.21", "A")
	if _, err := b2.signIn(login); err != nil {
		t.Fatal(err)
	}
	r2, err := onB.requestFrom(b2.ip, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	go func() { follow <- b2.follow(time.Minute) }()
	time.Sleep(300 * time.Millisecond)
	b.kill()
	killed = time.Now()
	backB := <-onB.returns(killed)
	if backB < 0 {
		t.Fatalf("B's desktop did not move to A: %+v", onB.m.Accounts())
	}
	if _, err := onB.requestFrom(b2.ip, 5*time.Second); err != nil {
		t.Fatalf("the request after the desktop moved to A: %v", err)
	}
	if st, err := onB.approve(r2, b2.number); err != nil || st != "approved" {
		t.Fatalf("approving on A after B died: %q, %v", st, err)
	}
	f2 := <-follow
	p2, err := b2.complete()
	if f2.status != "approved" || err != nil || p2.status != http.StatusSeeOther || p2.loc != "/account/security" {
		t.Fatalf("browser 2 after B died: stream %+v, finishing %v, %v", f2, p2, err)
	}
	took2 := f2.at.Sub(killed)

	code, body, err := onB.replay(r1.ID)
	if err != nil || code != http.StatusConflict {
		t.Errorf("the first decision replayed: %d %s, %v; want 409", code, body, err)
	}
	n := signIns(t, pg.DSN(), login)
	if n != 2 {
		t.Errorf("%d sign-ins logged, want 2", n)
	}
	if !a.alive() || a.panicked() {
		t.Errorf("instance A: alive %v, log:\n%s", a.alive(), a.logText())
	}
	row.Done = "two instances on one PostgreSQL behind a balancer, a sign-in waiting on A, a desktop on B and one on A; SIGKILL of A (the browser's) mid-approval, A restarted, then SIGKILL of B (the desktop's) mid-approval"
	row.Saw = fmt.Sprintf("A killed: the desktop on B approved at once, the page's stream broke %d× and came back through B with \"approved\" %.1f s after the kill, signed in; A's desktop moved to B in %.1f s. B killed: its desktop moved to A in %.1f s with the request still there, approved it, the page on A said \"approved\" %.1f s after the kill and signed in; the first decision replayed → %d %s; %d sign-ins logged",
		f1.drops, took1.Seconds(), backA.Seconds(), backB.Seconds(), took2.Seconds(), code, apiCode(body), n)
	if !t.Failed() {
		row.Lost = Nothing
	}
}
