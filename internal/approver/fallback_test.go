package approver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver/approvertest"
)

// TestStreamFallsBackToPolling puts proxies that keep the event stream from
// getting through between the companion and a real server: the companion
// must notice and follow the account with long polls.
func TestStreamFallsBackToPolling(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stream http.HandlerFunc // what the proxy does with the stream
	}{
		{"no stream endpoint", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"stream held back", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done() // a buffering proxy: nothing until the end
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := approvertest.Start(t)
			ada := srv.User("ada@example.com", "Ada")
			target, _ := url.Parse(srv.URL)
			rp := httputil.NewSingleHostReverseProxy(target)
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/v1/approvals/stream" {
					tt.stream(w, r)
					return
				}
				rp.ServeHTTP(w, r)
			}))
			t.Cleanup(proxy.Close)
			t.Cleanup(proxy.CloseClientConnections)

			c := newCompanion(t, srv)
			c.idleTimeout, c.pollTimeout = 200*time.Millisecond, 2
			code, _ := srv.PairingCode(ada)
			a, err := c.Pair(context.Background(), proxy.URL, code, "desk")
			if err != nil {
				t.Fatal(err)
			}
			c.run()
			eventually(t, "a long poll", func() bool { return c.rec.count("/api/v1/approvals/poll") > 0 })
			if n := c.rec.count("/api/v1/approvals/stream"); n != bufferedStrikes {
				t.Errorf("%d stream attempts before polling, want %d", n, bufferedStrikes)
			}
			r := srv.SignIn(ada)
			if e := c.wait(EventRequest, nil); e.Request.ID != r.ID {
				t.Fatalf("got request %s, want %s", e.Request.ID, r.ID)
			}
			if as := c.Accounts(); !as[0].Online {
				t.Error("not online while polling")
			}
			if status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number); err != nil || status != "approved" {
				t.Fatalf("Decide = %q, %v", status, err)
			}
			r2 := srv.SignIn(ada)
			if e := c.wait(EventRequest, nil); e.Request.ID != r2.ID {
				t.Errorf("second request %s, want %s", e.Request.ID, r2.ID)
			}
		})
	}
}
