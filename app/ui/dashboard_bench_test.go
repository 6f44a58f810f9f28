package ui

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/testkit"
)

// bigHousehold is an account with 200 devices among five members, 100
// apps and 5,000 events of activity.
func bigHousehold() *fakeDashboard {
	f := household()
	f.pageAll = true
	for _, name := range []string{"Robin", "Kim"} {
		f.members = append(f.members, apiMember(name))
	}
	kinds := []string{"browser", "desktop", "laptop", "phone", "tablet", "tv", "security_key"}
	f.devices = f.devices[:0]
	for i := range 200 {
		kind := kinds[i%len(kinds)]
		typ := api.DeviceBrowser
		switch kind {
		case "desktop", "laptop":
			typ = api.DeviceApprover
		case "security_key":
			typ = api.DeviceSecurityKey
		}
		f.devices = append(f.devices, api.Device{ID: fmt.Sprintf("dev-%03d", i), Type: typ, Kind: kind,
			Name: fmt.Sprintf("Device %d", i), MemberID: f.members[i%len(f.members)].ID, Browser: "Firefox 128",
			OS: "Linux", IP: "203.0.113.7", Place: "Paris, France", Sessions: i % 3,
			LastSeenAt: start.Add(-time.Duration(i) * time.Hour)})
	}
	f.apps = f.apps[:0]
	for i := range 100 {
		f.apps = append(f.apps, api.App{ClientID: fmt.Sprintf("app-%03d", i), Name: fmt.Sprintf("App %d", i),
			Scopes:    []string{"openid", "email", "profile", "offline_access"}[:1+i%4],
			GrantedAt: start.Add(-time.Duration(i) * 24 * time.Hour), LastUsedAt: start.Add(-time.Duration(i) * time.Hour)})
	}
	f.events = activityFixture(5000)
	return f
}

// BenchmarkDashboardFirstRender measures each tab of the Account screen
// from the data being read to its first frame drawn (the test driver's
// software painter, at the window's default size).
func BenchmarkDashboardFirstRender(b *testing.B) {
	f := bigHousehold()
	h := newDashHarness(b, f)
	h.d.visible = false // no loads of its own: the benchmark hands the data in
	for i, t := range h.d.panes {
		b.Run(t.p.title(), func(b *testing.B) {
			h.d.tabs.SelectIndex(i)
			for b.Loop() {
				b.StopTimer()
				t.p.reset()
				show, err := t.p.fetch(context.Background(), f)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				show()
				h.win.Canvas().Capture()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/first-frame")
			if got := len(h.d.activity.events); t.p == h.d.activity && got != 5000 {
				b.Errorf("the activity held %d events, want 5000", got)
			}
		})
	}
}

// BenchmarkDashboardServer measures the Account screen against a real
// countersign-server in-process (SQLite), through a real approver.Manager
// paired with the account and the typed client, as the companion runs it:
// an account of three members with 200 devices (150 trusted browsers, 49
// security keys and this desktop), 100 apps and 5,000 events.
//
// For each tab it reports
//
//	first-frame-ms  from selecting the tab, with nothing loaded, to the
//	                first frame that shows the server's data
//	fetch-ms        of which the tab's API calls through the client
//	paint-ms        of which drawing the frame (the test driver's software
//	                painter, slower than a GL window's)
//	cold-ms         the first-frame of the tab's first load, the client's
//	                first calls: one sample
//
// and, for the long lists, Devices/scroll and Activity/scroll (ms/frame:
// 50 rows further down, update-ms, then a frame, paint-ms) and
// Activity/load-older (ms/page: from Load older to the frame that shows
// the page).
func BenchmarkDashboardServer(b *testing.B) {
	srv := approvertest.Start(b)
	u := srv.User("ada@example.com", "Ada Lovelace")
	srv.Fill(u, approvertest.Fill{Members: []string{"Sam", "Alex"}, Browsers: 150, Keys: 49, Apps: 100, Events: 5000})
	m, err := approver.Open(approver.Options{Dir: b.TempDir(), Keyring: &testkit.FakeKeyring{},
		Now: srv.Clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	code, _ := srv.PairingCode(u)
	acc, err := m.Pair(context.Background(), srv.URL, code, "Ada's desktop")
	if err != nil {
		b.Fatal(err)
	}
	src := client.New(client.ForAccount(m, acc.ID))

	var h dashHarness
	h.start(b, m, func(id string) Dashboard { return client.New(client.ForAccount(m, id)) }, srv.Clock.Now())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	b.Cleanup(func() { cancel(); <-done })

	// Every tab loaded once, the first time the client reaches the server:
	// selecting a tab that is loaded reads nothing.
	cold := map[*tab]time.Duration{}
	for i, t := range h.d.panes {
		t0 := time.Now()
		h.d.tabs.SelectIndex(i)
		h.until(b, func() bool { return t.loaded })
		h.win.Canvas().Capture()
		cold[t] = time.Since(t0)
		if t.failed {
			b.Fatalf("the %s tab failed to load: %s", t.p.title(), t.banner.text())
		}
	}
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"devices", len(h.d.devices.devices), 200},
		{"apps", len(h.d.apps.apps), 100},
		{"events", len(h.d.activity.events), activityPageSize},
		{"household members", len(h.d.household.columns), 3},
	} {
		if c.got != c.want {
			b.Fatalf("the screen shows %d %s, want %d", c.got, c.what, c.want)
		}
	}

	ms := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
	for i, t := range h.d.panes {
		b.Run(t.p.title(), func(b *testing.B) {
			var fetch, paint time.Duration
			for b.Loop() {
				b.StopTimer()
				t0 := time.Now()
				if _, err := t.p.fetch(context.Background(), src); err != nil {
					b.Fatal(err)
				}
				fetch += time.Since(t0)
				h.d.tabs.SelectIndex((i + 1) % len(h.d.panes)) // loaded: reads nothing
				t.forget()
				b.StartTimer()
				h.d.tabs.SelectIndex(i)
				h.until(b, func() bool { return t.loaded && t.cancel == nil })
				t0 = time.Now()
				h.win.Canvas().Capture()
				paint += time.Since(t0)
			}
			if t.failed {
				b.Fatalf("the %s tab failed to load: %s", t.p.title(), t.banner.text())
			}
			b.ReportMetric(ms(cold[t], 1), "cold-ms")
			b.ReportMetric(ms(fetch, b.N), "fetch-ms")
			b.ReportMetric(ms(paint, b.N), "paint-ms")
			b.ReportMetric(ms(b.Elapsed(), b.N), "first-frame-ms")
		})
	}

	activity := h.d.tabOf(h.d.activity)
	b.Run("Activity/load-older", func(b *testing.B) {
		h.d.tabs.SelectIndex(slices.Index(h.d.panes, activity))
		for b.Loop() {
			b.StopTimer()
			if h.d.activity.next == "" { // the end of the 5,000: from the newest page again
				activity.forget()
				activity.load()
				h.until(b, func() bool { return activity.loaded })
			}
			n := len(h.d.activity.events)
			b.StartTimer()
			h.d.activity.loadOlder()
			h.until(b, func() bool { return len(h.d.activity.events) > n })
			h.win.Canvas().Capture()
		}
		b.ReportMetric(ms(b.Elapsed(), b.N), "ms/page")
	})

	// Scrolling as the wheel and the scroll bar do it, by moving the
	// offset: 50 rows further down a frame (from the top again at the
	// end), so that every row on screen shows another item.
	scroll := func(name string, p pane, list *widget.List, rows func() int) {
		b.Run(name+"/scroll", func(b *testing.B) {
			h.d.tabs.SelectIndex(slices.Index(h.d.panes, h.d.tabOf(p)))
			list.ScrollToTop()
			h.win.Canvas().Capture()
			step := 50 * (list.CreateItem().MinSize().Height + theme.Padding())
			end := float32(rows()) * step / 50
			var update time.Duration
			offset := float32(0)
			for b.Loop() {
				if offset += step; offset >= end-list.Size().Height {
					offset = 0
				}
				t0 := time.Now()
				list.ScrollToOffset(offset)
				update += time.Since(t0)
				h.win.Canvas().Capture()
			}
			if got := list.GetScrollOffset(); got != offset {
				b.Errorf("the list scrolled to %v, want %v", got, offset)
			}
			b.ReportMetric(ms(update, b.N), "update-ms")
			b.ReportMetric(ms(b.Elapsed()-update, b.N), "paint-ms")
			b.ReportMetric(ms(b.Elapsed(), b.N), "ms/frame")
		})
	}
	scroll("Devices", h.d.devices, h.d.devices.list, func() int { return len(h.d.devices.devices) })
	for len(h.d.activity.events) < 500 && h.d.activity.next != "" { // ten pages to scroll through
		n := len(h.d.activity.events)
		h.d.activity.loadOlder()
		h.until(b, func() bool { return len(h.d.activity.events) > n })
	}
	scroll("Activity", h.d.activity, h.d.activity.list, func() int { return len(h.d.activity.events) })
}

// until runs what the screen hands to the UI goroutine until cond holds.
func (h *dashHarness) until(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !cond() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatal("the screen did not get there within 15 s")
		}
	}
}
