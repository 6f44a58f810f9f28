package apiv1

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// outageStore fails Devices as a database out of service does.
type outageStore struct {
	*store.DB
	cause error
}

func (s outageStore) Devices(context.Context, string) ([]store.Device, error) {
	return nil, fmt.Errorf("devices: %w: database or disk is full (13)", s.cause)
}

// TestDatabaseOutage: a full disk or a database out of reach is a 503
// that says to try again later, with Retry-After, and no internals.
func TestDatabaseOutage(t *testing.T) {
	for _, cause := range []error{store.ErrStorageFull, store.ErrUnreachable} {
		t.Run(cause.Error(), func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Store = outageStore{o.Store.(*store.DB), cause} })
			r := e.get(t, "/api/v1/devices")
			wantError(t, r, 503, api.CodeUnavailable, "try again in a few minutes")
			if r.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if strings.Contains(string(r.body), "disk is full") {
				t.Errorf("internals sent: %s", r.body)
			}
			if !strings.Contains(e.log.String(), "disk is full") {
				t.Errorf("the cause was not logged: %s", e.log.String())
			}
		})
	}
}
