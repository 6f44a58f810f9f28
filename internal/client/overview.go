package client

import (
	"fmt"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// Summary is the account at a glance: what the dashboard's overview shows.
type Summary struct {
	TwoStep        bool
	Methods        []string // the ways through 2-step verification, in words: "Authenticator app", "Security keys (2)", …
	Backup         bool     // there is a way in besides the usual one: backup codes left, or two methods or more
	TrustedDevices int      // trusted browsers and paired desktops
	Apps           int      // apps allowed to sign in with Countersign
	Warnings       []Warning
}

// Warning is something about the account its owner should act on.
type Warning struct {
	Level string // LevelDanger or LevelWarning
	Text  string
}

// Warning levels.
const (
	LevelDanger  = "danger"
	LevelWarning = "warning"
)

// How long a device may go unseen, and an app unused, before the overview
// points at it.
const (
	staleDevice    = 90 * 24 * time.Hour
	staleAppMonths = 6
)

// Overview sums up the account, its devices and apps as of now: dangers
// first, then warnings in the order of the overview's sections.
func Overview(acc api.Account, devs []api.Device, apps []api.App, now time.Time) Summary {
	s := Summary{TwoStep: acc.TwoStep, Apps: len(apps)}
	phoneOnly := len(acc.Methods) > 0 && acc.SecurityKeys == 0
	var sms, voice bool
	for _, m := range acc.Methods {
		s.Methods = append(s.Methods, methodWords(m))
		switch m.Kind {
		case "sms":
			sms = true
		case "voice":
			voice = true
		default:
			phoneOnly = false
		}
	}
	switch {
	case acc.SecurityKeys == 1:
		s.Methods = append(s.Methods, "Security key")
	case acc.SecurityKeys > 1:
		s.Methods = append(s.Methods, fmt.Sprintf("Security keys (%d)", acc.SecurityKeys))
	}
	switch {
	case acc.BackupCodesLeft == 1:
		s.Methods = append(s.Methods, "Backup codes (1 left)")
	case acc.BackupCodesLeft > 1:
		s.Methods = append(s.Methods, fmt.Sprintf("Backup codes (%d left)", acc.BackupCodesLeft))
	}
	s.Backup = acc.BackupCodesLeft > 0 || len(acc.Methods)+acc.SecurityKeys >= 2

	if !acc.TwoStep {
		s.Warnings = append(s.Warnings, Warning{LevelDanger,
			"2-step verification is off: your password alone lets anyone in. Turn it on on the Login & security page."})
	} else {
		if phoneOnly {
			what := "a text message"
			switch {
			case sms && voice:
				what = "a text message or a voice call"
			case voice:
				what = "a voice call"
			}
			s.Warnings = append(s.Warnings, Warning{LevelWarning,
				"Your only second step is " + what + ". SIM swaps can steal it: add an authenticator app or a security key."})
		}
		if !s.Backup {
			s.Warnings = append(s.Warnings, Warning{LevelWarning,
				"You have no backup: no backup codes are left and only one way through 2-step verification. Make new backup codes or add another method, or losing it locks you out."})
		}
	}
	for _, d := range devs {
		if d.Type != api.DeviceBrowser && d.Type != api.DeviceApprover {
			continue
		}
		s.TrustedDevices++
		seen := lastOf(d.LastSeenAt, d.CreatedAt)
		if !seen.IsZero() && now.Sub(seen) >= staleDevice {
			s.Warnings = append(s.Warnings, Warning{LevelWarning,
				fmt.Sprintf("%q has not been seen since %s: remove it if it is no longer yours.", d.Name, Date(seen, now))})
		}
	}
	for _, a := range apps {
		used := lastOf(a.LastUsedAt, a.GrantedAt)
		if !used.IsZero() && !used.After(now.AddDate(0, -staleAppMonths, 0)) {
			s.Warnings = append(s.Warnings, Warning{LevelWarning,
				fmt.Sprintf("%s has not been used since %s: revoke its access if you no longer use it.", a.Name, Date(used, now))})
		}
	}
	return s
}

// lastOf is t, or since when t has never happened.
func lastOf(t, since time.Time) time.Time {
	if t.IsZero() {
		return since
	}
	return t
}

// methodWords says what a second-step method is.
func methodWords(m api.Method) string {
	var w string
	switch m.Kind {
	case "totp":
		return "Authenticator app"
	case "sms":
		w = "Text message"
	case "voice":
		w = "Voice call"
	default:
		return m.Label
	}
	if m.PhoneMasked != "" {
		w += " to " + m.PhoneMasked
	}
	return w
}

// Date is a day for people: "12 March" this year, "12 March 2025" before.
func Date(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() == now.Year() {
		return t.Format("2 January")
	}
	return t.Format("2 January 2006")
}

// Ago says how long before now t was: "just now", "5 minutes ago",
// "3 hours ago", "4 days ago", then the date.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "never"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return Date(t, now)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// DeviceName is a device's name as people are shown it, wherever that
// is: with "(this desktop)" after the desktop that asked.
func DeviceName(d api.Device) string {
	if d.Current {
		return d.Name + " (this desktop)"
	}
	return d.Name
}

// DeviceKindName names a device's kind (api.Device.Kind) for people.
func DeviceKindName(kind string) string {
	switch kind {
	case "browser":
		return "Browser"
	case "desktop":
		return "Desktop"
	case "laptop":
		return "Laptop"
	case "phone":
		return "Phone"
	case "tablet":
		return "Tablet"
	case "tv":
		return "TV"
	case "security_key":
		return "Security key"
	}
	return "Device"
}
