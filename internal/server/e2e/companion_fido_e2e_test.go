//go:build cgo

package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// TestCompanionKeyTouch: on an account that requires a security-key touch
// to approve, the companion's FIDOToucher asks the software FIDO2 key
// (through libfido2, on a pty) and the browser lands signed in. It skips
// where no software key can run, unless COUNTERSIGN_TEST_FIDO=1.
func TestCompanionKeyTouch(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	t.Setenv(fido.EnvDevices, sk.Path())
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	browser := browsertest.Start(t)
	s := newApprovalSite(t, browser)
	u := s.user()
	approvertest.RegisterKey(t, s.base, s.apiToken(u, api.ScopeRead, api.ScopeWrite), userPassword, key, "")
	if err := s.srv.Approvals().SetRequireKey(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	d := s.newDesk(u, "Ada's laptop", nil, approver.FIDOToucher())

	n := s.waitingForApproval()
	r := d.request()
	if !r.RequireKey || len(r.KeyOptions) == 0 {
		t.Fatalf("the request does not ask for a key touch: require_key %v, key_options %s", r.RequireKey, r.KeyOptions)
	}
	decided := time.Now()
	rtt := d.decide(r, approver.Approve, n, api.StatusApproved)
	s.landed("landing on /account/security")
	t.Logf("Decide with the key touch took %v; the browser landed %v after Decide was called", rtt, time.Since(decided))
}
