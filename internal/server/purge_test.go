package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// purgeStore is a store whose Purge runs until its context ends.
type purgeStore struct {
	store.Store
	calls, running atomic.Int32
	started        chan struct{}
}

func (s *purgeStore) Purge(ctx context.Context, _ time.Time) error {
	s.running.Add(1)
	defer s.running.Add(-1)
	s.calls.Add(1)
	s.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// TestCloseWaitsForPurge: the purge a request starts in the background is
// stopped and waited for by Close, and none starts after it.
func TestCloseWaitsForPurge(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	st := &purgeStore{started: make(chan struct{}, 2)}
	e := newEnv(t, func(c *Config) {
		st.Store = c.Store
		c.Store, c.Now = st, clk.Now
	})
	request := func() {
		e.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/signin", nil))
	}

	clk.Advance(purgeEvery)
	request()
	select {
	case <-st.started:
	case <-time.After(10 * time.Second):
		t.Fatal("a request an hour after the last purge started none")
	}
	done := make(chan struct{})
	go func() { e.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return within 10 s")
	}
	if n := st.running.Load(); n != 0 {
		t.Errorf("Close returned with %d purge still running, want it stopped and waited for", n)
	}

	clk.Advance(purgeEvery)
	request()
	time.Sleep(50 * time.Millisecond)
	if n := st.calls.Load(); n != 1 {
		t.Errorf("%d purges after a request that followed Close, want still 1", n)
	}
}
