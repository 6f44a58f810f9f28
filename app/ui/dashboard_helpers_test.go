package ui

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/testkit"
)

// call is one call of the fake Dashboard: its method and arguments.
type call struct {
	method string
	args   string
}

// fakeDashboard is a Dashboard over an in-memory household. Its methods
// run off the UI goroutine, hence the lock. err, when set for a method,
// is what it answers instead.
type fakeDashboard struct {
	mu       sync.Mutex
	account  api.Account
	members  []api.Member
	devices  []api.Device
	sessions []api.Session
	apps     []api.App
	events   []api.Event
	you      string

	pageAll bool // Activity answers every event in one page

	errs    map[string]error
	offline error // every method's answer while set
	calls   []call
}

// offlineErr is what approver.Manager answers when the server is down.
func offlineErr() error {
	return fmt.Errorf("cannot reach https://accounts.example.com: connection refused: %w", approver.ErrOffline)
}

// forbidden is a 403 answer of the server.
func forbidden(msg string) error {
	return &approver.APIError{Status: 403, Code: api.CodeForbidden, Message: msg}
}

func (f *fakeDashboard) record(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, strings.TrimSpace(fmt.Sprintln(args...))})
	if f.offline != nil {
		return f.offline
	}
	return f.errs[method]
}

// changes are the calls that change something, in order.
func (f *fakeDashboard) changes() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		switch c.method {
		case "Account", "Devices", "Sessions", "Apps", "Activity", "Household":
		default:
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeDashboard) setOffline(err error) { f.mu.Lock(); f.offline = err; f.mu.Unlock() }

func (f *fakeDashboard) setErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.errs == nil {
		f.errs = map[string]error{}
	}
	f.errs[method] = err
}

func (f *fakeDashboard) Account(context.Context) (api.Account, error) {
	if err := f.record("Account"); err != nil {
		return api.Account{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.account, nil
}

func (f *fakeDashboard) Devices(context.Context) ([]api.Device, error) {
	if err := f.record("Devices"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.devices), nil
}

func (f *fakeDashboard) device(id string) int {
	return slices.IndexFunc(f.devices, func(d api.Device) bool { return d.ID == id })
}

func (f *fakeDashboard) UpdateDevice(_ context.Context, id string, u api.DeviceUpdate) (api.Device, error) {
	if err := f.record("UpdateDevice", id, u.Name, u.MemberID); err != nil {
		return api.Device{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.device(id)
	if i < 0 {
		return api.Device{}, &approver.APIError{Status: 404, Code: api.CodeNotFound, Message: "No such device."}
	}
	if u.Name != "" {
		f.devices[i].Name = u.Name
	}
	if u.MemberID != "" {
		f.devices[i].MemberID = u.MemberID
	}
	return f.devices[i], nil
}

func (f *fakeDashboard) RemoveDevice(_ context.Context, id string) error {
	if err := f.record("RemoveDevice", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.devices = slices.DeleteFunc(f.devices, func(d api.Device) bool { return d.ID == id })
	return nil
}

func (f *fakeDashboard) SignOutDevice(_ context.Context, id string) (int, error) {
	if err := f.record("SignOutDevice", id); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.device(id)
	n := f.devices[i].Sessions
	f.devices[i].Sessions = 0
	return n, nil
}

func (f *fakeDashboard) Sessions(context.Context) ([]api.Session, error) {
	if err := f.record("Sessions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sessions), nil
}

func (f *fakeDashboard) EndSession(_ context.Context, id string) error {
	if err := f.record("EndSession", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = slices.DeleteFunc(f.sessions, func(s api.Session) bool { return s.ID == id })
	return nil
}

func (f *fakeDashboard) EndAllSessions(context.Context) (int, error) {
	if err := f.record("EndAllSessions"); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.sessions)
	f.sessions = nil
	return n, nil
}

func (f *fakeDashboard) Apps(context.Context) ([]api.App, error) {
	if err := f.record("Apps"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.apps), nil
}

func (f *fakeDashboard) RevokeApp(_ context.Context, clientID string) error {
	if err := f.record("RevokeApp", clientID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps = slices.DeleteFunc(f.apps, func(a api.App) bool { return a.ClientID == clientID })
	return nil
}

// Activity pages through the events, newest first; the cursor is the
// index of the next event.
func (f *fakeDashboard) Activity(_ context.Context, category, before string, limit int) (api.ActivityPage, error) {
	if err := f.record("Activity", category, before, limit); err != nil {
		return api.ActivityPage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []api.Event
	for _, e := range f.events {
		if category == "" || e.Category == category {
			all = append(all, e)
		}
	}
	start := 0
	if before != "" {
		fmt.Sscan(before, &start)
	}
	end := min(start+limit, len(all))
	if f.pageAll {
		end = len(all)
	}
	page := api.ActivityPage{Events: slices.Clone(all[start:end])}
	if end < len(all) {
		page.Next = fmt.Sprint(end)
	}
	return page, nil
}

func (f *fakeDashboard) Household(context.Context) (api.Household, error) {
	if err := f.record("Household"); err != nil {
		return api.Household{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return api.Household{Members: slices.Clone(f.members), Devices: slices.Clone(f.devices), You: f.you}, nil
}

func (f *fakeDashboard) member(id string) int {
	return slices.IndexFunc(f.members, func(m api.Member) bool { return m.ID == id })
}

func (f *fakeDashboard) AddMember(_ context.Context, name string) (api.Member, error) {
	if err := f.record("AddMember", name); err != nil {
		return api.Member{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m := api.Member{ID: "m-" + strings.ToLower(name), Name: name, Role: api.RoleMember, CreatedAt: start}
	f.members = append(f.members, m)
	return m, nil
}

func (f *fakeDashboard) RenameMember(_ context.Context, id, name string) (api.Member, error) {
	if err := f.record("RenameMember", id, name); err != nil {
		return api.Member{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.member(id)
	f.members[i].Name = name
	return f.members[i], nil
}

func (f *fakeDashboard) RemoveMember(_ context.Context, id string) error {
	if err := f.record("RemoveMember", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members = slices.DeleteFunc(f.members, func(m api.Member) bool { return m.ID == id })
	f.devices = slices.DeleteFunc(f.devices, func(d api.Device) bool { return d.MemberID == id })
	return nil
}

func (f *fakeDashboard) Invite(_ context.Context, memberID string) (api.Invitation, error) {
	if err := f.record("Invite", memberID); err != nil {
		return api.Invitation{}, err
	}
	return api.Invitation{MemberID: memberID, Code: "K7Q9-M2XD",
		URI:       api.PairURI("https://accounts.example.com", "K7Q9M2XD"),
		ExpiresAt: start.Add(10 * time.Minute)}, nil
}

func (f *fakeDashboard) ShareAuthenticator(_ context.Context, memberID string) (int, error) {
	if err := f.record("ShareAuthenticator", memberID); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[f.member(memberID)].SharesAuthenticator = true
	return 1, nil
}

func (f *fakeDashboard) StopSharing(_ context.Context, memberID string) error {
	if err := f.record("StopSharing", memberID); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members[f.member(memberID)].SharesAuthenticator = false
	return nil
}

// household is the fixture: Ada owns the account and this desktop; Sam
// and Alex are members.
func household() *fakeDashboard {
	ago := func(d time.Duration) time.Time { return start.Add(-d) }
	return &fakeDashboard{
		you: "m-ada",
		account: api.Account{ID: "u1", Email: "ada@example.com", Name: "Ada Lovelace", TwoStep: true,
			Methods:   []api.Method{{ID: "sms1", Kind: "sms", Label: "Phone", PhoneMasked: "•••• 42"}},
			CreatedAt: ago(400 * 24 * time.Hour)},
		members: []api.Member{
			{ID: "m-ada", Name: "Ada", Role: api.RoleOwner, CreatedAt: ago(400 * 24 * time.Hour)},
			{ID: "m-sam", Name: "Sam", Role: api.RoleMember, CreatedAt: ago(30 * 24 * time.Hour)},
			{ID: "m-alex", Name: "Alex", Role: api.RoleMember, CreatedAt: ago(20 * 24 * time.Hour), SharesAuthenticator: true},
		},
		devices: []api.Device{
			{ID: "ap-ada", Type: api.DeviceApprover, Name: "Ada's desktop", Kind: "desktop", MemberID: "m-ada",
				OS: "Linux", IP: "203.0.113.7", Place: "Paris, France", Current: true, LastSeenAt: ago(time.Minute)},
			{ID: "br-fx", Type: api.DeviceBrowser, Name: "Firefox on Linux", Kind: "browser", MemberID: "m-ada",
				Browser: "Firefox 128", OS: "Linux", IP: "203.0.113.7", Place: "Paris, France", Sessions: 2,
				LastSeenAt: ago(3 * time.Hour)},
			{ID: "sk-yubi", Type: api.DeviceSecurityKey, Name: "YubiKey 5", Kind: "security_key", MemberID: "m-ada",
				CreatedAt: ago(100 * 24 * time.Hour), LastSeenAt: ago(2 * 24 * time.Hour)},
			{ID: "ap-sam", Type: api.DeviceApprover, Name: "Sam's laptop", Kind: "laptop", MemberID: "m-sam",
				OS: "macOS", IP: "198.51.100.4", Place: "Lyon, France", LastSeenAt: ago(5 * time.Minute)},
			{ID: "br-sam", Type: api.DeviceBrowser, Name: "Sam's phone", Kind: "phone", MemberID: "m-sam",
				Browser: "Safari 18", OS: "iOS", IP: "198.51.100.4", Sessions: 1, LastSeenAt: ago(26 * time.Hour)},
			{ID: "br-tv", Type: api.DeviceBrowser, Name: "Living room TV", Kind: "tv", MemberID: "m-alex",
				Browser: "Chrome 131", OS: "Android", LastSeenAt: ago(120 * 24 * time.Hour)},
		},
		sessions: []api.Session{
			{ID: "s1", DeviceID: "br-fx", Browser: "Firefox 128", OS: "Linux", IP: "203.0.113.7",
				CreatedAt: ago(50 * time.Hour), LastSeenAt: ago(3 * time.Hour)},
			{ID: "s2", Browser: "Chrome 131", OS: "Windows 11", IP: "192.0.2.55",
				CreatedAt: ago(5 * time.Hour), LastSeenAt: ago(10 * time.Minute)},
		},
		apps: []api.App{
			{ClientID: "photobook", Name: "Photo Book", LogoURL: "https://photobook.example/logo.png",
				Scopes: []string{"openid", "email", "profile"}, GrantedAt: ago(40 * 24 * time.Hour), LastUsedAt: ago(2 * time.Hour)},
			{ClientID: "forum", Name: "Old Forum", Scopes: []string{"openid"}, GrantedAt: ago(400 * 24 * time.Hour),
				LastUsedAt: ago(250 * 24 * time.Hour)},
		},
		events: activityFixture(120),
	}
}

// activityFixture is n events, newest first, a minute apart: sign-ins,
// approvals and changes in turn, every seventh a failure.
func activityFixture(n int) []api.Event {
	kinds := []struct{ kind, category, detail string }{
		{"signin.success", api.ActivitySignIns, "Password and 2-step verification"},
		{"approval.approved", api.ActivityApprovals, "Answered on Sam's laptop (Sam)"},
		{"device.moved", api.ActivityChanges, "Sam's laptop moved from Ada to Sam"},
	}
	events := make([]api.Event, n)
	for i := range events {
		k := kinds[i%len(kinds)]
		e := api.Event{ID: int64(n - i), At: start.Add(-time.Duration(i) * time.Minute), Kind: k.kind,
			Category: k.category, OK: true, IP: "203.0.113.7", Browser: "Firefox 128", OS: "Linux",
			Member: "Sam", Detail: k.detail}
		if i%7 == 3 {
			e.Kind, e.Category, e.OK, e.Detail = "signin.failure", api.ActivitySignIns, false, "Wrong password"
		}
		events[i] = e
	}
	return events
}

// dashHarness is the window on the Account screen, over a fake Dashboard
// for each paired account. What the screen hands to the UI goroutine
// waits in queue until settle runs it.
type dashHarness struct {
	app    fyne.App
	win    fyne.Window
	main   *Main
	d      *dashboard
	svc    *fakeApprovals
	dashes map[string]*fakeDashboard
	clock  *testkit.Clock
	queue  chan func()
	logos  map[string][]byte
}

func newDashHarness(t testing.TB, dash *fakeDashboard, accounts ...approver.Account) *dashHarness {
	t.Helper()
	if len(accounts) == 0 {
		accounts = []approver.Account{adaAccount}
	}
	h := &dashHarness{svc: newFakeApprovals(accounts...), dashes: map[string]*fakeDashboard{}}
	for _, a := range accounts {
		h.dashes[a.ID] = dash
	}
	dashboards := func(id string) Dashboard {
		if d := h.dashes[id]; d != nil {
			return d
		}
		return nil
	}
	if dash == nil {
		dashboards = nil
	}
	h.start(t, h.svc, dashboards, start)
	return h
}

// start opens the window on the Account screen.
func (h *dashHarness) start(t testing.TB, svc Approvals, dashboards func(string) Dashboard, now time.Time) {
	t.Helper()
	h.app = newTestApp(t)
	h.clock = testkit.NewClock(now)
	h.queue = make(chan func(), 1024)
	h.logos = map[string][]byte{}
	h.win = test.NewWindow(nil)
	t.Cleanup(func() {
		h.d.busy.Wait()
		h.main.approvals.busy.Wait()
		h.win.Close()
	})
	h.main = NewMain(h.app, h.win, Deps{Vault: &fakeStore{}, Now: h.clock.Now, After: h.clock.After,
		Approvals: svc, Session: Session{Tray: &fakeTray{}}, Dashboards: dashboards})
	// The Settings screen shows all four passphrase buttons side by side
	// until it is first shown, which makes the window 700 wide; hide the
	// ones that do not apply, as showing it does.
	h.main.settings.update()
	h.d = h.main.dashboard
	h.d.build()
	h.d.ui = func(f func()) { h.queue <- f }
	h.main.approvals.ui = h.d.ui
	h.d.apps.getLogo = func(_ context.Context, url string) ([]byte, error) {
		if b, ok := h.logos[url]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s: not found", url)
	}
	h.win.Resize(defaultWindowSize)
	h.main.nav.SelectIndex(slices.Index(h.main.screens, screen(h.d)))
	h.settle(t)
}

// settle runs what the screen hands to the UI goroutine until nothing is
// under way.
func (h *dashHarness) settle(t testing.TB) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		h.d.busy.Wait()
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatal("the screen did not settle within 15 s")
		default:
			return
		}
	}
}

// tab shows the tab titled title and lets it load.
func (h *dashHarness) tab(t testing.TB, title string) {
	t.Helper()
	for i, it := range h.d.tabs.Items {
		if it.Text == title {
			h.d.tabs.SelectIndex(i)
			h.settle(t)
			return
		}
	}
	t.Fatalf("no tab %q", title)
}

// send delivers an event of the paired accounts and lets the screen act
// on it.
func (h *dashHarness) send(t testing.TB, ev approver.Event) {
	t.Helper()
	h.svc.events <- ev
	select {
	case f := <-h.queue:
		f()
	case <-time.After(15 * time.Second):
		t.Fatal("the event did not reach the UI goroutine")
	}
	h.settle(t)
}

func (h *dashHarness) shown() string { return shownText(h.win.Canvas()) }

// tap taps the button labelled label and lets the screen settle.
func (h *dashHarness) tap(t testing.TB, label string) {
	t.Helper()
	tapVia(t.(*testing.T), h.win.Canvas(), label, laidOut)
	h.settle(t)
}

// tapRow taps the button labelled label in the list row that shows text.
func (h *dashHarness) tapRow(t *testing.T, text, label string) {
	t.Helper()
	for _, o := range laidOut(h.win.Canvas().Content()) {
		var content fyne.CanvasObject
		switch r := o.(type) {
		case *deviceRow:
			content = r.content
		case *appRow:
			content = r.content
		case *sessionRow:
			content = r.content
		default:
			continue
		}
		if !strings.Contains(shownTextOf(content), text) {
			continue
		}
		for _, c := range laidOut(content) {
			if b, ok := c.(*widget.Button); ok && b.Text == label && b.Visible() {
				test.Tap(b)
				h.settle(t)
				return
			}
		}
	}
	t.Fatalf("no row showing %q with a button %q; shown:\n%s", text, label, h.shown())
}

// shownTextOf is the labels' text under o.
func shownTextOf(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, c := range laidOut(o) {
		if l, ok := c.(*widget.Label); ok && l.Visible() {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

// assertShows fails unless the window shows every one of want.
func (h *dashHarness) assertShows(t *testing.T, want ...string) {
	t.Helper()
	got := h.shown()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("the window lacks %q; it shows:\n%s", w, got)
		}
	}
}

// capture renders the window to /tmp/h4-name.png, to look at, when
// COUNTERSIGN_SCREENSHOTS is set.
func (h *dashHarness) capture(t testing.TB, name string) {
	t.Helper()
	if os.Getenv("COUNTERSIGN_SCREENSHOTS") == "" {
		return
	}
	f, err := os.Create("/tmp/h4-" + name + ".png")
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	if err := png.Encode(f, h.win.Canvas().Capture()); err != nil {
		t.Log(err)
	}
}

type apiDevice = api.Device

// apiMember is a member of the household without devices.
func apiMember(name string) api.Member {
	return api.Member{ID: "m-" + strings.ToLower(name), Name: name, Role: api.RoleMember, CreatedAt: start}
}
