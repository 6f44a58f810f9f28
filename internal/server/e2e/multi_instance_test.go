package e2e_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	csrfField      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	approvalNumber = regexp.MustCompile(`id="approval-number"[^>]*>\s*(\d+)\s*<`)
)

// formClient is a browser without a browser: a cookie jar and forms posted
// by hand, redirects not followed.
type formClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newFormClient(t *testing.T, base string) *formClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request (a form when form is not nil) and returns the
// response with its body read.
func (c *formClient) do(ctx context.Context, method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

// post loads page for its CSRF token, then posts the form to action.
func (c *formClient) post(page, action string, form url.Values) *http.Response {
	c.t.Helper()
	res, body := c.do(c.t.Context(), http.MethodGet, page, nil)
	m := csrfField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: status %d, no CSRF token", page, res.StatusCode)
	}
	form.Set("csrf", m[1])
	res, _ = c.do(c.t.Context(), http.MethodPost, action, form)
	return res
}

// waitForApproval sends the password and opens the approval page, which
// makes the request; it returns the number the page shows.
func (c *formClient) waitForApproval() int {
	c.t.Helper()
	res := c.post("/signin", "/signin", url.Values{"login": {userLogin}, "password": {userPassword}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin/verify") {
		c.t.Fatalf("the password: status %d to %q", res.StatusCode, loc)
	}
	res, body := c.do(c.t.Context(), http.MethodGet, "/signin/verify", nil)
	m := approvalNumber.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET /signin/verify: status %d, no #approval-number", res.StatusCode)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// decided follows /signin/approval/stream until its "decided" event and
// sends that event's data.
func (c *formClient) decided(ctx context.Context) <-chan string {
	out := make(chan string, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/signin/approval/stream", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		c.t.Fatalf("GET /signin/approval/stream: status %d", res.StatusCode)
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

	c := newFormClient(t, a.base)
	start := time.Now()
	n := c.waitForApproval()
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
	decided := c.decided(ctx)
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
	res := c.post("/signin/verify", "/signin/approval/complete", url.Values{})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/account/security" {
		t.Fatalf("completing the sign-in on A: status %d to %q", res.StatusCode, loc)
	}
	if res, _ := c.do(t.Context(), http.MethodGet, "/account/security", nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /account/security on A after the approval: status %d", res.StatusCode)
	}
}
