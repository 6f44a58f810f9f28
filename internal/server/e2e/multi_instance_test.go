package e2e_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// decided follows /signin/approval/stream until its "decided" event and
// sends that event's data.
func decided(ctx context.Context, t *testing.T, c *webtest.Client) <-chan string {
	out := make(chan string, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/signin/approval/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		t.Fatalf("GET /signin/approval/stream: status %d", res.StatusCode)
	}
	go func() {
		defer res.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:") && event == "decided":
				out <- strings.TrimSpace(strings.TrimPrefix(line, "data:"))
				return
			case line == "":
				event = ""
			}
		}
	}()
	return out
}

// TestTwoInstances: two servers on one PostgreSQL database. The sign-in
// waits on instance A; the companion follows the account on instance B and
// hears of the request within a second; its approval, sent to B, reaches
// the page's stream on A and finishes the sign-in there. Only PostgreSQL's
// LISTEN/NOTIFY carries the news between them.
func TestTwoInstances(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := newInstance(t, dsn, nil)
	b := newInstance(t, dsn, nil)
	u := a.user()
	d := b.newDesk(u, "Ada's laptop", nil, nil)
	if d.acct.Server != b.base {
		t.Fatalf("the desktop follows %s, want instance B at %s", d.acct.Server, b.base)
	}

	c := webtest.New(t, a.base)
	start := time.Now()
	n := c.WaitForApproval(userLogin, userPassword)
	r := d.request()
	took := time.Since(start)
	t.Logf("a request made on A reached the desktop on B %v after the password was sent", took)
	if took > time.Second {
		t.Errorf("the request took %v to cross instances, want under a second", took)
	}
	if len(r.Numbers) != 3 || !slices.Contains(r.Numbers, n) {
		t.Fatalf("the desktop is offered %v, the page on A shows %d", r.Numbers, n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	decided := decided(ctx, t, c)
	approved := time.Now()
	d.decide(r, approver.Approve, n, api.StatusApproved)
	select {
	case data := <-decided:
		if !strings.Contains(data, `"approved"`) {
			t.Fatalf("the stream on A says %s", data)
		}
		t.Logf("the approval sent to B reached the page's stream on A %v after Decide was called", time.Since(approved))
	case <-ctx.Done():
		t.Fatal("the page's stream on A heard nothing of the approval sent to B")
	}
	res := c.Post("/signin/verify", "/signin/approval/complete", url.Values{})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/account/security" {
		t.Fatalf("completing the sign-in on A: status %d to %q", res.StatusCode, loc)
	}
	if res, _ := c.Do(t.Context(), http.MethodGet, "/account/security", nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /account/security on A after the approval: status %d", res.StatusCode)
	}
}
