package approver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
)

// streamProxy puts a stream of the test's own in front of a real server:
// every other request goes through to it.
func streamProxy(t *testing.T, srv *approvertest.Server, stream http.HandlerFunc) *httptest.Server {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/approvals/stream" {
			stream(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(proxy.CloseClientConnections)
	return proxy
}

// TestRequestsThatCannotBeShownAreRefused: a request the prompt could not
// show as the contract says — not three different two-digit numbers, an id
// or nonce no server makes — is refused with a log line instead of being
// put before the person; over-long words are cut, and what would make a
// word read as another (a right-to-left override, a line break) is taken
// out. A good request after them still comes.
func TestRequestsThatCannotBeShownAreRefused(t *testing.T) {
	now := time.Now().UTC()
	good := api.Approval{ID: "good", Nonce: "bm9uY2U", Numbers: []int{17, 42, 88}, Browser: "Firefox 133",
		OS: "Windows 10", IP: "203.0.113.7", Place: "Unknown place", CreatedAt: now, ExpiresAt: now.Add(2 * time.Minute),
		App: "Photo \u202Eexe.koob\u202C\nApproved"}
	many := make([]int, 10_000)
	for i := range many {
		many[i] = 10 + i%90
	}
	bad := map[string]func(a *api.Approval){
		"no numbers":       func(a *api.Approval) { a.Numbers = nil },
		"one number":       func(a *api.Approval) { a.Numbers = []int{42} },
		"the same twice":   func(a *api.Approval) { a.Numbers = []int{42, 42, 17} },
		"one digit":        func(a *api.Approval) { a.Numbers = []int{1, 42, 88} },
		"three digits":     func(a *api.Approval) { a.Numbers = []int{100, 42, 88} },
		"negative":         func(a *api.Approval) { a.Numbers = []int{-42, 17, 88} },
		"ten thousand":     func(a *api.Approval) { a.Numbers = many },
		"id of 10 KiB":     func(a *api.Approval) { a.ID = strings.Repeat("i", 10<<10) },
		"nonce of 10 KiB":  func(a *api.Approval) { a.Nonce = strings.Repeat("n", 10<<10) },
		"no nonce":         func(a *api.Approval) { a.Nonce = "" },
		"id with a slash":  func(a *api.Approval) { a.ID = "../../approvers/x" },
		"id with controls": func(a *api.Approval) { a.ID = "a\x00b" },
	}
	var events strings.Builder
	seq := 0
	for name, spoil := range bad {
		a := good
		a.ID = "bad-" + strings.ReplaceAll(name, " ", "-")
		spoil(&a)
		b, _ := json.Marshal(a)
		seq++
		fmt.Fprintf(&events, "id: %d\nevent: approval\ndata: %s\n\n", seq, b)
	}
	long := good
	long.Browser = strings.Repeat("B", 100_000)
	b, _ := json.Marshal(long)
	fmt.Fprintf(&events, "id: %d\nevent: approval\ndata: %s\n\n", seq+1, b)

	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	proxy := streamProxy(t, srv, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, events.String())
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	logs := &lockedBuilder{}
	c := newCompanion(t, srv, func(o *Options) { o.Now = nil; o.Log = slog.New(slog.NewTextHandler(logs, nil)) })
	code, _ := srv.PairingCode(ada)
	if _, err := c.Pair(context.Background(), proxy.URL, code, "desk"); err != nil {
		t.Fatal(err)
	}
	c.run()
	e := c.wait(EventRequest, nil)
	if e.Request.ID != "good" {
		t.Fatalf("the first request shown is %.40q, want the good one", e.Request.ID)
	}
	if n := len([]rune(e.Request.Browser)); n > maxText {
		t.Errorf("a browser of %d characters is shown, want at most %d", n, maxText)
	}
	if want := "Photo exe.koob Approved"; e.Request.App != want {
		t.Errorf("the app is shown as %q, want %q", e.Request.App, want)
	}
	for _, e := range c.drain(200 * time.Millisecond) {
		if e.Kind == EventRequest {
			t.Errorf("a request that cannot be shown came through: %.60q", e.Request.ID)
		}
	}
	if n := strings.Count(logs.String(), "a request that cannot be shown"); n != len(bad) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(bad), logs.String())
	}
}

// TestTrickledStreamIsDropped: a stream that sends a byte now and then but
// never a whole line (slowloris) is as good as silent: it is dropped after
// the idle timeout, saying so, and made again.
func TestTrickledStreamIsDropped(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	proxy := streamProxy(t, srv, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, ": ping\n\n")
		w.(http.Flusher).Flush()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte(":")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	})
	c := newCompanion(t, srv)
	c.idleTimeout = 300 * time.Millisecond
	code, _ := srv.PairingCode(ada)
	if _, err := c.Pair(context.Background(), proxy.URL, code, "desk"); err != nil {
		t.Fatal(err)
	}
	c.run()
	e := c.wait(EventConnection, func(e Event) bool { return !e.Account.Online && e.Account.LastError != "" })
	if !strings.Contains(e.Account.LastError, "no whole line") {
		t.Errorf("the account says %q, want that the stream sent no whole line", e.Account.LastError)
	}
	eventually(t, "a second stream", func() bool { return c.rec.count("/api/v1/approvals/stream") >= 2 })
}

// lockedBuilder is a strings.Builder safe from any goroutine, for logs.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHugeAnswerIsRefused: an API answer past maxAnswer is refused saying
// so, not read on, and not mistaken for bad JSON.
func TestHugeAnswerIsRefused(t *testing.T) {
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"approvals":[`)
		item := strings.Repeat(`{"id":"x"},`, 1000)
		for range (maxAnswer + 1<<20) / len(item) {
			if _, err := fmt.Fprint(w, item); err != nil {
				return
			}
		}
		fmt.Fprint(w, `{}]}`)
	}))
	t.Cleanup(huge.Close)
	c := newCompanion(t, nil)
	var list api.ApprovalList
	err := c.call(context.Background(), huge.URL, "", http.MethodGet, "/api/v1/approvals", nil, &list)
	if err == nil || !strings.Contains(err.Error(), "more than 4 MiB") {
		t.Errorf("a 5 MiB answer: %v, want it refused as more than 4 MiB", err)
	}
}
