package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/browsertest"
)

// outage makes a test server unreachable for a while, as a restart does:
// every open connection is cut at its start, and every new one is closed
// at once until it ends.
type outage struct {
	hs   *httptest.Server
	down atomic.Bool
}

func (o *outage) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.down.Load() {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
			panic(http.ErrAbortHandler)
		}
		h.ServeHTTP(w, r)
	})
}

func (o *outage) begin() {
	o.down.Store(true)
	o.hs.CloseClientConnections()
}

func (o *outage) end() { o.down.Store(false) }

// TestApprovalPageOutlivesOutage: the page waiting for an approval loses
// its stream when the server goes away for a few seconds (a restart, a
// deploy). It says so, keeps trying, and once the server is back and the
// desktop approves, it signs in by itself.
func TestApprovalPageOutlivesOutage(t *testing.T) {
	browser := browsertest.Start(t)
	s := newApprovalSite(t, browser)
	d := s.newDesk(s.user(), "Ada's laptop", nil, nil)
	n := s.waitingForApproval()
	r := d.request()

	s.away.begin()
	s.statusSays("Lost contact with the server")
	time.Sleep(4 * time.Second) // longer than a quick retry: systemd restarts after 5 s
	s.away.end()
	s.statusSays("Waiting for your approval")
	d.decide(r, approver.Approve, n, api.StatusApproved)
	s.landed("landing on /account/security after the outage")
}
