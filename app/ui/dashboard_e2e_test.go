package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// TestDashboardEndToEnd runs the Account screen on a real countersign-server
// in-process, through a real approver.Manager paired with it and the typed
// client: the Devices and Household tabs show the server's data, a card
// dragged on the board moves the device on the server, and when the server
// goes away the tabs keep what they showed and say so.
func TestDashboardEndToEnd(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada Lovelace")
	// The desktop reaches the server through a relay the test can cut.
	relay := newRelay(t, strings.TrimPrefix(srv.URL, "http://localhost"))
	pair := func(name string) (*approver.Manager, approver.Account) {
		m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{},
			Now: srv.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		code, _ := srv.PairingCode(u)
		a, err := m.Pair(context.Background(), relay.url, code, name)
		if err != nil {
			t.Fatalf("pairing %s: %v", name, err)
		}
		return m, a
	}
	m, acc := pair("Ada's desktop")
	_, _ = pair("Kitchen laptop")
	ctx := context.Background()
	c := client.New(client.ForAccount(m, acc.ID))
	sam, err := c.AddMember(ctx, "Sam")
	if err != nil {
		t.Fatalf("adding Sam: %v", err)
	}

	var h dashHarness
	h.start(t, m, func(id string) Dashboard { return client.New(client.ForAccount(m, id)) }, srv.Clock.Now())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	h.tab(t, "Devices")
	h.assertShows(t, "Ada's desktop (this desktop)", "Kitchen laptop", "Updated ")
	h.capture(t, "e2e-devices")

	h.tab(t, "Household")
	h.assertShows(t, "Ada Lovelace", "Owner · You · 2 devices", "Sam", "0 devices")
	if got := h.columnOf(t, "Kitchen laptop"); got != "Ada Lovelace" {
		t.Fatalf("Kitchen laptop is in %q's column", got)
	}
	h.dragTo(t, "Kitchen laptop", "Sam")
	// Moving a device needs the account's password (step-up): a wrong one
	// is said in the dialog, which stays; the right one moves it.
	h.assertShows(t, "Confirm it's you", "the password of ada@example.com")
	su := h.d.stepUpOpen
	test.Type(su.password, "not the password")
	h.tap(t, "Confirm")
	h.assertShows(t, "That is not the account's password.")
	test.Type(su.password, approvertest.Password)
	su.password.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter confirms
	h.settle(t)
	devs, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "Kitchen laptop" && d.MemberID != sam.ID {
			t.Errorf("on the server Kitchen laptop belongs to %q, want Sam (%s)", d.MemberID, sam.ID)
		}
	}
	if got := h.columnOf(t, "Kitchen laptop"); got != "Sam" {
		t.Errorf("after the drop Kitchen laptop is in %q's column", got)
	}
	h.capture(t, "e2e-household")

	relay.cut()
	h.tap(t, "Refresh")
	want := "Can't reach " + strings.TrimPrefix(relay.url, "http://") + ": showing what was loaded at"
	if got := h.d.tabOf(h.d.household).banner.text(); !strings.HasPrefix(got, want) {
		t.Errorf("banner %q, want it to start %q", got, want)
	}
	if got := h.columnOf(t, "Kitchen laptop"); got != "Sam" {
		t.Errorf("offline, the board lost what it showed: Kitchen laptop is in %q's column", got)
	}
	h.capture(t, "e2e-offline")
}

// The account of the tests below: a real password and an authenticator
// app, so that browsers sign in through the real pages.
const (
	livePassword = "correct horse battery staple"
	liveEmail    = "ada@example.com"
)

var liveSecret = []byte("12345678901234567890")

// liveDashboard is the Account screen of a desktop paired with a real
// server: the account (Ada's, the owner's), a typed client of the owner
// through an API token, to change things the way another client would,
// and, once open, the window.
type liveDashboard struct {
	srv   *approvertest.Server
	user  *store.User
	owner *client.Client
	m     *approver.Manager
	acc   approver.Account
	h     dashHarness
}

// startLive starts the server and makes the account, with 2-step
// verification by an authenticator app.
func startLive(t *testing.T) *liveDashboard {
	t.Helper()
	l := &liveDashboard{srv: approvertest.Start(t)}
	l.user = liveUser(t, l.srv, liveEmail, livePassword)
	err := l.srv.Store.AddMethod(context.Background(), &store.Method{ID: "totp-1", UserID: l.user.ID, Kind: store.MethodTOTP,
		Label: "Authenticator app", Secret: liveSecret, Confirmed: true, CreatedAt: l.srv.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	l.owner = client.New(tokenCaller{base: l.srv.URL, token: l.srv.APIToken(l.user, api.ScopeRead, api.ScopeWrite)})
	return l
}

// open pairs a desktop called name with code ("" for an owner's pairing
// code) and opens the window on the Account screen.
func (l *liveDashboard) open(t *testing.T, code, name string) {
	t.Helper()
	if code == "" {
		code, _ = l.srv.PairingCode(l.user)
	}
	m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{},
		Now: l.srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if l.acc, err = m.Pair(context.Background(), l.srv.URL, code, name); err != nil {
		t.Fatalf("pairing %s: %v", name, err)
	}
	l.m = m
	l.h.start(t, m, func(id string) Dashboard { return client.New(client.ForAccount(m, id)) }, l.srv.Clock.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// signIn signs a browser in with the password and an authenticator code,
// then moves the server's clock to the next code's step (each step's code
// is taken once).
func (l *liveDashboard) signIn(t *testing.T, userAgent string) *webtest.Client {
	t.Helper()
	code, err := otp.Code(otp.Key{Type: otp.TOTP, Name: liveEmail, Secret: liveSecret}, l.srv.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t, l.srv.URL)
	b.UserAgent = userAgent
	b.SignInWithCode(liveEmail, livePassword, code, false)
	l.srv.Clock.Advance(30 * time.Second)
	return b
}

// until runs what the screen hands to the UI goroutine until ok holds,
// for at most 10 s.
func (l *liveDashboard) until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !ok() {
		select {
		case f := <-l.h.queue:
			f()
		case <-deadline:
			t.Fatalf("%s did not happen within 10 s; the window shows:\n%s", what, l.h.shown())
		}
	}
	l.h.settle(t)
}

// tokenCaller calls API v1 with an API token, as a script would.
type tokenCaller struct{ base, token string }

func (c tokenCaller) Call(ctx context.Context, method, path string, in, out any) error {
	// What needs it is confirmed with the account's password first.
	var su api.StepUp
	if method != http.MethodGet && path != "/api/v1/step-up" {
		if err := c.Call(ctx, http.MethodPost, "/api/v1/step-up", api.StepUpRequest{Password: approvertest.Password}, &su); err != nil {
			return err
		}
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if su.Token != "" {
		req.Header.Set(api.StepUpHeader, su.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// TestDashboardEndToEndOverview: the overview sums up what the server
// holds: 2-step on, its method in words, as many devices and apps as the
// store has, and a warning for each device unseen for 90 days and each app
// unused for 6 months.
func TestDashboardEndToEndOverview(t *testing.T) {
	l := startLive(t)
	// Browsers last seen now, 6, 12 and 18 months ago; apps last used
	// now, now and 8 months ago.
	l.srv.Fill(l.user, approvertest.Fill{Browsers: 4, Apps: 3})
	l.open(t, "", "Ada's desktop")
	l.h.tab(t, "Overview")

	ctx := context.Background()
	now := l.srv.Clock.Now()
	devs, err := l.srv.Store.Devices(ctx, l.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	approvers, err := l.srv.Store.Approvers(ctx, l.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := l.srv.Store.OAuthGrants(ctx, l.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	o := l.h.d.overview
	for _, c := range []struct{ what, got, want string }{
		{"name", o.name.Text, "Ada Lovelace — " + liveEmail},
		{"2-step verification", o.twoStep.Text, "On"},
		{"ways in", o.methods.Text, "Authenticator app"},
		{"backup", o.backup.Text, "None"},
		{"trusted devices", o.devices.Text, strconv.Itoa(len(devs) + len(approvers))},
		{"authorized apps", o.apps.Text, strconv.Itoa(len(grants))},
	} {
		if c.got != c.want {
			t.Errorf("%s: the overview shows %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(devs)+len(approvers) != 5 || len(grants) != 3 {
		t.Errorf("the server holds %d browsers, %d desktops and %d apps, want 4, 1 and 3", len(devs), len(approvers), len(grants))
	}

	// What to look at: no backup, then each stale device and app.
	want := []string{"You have no backup"}
	for _, d := range devs {
		if now.Sub(d.LastSeenAt) >= 90*24*time.Hour {
			want = append(want, fmt.Sprintf("%q has not been seen since %s", d.Name, client.Date(d.LastSeenAt, now)))
		}
	}
	for _, g := range grants {
		if !g.LastUsedAt.After(now.AddDate(0, -6, 0)) {
			c, err := l.srv.Store.OAuthClient(ctx, g.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, c.Name+" has not been used since "+client.Date(g.LastUsedAt, now))
		}
	}
	if len(want) != 5 {
		t.Fatalf("the server has %d things to look at, want 5 (no backup, 3 browsers, 1 app): %q", len(want), want)
	}
	var got []string
	for _, w := range o.warnings.Objects {
		got = append(got, strings.TrimSpace(shownTextOf(w)))
	}
	if len(got) != len(want) {
		t.Errorf("the overview lists %d things to look at, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("no warning starts %q; the overview lists:\n%s", w, strings.Join(got, "\n"))
		}
	}
	l.h.capture(t, "e2e-overview")
}

// TestDashboardEndToEndApps: the apps a browser allowed on the consent
// page are listed with what they may do in words; removing one's access
// revokes its grant on the server.
func TestDashboardEndToEndApps(t *testing.T) {
	l := startLive(t)
	b := l.signIn(t, webtest.FirefoxWindows)
	prints := b.AllowApp("Photo Prints", "openid email profile")
	recipes := b.AllowApp("Recipe Box", "openid email")
	l.open(t, "", "Ada's desktop")
	l.h.tab(t, "Apps")

	l.h.assertShows(t, "Photo Prints", "Recipe Box", "• Sign you in\n• See your email address\n• See your name",
		"• Sign you in\n• See your email address\n")
	if n := len(l.h.d.apps.apps); n != 2 {
		t.Errorf("the Apps tab lists %d apps, want 2", n)
	}

	// Remove the first app listed: the other, of another height, takes
	// its row.
	first, other := l.h.d.apps.apps[0], l.h.d.apps.apps[1]
	l.h.tapRow(t, first.Name, "Remove access…")
	l.h.assertShows(t, "Remove "+first.Name+"'s access?")
	l.h.tap(t, "Remove access")
	grants, err := l.srv.Store.OAuthGrants(context.Background(), l.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ClientID != other.ClientID || !slices.Contains([]string{prints, recipes}, other.ClientID) {
		t.Errorf("on the server the grants are %+v, want %s's (%s) alone", grants, other.Name, other.ClientID)
	}
	if got := l.h.main.toast.visibleText(); got != "Removed "+first.Name+"'s access" {
		t.Errorf("toast %q", got)
	}
	if n := len(l.h.d.apps.apps); n != 1 || strings.Contains(l.h.shown(), first.Name) || !strings.Contains(l.h.shown(), other.Name) {
		t.Errorf("after removing %s the tab lists %d apps and shows:\n%s", first.Name, n, l.h.shown())
	}
	l.h.capture(t, "e2e-apps")
}

// TestDashboardEndToEndSessions: browsers signed in on the web are listed;
// signing one out ends its session on the server, and Sign out all others
// ends the rest.
func TestDashboardEndToEndSessions(t *testing.T) {
	l := startLive(t)
	firefox := l.signIn(t, webtest.FirefoxWindows)
	iphone := l.signIn(t, webtest.SafariIPhone)
	l.open(t, "", "Ada's desktop")
	l.h.tab(t, "Sessions")

	ctx := context.Background()
	sessions := func() []store.Session {
		t.Helper()
		ss, err := l.srv.Store.Sessions(ctx, l.user.ID, l.srv.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	signedIn := func(b *webtest.Client) bool {
		res, _ := b.Do(ctx, http.MethodGet, "/account/security", nil)
		return res.StatusCode == http.StatusOK
	}
	if n := len(sessions()); n != 2 {
		t.Fatalf("the server holds %d sessions, want 2", n)
	}
	l.h.assertShows(t, "Firefox 133 on Windows 10", "Safari 18 on iOS 18.1")
	if n := len(l.h.d.sessions.sessions); n != 2 {
		t.Errorf("the Sessions tab lists %d sessions, want 2", n)
	}

	l.h.tapRow(t, "Firefox 133 on Windows 10", "Sign out…")
	l.h.assertShows(t, "Sign out Firefox 133 on Windows 10?")
	l.h.tap(t, "Sign out")
	if n := len(sessions()); n != 1 {
		t.Errorf("after signing Firefox out the server holds %d sessions, want 1", n)
	}
	if signedIn(firefox) || !signedIn(iphone) {
		t.Errorf("after signing Firefox out: Firefox signed in %v, the iPhone %v; want false, true", signedIn(firefox), signedIn(iphone))
	}
	if n := len(l.h.d.sessions.sessions); n != 1 || strings.Contains(l.h.shown(), "Firefox 133 on Windows 10") {
		t.Errorf("after signing Firefox out the tab lists %d sessions and shows:\n%s", n, l.h.shown())
	}

	l.h.tap(t, "Sign out all others…")
	l.h.tap(t, "Sign out all")
	if n := len(sessions()); n != 0 {
		t.Errorf("after Sign out all the server holds %d sessions", n)
	}
	if signedIn(iphone) {
		t.Error("after Sign out all the iPhone is still signed in")
	}
	if got := l.h.main.toast.visibleText(); got != "Signed out 1 session" {
		t.Errorf("toast %q", got)
	}
	l.h.assertShows(t, "Nobody is signed in on the web.")
	l.h.capture(t, "e2e-sessions")
}

// TestDashboardEndToEndActivity: the timeline is the server's activity,
// newest first, a page at a time; the Sign-ins filter shows the server's
// sign-ins alone; a real failed sign-in stands out.
func TestDashboardEndToEndActivity(t *testing.T) {
	l := startLive(t)
	l.srv.Fill(l.user, approvertest.Fill{Events: 130})
	l.srv.Clock.Advance(time.Minute)
	l.open(t, "", "Ada's desktop")
	// A wrong password on the sign-in page, the newest event.
	res := webtest.New(t, l.srv.URL).Post("/signin", "/signin", url.Values{"login": {liveEmail}, "password": {"not the password"}})
	if res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/signin/verify") {
		t.Fatal("a wrong password was taken")
	}
	l.h.tab(t, "Activity")

	ctx := context.Background()
	page := func(category string, n int) []store.Activity {
		t.Helper()
		as, err := l.srv.Store.ActivityCategoryPage(ctx, l.user.ID, category, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	shown := func() []int64 {
		ids := make([]int64, len(l.h.d.activity.events))
		for i, e := range l.h.d.activity.events {
			ids[i] = e.ID
		}
		return ids
	}
	ids := func(as []store.Activity) []int64 {
		out := make([]int64, len(as))
		for i, a := range as {
			out[i] = a.ID
		}
		return out
	}
	if got, want := shown(), ids(page("", activityPageSize)); !slices.Equal(got, want) {
		t.Errorf("the timeline shows events %v, the server's newest are %v", got, want)
	}
	for i, e := range l.h.d.activity.events[1:] {
		if e.At.After(l.h.d.activity.events[i].At) {
			t.Errorf("event %d (%s) is newer than the one above it (%s)", e.ID, e.At, l.h.d.activity.events[i].At)
		}
	}
	if first := l.h.d.activity.events[0]; first.Kind != store.ActSignInFailed || first.OK {
		t.Errorf("the newest event shown is %+v, want the failed sign-in", first)
	}
	// It stands out: the error icon, the title in the error colour.
	var failed *eventRow
	for _, o := range laidOut(l.h.d.activity.list) {
		if r, ok := o.(*eventRow); ok && r.title.Text == "Sign-in failed" {
			failed = r
			break
		}
	}
	if failed == nil {
		t.Fatalf("no row shows the failed sign-in; the window shows:\n%s", l.h.shown())
	}
	if failed.title.Importance != widget.DangerImportance ||
		failed.icon.Resource.Name() != theme.NewErrorThemedResource(theme.ErrorIcon()).Name() {
		t.Errorf("the failed sign-in shows in importance %v with icon %s, want danger and the error icon",
			failed.title.Importance, failed.icon.Resource.Name())
	}

	l.h.tap(t, "Load older")
	if got, want := shown(), ids(page("", 2*activityPageSize)); !slices.Equal(got, want) {
		t.Errorf("after Load older the timeline shows %d events %v, want the server's newest %d %v", len(got), got, len(want), want)
	}

	l.h.d.activity.filter.SetSelected("Sign-ins")
	l.h.settle(t)
	signins := page(api.ActivitySignIns, activityPageSize)
	if got, want := shown(), ids(signins); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("Sign-ins shows events %v, the server's sign-ins are %v", got, want)
	}
	for _, e := range l.h.d.activity.events {
		if c := store.ActivityCategory(e.Kind); c != api.ActivitySignIns || e.Category != c {
			t.Errorf("Sign-ins shows %s (%s; the server files it under %s)", e.Kind, e.Category, c)
		}
	}
	l.h.capture(t, "e2e-activity")
}

// TestDashboardEndToEndMemberForbidden: a desktop paired as a household
// member cannot rename or remove the owner's browser; the dialog says so
// in the server's words and the server's device is unchanged.
func TestDashboardEndToEndMemberForbidden(t *testing.T) {
	l := startLive(t)
	l.srv.Fill(l.user, approvertest.Fill{Browsers: 1}) // the owner's
	ctx := context.Background()
	sam, err := l.owner.AddMember(ctx, "Sam")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := l.owner.Invite(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	l.open(t, inv.Code, "Sam's desktop")
	devs, err := l.srv.Store.Devices(ctx, l.user.ID)
	if err != nil || len(devs) != 1 {
		t.Fatalf("the server holds %d browsers (%v), want 1", len(devs), err)
	}
	before := devs[0]
	l.h.tab(t, "Devices")
	l.h.assertShows(t, before.Name, "Sam's desktop (this desktop)")

	want := "This device belongs to Ada Lovelace, the account's owner: only Ada Lovelace can change it."
	l.h.tapRow(t, before.Name, "Rename…")
	entryIn(t, l.h.win.Canvas()).SetText("Sam's now")
	l.h.tap(t, "Rename")
	l.h.assertShows(t, "The device could not be renamed. "+want)
	l.h.tap(t, "OK")

	l.h.tapRow(t, before.Name, "Remove…")
	l.h.tap(t, "Remove")
	l.h.assertShows(t, "The device could not be removed. "+want)
	l.h.tap(t, "OK")
	if got := l.h.main.toast.visibleText(); got != "" {
		t.Errorf("a toast says %q", got)
	}

	after, err := l.srv.Store.Device(ctx, l.user.ID, before.ID)
	if err != nil {
		t.Fatalf("the owner's browser is gone from the server: %v", err)
	}
	if after.Name != before.Name || after.MemberID != before.MemberID {
		t.Errorf("on the server the owner's browser is now %q of %q, want %q of %q", after.Name, after.MemberID, before.Name, before.MemberID)
	}
	l.h.assertShows(t, before.Name)
	l.h.capture(t, "e2e-forbidden")
}

// TestDashboardEndToEndLiveUpdate: a device renamed through the API
// elsewhere shows under its new name on the Devices tab on display, from
// the server's change event alone.
func TestDashboardEndToEndLiveUpdate(t *testing.T) {
	l := startLive(t)
	l.srv.Fill(l.user, approvertest.Fill{Browsers: 2})
	l.open(t, "", "Ada's desktop")
	l.h.tab(t, "Devices")
	devs, err := l.owner.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(devs, func(d api.Device) bool { return d.Type == api.DeviceBrowser })
	if i < 0 {
		t.Fatalf("the server lists no browser: %+v", devs)
	}
	l.h.assertShows(t, devs[i].Name)
	if strings.Contains(l.h.shown(), "Kitchen computer") {
		t.Fatal("the new name shows before the rename")
	}

	if _, err := l.owner.UpdateDevice(context.Background(), devs[i].ID, api.DeviceUpdate{Name: "Kitchen computer"}); err != nil {
		t.Fatal(err)
	}
	l.until(t, "the renamed device showing", func() bool { return strings.Contains(l.h.shown(), "Kitchen computer\n") })
	if strings.Contains(l.h.shown(), devs[i].Name+"\n") {
		t.Errorf("the old name %q still shows", devs[i].Name)
	}
	l.h.capture(t, "e2e-live")
}

// relay forwards TCP connections to a server until cut, when it closes
// them all and refuses new ones, as a server gone away would.
type relay struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRelay(t *testing.T, port string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{url: "http://" + ln.Addr().String(), ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", "127.0.0.1"+port, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, in, out)
			r.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(r.cut)
	return r
}

func (r *relay) cut() {
	if err := r.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
