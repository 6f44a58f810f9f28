package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/client"
)

func TestDashboardTabsShowTheAccount(t *testing.T) {
	h := newDashHarness(t, household())
	for _, tc := range []struct {
		tab  string
		want []string
	}{
		{"Overview", []string{"Ada Lovelace — ada@example.com", "On", "Text message to •••• 42",
			"Your only second step is a text message.", "\"Living room TV\" has not been seen since"}},
		{"Devices", []string{"Ada's desktop (this desktop)", "Countersign on Linux · Ada", "Firefox 128 on Linux · Ada",
			"Seen 3 hours ago · 203.0.113.7 · Paris, France", "Sam's laptop", "Countersign on macOS · Sam"}},
		{"Apps", []string{"Photo Book", "• Sign you in", "• See your email address", "Old Forum"}},
		{"Sessions", []string{"Firefox 128 on Linux", "Chrome 131 on Windows 11", "192.0.2.55"}},
		{"Activity", []string{"Signed in", "Approved on a desktop", "Answered on Sam's laptop (Sam)", "Sign-in failed"}},
		{"Household", []string{"Ada", "Owner · You · 3 devices", "Sam", "Sam's laptop", "Shares the authenticator"}},
	} {
		t.Run(tc.tab, func(t *testing.T) {
			h.tab(t, tc.tab)
			h.capture(t, tc.tab)
			h.assertShows(t, append(tc.want, "Updated ")...)
		})
	}
}

func TestDashboardUnavailable(t *testing.T) {
	t.Run("no dashboards", func(t *testing.T) {
		h := newDashHarness(t, nil)
		h.assertShows(t, "The account dashboard is not available in this build of Countersign.")
		if h.d.tabs.Visible() {
			t.Error("the tabs show with no dashboard")
		}
	})
	t.Run("not paired", func(t *testing.T) {
		h := newDashHarness(t, household(), carolAccount) // removed on the server
		h.assertShows(t, "The account dashboard needs a paired account.")
		if h.d.tabs.Visible() {
			t.Error("the tabs show with no paired account")
		}
	})
}

func TestDashboardAccountPicker(t *testing.T) {
	ada, bob := household(), household()
	bob.account.Name, bob.account.Email = "Bob Lovelace", "bob@example.com"
	h := newDashHarness(t, ada, adaAccount, bobAccount)
	h.dashes[bobAccount.ID] = bob
	if !h.d.picker.Visible() {
		t.Fatal("no account picker with two paired accounts")
	}
	h.assertShows(t, "Ada Lovelace — ada@example.com")
	h.d.picker.SetSelected(pickerLabel(bobAccount))
	h.settle(t)
	h.assertShows(t, "Bob Lovelace — bob@example.com")
	if n := len(bob.calls); n == 0 {
		t.Error("choosing Bob's account read nothing from it")
	}
}

// TestDashboardPickerTwinAccounts: two pairings whose entries would read
// alike (the same account on the same server, paired before pairing twice
// was refused) once made the picker's update and choice call each other
// for good, freezing the window. Each entry now says which desktop it is
// and the picker goes by index.
func TestDashboardPickerTwinAccounts(t *testing.T) {
	first, second := household(), household()
	twin := adaAccount
	twin.ID, twin.DeviceName = "dev-ada-2", "Second desk"
	h := newDashHarness(t, first, adaAccount, twin)
	h.dashes[twin.ID] = second
	h.settle(t)
	opts := h.d.picker.Options
	if len(opts) != 2 || opts[0] == opts[1] || !strings.HasSuffix(opts[1], "(Second desk)") {
		t.Fatalf("picker entries %q, want two that differ, the second naming its desktop", opts)
	}
	h.d.picker.SetSelectedIndex(1)
	h.settle(t)
	if h.d.account.ID != twin.ID || h.d.picker.SelectedIndex() != 1 {
		t.Errorf("after picking the second: account %s, picker at %d", h.d.account.ID, h.d.picker.SelectedIndex())
	}
	if n := len(second.calls); n == 0 {
		t.Error("picking the second pairing read nothing from it")
	}
	h.d.picker.SetSelectedIndex(0)
	h.settle(t)
	if h.d.account.ID != adaAccount.ID {
		t.Errorf("after picking the first again: account %s", h.d.account.ID)
	}
}

// entryIn is the entry of the dialog on top.
func entryIn(t *testing.T, c fyne.Canvas) *dialogEntry {
	t.Helper()
	for _, o := range laidOut(c.Overlays().Top()) {
		if e, ok := o.(*dialogEntry); ok {
			return e
		}
	}
	t.Fatal("no entry in the dialog")
	return nil
}

func wantChanges(t *testing.T, f *fakeDashboard, want ...call) {
	t.Helper()
	if got := f.changes(); !slices.Equal(got, want) {
		t.Errorf("changes %q, want %q", got, want)
	}
}

func TestDeviceRenameAndUndo(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	h.tapRow(t, "Firefox on Linux", "Rename…")
	e := entryIn(t, h.win.Canvas())
	if e.Text != "Firefox on Linux" {
		t.Errorf("the name field holds %q", e.Text)
	}
	e.SetText("  Work laptop ")
	h.tap(t, "Rename")
	wantChanges(t, f, call{"UpdateDevice", "br-fx Work laptop"})
	if got := h.main.toast.visibleText(); got != "Renamed to Work laptop" {
		t.Errorf("toast %q", got)
	}
	h.assertShows(t, "Work laptop")

	if !h.main.toast.undo() {
		t.Fatal("the toast offers no Undo")
	}
	h.settle(t)
	wantChanges(t, f, call{"UpdateDevice", "br-fx Work laptop"}, call{"UpdateDevice", "br-fx Firefox on Linux"})
	h.assertShows(t, "Firefox on Linux")
}

func TestDeviceRemoveConfirmsFirst(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	h.tapRow(t, "Firefox on Linux", "Remove…")
	h.assertShows(t, "Remove Firefox on Linux?", "2 sessions on it end now")
	h.tap(t, "Cancel")
	wantChanges(t, f)

	h.tapRow(t, "Firefox on Linux", "Remove…")
	h.tap(t, "Remove")
	wantChanges(t, f, call{"RemoveDevice", "br-fx"})
	if got := h.main.toast.visibleText(); got != "Removed Firefox on Linux" {
		t.Errorf("toast %q", got)
	}
	if strings.Contains(h.shown(), "Firefox on Linux\n") {
		t.Error("the removed device is still listed")
	}
}

func TestDeviceSignOut(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	h.tapRow(t, "Sam's phone", "Sign out (1)…")
	h.assertShows(t, "Sign out 1 session on Sam's phone?")
	h.tap(t, "Sign out")
	wantChanges(t, f, call{"SignOutDevice", "br-sam"})
	if got := h.main.toast.visibleText(); got != "Signed out 1 session on Sam's phone" {
		t.Errorf("toast %q", got)
	}
}

func TestDeviceForbiddenSaysWhy(t *testing.T) {
	f := household()
	f.setErr("UpdateDevice", forbidden("This device belongs to Sam: only Sam or the account's owner can change it."))
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	h.tapRow(t, "Sam's laptop", "Rename…")
	entryIn(t, h.win.Canvas()).SetText("Mine now")
	h.tap(t, "Rename")
	h.assertShows(t, "The device could not be renamed. This device belongs to Sam: only Sam or the account's owner can change it.")
	if h.main.toast.visibleText() != "" {
		t.Error("a toast says it worked")
	}
}

func TestRevokeApp(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Apps")
	h.tapRow(t, "Old Forum", "Remove access…")
	h.assertShows(t, "Remove Old Forum's access?")
	h.tap(t, "Remove access")
	wantChanges(t, f, call{"RevokeApp", "forum"})
	if strings.Contains(h.shown(), "Old Forum") {
		t.Error("the app is still listed")
	}
}

func TestAppLogos(t *testing.T) {
	f := household()
	f.apps = append(f.apps, api.App{ClientID: "broken", Name: "Broken", LogoURL: "https://broken.example/logo.png",
		Scopes: []string{"openid"}, GrantedAt: start})
	var logo bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{0x15, 0x65, 0xC0, 0xff}), image.Point{}, draw.Src)
	if err := png.Encode(&logo, img); err != nil {
		t.Fatal(err)
	}
	h := newDashHarness(t, f)
	h.logos["https://photobook.example/logo.png"] = logo.Bytes()
	h.logos["https://broken.example/logo.png"] = []byte("<html>not an image</html>")
	h.tab(t, "Apps")
	got := map[string]fyne.Resource{}
	for _, o := range laidOut(h.d.apps.list) {
		if r, ok := o.(*appRow); ok {
			got[r.name.Text] = r.logo.Resource
		}
	}
	if got["Photo Book"] == nil || got["Photo Book"] == appIcon {
		t.Error("Photo Book shows no logo")
	}
	for _, name := range []string{"Old Forum", "Broken"} {
		if got[name] != appIcon {
			t.Errorf("%s shows %v, want the placeholder", name, got[name])
		}
	}
	h.capture(t, "apps-logos")
}

func TestSessionsSignOut(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Sessions")
	h.tapRow(t, "Chrome 131 on Windows 11", "Sign out…")
	h.assertShows(t, "Sign out Chrome 131 on Windows 11?")
	h.tap(t, "Sign out")
	wantChanges(t, f, call{"EndSession", "s2"})

	h.tap(t, "Sign out all others…")
	h.assertShows(t, "Sign out every browser signed in to the account?")
	h.tap(t, "Sign out all")
	wantChanges(t, f, call{"EndSession", "s2"}, call{"EndAllSessions", ""})
	if got := h.main.toast.visibleText(); got != "Signed out 1 session" {
		t.Errorf("toast %q", got)
	}
	h.assertShows(t, "Nobody is signed in on the web.")
}

func TestActivityFilterAndPaging(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Activity")
	if n := len(h.d.activity.events); n != activityPageSize {
		t.Fatalf("%d events shown, want a page of %d", n, activityPageSize)
	}
	h.tap(t, "Load older")
	if n := len(h.d.activity.events); n != 2*activityPageSize {
		t.Fatalf("%d events after Load older, want %d", n, 2*activityPageSize)
	}
	h.tap(t, "Load older")
	if n := len(h.d.activity.events); n != 120 || h.d.activity.older.Visible() {
		t.Fatalf("%d events at the end (Load older shown: %v), want 120 and no Load older", n, h.d.activity.older.Visible())
	}

	h.d.activity.filter.SetSelected("Sign-ins")
	h.settle(t)
	f.mu.Lock()
	last := f.calls[len(f.calls)-1]
	f.mu.Unlock()
	if last != (call{"Activity", "signins  50"}) {
		t.Errorf("the filter asked %q", last)
	}
	for _, e := range h.d.activity.events {
		if e.Category != api.ActivitySignIns {
			t.Fatalf("the Sign-ins filter shows %+v", e)
		}
	}
	// Failures stand out.
	var failed, ok int
	for _, o := range laidOut(h.d.activity.list) {
		if r, isRow := o.(*eventRow); isRow && r.title.Text != "" {
			switch {
			case r.title.Text == "Sign-in failed" && r.title.Importance == widget.DangerImportance:
				failed++
			case r.title.Text == "Signed in" && r.title.Importance == widget.MediumImportance:
				ok++
			}
		}
	}
	if failed == 0 || ok == 0 {
		t.Errorf("%d failed rows in the error colour, %d successes in the usual one", failed, ok)
	}
	h.capture(t, "activity-signins")
}

func TestOfflineKeepsWhatWasLoaded(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	f.setOffline(offlineErr())
	h.clock.Advance(10 * time.Minute)
	h.tap(t, "Refresh")
	want := "Can't reach accounts.example.com: showing what was loaded at " + start.Local().Format("15:04") + "."
	if got := h.d.tabOf(h.d.devices).banner.text(); got != want {
		t.Errorf("banner %q, want %q", got, want)
	}
	h.assertShows(t, "Sam's laptop", "Updated "+start.Local().Format("15:04"))
	h.capture(t, "offline")

	// Nothing loaded yet: it says so.
	h.tab(t, "Sessions")
	h.assertShows(t, "Can't reach accounts.example.com. Check the network connection, then Refresh.")

	// Back online, Refresh clears it.
	f.setOffline(nil)
	h.tap(t, "Refresh")
	if got := h.d.tabOf(h.d.sessions).banner.text(); got != "" {
		t.Errorf("banner %q once back online", got)
	}
	h.assertShows(t, "Chrome 131 on Windows 11")
}

func TestLoadErrorShowsServerSentence(t *testing.T) {
	f := household()
	f.setErr("Sessions", &approver.APIError{Status: 503, Code: api.CodeUnavailable, Message: "The server is busy; try again in a minute"})
	h := newDashHarness(t, f)
	h.tab(t, "Sessions")
	if got, want := h.d.tabOf(h.d.sessions).banner.text(), "The server is busy; try again in a minute."; got != want {
		t.Errorf("banner %q, want %q", got, want)
	}
}

func TestChangedEventsReload(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	h.tab(t, "Apps")
	h.tab(t, "Devices")
	count := func(method string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, c := range f.calls {
			if c.method == method {
				n++
			}
		}
		return n
	}
	devices, apps := count("Devices"), count("Apps")

	f.mu.Lock()
	f.devices[0].Name = "Renamed elsewhere"
	f.mu.Unlock()
	h.send(t, approver.Event{Kind: approver.EventChanged, Account: adaAccount, Changed: &api.Changed{What: api.ChangedDevices}})
	if count("Devices") != devices+1 {
		t.Error("a devices change did not reload the Devices tab on display")
	}
	h.assertShows(t, "Renamed elsewhere")

	h.send(t, approver.Event{Kind: approver.EventChanged, Account: adaAccount, Changed: &api.Changed{What: api.ChangedApps}})
	if count("Apps") != apps {
		t.Error("an apps change reloaded the hidden Apps tab at once")
	}
	h.tab(t, "Apps")
	if count("Apps") != apps+1 {
		t.Error("the Apps tab, out of date, did not reload when shown")
	}
	// Another account's changes are not this one's.
	h.tab(t, "Devices")
	devices = count("Devices")
	h.send(t, approver.Event{Kind: approver.EventChanged, Account: bobAccount, Changed: &api.Changed{What: api.ChangedDevices}})
	if count("Devices") != devices {
		t.Error("another account's change reloaded this one")
	}
}

func TestBackOnlineReloads(t *testing.T) {
	f := household()
	h := newDashHarness(t, f)
	h.tab(t, "Devices")
	offline := adaAccount
	offline.Online, offline.LastError = false, "connection refused"
	h.svc.mu.Lock()
	h.svc.accounts = []approver.Account{offline}
	h.svc.mu.Unlock()
	f.setOffline(offlineErr())
	h.send(t, approver.Event{Kind: approver.EventConnection, Account: offline})
	h.tap(t, "Refresh")
	banner := h.d.tabOf(h.d.devices).banner
	if banner.text() == "" {
		t.Fatal("no banner while offline")
	}

	f.setOffline(nil)
	h.svc.mu.Lock()
	h.svc.accounts = []approver.Account{adaAccount}
	h.svc.mu.Unlock()
	h.send(t, approver.Event{Kind: approver.EventConnection, Account: adaAccount})
	if got := banner.text(); got != "" {
		t.Errorf("back online, the banner still says %q", got)
	}
}

func TestOverviewShowsTheFirstWarnings(t *testing.T) {
	f := household()
	for i := range 20 {
		f.devices = append(f.devices, api.Device{ID: fmt.Sprintf("old-%d", i), Type: api.DeviceBrowser, Kind: "browser",
			Name: fmt.Sprintf("Old browser %d", i), MemberID: "m-ada", LastSeenAt: start.Add(-200 * 24 * time.Hour)})
	}
	h := newDashHarness(t, f)
	h.tab(t, "Overview")
	all := len(client.Overview(f.account, f.devices, f.apps, start).Warnings)
	if got := len(h.d.overview.warnings.Objects); got != overviewWarnings+1 {
		t.Fatalf("the overview lists %d items of %d warnings, want the first %d and a button", got, all, overviewWarnings)
	}
	h.tap(t, fmt.Sprintf("Show %d more", all-overviewWarnings))
	if got := len(h.d.overview.warnings.Objects); got != all {
		t.Errorf("after Show more, the overview lists %d warnings, want %d", got, all)
	}
	h.assertShows(t, "\"Old browser 19\" has not been seen since")
}
