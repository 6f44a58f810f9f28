package client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// pair pairs a fresh companion by uri and returns the client of its account.
func pair(t *testing.T, srv *approvertest.Server, uri, name string) (*client.Client, approver.Account) {
	c, a, _ := pairWith(t, srv, uri, name)
	return c, a
}

// pairWith is pair that also returns the desktop's Manager.
func pairWith(t *testing.T, srv *approvertest.Server, uri, name string) (*client.Client, approver.Account, *approver.Manager) {
	t.Helper()
	m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.Pair(context.Background(), uri, "", name)
	if err != nil {
		t.Fatal(err)
	}
	return client.New(client.ForAccount(m, a.ID)), a, m
}

// TestAgainstServer round-trips every method through a paired desktop's
// device token on a real countersign-server.
func TestAgainstServer(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	ctx := context.Background()
	now := srv.Clock.Now()
	if err := srv.Store.AddMethod(ctx, &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "Phone",
		Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	browser := &store.Device{ID: "browser-1", UserID: ada.ID, Name: "Firefox on Linux", Kind: "desktop", Browser: "Firefox 133", OS: "Linux",
		IP: "203.0.113.9", TokenHash: []byte("hash-of-a-trust-cookie-0123456789"), CreatedAt: now.AddDate(0, -5, 0),
		LastSeenAt: now.AddDate(0, -4, 0), TrustedUntil: now.Add(30 * 24 * time.Hour)}
	if err := srv.Store.AddDevice(ctx, browser); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		if err := srv.Store.CreateSession(ctx, &store.Session{ID: id, UserID: ada.ID, DeviceID: browser.ID, Stage: store.StageFull,
			IP: "203.0.113.9", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	_, uri := srv.PairingCode(ada)
	c, desk, m := pairWith(t, srv, uri, "Ada's desk")

	acc, err := c.Account(ctx)
	if err != nil || acc.Email != "ada@example.com" || len(acc.Methods) != 1 || acc.Methods[0].Kind != "totp" {
		t.Fatalf("Account = %+v, %v", acc, err)
	}
	devs, err := c.Devices(ctx)
	if err != nil || len(devs) != 2 {
		t.Fatalf("Devices = %+v, %v; want the desktop and the browser", devs, err)
	}
	i := slices.IndexFunc(devs, func(d api.Device) bool { return d.ID == desk.ID })
	if i < 0 || !devs[i].Current || devs[i].Type != api.DeviceApprover || devs[i].Kind != "desktop" {
		t.Errorf("this desktop in Devices: %+v", devs)
	}
	apps, err := c.Apps(ctx)
	if err != nil || len(apps) != 0 {
		t.Errorf("Apps = %+v, %v; want none", apps, err)
	}
	sum := client.Overview(acc, devs, apps, srv.Clock.Now())
	if !sum.TwoStep || !slices.Equal(sum.Methods, []string{"Authenticator app"}) || sum.Backup || sum.TrustedDevices != 2 || len(sum.Warnings) != 2 ||
		!strings.HasPrefix(sum.Warnings[0].Text, "You have no backup") || !strings.HasPrefix(sum.Warnings[1].Text, `"Firefox on Linux" has not been seen since`) {
		t.Errorf("Overview = %+v", sum)
	}

	// Sessions.
	sessions, err := c.Sessions(ctx)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("Sessions = %+v, %v", sessions, err)
	}
	if err := c.EndSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if n, err := c.EndAllSessions(ctx); err != nil || n != 1 {
		t.Errorf("EndAllSessions = %d, %v; want the 1 left", n, err)
	}
	if n, err := c.SignOutDevice(ctx, browser.ID); err != nil || n != 0 {
		t.Errorf("SignOutDevice = %d, %v; want 0 left to end", n, err)
	}

	// The household.
	h, err := c.Household(ctx)
	if err != nil || len(h.Members) != 1 || h.Members[0].Role != api.RoleOwner || h.You != h.Members[0].ID {
		t.Fatalf("Household = %+v, %v", h, err)
	}
	owner := h.Members[0]
	sam, err := c.AddMember(ctx, "Sam")
	if err != nil || sam.Name != "Sam" || sam.Role != api.RoleMember {
		t.Fatalf("AddMember = %+v, %v", sam, err)
	}
	var ae *approver.APIError
	if _, err := c.AddMember(ctx, "sam"); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Errorf("adding Sam twice: %v, want 409", err)
	}
	// Sharing and inviting need a fresh confirmation with the password.
	if _, err := c.ShareAuthenticator(ctx, sam.ID); !approver.NeedsStepUp(err) {
		t.Errorf("sharing without confirming: %v, want step_up_required", err)
	}
	if err := m.StepUp(ctx, desk.ID, approvertest.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ShareAuthenticator(ctx, sam.ID); !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "Invite Sam's desktop first") {
		t.Errorf("sharing with Sam before he has a desktop: %v", err)
	}
	inv, err := c.Invite(ctx, sam.ID)
	if err != nil || inv.MemberID != sam.ID || len(inv.Code) != 9 || !strings.HasPrefix(inv.URI, "countersign://pair?") {
		t.Fatalf("Invite = %+v, %v", inv, err)
	}
	samClient, samDesk := pair(t, srv, inv.URI, "Sam's laptop")
	if h, err := samClient.Household(ctx); err != nil || h.You != sam.ID {
		t.Errorf("Sam's Household = %+v, %v; want him as the caller", h, err)
	}
	if _, err := samClient.AddMember(ctx, "Kim"); !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != api.CodeForbidden {
		t.Errorf("Sam adding a member: %v, want 403 forbidden", err)
	}
	if n, err := c.ShareAuthenticator(ctx, sam.ID); err != nil || n != 1 {
		t.Errorf("ShareAuthenticator = %d, %v; want 1 desktop", n, err)
	}
	if err := c.StopSharing(ctx, sam.ID); err != nil {
		t.Fatal(err)
	}
	renamed, err := samClient.RenameMember(ctx, sam.ID, "Samuel")
	if err != nil || renamed.Name != "Samuel" {
		t.Errorf("Sam renaming himself = %+v, %v", renamed, err)
	}

	// Devices: renamed, moved, removed.
	d, err := samClient.UpdateDevice(ctx, samDesk.ID, api.DeviceUpdate{Name: "Samuel's laptop"})
	if err != nil || d.Name != "Samuel's laptop" || d.MemberID != sam.ID {
		t.Errorf("UpdateDevice name = %+v, %v", d, err)
	}
	d, err = c.UpdateDevice(ctx, samDesk.ID, api.DeviceUpdate{MemberID: owner.ID})
	if err != nil || d.MemberID != owner.ID {
		t.Errorf("UpdateDevice member = %+v, %v", d, err)
	}
	if err := c.RemoveDevice(ctx, browser.ID); err != nil {
		t.Fatal(err)
	}

	page, err := c.Activity(ctx, api.ActivityChanges, "", 2)
	if err != nil || len(page.Events) != 2 || page.Next == "" {
		t.Fatalf("Activity changes = %+v, %v; want a full page and more", page, err)
	}
	older, err := c.Activity(ctx, api.ActivityChanges, page.Next, 2)
	if err != nil || len(older.Events) == 0 || older.Events[0].ID >= page.Events[1].ID {
		t.Errorf("the next page = %+v, %v; want older events", older, err)
	}
	if _, err := c.Activity(ctx, "everything", "", 0); !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Errorf("an unknown category: %v, want 400", err)
	}
	if err := c.RevokeApp(ctx, "no-such-app"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("revoking an unknown app: %v, want 404", err)
	}

	if err := c.RemoveMember(ctx, sam.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveMember(ctx, owner.ID); !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Errorf("removing the owner: %v, want 409", err)
	}
}
