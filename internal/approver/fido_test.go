//go:build cgo

package approver

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
	"github.com/countersign/countersign/internal/store"
)

// TestKeyTouch approves a sign-in on an account that requires a
// security-key touch, with FIDOToucher talking through libfido2 to the
// software key on a pty (registered through the API, with a PIN that a
// touch must not need). It skips where no pty can be had, unless
// COUNTERSIGN_TEST_FIDO=1.
func TestKeyTouch(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	t.Setenv(fido.EnvDevices, sk.Path())
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	const pin = "4826"
	if err := key.SetPIN(pin); err != nil {
		t.Fatal(err)
	}
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	approvertest.RegisterKey(t, srv.URL, srv.APIToken(ada, api.ScopeRead, api.ScopeWrite), approvertest.Password, key, pin)
	if err := srv.Approvals.SetRequireKey(context.Background(), ada.ID, true); err != nil {
		t.Fatal(err)
	}

	c := newCompanion(t, srv, func(o *Options) { o.Keys = FIDOToucher() })
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	r := srv.SignIn(ada)
	req := c.wait(EventRequest, nil).Request
	if !req.RequireKey || len(req.KeyOptions) == 0 {
		t.Fatalf("the request does not ask for a key: %+v", req.Approval)
	}
	status, err := c.Decide(context.Background(), a.ID, r.ID, Approve, r.Number)
	if err != nil || status != api.StatusApproved {
		t.Fatalf("approving with the key = %q, %v", status, err)
	}
	if got := srv.Request(r.ID); got.Status != store.ApprovalApproved {
		t.Errorf("the server's request is %q", got.Status)
	}

	// Without the key's answer the server refuses, and the request stays.
	c2 := newCompanion(t, srv) // noKeys
	_, uri = srv.PairingCode(ada)
	a2 := c2.pair(srv, uri, "other")
	r = srv.SignIn(ada)
	if _, err := c2.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Decide(context.Background(), a2.ID, r.ID, Approve, r.Number); err == nil {
		t.Error("approving without a key touch succeeded")
	}
	if len(c2.Pending()) != 1 {
		t.Error("a failed touch dropped the request")
	}

	// Options that insist on user verification get the PIN error.
	_, err = FIDOToucher().Touch(context.Background(), json.RawMessage(`{"publicKey":{"challenge":"AQID","rpId":"localhost","userVerification":"required"}}`), srv.URL)
	if !errors.Is(err, errNeedsPIN) {
		t.Errorf("required user verification: %v, want the PIN error", err)
	}
}

// TestStepUpWithKey: the server asks this desktop to confirm it is the
// account's person before it invites a member's desktop; a touch of the
// owner's security key (libfido2 to the software key) confirms for five
// minutes, and locking the window (ForgetStepUps) forgets it. A wrong
// password is told apart from other errors.
func TestStepUpWithKey(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	t.Setenv(fido.EnvDevices, sk.Path())
	key, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	approvertest.RegisterKey(t, srv.URL, srv.APIToken(ada, api.ScopeRead, api.ScopeWrite), approvertest.Password, key, "")
	c := newCompanion(t, srv, func(o *Options) { o.Keys = FIDOToucher() })
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	ctx := context.Background()

	var sam api.Member
	if err := c.Call(ctx, a.ID, "POST", "/api/v1/household/members", api.MemberName{Name: "Sam"}, &sam); err != nil {
		t.Fatal(err)
	}
	invite := func() error {
		return c.Call(ctx, a.ID, "POST", "/api/v1/household/members/"+sam.ID+"/invitations", nil, &api.Invitation{})
	}
	if err := invite(); !NeedsStepUp(err) {
		t.Fatalf("an invitation without confirming: %v, want step_up_required", err)
	}
	if err := c.StepUp(ctx, a.ID, "wrong horse"); !WrongPassword(err) {
		t.Errorf("a wrong password: %v", err)
	}
	if err := c.StepUpWithKey(ctx, a.ID); err != nil {
		t.Fatalf("confirming with the key: %v", err)
	}
	if err := invite(); err != nil {
		t.Fatalf("an invitation after the touch: %v", err)
	}
	c.ForgetStepUps()
	if err := invite(); !NeedsStepUp(err) {
		t.Errorf("an invitation after forgetting: %v, want step_up_required", err)
	}
	if err := c.StepUp(ctx, a.ID, approvertest.Password); err != nil {
		t.Fatalf("confirming with the password: %v", err)
	}
	if err := invite(); err != nil {
		t.Errorf("an invitation after the password: %v", err)
	}
}
