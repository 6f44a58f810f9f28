package api

// activityTitles name the kinds of activity (Event.Kind) in plain words,
// for every place that shows the activity log: the web pages, the window
// and the command line. A test in package store checks that every kind it
// records has one.
var activityTitles = map[string]string{
	"account.created":              "Account created",
	"signin.success":               "Signed in",
	"signin.failure":               "Sign-in failed",
	"signin.confirmed":             "Confirmed it was you",
	"signin.alerted":               "Sign-in alert sent",
	"signin.disowned":              "Sign-in reported as not you",
	"alerts.changed":               "Sign-in alert settings changed",
	"signout":                      "Signed out",
	"twostep.used":                 "Two-step verification used",
	"twostep.failure":              "Two-step verification failed",
	"twostep.enabled":              "Two-step verification turned on",
	"twostep.disabled":             "Two-step verification turned off",
	"method.added":                 "Verification method added",
	"method.removed":               "Verification method removed",
	"backupcodes.regenerated":      "New backup codes",
	"securitykey.added":            "Security key added",
	"securitykey.removed":          "Security key removed",
	"passkey.added":                "Passkey added",
	"passkey.removed":              "Passkey removed",
	"device.trusted":               "Browser trusted",
	"device.renamed":               "Device renamed",
	"device.removed":               "Device removed",
	"device.moved":                 "Device moved",
	"password.changed":             "Password changed",
	"password.reset":               "Password reset",
	"password.reset_requested":     "Password reset requested",
	"session.revoked":              "Signed out elsewhere",
	"account.locked":               "Sign-in locked after failed attempts",
	"apitoken.created":             "API token created",
	"apitoken.revoked":             "API token revoked",
	"approver.paired":              "Desktop paired",
	"approver.removed":             "Desktop removed",
	"approval.requested":           "Approval requested",
	"approval.approved":            "Approved on a desktop",
	"approval.denied":              "Denied on a desktop",
	"approval.reported":            "Reported on a desktop",
	"approval.expired":             "Approval request expired",
	"oauth.granted":                "App allowed to sign you in",
	"oauth.revoked":                "App access removed",
	"household.member_added":       "Household member added",
	"household.member_renamed":     "Household member renamed",
	"household.member_removed":     "Household member removed",
	"household.invited":            "Household invitation made",
	"authenticator.shared":         "Authenticator shared",
	"authenticator.unshared":       "Authenticator no longer shared",
	"authenticator.share_accepted": "Shared authenticator accepted",
	"authenticator.share_declined": "Shared authenticator declined",
	"sync.started":                 "Vault sync started",
	"sync.joined":                  "Desktop joined the vault sync",
	"sync.rotated":                 "Vault sync key rotated",
	"sync.left":                    "Desktop left the vault sync",
}

// ActivityTitle names an activity kind in plain words; a kind it does not
// know (from a newer server) is shown as it is.
func ActivityTitle(kind string) string {
	if w, ok := activityTitles[kind]; ok {
		return w
	}
	return kind
}
