package apiv1

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// transports are the two ways a stream is served: on a connection taken
// over from net/http (HTTP/1.1), and by the handler itself (HTTP/2).
var transports = []struct {
	name  string
	proto int
	start func(t *testing.T, e *env) (base string, client *http.Client)
}{
	{"http1-taken-over", 1, func(t *testing.T, e *env) (string, *http.Client) {
		return e.srv.URL, http.DefaultClient
	}},
	{"http2-in-handler", 2, func(t *testing.T, e *env) (string, *http.Client) {
		mux := http.NewServeMux()
		mux.Handle("/api/v1/", e.handler)
		srv := httptest.NewUnstartedServer(mux)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		t.Cleanup(func() { e.approvals.Close() }) // ends the streams before srv closes
		return srv.URL, srv.Client()
	}},
}

// streamsDrop waits for the handler's open streams to reach want.
func streamsDrop(t *testing.T, e *env, want int64) {
	t.Helper()
	h := e.handler.(*handler)
	deadline := time.Now().Add(2 * time.Second)
	for h.streams.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open on the server, want %d", h.streams.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamTransports: events, pings and the end by "unpaired" are the
// same whichever way the stream is served.
func TestStreamTransports(t *testing.T) {
	old := pingEvery
	pingEvery = 100 * time.Millisecond
	t.Cleanup(func() { pingEvery = old })
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			base, client := tr.start(t, e)
			d := e.pair(t, e.alice, "Sam's laptop")
			tok := e.signIn(t, d)
			r1 := e.request(t, e.alice) // before the stream: replayed
			s := openStreamWith(t, client, base, "/api/v1/approvals/stream", tok, "")
			if s.proto != tr.proto {
				t.Fatalf("HTTP/%d, want HTTP/%d", s.proto, tr.proto)
			}
			for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"} {
				if got := s.header.Get(name); got != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}
			approvalEvent(t, s.next(t), r1)
			r2 := e.request(t, e.alice)
			approvalEvent(t, s.next(t), r2)
			if r := e.do(t, req{method: "POST", path: decisionPath(r1), token: tok, body: d.decision(t, r1, "deny", 0)}); r.status != http.StatusOK {
				t.Fatalf("deny: status %d: %s", r.status, r.body)
			}
			resolvedEvent(t, s.next(t), r1, api.StatusDenied, "Sam's laptop (Alice)")

			deadline := time.After(2 * time.Second)
			for pinged := false; !pinged; {
				select {
				case ev := <-s.events:
					if ev.comment != "" && ev.comment != "ping" {
						t.Fatalf("comment %q, want ping", ev.comment)
					}
					pinged = ev.comment == "ping"
				case <-deadline:
					t.Fatal("no ping in 2 s")
				}
			}

			if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + d.id, token: e.rw}); r.status != http.StatusNoContent {
				t.Fatalf("remove: status %d: %s", r.status, r.body)
			}
			ev := s.next(t)
			var u api.Unpaired
			if err := json.Unmarshal([]byte(ev.data), &u); err != nil || ev.event != api.EventUnpaired || u.DeviceID != d.id {
				t.Errorf("event %+v, want unpaired %s", ev, d.id)
			}
			s.ends(t)
			streamsDrop(t, e, 0)
		})
	}
}

// TestStreamClientGone: a client that goes ends its stream on the server
// at once, not at the next ping.
func TestStreamClientGone(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			e := newEnv(t)
			base, client := tr.start(t, e)
			d := e.pair(t, e.alice, "Sam's laptop")
			tok := e.signIn(t, d)
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/approvals/stream", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			streamsDrop(t, e, 1)
			cancel()
			streamsDrop(t, e, 0)
		})
	}
}

// TestStreamWire reads a taken-over stream as bytes: an HTTP/1.1 head
// with the handler's headers, one chunk per batch of events, and after
// "unpaired" the last chunk and the connection's end.
func TestStreamWire(t *testing.T) {
	e := newEnv(t)
	d := e.pair(t, e.alice, "Sam's laptop")
	tok := e.signIn(t, d)
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /api/v1/approvals/stream HTTP/1.1\r\nHost: "+u.Host+"\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
	br := bufio.NewReader(conn)
	line := func() string {
		t.Helper()
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, s)
		}
		return strings.TrimRight(s, "\r\n")
	}
	if got := line(); got != "HTTP/1.1 200 OK" {
		t.Fatalf("status line %q", got)
	}
	head := map[string]string{}
	for l := line(); l != ""; l = line() {
		k, v, _ := strings.Cut(l, ": ")
		head[k] = v
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff", "Transfer-Encoding": "chunked"} {
		if head[k] != want {
			t.Errorf("%s %q, want %q (head %v)", k, head[k], want, head)
		}
	}
	if _, err := time.Parse(http.TimeFormat, head["Date"]); err != nil {
		t.Errorf("Date %q: %v", head["Date"], err)
	}

	r := e.request(t, e.alice)
	size := line()
	chunk := line()
	if !strings.HasPrefix(chunk, "id: ") {
		t.Fatalf("chunk of %s bytes starts %q, want an event", size, chunk)
	}
	rest := make([]byte, 0)
	for l := line(); l != ""; l = line() { // event:, data:
		rest = append(rest, l...)
	}
	if !strings.Contains(string(rest), "event: approval") || !strings.Contains(string(rest), r.ID) {
		t.Errorf("event %q %q, want the approval of %s", chunk, rest, r.ID)
	}
	line() // the chunk's CRLF

	if r := e.do(t, req{method: "DELETE", path: "/api/v1/approvers/" + d.id, token: e.rw}); r.status != http.StatusNoContent {
		t.Fatalf("remove: status %d: %s", r.status, r.body)
	}
	var tail strings.Builder
	if _, err := io.Copy(&tail, br); err != nil {
		t.Fatalf("after unpaired: %v", err)
	}
	if !strings.Contains(tail.String(), "event: unpaired") || !strings.HasSuffix(tail.String(), "\r\n0\r\n\r\n") {
		t.Errorf("after unpaired %q, want the event, the last chunk and the connection's end", tail.String())
	}
}
