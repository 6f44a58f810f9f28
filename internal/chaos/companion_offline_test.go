//go:build chaos

package chaos

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
)

// TestCompanionServerUnreachable: the server dies under three connected
// desktops. Each says it is offline (what the window's banner shows),
// retries with growing, jittered waits of its own, and comes back by
// itself when the server does; a sign-in then reaches all three again.
func TestCompanionServerUnreachable(t *testing.T) {
	needKeyringSession(t)
	row := Begin(t, "C1. companion: server unreachable under its streams")
	row.Done = "3 desktops paired and connected; countersign-server SIGKILLed under their streams; started again on the same port and database after their 5th retry"

	srv := startLiveServer(t)
	desks := []*desktop{newDesktop(t, "Desk A"), newDesktop(t, "Desk B"), newDesktop(t, "Desk C")}
	for _, d := range desks {
		d.pair(srv)
		d.run()
	}
	for _, d := range desks {
		if _, ok := d.online(true, 15*time.Second); !ok {
			return
		}
	}
	if !approveRound(t, srv, desks, desks[0]) {
		row.Lost = "the first sign-in, before any fault"
		return
	}

	// The server dies.
	marks := make([]int, len(desks))
	evMarks := make([]int, len(desks))
	for i, d := range desks {
		marks[i], evMarks[i] = d.trips.len(), d.mark()
	}
	killed := time.Now()
	srv.kill()

	var offline []string
	var noticed time.Duration
	for i, d := range desks {
		_, at, ok := d.eventAt(evMarks[i], 10*time.Second, "offline event", func(e approver.Event) bool {
			return e.Kind == approver.EventConnection && !e.Account.Online
		})
		e, _, ok2 := d.eventAt(evMarks[i], 10*time.Second, "offline event", func(e approver.Event) bool {
			return e.Kind == approver.EventConnection && !e.Account.Online && strings.Contains(e.Account.LastError, "cannot reach")
		})
		if !ok || !ok2 {
			row.Lost = "the offline state: " + d.name + " did not say the server cannot be reached"
			return
		}
		noticed = max(noticed, at.Sub(killed))
		offline = append(offline, e.Account.LastError)
	}

	// Five retries each: the waits stay under a ceiling that doubles from
	// 0.5 s, and are drawn at random under it (full jitter), per desktop.
	const retries = 5
	ceilings := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	waits := make([][]time.Duration, len(desks))
	deadline := time.Now().Add(40 * time.Second)
	for i, d := range desks {
		for {
			tries := d.trips.since(marks[i], "")
			if len(tries) >= retries || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		tries := d.trips.since(marks[i], "")
		if len(tries) < retries {
			t.Errorf("%s: %d retries within 40 s of the kill, want %d", d.name, len(tries), retries)
			row.Lost = "the retries: " + d.name + " stopped trying"
			return
		}
		prev := killed
		for _, tr := range tries[:retries] {
			if tr.err == nil {
				t.Errorf("%s: a request to %s succeeded while the server was dead", d.name, tr.path)
			}
			waits[i] = append(waits[i], tr.at.Sub(prev))
			prev = tr.at
		}
	}
	restarted := time.Now()
	srv.start()

	const slack = 150 * time.Millisecond // the request itself, the scheduler
	var late, early []string
	for i, w := range waits {
		for k, d := range w {
			if d > ceilings[k]+slack {
				late = append(late, fmt.Sprintf("%s retry %d after %v (ceiling %v)", desks[i].name, k+1, d, ceilings[k]))
			}
		}
	}
	for k := 2; k < retries; k++ {
		var ds []time.Duration
		for i := range waits {
			ds = append(ds, waits[i][k].Round(10*time.Millisecond))
		}
		if slices.Max(ds) == slices.Min(ds) {
			early = append(early, fmt.Sprintf("retry %d after the same %v on every desktop", k+1, ds[0]))
		}
	}
	// Growth: the longest of the last two retries beats the ceiling of the
	// first two (by chance it would not: (1/32)³).
	var lastMax time.Duration
	for i := range waits {
		lastMax = max(lastMax, waits[i][3], waits[i][4])
	}
	if lastMax <= ceilings[1] {
		early = append(early, fmt.Sprintf("the last retries came within %v: the waits do not grow", lastMax))
	}
	if len(late) > 0 || len(early) > 0 {
		t.Errorf("backoff: %s", strings.Join(append(late, early...), "; "))
		row.Lost = "the backoff's shape: " + strings.Join(append(late, early...), "; ")
		return
	}

	// Back by itself.
	var back []string
	for _, d := range desks {
		if _, ok := d.online(true, 35*time.Second); !ok {
			row.Lost = d.name + " did not reconnect by itself"
			return
		}
		back = append(back, secs(time.Since(restarted)))
	}
	if !approveRound(t, srv, desks, desks[1]) {
		row.Lost = "the sign-in after the server came back"
		return
	}

	var ws []string
	for i, w := range waits {
		var s []string
		for _, d := range w {
			s = append(s, fmt.Sprintf("%.2f", d.Seconds()))
		}
		ws = append(ws, desks[i].name+" "+strings.Join(s, "/"))
	}
	row.Saw = fmt.Sprintf("every desktop offline within %s of the kill, then %q (the window's \"Offline.\" banner); retries after %s s (ceilings 0.5/1/2/4/8 s, full jitter, each desktop its own draw); online again by themselves %s after the restart; the next sign-in reached all three, approved on Desk B, browser signed in, the others dismissed it",
		secs(noticed), offline[0], strings.Join(ws, "; "), strings.Join(back, ", "))
	row.Lost = Nothing
}

// approveRound signs in with the password, waits for every desktop to get
// the request, approves it on who with the browser's number, and checks the
// browser completes its sign-in and the other desktops close the request.
func approveRound(t *testing.T, srv *liveServer, desks []*desktop, who *desktop) bool {
	t.Helper()
	marks := make([]int, len(desks))
	for i, d := range desks {
		marks[i] = d.mark()
	}
	b, number := srv.signIn()
	var req approver.Request
	for i, d := range desks {
		r, ok := d.request(marks[i], 15*time.Second)
		if !ok {
			return false
		}
		if d == who {
			req = r
		}
	}
	status, err := who.approve(req, number)
	if err != nil || status != "approved" {
		t.Errorf("%s approving: %q, %v", who.name, status, err)
		return false
	}
	if ok, got := signedIn(b); !ok {
		t.Errorf("the browser after approval: %s, want signed in", got)
		return false
	}
	for i, d := range desks {
		if d == who {
			continue
		}
		if _, ok := d.event(marks[i], 15*time.Second, "resolution", func(e approver.Event) bool {
			return e.Kind == approver.EventResolved && e.Resolved.ID == req.ID && e.Resolved.Status == "approved"
		}); !ok {
			return false
		}
	}
	return true
}
