// Package store keeps countersign-server's state in SQL: SQLite (the embedded
// default, one file in WAL mode) or PostgreSQL (production, several server
// instances behind a load balancer) with the same schema. Migrations are
// embedded and applied by Open; a database whose schema is newer than this
// binary knows is refused.
//
// The store holds no policy: hashing, expiry rules, rate limits and who may do
// what live in the server. Secrets that only need comparing (session tokens,
// API tokens, reset tokens, backup codes, SMS codes) arrive here already
// hashed; the store never sees them in clear. Secrets that must be read
// back — TOTP secrets, the settings (HMAC keys) and ID-token signing keys —
// are sealed under the secrets key given to Open (WithSecretsKey, package
// atrest) and opened when read: the database alone does not give them away.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already exists") // a unique key (email, phone, credential id …) is taken
	ErrUsed      = errors.New("already used")   // a single-use thing (code, token, TOTP step) was spent before
	ErrNewSchema = errors.New("schema is newer than this program")
	ErrLimit     = errors.New("limit reached") // a per-account cap (e.g. pending approval requests) is full
)

// User is an account. Email or Phone (E.164) or both identify it at sign-in.
type User struct {
	ID                string
	Email             string // lower-cased; "" when the account signs in by phone only
	Phone             string // E.164, "" when none
	Name              string
	PasswordHash      string // PHC string ($argon2id$…)
	PasswordChangedAt time.Time
	TwoStep           bool   // two-step verification on
	WebAuthnID        []byte // random 32-byte user handle for WebAuthn
	CreatedAt         time.Time
	FailedLogins      int       // consecutive failed password/2-step attempts
	LockedUntil       time.Time // zero when not locked
}

// MethodKind names a second-step method.
type MethodKind string

const (
	MethodTOTP  MethodKind = "totp"
	MethodSMS   MethodKind = "sms"
	MethodVoice MethodKind = "voice"
)

// Method is a second-step method other than security keys and backup codes.
// A TOTP method has Secret; SMS and voice have Phone. Confirmed is false while
// enrollment waits for the first correct code (a pending method is not used
// to sign in). LastStep is the last TOTP time step accepted, so each code is
// accepted once.
type Method struct {
	ID         string
	UserID     string
	Kind       MethodKind
	Label      string
	Secret     []byte
	Phone      string
	Confirmed  bool
	LastStep   int64
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// BackupCode is one of the user's single-use backup codes, hashed.
type BackupCode struct {
	UserID string
	Hash   []byte
	UsedAt time.Time
}

// SecurityKey is a registered WebAuthn credential. Credential is the JSON of
// go-webauthn's webauthn.Credential (the store does not interpret it);
// CredentialID is copied out of it for the unique index and look-ups.
type SecurityKey struct {
	ID           string
	UserID       string
	Name         string
	CredentialID []byte
	Credential   []byte
	MemberID     string // the household member it belongs to; stored empty, the owner's id is filled in
	// Discoverable marks a passkey: a credential resident on the
	// authenticator, registered with user verification required, that signs
	// in on its own (found by the account's WebAuthn user handle).
	Discoverable bool
	CreatedAt    time.Time
	LastUsedAt   time.Time
}

// Device is a trusted device: a browser where the person chose "Don't require
// codes on this browser". TokenHash is the SHA-256 of the long-lived cookie
// that proves it. Removing it ends its sessions (DeleteDevice does both).
type Device struct {
	ID           string
	UserID       string
	Name         string
	Kind         string // "browser", "desktop", "laptop", "phone", "tablet", "tv"
	Browser      string // e.g. "Chrome 131"
	OS           string // e.g. "Linux"
	IP           string
	UserAgent    string
	TokenHash    []byte
	MemberID     string // the household member it belongs to; stored empty, the owner's id is filled in
	CreatedAt    time.Time
	LastSeenAt   time.Time
	TrustedUntil time.Time
}

// SignInPasskey is the Method of a session a passkey signed in alone.
const SignInPasskey = "passkey"

// SessionStage says how far a session's sign-in got.
type SessionStage string

const (
	StagePassword SessionStage = "password" // password right, 2-step pending
	StageFull     SessionStage = "full"     // signed in
)

// Session is a browser session. ID is the SHA-256 (hex) of the cookie value.
// DeviceID is set when the browser is a trusted device.
type Session struct {
	ID         string
	UserID     string
	DeviceID   string
	MemberID   string // the member it acts as: whose second step signed it in; stored empty, the owner's id is filled in
	Stage      SessionStage
	Method     string // how it signed in: "" the password (and the second step when on), SignInPasskey a passkey alone
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// Activity is one security event in the account's log.
type Activity struct {
	ID        int64 // increasing; pages are cut by ID
	UserID    string
	At        time.Time
	Kind      string // e.g. "signin.success", "signin.failure", "twostep.used", "method.added" (see server)
	OK        bool   // false for failures and denials
	IP        string
	UserAgent string
	Member    string // the name of the household member who did or handled it, "" when unknown
	Detail    string // plain words, no secrets
}

// ResetToken is a password-reset link's token, hashed, single use.
type ResetToken struct {
	Hash      []byte
	UserID    string
	ExpiresAt time.Time
	UsedAt    time.Time
}

// APIToken is a bearer token for API v1 issued from a signed-in web session.
// Scopes are like "read", "write".
type APIToken struct {
	ID         string
	UserID     string
	Name       string
	Hash       []byte
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // zero: no expiry
	RevokedAt  time.Time
}

// SMSCode is a one-time code sent by SMS or voice, hashed; it expires and
// allows a limited number of tries.
type SMSCode struct {
	ID        string
	UserID    string
	MethodID  string
	Hash      []byte
	ExpiresAt time.Time
	Tries     int
	UsedAt    time.Time
}

// Challenge is a pending WebAuthn ceremony: Data is go-webauthn's
// SessionData as JSON. UserID is "" for a discoverable-credential sign-in.
type Challenge struct {
	ID        string
	UserID    string
	Kind      string // "register", "login"
	Data      []byte
	ExpiresAt time.Time
}

// Approver is a paired approver device: a desktop companion that approves
// the account's sign-ins. PublicKey is its Ed25519 public key (32 bytes).
// A removed approver keeps its row (decisions name it) with RemovedAt set.
type Approver struct {
	ID         string
	UserID     string
	Name       string
	Platform   string // e.g. "linux"
	PublicKey  []byte
	MemberID   string // the household member it belongs to (always set once stored)
	CreatedAt  time.Time
	LastSeenAt time.Time
	RemovedAt  time.Time // zero while paired
}

// PairingCode is a one-time code that pairs an approver with the account,
// hashed (SHA-256 of the normalized code). The approver it pairs belongs to
// MemberID (stored empty, the owner's id is filled in); a member's code is
// an invitation.
type PairingCode struct {
	Hash      []byte
	UserID    string
	MemberID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// DeviceChallenge is a single-use challenge an approver signs to get a
// token; Hash is the SHA-256 of the challenge string.
type DeviceChallenge struct {
	Hash      []byte
	DeviceID  string
	ExpiresAt time.Time
}

// DeviceToken is a short-lived bearer token of an approver, hashed.
type DeviceToken struct {
	Hash      []byte
	DeviceID  string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Approval request statuses.
const (
	ApprovalPending   = "pending"
	ApprovalApproved  = "approved"
	ApprovalDenied    = "denied"
	ApprovalReported  = "reported"
	ApprovalExpired   = "expired"
	ApprovalCancelled = "cancelled"
)

// ApprovalRequest is a sign-in waiting for (or past) a decision on an
// approver device. Number is the number the browser shows; Decoys the two
// other numbers the devices offer. DecidedBy is the deciding device's id and
// DecidedByName its name at the time; Reason says why in plain words (e.g.
// "wrong number picked"). With RequireKey the decision needs a security-key
// assertion for the WebAuthn ceremony KeyChallengeID, whose request options
// are KeyOptions. ConsumedAt is when the browser used an approved request to
// finish its sign-in (once).
type ApprovalRequest struct {
	ID             string
	UserID         string
	SessionID      string
	Nonce          string
	Number         int
	Decoys         []int
	Browser        string
	OS             string
	IP             string
	UserAgent      string // of the signing-in browser, for the activity log
	Place          string
	App            string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	Status         string // Approval…
	Reason         string
	DecidedBy      string
	DecidedByName  string
	DecidedAt      time.Time
	RequireKey     bool
	KeyChallengeID string
	KeyOptions     []byte
	ConsumedAt     time.Time
}

// Resolution moves a pending approval request to Status. A resolution to
// ApprovalExpired applies only to a request whose expiry is at or before At;
// any other only to one that has not expired at At.
type Resolution struct {
	RequestID     string
	Status        string
	Reason        string
	DecidedBy     string // device id, "" when no device decided
	DecidedByName string
	At            time.Time
}

// ApprovalEvent is one entry of the approval event log that approver
// streams follow: Seq increases with every event (across accounts, so it
// also increases per account); Data is the event's JSON.
type ApprovalEvent struct {
	Seq       int64
	UserID    string
	Kind      string // "approval", "resolved", "unpaired"
	Data      []byte
	CreatedAt time.Time
	// Activity, when set, is written to the account's activity log in the
	// same transaction as the event (one commit, and the log cannot miss
	// what happened). It is not stored with the event.
	Activity *Activity
}

// Member is a person of the account's household. Exactly one member of
// every account has Role api.RoleOwner: the account's holder, made with the
// account. Every device names its member; the store fills the owner's id
// for one added without.
type Member struct {
	ID                  string
	UserID              string
	Name                string // unique within the household, compared case-insensitively
	Role                string // api.RoleOwner, api.RoleMember
	SharesAuthenticator bool   // the account's authenticator is offered to the member's approvers
	CreatedAt           time.Time
}

// ShareOffer is the account's authenticator (the TOTP method MethodID)
// offered to the approver DeviceID of member MemberID: Sealed is the
// enrollment sealed to the approver's public key (package sealed), which
// the server cannot open. Answering it sets AcceptedAt or DeclinedAt and
// drops Sealed; the row stays as a record.
type ShareOffer struct {
	ID         string
	UserID     string
	MemberID   string
	DeviceID   string
	MethodID   string
	Label      string // the method's label
	FromName   string // the member who shared it
	Rekeyed    bool   // it replaces a secret shared before
	Sealed     []byte
	CreatedAt  time.Time
	AcceptedAt time.Time
	DeclinedAt time.Time
}

// OAuthClient is an app registered for "Sign in with Countersign" by the
// user OwnerID. RedirectURIs are matched exactly; Scopes are the scopes the
// app may ask for. A confidential client has SecretHash (the provider's hash
// of its secret); a public one (a native or browser app) has none and must
// use PKCE.
type OAuthClient struct {
	ID           string
	OwnerID      string
	Name         string
	LogoURL      string
	Homepage     string
	PrivacyURL   string
	RedirectURIs []string
	Scopes       []string
	Public       bool
	SecretHash   []byte
	CreatedAt    time.Time
}

// OAuthGrant is a person's consent to an app: the scopes granted, when
// first granted and when last used. A revoked grant has RevokedAt set and
// its tokens are gone.
type OAuthGrant struct {
	UserID     string
	ClientID   string
	Scopes     []string
	GrantedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Kinds of OAuthToken rows.
const (
	OAuthCode    = "code"    // authorization code
	OAuthAccess  = "access"  // access token
	OAuthRefresh = "refresh" // refresh token
	OAuthPKCE    = "pkce"    // PKCE challenge of an authorization code
	OAuthOIDC    = "oidc"    // OpenID Connect request of an authorization code
)

// OAuthToken is one row of the OAuth provider's token storage: Signature is
// the token's signature as the provider gives it (never the token itself),
// RequestID ties the tokens of one authorization together (a family that
// is revoked at once) and Data is the provider's serialized request. An
// inactive row was spent (a code exchanged, a refresh token rotated) and is
// kept to detect reuse.
type OAuthToken struct {
	Kind      string // OAuth…
	Signature string
	RequestID string
	ClientID  string
	UserID    string
	Data      []byte
	Active    bool
	CreatedAt time.Time
	ExpiresAt time.Time
	SessionID string // the OpenID Connect "sid" of the browser session it was issued in; "" when none
}

// OAuthKey is a key that signs ID tokens. Private is the private key in
// PKCS #8 DER (sealed in the database under the secrets key, if any).
type OAuthKey struct {
	ID        string // the JWK "kid"
	Alg       string // e.g. "ES256"
	Private   []byte
	CreatedAt time.Time
}

// Store is what the server needs from storage. *DB implements it for SQLite
// and PostgreSQL. Every Get/Find returns ErrNotFound when nothing matches;
// every Update/Delete of a missing row returns ErrNotFound.
type Store interface {
	// Users.
	CreateUser(ctx context.Context, u *User) error // ErrConflict on a taken email/phone
	UserByID(ctx context.Context, id string) (*User, error)
	UserByLogin(ctx context.Context, login string) (*User, error) // email (case-insensitive) or phone
	UserByWebAuthnID(ctx context.Context, handle []byte) (*User, error)
	UpdateUser(ctx context.Context, u *User) error // all fields but ID and CreatedAt
	CountUsers(ctx context.Context) (int, error)
	// RecordLoginFailure increments FailedLogins and sets LockedUntil in one
	// statement, returning the new count; lock computes the lock end from it.
	RecordLoginFailure(ctx context.Context, userID string, lock func(failures int) time.Time) (int, error)
	ResetLoginFailures(ctx context.Context, userID string) error

	// Second-step methods.
	AddMethod(ctx context.Context, m *Method) error // ErrConflict when the user already has the same kind+phone
	Methods(ctx context.Context, userID string) ([]Method, error)
	Method(ctx context.Context, userID, id string) (*Method, error)
	UpdateMethod(ctx context.Context, m *Method) error
	DeleteMethod(ctx context.Context, userID, id string) error
	// UseTOTPStep moves the method's LastStep to step only if step is greater
	// than the stored one (atomically); ErrUsed otherwise.
	UseTOTPStep(ctx context.Context, methodID string, step int64, at time.Time) error

	// Backup codes.
	ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error // drops the old set
	BackupCodes(ctx context.Context, userID string) ([]BackupCode, error)
	// UseBackupCode marks the code with this hash used; ErrUsed if it was,
	// ErrNotFound if the user has no such code.
	UseBackupCode(ctx context.Context, userID string, hash []byte, at time.Time) error

	// Security keys.
	AddSecurityKey(ctx context.Context, k *SecurityKey) error // ErrConflict on a known credential id
	SecurityKeys(ctx context.Context, userID string) ([]SecurityKey, error)
	SecurityKeyByCredentialID(ctx context.Context, credID []byte) (*SecurityKey, error)
	UpdateSecurityKey(ctx context.Context, k *SecurityKey) error // Name, Credential, LastUsedAt
	DeleteSecurityKey(ctx context.Context, userID, id string) error

	// Trusted devices.
	AddDevice(ctx context.Context, d *Device) error
	Devices(ctx context.Context, userID string) ([]Device, error)
	Device(ctx context.Context, userID, id string) (*Device, error)
	DeviceByToken(ctx context.Context, tokenHash []byte) (*Device, error)
	UpdateDevice(ctx context.Context, d *Device) error // Name, Kind, Browser, OS, IP, UserAgent, LastSeenAt, TrustedUntil
	// DeleteDevice removes the device and every session bound to it, in one
	// transaction.
	DeleteDevice(ctx context.Context, userID, id string) error

	// Sessions.
	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)                      // expired ones count as not found
	Sessions(ctx context.Context, userID string, now time.Time) ([]Session, error) // unexpired, full-stage
	TouchSession(ctx context.Context, id string, at time.Time, ip string) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSession(ctx context.Context, userID, id string) error // ErrNotFound unless it is the user's
	// DeleteOtherSessions ends every session of the user but keepID; it
	// returns how many ended.
	DeleteOtherSessions(ctx context.Context, userID, keepID string) (int, error)

	// Activity.
	AddActivity(ctx context.Context, a *Activity) error // sets a.ID
	// ActivityPage returns up to limit events older than beforeID (0: the
	// newest), newest first.
	ActivityPage(ctx context.Context, userID string, beforeID int64, limit int) ([]Activity, error)
	// ActivityCategoryPage is ActivityPage of the events of one category
	// (api.ActivitySignIns, api.ActivityApprovals, api.ActivityChanges; see
	// ActivityCategory); "" is every category.
	ActivityCategoryPage(ctx context.Context, userID, category string, beforeID int64, limit int) ([]Activity, error)

	// Password reset.
	AddResetToken(ctx context.Context, t *ResetToken) error
	// ResetToken reads a token without using it: UsedAt is set when it was
	// used; ErrNotFound if there is no such token.
	ResetToken(ctx context.Context, hash []byte) (*ResetToken, error)
	// UseResetToken marks the token used and returns it; ErrUsed if spent,
	// ErrNotFound if unknown. Expiry is the caller's to check.
	UseResetToken(ctx context.Context, hash []byte, at time.Time) (*ResetToken, error)

	// API tokens.
	AddAPIToken(ctx context.Context, t *APIToken) error
	APITokens(ctx context.Context, userID string) ([]APIToken, error) // revoked ones too
	APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	RevokeAPIToken(ctx context.Context, userID, id string, at time.Time) error
	// RevokeSignIns ends the user's sessions but keepSessionID, API tokens
	// and OAuth codes and tokens (not the grants, not approver devices) in
	// one transaction, as a password change or reset does.
	RevokeSignIns(ctx context.Context, userID, keepSessionID string, at time.Time) (Revoked, error)

	// SMS and voice codes.
	AddSMSCode(ctx context.Context, c *SMSCode) error
	LatestSMSCode(ctx context.Context, userID string) (*SMSCode, error) // the newest unused one
	// TrySMSCode counts one try on the code (atomically) and returns the new
	// count.
	TrySMSCode(ctx context.Context, id string) (int, error)
	UseSMSCode(ctx context.Context, id string, at time.Time) error // ErrUsed if spent

	// WebAuthn ceremonies.
	AddChallenge(ctx context.Context, c *Challenge) error
	// TakeChallenge returns and deletes the challenge (single use).
	TakeChallenge(ctx context.Context, id string) (*Challenge, error)

	// Approver devices.
	// RedeemPairingCode spends the unexpired code with this hash and adds a
	// as an approver of the code's account (a.UserID is set from it), in one
	// transaction; ErrUsed if the code was spent, ErrNotFound if it is
	// unknown or expired at.
	AddPairingCode(ctx context.Context, c *PairingCode) error
	RedeemPairingCode(ctx context.Context, hash []byte, at time.Time, a *Approver) error
	Approvers(ctx context.Context, userID string) ([]Approver, error) // paired ones, oldest first
	Approver(ctx context.Context, id string) (*Approver, error)       // removed ones too
	TouchApprover(ctx context.Context, id string, at time.Time) error
	RenameApprover(ctx context.Context, userID, id, name string) error // ErrNotFound unless it is the user's paired approver
	// RemoveApprover marks the user's approver removed, deletes its
	// challenges, and appends ev (its UserID and CreatedAt are set) in one
	// transaction. ErrNotFound unless it is the user's paired approver. Its
	// tokens stay until they expire so that using one can be told apart
	// from using an unknown token: the caller checks the approver's
	// RemovedAt.
	RemoveApprover(ctx context.Context, userID, id string, at time.Time, ev *ApprovalEvent) error

	// Device challenges and tokens.
	AddDeviceChallenge(ctx context.Context, c *DeviceChallenge) error
	// TakeDeviceChallenge deletes the challenge and returns it (single use);
	// expiry is the caller's to check.
	TakeDeviceChallenge(ctx context.Context, hash []byte) (*DeviceChallenge, error)
	AddDeviceToken(ctx context.Context, t *DeviceToken) error
	DeviceTokenByHash(ctx context.Context, hash []byte) (*DeviceToken, error) // expired ones too

	// Approval requests.
	// CreateApprovalRequest stores r and appends ev, in one transaction,
	// unless the user already has maxPending requests pending and unexpired
	// at r.CreatedAt: then ErrLimit. An empty r.ID is filled in.
	CreateApprovalRequest(ctx context.Context, r *ApprovalRequest, maxPending int, ev *ApprovalEvent) error
	ApprovalRequest(ctx context.Context, id string) (*ApprovalRequest, error)
	// SessionApprovalRequest returns the session's newest request.
	SessionApprovalRequest(ctx context.Context, sessionID string) (*ApprovalRequest, error)
	// PendingApprovalRequests lists the user's requests pending and
	// unexpired at now, oldest first.
	PendingApprovalRequests(ctx context.Context, userID string, now time.Time) ([]ApprovalRequest, error)
	// ExpiredApprovalRequests lists requests (of every user) still pending
	// whose expiry is at or before now, up to limit, oldest first.
	ExpiredApprovalRequests(ctx context.Context, now time.Time, limit int) ([]ApprovalRequest, error)
	// ResolveApprovalRequest applies res to a pending request and appends
	// ev, in one transaction; ErrUsed when the request is no longer pending
	// (or, see Resolution, has or has not expired), ErrNotFound when there is
	// no such request.
	ResolveApprovalRequest(ctx context.Context, res Resolution, ev *ApprovalEvent) error
	// CountApprovalRequests counts the user's requests with one of statuses
	// decided at or after since.
	CountApprovalRequests(ctx context.Context, userID string, since time.Time, statuses ...string) (int, error)
	// ConsumeApprovalRequest marks the session's approved request consumed;
	// ErrUsed if it was, ErrNotFound unless it is the session's approved
	// request.
	ConsumeApprovalRequest(ctx context.Context, id, sessionID string, at time.Time) error
	// ApprovalEvents returns up to limit of the user's events with Seq above
	// afterSeq, oldest first.
	ApprovalEvents(ctx context.Context, userID string, afterSeq int64, limit int) ([]ApprovalEvent, error)
	// LastApprovalEventSeq returns the highest Seq of the user's events, 0
	// when none.
	LastApprovalEventSeq(ctx context.Context, userID string) (int64, error)
	// Account setting "require a security-key touch to approve".
	SetApprovalRequireKey(ctx context.Context, userID string, on bool) error
	ApprovalRequireKey(ctx context.Context, userID string) (bool, error) // false when never set

	// Household.
	Members(ctx context.Context, userID string) ([]Member, error) // owner first, then oldest first
	Member(ctx context.Context, userID, id string) (*Member, error)
	OwnerMember(ctx context.Context, userID string) (*Member, error)
	// AddMember adds a member (an empty m.ID is filled in, an empty Role is
	// api.RoleMember); ErrConflict when the household has the name already
	// (compared case-insensitively).
	AddMember(ctx context.Context, m *Member) error
	RenameMember(ctx context.Context, userID, id, name string) error // ErrConflict, ErrNotFound
	// RemoveMember removes a member that is not the owner (ErrConflict for
	// the owner) with all their devices, in one transaction: their
	// approvers are marked removed (their tokens then fail at once, as
	// after RemoveApprover) and lose their challenges, their trusted
	// browsers are deleted with their sessions, their security keys,
	// unused pairing codes and share offers are deleted, and events are
	// appended (the approvers' "unpaired" events).
	RemoveMember(ctx context.Context, userID, id string, at time.Time, events []*ApprovalEvent) error
	// SetSharesAuthenticator sets the member's SharesAuthenticator;
	// turning it off also deletes the member's unanswered share offers.
	SetSharesAuthenticator(ctx context.Context, userID, memberID string, on bool) error
	// SetDeviceMember moves a device of deviceType (api.DeviceBrowser,
	// api.DeviceApprover, api.DeviceSecurityKey) to memberID. ErrNotFound
	// unless both are the user's. Who may move what is the callers' rule
	// (household.Permit): the store only keeps devices within the account.
	SetDeviceMember(ctx context.Context, userID, deviceType, id, memberID string) error
	// AddShareOffer stores o (an empty ID is filled in) in place of any
	// unanswered offer for the same device, and appends ev, in one
	// transaction.
	AddShareOffer(ctx context.Context, o *ShareOffer, ev *ApprovalEvent) error
	ShareOffers(ctx context.Context, deviceID string) ([]ShareOffer, error) // unanswered, oldest first
	ShareOffer(ctx context.Context, id string) (*ShareOffer, error)
	// AnswerShareOffer marks the device's unanswered offer accepted or
	// declined and drops its sealed secret; ErrNotFound unless it is an
	// unanswered offer of deviceID.
	AnswerShareOffer(ctx context.Context, id, deviceID string, accepted bool, at time.Time) error
	// AppendEvent appends an event outside any other write (its UserID is
	// set, and CreatedAt when zero); on PostgreSQL it wakes every
	// instance's streams as every event does.
	AppendEvent(ctx context.Context, userID string, ev *ApprovalEvent) error

	// OAuth apps ("Sign in with Countersign").
	CreateOAuthClient(ctx context.Context, c *OAuthClient) error // an empty c.ID is filled in
	OAuthClient(ctx context.Context, id string) (*OAuthClient, error)
	OAuthClients(ctx context.Context, ownerID string) ([]OAuthClient, error) // oldest first
	SetOAuthClientSecret(ctx context.Context, ownerID, id string, hash []byte) error
	// DeleteOAuthClient removes the owner's app with its grants and tokens.
	DeleteOAuthClient(ctx context.Context, ownerID, id string) error

	// OAuth grants.
	// SaveOAuthGrant records g: a new grant, or new scopes and last use of
	// an existing one (GrantedAt is kept unless the grant was revoked; then
	// access and refresh tokens left over from before are deleted).
	SaveOAuthGrant(ctx context.Context, g *OAuthGrant) error
	OAuthGrant(ctx context.Context, userID, clientID string) (*OAuthGrant, error) // revoked ones are not found
	OAuthGrants(ctx context.Context, userID string) ([]OAuthGrant, error)         // unrevoked, oldest first
	// TouchOAuthGrant sets the grant's LastUsedAt to at when it is before
	// olderThan (so busy apps write at most once in a while).
	TouchOAuthGrant(ctx context.Context, userID, clientID string, at, olderThan time.Time) error
	// RevokeOAuthGrant marks the grant revoked and deletes every token of
	// the user and app, in one transaction; ErrNotFound when there is no
	// unrevoked grant.
	RevokeOAuthGrant(ctx context.Context, userID, clientID string, at time.Time) error

	// OAuth token storage.
	AddOAuthToken(ctx context.Context, t *OAuthToken) error // ErrConflict on a taken kind+signature
	OAuthToken(ctx context.Context, kind, signature string) (*OAuthToken, error)
	// DeactivateOAuthToken marks the token spent; ErrUsed if it was.
	DeactivateOAuthToken(ctx context.Context, kind, signature string) error
	DeleteOAuthToken(ctx context.Context, kind, signature string) error
	// DeleteOAuthRequestTokens deletes every token of the kind issued for
	// the request; none is not an error.
	DeleteOAuthRequestTokens(ctx context.Context, kind, requestID string) error

	// Sign-in alerts (alerts.go).
	RememberSignIn(ctx context.Context, userID string, seen []SeenSignIn, at time.Time) (fresh []SeenSignIn, first bool, err error)
	AlertSettings(ctx context.Context, userID string) (AlertSettings, error)
	SetAlertSettings(ctx context.Context, userID string, a AlertSettings) error
	AddSignInAlert(ctx context.Context, a *SignInAlert) error
	SignInAlert(ctx context.Context, id string) (*SignInAlert, error)
	DisownSignIn(ctx context.Context, alertID string, at time.Time, sids func(sessionID string) string) (*SignInAlert, Disowned, error)
	MoveSignIn(ctx context.Context, userID, oldID, newID, oldSID, newSID string) error

	// ID token signing keys.
	AddOAuthKey(ctx context.Context, k *OAuthKey) error
	OAuthKeys(ctx context.Context) ([]OAuthKey, error) // newest first

	// Server settings: a small key/value table for things every instance
	// must share (e.g. the HMAC key for CSRF tokens), sealed in the
	// database under the secrets key, if any.
	Setting(ctx context.Context, key string) ([]byte, error)
	// SetSettingIfAbsent stores value unless the key exists, and returns the
	// stored value either way (so concurrent instances agree).
	SetSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)

	// Purge deletes expired sessions, challenges, SMS codes, reset tokens,
	// pairing codes, device challenges and tokens, OAuth codes (exchanged
	// or not) and tokens, expired sign-in alerts, and approval events older
	// than a day.
	Purge(ctx context.Context, now time.Time) error
	Ping(ctx context.Context) error
	// CheckWrite writes and commits a row of its own: the database can
	// write (a full disk makes it fail with ErrStorageFull in the chain,
	// as Outage tells).
	CheckWrite(ctx context.Context) error
	Close() error

	// Vault sync between one member's desktops (vaultsync.go).
	SyncStore
}

// Activity kinds. The server records one of these for every security event.
const (
	ActSignUp          = "account.created"
	ActSignIn          = "signin.success"
	ActSignInFailed    = "signin.failure"
	ActConfirmed       = "signin.confirmed" // a fresh sign-in through the API (step-up)
	ActSignOut         = "signout"
	ActTwoStepUsed     = "twostep.used" // Detail names the method
	ActTwoStepFailed   = "twostep.failure"
	ActTwoStepOn       = "twostep.enabled"
	ActTwoStepOff      = "twostep.disabled"
	ActMethodAdded     = "method.added"
	ActMethodRemoved   = "method.removed"
	ActBackupCodes     = "backupcodes.regenerated"
	ActKeyAdded        = "securitykey.added"
	ActKeyRemoved      = "securitykey.removed"
	ActPasskeyAdded    = "passkey.added"
	ActPasskeyRemoved  = "passkey.removed"
	ActDeviceTrusted   = "device.trusted"
	ActDeviceRenamed   = "device.renamed"
	ActDeviceRemoved   = "device.removed"
	ActPasswordChanged = "password.changed"
	ActPasswordReset   = "password.reset"
	ActResetRequested  = "password.reset_requested"
	ActSessionRevoked  = "session.revoked"
	ActLockedOut       = "account.locked"
	ActTokenCreated    = "apitoken.created"
	ActTokenRevoked    = "apitoken.revoked"

	ActApproverPaired    = "approver.paired"
	ActApproverRemoved   = "approver.removed"
	ActApprovalRequested = "approval.requested"
	ActApprovalApproved  = "approval.approved"
	ActApprovalDenied    = "approval.denied"
	ActApprovalReported  = "approval.reported"
	ActApprovalExpired   = "approval.expired"

	ActOAuthGranted = "oauth.granted" // Detail names the app and scopes
	ActOAuthRevoked = "oauth.revoked" // Detail names the app

	ActMemberAdded   = "household.member_added"
	ActMemberRenamed = "household.member_renamed"
	ActMemberRemoved = "household.member_removed"
	ActInvited       = "household.invited"
	ActShared        = "authenticator.shared"
	ActUnshared      = "authenticator.unshared"
	ActShareAccepted = "authenticator.share_accepted"
	ActShareDeclined = "authenticator.share_declined"
	ActDeviceMoved   = "device.moved"

	ActSignInAlerted  = "signin.alerted"  // a sign-in from a new browser or place; Detail names it and the channels told
	ActSignInDisowned = "signin.disowned" // "This wasn't me": Detail names the sign-in and what ended
	ActAlertSettings  = "alerts.changed"  // Detail names the channels on and off
)
