package api

import "time"

// The household: the people who share one account, each with their own
// devices. The account's owner is a member too (Role RoleOwner), made with
// the account. API tokens act as the owner; a device token acts as the
// member its approver device belongs to.

// Member is a person of the household.
type Member struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"` // RoleOwner, RoleMember
	CreatedAt time.Time `json:"created_at"`
	// SharesAuthenticator: the account's authenticator (TOTP) is shared
	// with this member's companions, and offered again when it is re-keyed.
	SharesAuthenticator bool `json:"shares_authenticator"`
}

// Household roles.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// Household is the answer to GET household: the members, oldest first with
// the owner first, and every device of the account with its member.
type Household struct {
	Members []Member `json:"members"`
	Devices []Device `json:"devices"`
	You     string   `json:"you"` // the caller's member id
}

// MemberName is the body of POST household/members and PATCH
// household/members/{id}: 1–64 characters.
type MemberName struct {
	Name string `json:"name"`
}

// Invitation answers POST household/members/{id}/invitations: a pairing
// code made for that member, so that the desktop that redeems it pairs as
// theirs. URI is the countersign://pair link a QR code carries.
type Invitation struct {
	MemberID  string    `json:"member_id"`
	Code      string    `json:"code"` // "K7Q9-M2XD"
	URI       string    `json:"uri"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Shared answers POST household/members/{id}/authenticator: how many of the
// member's companions were offered the authenticator.
type Shared struct {
	Offered int `json:"offered"`
}

// ShareOffer is an authenticator enrollment offered to this device: Sealed
// is the enrollment sealed to the device's key (see package sealed), in
// base64url. Rekeyed is true when it replaces a secret shared before.
type ShareOffer struct {
	ID        string     `json:"id"`
	Account   AccountRef `json:"account"`
	From      string     `json:"from"`  // the member who shared it
	Label     string     `json:"label"` // the authenticator's label on the account
	Rekeyed   bool       `json:"rekeyed"`
	Sealed    string     `json:"sealed"`
	CreatedAt time.Time  `json:"created_at"`
}

// ShareOfferList is the answer to GET shares: the device's offers not yet
// accepted or declined.
type ShareOfferList struct {
	Offers []ShareOffer `json:"offers"`
}

// SharedEnrollment is what a ShareOffer's Sealed opens to.
type SharedEnrollment struct {
	URI string `json:"uri"` // otpauth://totp/…
}

// Stream events of the dashboard, besides the approval ones.
const (
	// EventChanged: something the dashboard shows changed (Changed).
	EventChanged = "changed"
	// EventShare: an authenticator was offered to a device (ShareOffered).
	EventShare = "share"
)

// Changed is the data of a "changed" event: What is one of the Changed…
// words; the companion reloads that part of the dashboard.
type Changed struct {
	What string `json:"what"`
}

// What a "changed" event names.
const (
	ChangedAccount   = "account"   // 2-step verification, methods, backup codes
	ChangedDevices   = "devices"   // a device added, renamed, moved or removed
	ChangedSessions  = "sessions"  // a session started or ended
	ChangedApps      = "apps"      // an app granted or revoked
	ChangedHousehold = "household" // a member added, renamed or removed
)

// ShareOffered is the data of a "share" event: an offer for DeviceID (only
// that device's stream carries it).
type ShareOffered struct {
	ID       string `json:"id"`
	DeviceID string `json:"device_id"`
}
