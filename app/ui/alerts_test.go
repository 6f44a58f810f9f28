package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// alertingApprovals is fakeApprovals that answers NotMe.
type alertingApprovals struct {
	*fakeApprovals
	mu    sync.Mutex
	calls []string // "account/alert"
	out   api.Disowned
	err   error
}

func (f *alertingApprovals) NotMe(_ context.Context, accountID, alertID string) (api.Disowned, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, accountID+"/"+alertID)
	return f.out, f.err
}

var firefoxAlert = api.SignInAlert{ID: "al1", Browser: "Firefox 133 on Windows 10", Place: "Paris, France", IP: "203.0.113.5",
	At: start, New: []string{"browser"}}

func TestSignInAlertBanner(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	svc := &alertingApprovals{fakeApprovals: h.svc, err: errors.New("the server does not answer")}
	h.s.svc = svc
	var opened []string
	h.s.alerts.openURL = func(u *url.URL) error { opened = append(opened, u.String()); return nil }

	ev := approver.Event{Kind: approver.EventAlert, Account: adaAccount, Alert: &firefoxAlert}
	test.AssertNotificationSent(t, fyne.NewNotification("New sign-in to ada@example.com",
		alertSummary(firefoxAlert)+". Wasn't you? Open Countersign's Approvals."), func() { h.send(t, ev) })
	for _, want := range []string{"New sign-in to ada@example.com", "Firefox 133 on Windows 10 in Paris, France (IP address 203.0.113.5)", "If this was you"} {
		if !strings.Contains(h.shown(), want) {
			t.Errorf("the Approvals screen lacks %q:\n%s", want, h.shown())
		}
	}
	// The same alert again (a stream that reconnected): one banner.
	h.send(t, ev)
	if n := len(h.s.alerts.box.Objects); n != 1 {
		t.Errorf("%d banners for one alert:\n%s", n, h.shown())
	}

	// The server fails: the banner says so and offers the button again.
	tapIn(t, h.win.Canvas(), "This wasn't me")
	h.s.busy.Wait()
	h.runOne(t)
	if !strings.Contains(h.shown(), "It was not signed out. The server does not answer.") {
		t.Errorf("no failure shown:\n%s", h.shown())
	}

	svc.mu.Lock()
	svc.err, svc.out = nil, api.Disowned{Sessions: 1, Apps: []string{"Photo Prints"}, PasswordURL: "https://accounts.example.com/account/password"}
	svc.mu.Unlock()
	tapIn(t, h.win.Canvas(), "This wasn't me")
	h.s.busy.Wait()
	h.runOne(t)
	if got := svc.calls; len(got) != 2 || got[1] != adaAccount.ID+"/al1" {
		t.Errorf("NotMe calls %v", got)
	}
	if want := "Firefox 133 on Windows 10 is signed out, and so are the apps it signed in to (Photo Prints). Whoever signed in may know your password: change it now."; !strings.Contains(h.shown(), want) {
		t.Errorf("the banner does not say %q:\n%s", want, h.shown())
	}
	tapIn(t, h.win.Canvas(), "Change password")
	if len(opened) != 1 || opened[0] != "https://accounts.example.com/account/password" {
		t.Errorf("opened %v, want the password page", opened)
	}
	tapIn(t, h.win.Canvas(), "Dismiss")
	if strings.Contains(h.shown(), "New sign-in to") {
		t.Errorf("the banner stayed after Dismiss:\n%s", h.shown())
	}
}

func TestSignInAlertItWasMe(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	svc := &alertingApprovals{fakeApprovals: h.svc}
	h.s.svc = svc
	h.send(t, approver.Event{Kind: approver.EventAlert, Account: adaAccount, Alert: &firefoxAlert})
	tapIn(t, h.win.Canvas(), "It was me")
	if strings.Contains(h.shown(), "New sign-in to") || len(svc.calls) != 0 {
		t.Errorf("after It was me: calls %v, screen:\n%s", svc.calls, h.shown())
	}
}
