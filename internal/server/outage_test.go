package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store"
)

// outageStore makes the database go out of service on demand: reads of
// the activity log fail with down, and writes checks with full.
type outageStore struct {
	store.Store
	down, full error
}

func (s *outageStore) ActivityPage(ctx context.Context, userID string, before int64, limit int) ([]store.Activity, error) {
	if s.down != nil {
		return nil, fmt.Errorf("activity page: %w: connect: connection refused", s.down)
	}
	return s.Store.ActivityPage(ctx, userID, before, limit)
}

func (s *outageStore) CheckWrite(ctx context.Context) error {
	if s.full != nil {
		return fmt.Errorf("write check: %w: database or disk is full (13)", s.full)
	}
	return s.Store.CheckWrite(ctx)
}

// TestDatabaseOutagePages: a page that meets a database out of service is
// a 503 that tells people to come back, with Retry-After and no internals.
func TestDatabaseOutagePages(t *testing.T) {
	for _, cause := range []error{store.ErrUnreachable, store.ErrStorageFull} {
		t.Run(cause.Error(), func(t *testing.T) {
			os := &outageStore{}
			e := newEnv(t, func(c *Config) { os.Store, c.Store = c.Store, os })
			c := e.client()
			c.signup("ada@example.com", pw)
			os.down = cause
			r := c.sections()
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
				t.Errorf("status %d, Retry-After %q; want 503 and a time", r.status, r.header.Get("Retry-After"))
			}
			mustContain(t, r.body, "Countersign is unavailable for a moment", "Please try again in a few minutes.")
			for _, leak := range []string{"connection refused", "cannot be reached", "no room"} {
				if strings.Contains(r.body, leak) {
					t.Errorf("the page shows %q", leak)
				}
			}
		})
	}
}

// TestReadyzWrites: /readyz is 503 when the database answers but cannot
// write (a full disk), says so, and is 200 again once it can.
func TestReadyzWrites(t *testing.T) {
	os := &outageStore{}
	e := newEnv(t, func(c *Config) { os.Store, c.Store = c.Store, os })
	c := e.client()
	if r := c.get("/readyz"); r.status != http.StatusOK {
		t.Fatalf("readyz: %d %q", r.status, r.body)
	}
	os.full = store.ErrStorageFull
	e.clock.Advance(time.Minute)
	r := c.get("/readyz")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "disk full") || strings.Contains(r.body, "(13)") {
		t.Errorf("readyz on a full disk: %d %q", r.status, r.body)
	}
	os.full = nil
	e.clock.Advance(time.Minute)
	if r := c.get("/readyz"); r.status != http.StatusOK {
		t.Errorf("readyz once there is room: %d %q", r.status, r.body)
	}
}
