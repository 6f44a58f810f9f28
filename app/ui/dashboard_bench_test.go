package ui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
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
