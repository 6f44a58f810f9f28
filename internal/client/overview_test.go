package client

import (
	"reflect"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
)

var now = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

func TestOverview(t *testing.T) {
	totp := api.Method{Kind: "totp", Label: "Phone"}
	sms := api.Method{Kind: "sms", PhoneMasked: "+•••••••••00"}
	voice := api.Method{Kind: "voice", PhoneMasked: "+•••••••••01"}
	fresh := now.Add(-time.Hour)
	tests := []struct {
		name    string
		acc     api.Account
		devs    []api.Device
		apps    []api.App
		methods []string
		backup  bool
		devices int
		warns   []Warning
	}{
		{
			name:    "safe",
			acc:     api.Account{TwoStep: true, Methods: []api.Method{totp}, SecurityKeys: 2, BackupCodesLeft: 8},
			devs:    []api.Device{{Type: api.DeviceBrowser, Name: "Firefox", LastSeenAt: fresh}, {Type: api.DeviceApprover, Name: "desk", LastSeenAt: fresh}, {Type: api.DeviceSecurityKey, Name: "key", CreatedAt: now.AddDate(-2, 0, 0)}},
			apps:    []api.App{{Name: "Notes", GrantedAt: now.AddDate(-1, 0, 0), LastUsedAt: fresh}},
			methods: []string{"Authenticator app", "Security keys (2)", "Backup codes (8 left)"},
			backup:  true, devices: 2,
		},
		{
			name:    "two-step off",
			acc:     api.Account{},
			backup:  false,
			warns:   []Warning{{LevelDanger, "2-step verification is off: your password alone lets anyone in. Turn it on on the Login & security page."}},
			methods: nil,
		},
		{
			name:    "only text messages, no backup",
			acc:     api.Account{TwoStep: true, Methods: []api.Method{sms}},
			methods: []string{"Text message to +•••••••••00"},
			warns: []Warning{
				{LevelWarning, "Your only second step is a text message. SIM swaps can steal it: add an authenticator app or a security key."},
				{LevelWarning, "You have no backup: no backup codes are left and only one way through 2-step verification. Make new backup codes or add another method, or losing it locks you out."},
			},
		},
		{
			name:    "text and voice with backup codes",
			acc:     api.Account{TwoStep: true, Methods: []api.Method{sms, voice}, BackupCodesLeft: 1},
			methods: []string{"Text message to +•••••••••00", "Voice call to +•••••••••01", "Backup codes (1 left)"},
			backup:  true,
			warns:   []Warning{{LevelWarning, "Your only second step is a text message or a voice call. SIM swaps can steal it: add an authenticator app or a security key."}},
		},
		{
			name:    "voice and a security key",
			acc:     api.Account{TwoStep: true, Methods: []api.Method{voice}, SecurityKeys: 1},
			methods: []string{"Voice call to +•••••••••01", "Security key"},
			backup:  true,
		},
		{
			name: "stale devices and apps",
			acc:  api.Account{TwoStep: true, Methods: []api.Method{totp}, BackupCodesLeft: 3},
			devs: []api.Device{
				{Type: api.DeviceBrowser, Name: "Old Firefox", LastSeenAt: now.Add(-90 * 24 * time.Hour)},
				{Type: api.DeviceBrowser, Name: "Recent", LastSeenAt: now.Add(-89 * 24 * time.Hour)},
				{Type: api.DeviceApprover, Name: "Sam's laptop", CreatedAt: time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)},
				{Type: api.DeviceSecurityKey, Name: "drawer key", LastSeenAt: now.AddDate(-3, 0, 0)},
			},
			apps: []api.App{
				{Name: "Old app", GrantedAt: now.AddDate(-2, 0, 0), LastUsedAt: now.AddDate(0, -6, 0)},
				{Name: "Never used", GrantedAt: now.AddDate(0, -7, 0)},
				{Name: "Newish", GrantedAt: now.AddDate(0, -6, 1)},
			},
			methods: []string{"Authenticator app", "Backup codes (3 left)"},
			backup:  true, devices: 3,
			warns: []Warning{
				{LevelWarning, `"Old Firefox" has not been seen since 24 August: remove it if it is no longer yours.`},
				{LevelWarning, `"Sam's laptop" has not been seen since 2 March 2025: remove it if it is no longer yours.`},
				{LevelWarning, "Old app has not been used since 22 May: revoke its access if you no longer use it."},
				{LevelWarning, "Never used has not been used since 22 April: revoke its access if you no longer use it."},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Overview(tt.acc, tt.devs, tt.apps, now)
			want := Summary{TwoStep: tt.acc.TwoStep, Methods: tt.methods, Backup: tt.backup, TrustedDevices: tt.devices,
				Apps: len(tt.apps), Warnings: tt.warns}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestAgo(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, "never"},
		{now.Add(time.Minute), "just now"},
		{now.Add(-59 * time.Second), "just now"},
		{now.Add(-time.Minute), "1 minute ago"},
		{now.Add(-59 * time.Minute), "59 minutes ago"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now.Add(-25 * time.Hour), "1 day ago"},
		{now.Add(-6 * 24 * time.Hour), "6 days ago"},
		{now.Add(-8 * 24 * time.Hour), "14 November"},
		{time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), "5 January 2024"},
	}
	for _, tt := range tests {
		if got := Ago(tt.t, now); got != tt.want {
			t.Errorf("Ago(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestDeviceKindName(t *testing.T) {
	kinds := map[string]string{
		"browser": "Browser", "desktop": "Desktop", "laptop": "Laptop", "phone": "Phone", "tablet": "Tablet",
		"tv": "TV", "security_key": "Security key", "toaster": "Device", "": "Device",
	}
	for kind, want := range kinds {
		if got := DeviceKindName(kind); got != want {
			t.Errorf("DeviceKindName(%q) = %q, want %q", kind, got, want)
		}
	}
}
