package ui

import (
	"embed"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/client"
)

//go:embed icons/*.svg
var iconFiles embed.FS

// icon is one of the SVG icons under icons/, coloured by the theme like
// Fyne's own.
func icon(name string) fyne.Resource {
	b, err := iconFiles.ReadFile("icons/" + name + ".svg")
	if err != nil {
		panic(err) // a name that is not there is a programming error
	}
	return theme.NewThemedResource(fyne.NewStaticResource(name+".svg", b))
}

// Icons of the Account screen and of the kinds of device.
var (
	shieldIcon = icon("shield")
	appIcon    = icon("app")
	kindIcons  = map[string]fyne.Resource{
		"browser":      icon("browser"),
		"desktop":      icon("desktop"),
		"laptop":       icon("laptop"),
		"phone":        icon("phone"),
		"tablet":       icon("tablet"),
		"tv":           icon("tv"),
		"security_key": keyIcon,
	}
)

// kindIcon is the icon of a device's kind (api.Device.Kind).
func kindIcon(kind string) fyne.Resource {
	if r, ok := kindIcons[kind]; ok {
		return r
	}
	return kindIcons["desktop"]
}

// deviceWhat says what a device is: "Firefox 128 on Linux", "Countersign
// on Windows", "Security key".
func deviceWhat(d api.Device) string {
	switch d.Type {
	case api.DeviceSecurityKey:
		return "Security key"
	case api.DeviceApprover:
		if d.OS != "" {
			return "Countersign on " + d.OS
		}
		return "Countersign desktop"
	}
	return joinNonEmpty(" on ", orUnknown(d.Browser, "Browser"), d.OS)
}

// deviceSeen says when a device was last seen and where: "Seen 3 hours
// ago · 203.0.113.7 · Paris, France".
func deviceSeen(d api.Device, now time.Time) string {
	var when string
	switch {
	case d.Type == api.DeviceSecurityKey && d.LastSeenAt.IsZero():
		when = "Never used"
	case d.Type == api.DeviceSecurityKey:
		when = "Used " + client.Ago(d.LastSeenAt, now)
	case d.LastSeenAt.IsZero():
		when = "Added " + client.Ago(d.CreatedAt, now)
	default:
		when = "Seen " + client.Ago(d.LastSeenAt, now)
	}
	return joinNonEmpty(" · ", when, d.IP, d.Place)
}

// joinNonEmpty joins the parts that are not empty.
func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// count says how many: "1 device", "3 devices".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// possessive is "Sam's", "James'".
func possessive(name string) string {
	if strings.HasSuffix(name, "s") {
		return name + "'"
	}
	return name + "'s"
}

// activityTitle names an event: in words when its kind is known.
func activityTitle(e api.Event) string {
	return api.ActivityTitle(e.Kind)
}

// dateTime is a moment for people: "12 March, 14:05" this year.
func dateTime(t, now time.Time) string {
	return client.Date(t, now) + ", " + t.In(now.Location()).Format("15:04")
}
