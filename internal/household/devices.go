package household

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// Devices lists every device of userID's account as API v1 shows them:
// trusted browsers (with the sessions running on them at now), paired
// desktops and security keys, each with its member, most recently seen
// first. Place and Current are for the caller to fill in.
func Devices(ctx context.Context, st store.Store, userID string, now time.Time) ([]api.Device, error) {
	browsers, err := st.Devices(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("trusted browsers: %w", err)
	}
	approvers, err := st.Approvers(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("paired desktops: %w", err)
	}
	keys, err := st.SecurityKeys(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("security keys: %w", err)
	}
	sessions, err := st.Sessions(ctx, userID, now)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	running := map[string]int{}
	for _, s := range sessions {
		if s.DeviceID != "" {
			running[s.DeviceID]++
		}
	}
	out := make([]api.Device, 0, len(browsers)+len(approvers)+len(keys))
	for i := range browsers {
		d := BrowserDevice(&browsers[i])
		d.Sessions = running[d.ID]
		out = append(out, d)
	}
	for i := range approvers {
		out = append(out, ApproverDevice(&approvers[i]))
	}
	for i := range keys {
		out = append(out, KeyDevice(&keys[i]))
	}
	slices.SortStableFunc(out, func(a, b api.Device) int {
		return cmp.Or(b.LastSeenAt.Compare(a.LastSeenAt), b.CreatedAt.Compare(a.CreatedAt))
	})
	return out, nil
}

// BrowserDevice is a trusted browser as API v1 shows it.
func BrowserDevice(d *store.Device) api.Device {
	return api.Device{
		ID: d.ID, Type: api.DeviceBrowser, Name: d.Name, Kind: d.Kind, MemberID: d.MemberID,
		Browser: d.Browser, OS: d.OS, IP: d.IP, UserAgent: d.UserAgent,
		CreatedAt: utc(d.CreatedAt), LastSeenAt: utc(d.LastSeenAt), TrustedUntil: utc(d.TrustedUntil),
	}
}

// ApproverDevice is a paired desktop as API v1 shows it: a laptop when its
// name says so.
func ApproverDevice(a *store.Approver) api.Device {
	kind, name := "desktop", strings.ToLower(a.Name)
	if strings.Contains(name, "laptop") || strings.Contains(name, "notebook") || strings.Contains(name, "macbook") {
		kind = "laptop"
	}
	return api.Device{
		ID: a.ID, Type: api.DeviceApprover, Name: a.Name, Kind: kind, MemberID: a.MemberID, OS: PlatformName(a.Platform),
		CreatedAt: utc(a.CreatedAt), LastSeenAt: utc(a.LastSeenAt),
	}
}

// KeyDevice is a security key as API v1 shows it.
func KeyDevice(k *store.SecurityKey) api.Device {
	return api.Device{
		ID: k.ID, Type: api.DeviceSecurityKey, Name: k.Name, Kind: api.DeviceSecurityKey, MemberID: k.MemberID,
		CreatedAt: utc(k.CreatedAt), LastSeenAt: utc(k.LastUsedAt),
	}
}

// PlatformName names a paired desktop's operating system (Go's GOOS) as
// people do: "linux" is "Linux".
func PlatformName(p string) string {
	switch strings.ToLower(p) {
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	case "darwin", "macos":
		return "macOS"
	case "freebsd":
		return "FreeBSD"
	case "":
		return "Unknown system"
	}
	return p
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
