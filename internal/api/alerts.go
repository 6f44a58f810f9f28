package api

import "time"

// EventSignInAlert is the stream event of a sign-in from a browser or place
// the account had not used (SignInAlert). Only the desktops of the
// members in For get it: the owner's and those of the member the sign-in
// acts as.
const EventSignInAlert = "signin_alert"

// SignInAlert is the data of a "signin_alert" event. Place is "" when no
// GeoIP database names the address; New says what was new: "browser",
// "place" or both.
type SignInAlert struct {
	ID       string    `json:"id"`
	Browser  string    `json:"browser"`
	Place    string    `json:"place"`
	IP       string    `json:"ip"`
	At       time.Time `json:"at"`
	New      []string  `json:"new"`
	MemberID string    `json:"member_id"`
	For      []string  `json:"for"`
}

// Disowned answers POST alerts/{id}/not-me: that sign-in's session was
// ended (Sessions, 0 when it had ended already) with the apps' codes and
// tokens issued in it (Apps names the apps). PasswordURL is the page that
// changes the password, which the person should do next.
type Disowned struct {
	Sessions    int      `json:"sessions"`
	Apps        []string `json:"apps"`
	PasswordURL string   `json:"password_url"`
}

// Error codes of sign-in alerts.
const (
	CodeAlertUsed    = "alert_used"    // 409: "This wasn't me" was used on the alert already
	CodeAlertExpired = "alert_expired" // 410: the alert is too old to act on
)
