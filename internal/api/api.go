// Package api holds the wire types of countersign-server's JSON API v1,
// shared by the server and the companion's client, and the checked-in
// OpenAPI 3.1 document that describes them (the truth for both sides).
//
// It holds no behaviour: routing, authentication and validation are the
// server's (internal/server/apiv1). Times are RFC 3339 in UTC; a time that
// has not happened (a key never used) is left out of the JSON.
package api

import (
	_ "embed"
	"encoding/json"
	"time"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of API v1.
func OpenAPI() []byte { return openAPI }

// Account is the signed-in account and the state of its 2-step verification.
type Account struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"` // "" when the account signs in by phone only
	Phone           string    `json:"phone"` // E.164, "" when none
	Name            string    `json:"name"`
	TwoStep         bool      `json:"two_step"`
	Methods         []Method  `json:"methods"` // confirmed second-step methods besides security keys and backup codes
	BackupCodesLeft int       `json:"backup_codes_left"`
	SecurityKeys    int       `json:"security_keys"` // how many are registered
	CreatedAt       time.Time `json:"created_at"`
}

// Method is a second-step method: an authenticator app, SMS or voice.
type Method struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // "totp", "sms", "voice"
	Label       string    `json:"label"`
	PhoneMasked string    `json:"phone_masked,omitempty"` // SMS and voice: the number with all but its last digits hidden
	CreatedAt   time.Time `json:"created_at"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
}

// Device is one of the account's devices: a trusted browser (where codes
// are not asked for), a paired approver desktop, or a registered security
// key. Every device belongs to a household member (MemberID); devices from
// before households, and browsers trusted without an approval, belong to
// the owner.
type Device struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"` // DeviceBrowser, DeviceApprover, DeviceSecurityKey
	Name         string    `json:"name"`
	Kind         string    `json:"kind"` // icon: "browser", "desktop", "laptop", "phone", "tablet", "tv", "security_key"
	MemberID     string    `json:"member_id"`
	Browser      string    `json:"browser"` // browsers: e.g. "Firefox 128"
	OS           string    `json:"os"`      // browsers and approvers: e.g. "Linux"
	IP           string    `json:"ip"`      // the last address seen, "" when unknown (security keys)
	Place        string    `json:"place"`   // the place of IP, "" when unknown
	UserAgent    string    `json:"user_agent"`
	Current      bool      `json:"current"`  // the device the request came from (a device token's own approver)
	Sessions     int       `json:"sessions"` // browsers: signed-in sessions running on it
	CreatedAt    time.Time `json:"created_at"`
	LastSeenAt   time.Time `json:"last_seen_at,omitzero"`
	TrustedUntil time.Time `json:"trusted_until,omitzero"` // browsers
}

// Device types.
const (
	DeviceBrowser     = "browser"      // a trusted browser
	DeviceApprover    = "approver"     // a desktop paired with the companion
	DeviceSecurityKey = "security_key" // a registered FIDO2/WebAuthn key
)

// DeviceList is the answer to GET devices.
type DeviceList struct {
	Devices []Device `json:"devices"`
}

// DeviceUpdate is the body of PATCH devices/{id}: a new name, another
// member, or both; a field left out is not changed.
type DeviceUpdate struct {
	Name     string `json:"name,omitempty"`
	MemberID string `json:"member_id,omitempty"`
}

// SignedOut answers the requests that end sessions: how many ended.
type SignedOut struct {
	Ended int `json:"ended"`
}

// Session is a signed-in browser session.
type Session struct {
	ID         string    `json:"id"`
	DeviceID   string    `json:"device_id,omitempty"` // the trusted device it runs on, if any
	Browser    string    `json:"browser"`
	OS         string    `json:"os"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
	Current    bool      `json:"current"` // the session the request came from
}

// SessionList is the answer to GET sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// SecurityKey is a registered security key (a WebAuthn credential).
type SecurityKey struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Passkey: the credential is discoverable and was registered with user
	// verification, so it signs in on its own (no password).
	Passkey bool `json:"passkey,omitempty"`
}

// SecurityKeyList is the answer to GET security-keys.
type SecurityKeyList struct {
	SecurityKeys []SecurityKey `json:"security_keys"`
}

// RegistrationStart asks to register a key (the body of POST
// security-keys/registrations, which may be left out). Passkey asks for a
// passkey: a discoverable credential stored on the key, with user
// verification (its PIN) required.
type RegistrationStart struct {
	Passkey bool `json:"passkey,omitempty"`
}

// RegistrationBegin starts registering a key: Options is the
// CredentialCreation JSON (its publicKey member is what
// navigator.credentials.create takes), binary fields in base64url.
type RegistrationBegin struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

// RegistrationFinish answers a RegistrationBegin. Credential is the
// PublicKeyCredential as JSON (id, rawId, type, response.clientDataJSON,
// response.attestationObject, optional response.transports), binary fields
// in base64url. ChallengeID may be left out where the URL names it.
type RegistrationFinish struct {
	ChallengeID string          `json:"challenge_id,omitempty"`
	Name        string          `json:"name,omitempty"` // 1–64 characters; "Security key" when empty
	Credential  json.RawMessage `json:"credential"`
}

// LoginBegin starts proving possession of a key: Options is the
// CredentialAssertion JSON (its publicKey member is what
// navigator.credentials.get takes).
type LoginBegin struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

// LoginFinish answers a LoginBegin. Credential is the PublicKeyCredential as
// JSON (id, rawId, type, response.clientDataJSON,
// response.authenticatorData, response.signature, optional
// response.userHandle). ChallengeID may be left out where the URL names it.
type LoginFinish struct {
	ChallengeID string          `json:"challenge_id,omitempty"`
	Credential  json.RawMessage `json:"credential"`
}

// StepUpRequest confirms it is the account's person, for the actions that
// need a fresh sign-in: either Password, the account's password, or a
// security key's answer (ChallengeID and Credential, as LoginFinish) to a
// challenge from POST /api/v1/security-keys/assertions; the key must be one
// of the caller's member's.
type StepUpRequest struct {
	Password    string          `json:"password,omitempty"`
	ChallengeID string          `json:"challenge_id,omitempty"`
	Credential  json.RawMessage `json:"credential,omitempty"`
}

// StepUp is the proof of a confirmation: send Token as the StepUpHeader of
// the requests that need one until ExpiresAt. It is bound to the token or
// desktop that asked for it.
type StepUp struct {
	Token     string    `json:"step_up"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StepUpHeader carries a StepUp's Token.
const StepUpHeader = "Countersign-Step-Up"

// Event is one entry of the account's security activity.
type Event struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`     // e.g. "signin.success", "device.removed"
	Category string    `json:"category"` // ActivitySignIns, ActivityApprovals, ActivityChanges
	OK       bool      `json:"ok"`       // false for failures and denials
	IP       string    `json:"ip"`
	Browser  string    `json:"browser"`
	OS       string    `json:"os"`
	Member   string    `json:"member"` // the household member who did it or handled it, "" when unknown
	Detail   string    `json:"detail"`
}

// Activity categories: GET activity?category= filters by one.
const (
	ActivitySignIns   = "signins"   // sign-ins, sign-outs, 2-step checks, lock-outs
	ActivityApprovals = "approvals" // approval requests and their outcome
	ActivityChanges   = "changes"   // every change to the account, its devices, apps and household
)

// ActivityPage is one page of activity, newest first. Next is the cursor
// for the following (older) page, passed back as ?before=; "" at the end.
type ActivityPage struct {
	Events []Event `json:"events"`
	Next   string  `json:"next"`
}

// Error is every error answer: Error is a sentence for people, Code a
// stable word for programs.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes.
const (
	CodeInvalidRequest    = "invalid_request"    // 400: malformed JSON, unknown field, wrong type, bad value
	CodeUnauthorized      = "unauthorized"       // 401: no bearer token
	CodeInvalidToken      = "invalid_token"      // 401: unknown, revoked or expired token
	CodeInsufficientScope = "insufficient_scope" // 403: the token lacks the scope
	CodeNotFound          = "not_found"          // 404
	CodeMethodNotAllowed  = "method_not_allowed" // 405
	CodeConflict          = "conflict"           // 409: the account's state does not allow it
	CodeTooLarge          = "too_large"          // 413
	CodeUnsupportedType   = "unsupported_media_type"
	CodeChallenge         = "challenge_invalid"   // 400: unknown, expired or spent ceremony
	CodeNotVerified       = "not_verified"        // 400: the key's answer did not verify
	CodeAlreadyRegistered = "already_registered"  // 409
	CodeNoSecurityKeys    = "no_security_keys"    // 409
	CodeLastMethod        = "last_method"         // 409: removing it would leave 2-step verification with no way in
	CodeForbidden         = "forbidden"           // 403: the caller's household role does not allow it
	CodeStepUpRequired    = "step_up_required"    // 403: the action needs a fresh confirmation (POST step-up), then StepUpHeader
	CodeWrongPassword     = "wrong_password"      // 403: a step-up's password is not the account's
	CodeTooManyAttempts   = "too_many_attempts"   // 429: sign-in is locked after wrong passwords; Retry-After says how long
	CodeInternal          = "internal_error"      // 500
	CodeUnavailable       = "service_unavailable" // 503
)

// Scopes of API tokens.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)
