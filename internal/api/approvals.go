package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Pairing and sign-in approvals: a desktop companion pairs with an account
// as an approver device, proves who it is by signing challenges with its
// Ed25519 key, and approves or denies the account's sign-ins.

// Pairing is the body of POST pairings: a companion redeems a pairing code
// with its public key (Ed25519, 32 raw bytes in base64url without padding).
type Pairing struct {
	Code      string `json:"code"` // dash, spaces and case are ignored
	PublicKey string `json:"public_key"`
	Name      string `json:"name"`     // 1–64 characters, e.g. "Sam's laptop"
	Platform  string `json:"platform"` // e.g. "linux", "windows", "darwin"
}

// AccountRef names an account in answers about it.
type AccountRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// PairingResult answers a redeemed Pairing.
type PairingResult struct {
	DeviceID string     `json:"device_id"`
	Account  AccountRef `json:"account"`
	Server   string     `json:"server"` // the server's public URL
}

// AuthChallengeRequest is the body of POST auth/challenge.
type AuthChallengeRequest struct {
	DeviceID string `json:"device_id"`
}

// AuthChallenge is a single-use challenge for a device to sign (see
// AuthMessage).
type AuthChallenge struct {
	Challenge string    `json:"challenge"` // base64url of 32 random bytes
	ExpiresAt time.Time `json:"expires_at"`
}

// AuthTokenRequest is the body of POST auth/token: the challenge signed
// with the device key over AuthMessage, signature in base64url.
type AuthTokenRequest struct {
	DeviceID  string `json:"device_id"`
	Challenge string `json:"challenge"`
	Signature string `json:"signature"`
}

// AuthToken is a short-lived device token ("csd_…").
type AuthToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Approver is a paired approver device.
type Approver struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Platform   string    `json:"platform"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at,omitzero"`
}

// ApproverList is the answer to GET approvers.
type ApproverList struct {
	Approvers []Approver `json:"approvers"`
}

// Approval is a pending sign-in waiting for a decision. Numbers holds the
// number the browser shows and two decoys, shuffled. With RequireKey the
// decision must carry a security-key assertion answering KeyOptions
// (WebAuthn request options, as for navigator.credentials.get).
type Approval struct {
	ID         string          `json:"id"`
	Nonce      string          `json:"nonce"`
	Numbers    []int           `json:"numbers"`
	Account    AccountRef      `json:"account"`
	Browser    string          `json:"browser"`
	OS         string          `json:"os"`
	IP         string          `json:"ip"`
	Place      string          `json:"place"`
	App        string          `json:"app"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  time.Time       `json:"expires_at"`
	RequireKey bool            `json:"require_key"`
	KeyOptions json.RawMessage `json:"key_options"`
}

// ApprovalList is the answer to GET approvals: the pending, unexpired ones.
type ApprovalList struct {
	Approvals []Approval `json:"approvals"`
}

// Approval statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusDenied    = "denied"
	StatusReported  = "reported"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
)

// Decisions a device may take.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
	DecisionReport  = "report"
)

// Stream event names.
const (
	EventApproval = "approval"
	EventResolved = "resolved"
	EventUnpaired = "unpaired"
)

// Resolved is the data of a "resolved" event: a request stopped pending.
// DecidedBy names the device that decided ("" when it expired or was
// cancelled).
type Resolved struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	DecidedBy string    `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// Unpaired is the data of an "unpaired" event: the device was removed.
type Unpaired struct {
	DeviceID string `json:"device_id"`
}

// StreamEvent is one event of the approvals stream: ID is the per-account
// increasing sequence number (the SSE id), Event one of EventApproval,
// EventResolved, EventUnpaired, Data its JSON (Approval, Resolved, Unpaired).
type StreamEvent struct {
	ID    int64           `json:"id"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// PollResult is the answer to GET approvals/poll. Cursor is the id of the
// last event the server read for it, kept or filtered out: the after of the
// next poll.
type PollResult struct {
	Events []StreamEvent `json:"events"`
	Cursor int64         `json:"cursor"`
}

// Decision is the body of POST approvals/{id}/decision. Signature is the
// device key's signature over DecisionMessage, in base64url. Number is the
// number picked (0 for deny and report). Assertion answers the Approval's
// KeyOptions when it requires a security key.
type Decision struct {
	Decision  string          `json:"decision"`
	Number    int             `json:"number"`
	Nonce     string          `json:"nonce"`
	Signature string          `json:"signature"`
	Assertion json.RawMessage `json:"assertion"`
}

// DecisionResult answers a Decision: "approved", "denied" or "reported".
type DecisionResult struct {
	Status string `json:"status"`
}

// Error codes of pairing and approvals.
const (
	CodeInvalidCode      = "invalid_code"      // 400: the pairing code is wrong, used or expired
	CodeDeviceRevoked    = "device_revoked"    // 401: the device was removed (or never paired)
	CodeInvalidSignature = "invalid_signature" // 401: bad signature, or an unknown, used or expired challenge
	CodeAlreadyDecided   = "already_decided"   // 409: another decision came first
	CodeExpired          = "expired"           // 410: the request expired
	CodeForeign          = "foreign"           // 403: the request belongs to another account
	CodeKeyRequired      = "key_required"      // 400: the request needs a security-key assertion
	CodeKeyFailed        = "key_failed"        // 400: the security-key assertion did not verify
	CodeTooMany          = "too_many_pending"  // 429: too many sign-in requests are waiting
)

// Scope of device tokens besides ScopeRead.
const ScopeApprove = "approve"

// DeviceTokenPrefix starts every device token.
const DeviceTokenPrefix = "csd_"

// AuthMessage is what a device signs to get a token: the challenge is the
// base64url string as the server sent it.
func AuthMessage(deviceID, challenge string) []byte {
	return []byte("countersign-auth-v1\n" + deviceID + "\n" + challenge)
}

// DecisionMessage is what a device signs to decide a request; number is the
// number picked, 0 for deny and report.
func DecisionMessage(requestID, nonce, decision string, number int) []byte {
	return []byte("countersign-decision-v1\n" + requestID + "\n" + nonce + "\n" + decision + "\n" + strconv.Itoa(number))
}

// PairCodeAlphabet is what pairing codes are made of: no 0, 1, I, O.
const PairCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// PairCodeLen is the length of a pairing code without its dash.
const PairCodeLen = 8

// ErrPairURI means a string is not a countersign://pair URI.
var ErrPairURI = errors.New("not a countersign pairing link: want countersign://pair?server=…&code=…")

// NormalizePairCode drops dashes and white space and upper-cases the rest,
// so "k7q9-m2xd" and "K7Q9 M2XD" both become "K7Q9M2XD".
func NormalizePairCode(code string) string {
	var b strings.Builder
	b.Grow(len(code))
	for _, r := range code {
		switch r {
		case '-', ' ', '\t', '\n', '\r':
			continue
		}
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// GroupPairCode shows a normalized code in two groups: "K7Q9-M2XD".
func GroupPairCode(code string) string {
	if len(code) != PairCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// PairURI is the link a QR code carries to pair a companion with server.
func PairURI(server, code string) string {
	return "countersign://pair?server=" + url.QueryEscape(server) + "&code=" + url.QueryEscape(NormalizePairCode(code))
}

// ParsePairURI reads a link made by PairURI; the code comes back
// normalized. It fails with ErrPairURI for anything else.
func ParsePairURI(s string) (server, code string, err error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || !strings.EqualFold(u.Scheme, "countersign") {
		return "", "", ErrPairURI
	}
	// countersign://pair?… has host "pair"; countersign:pair?… is opaque.
	if !strings.EqualFold(u.Host, "pair") && !strings.EqualFold(u.Opaque, "pair") {
		return "", "", ErrPairURI
	}
	if u.Path != "" && u.Path != "/" {
		return "", "", ErrPairURI
	}
	q := u.Query()
	server, code = q.Get("server"), NormalizePairCode(q.Get("code"))
	su, err := url.Parse(server)
	if err != nil || (su.Scheme != "http" && su.Scheme != "https") || su.Host == "" || code == "" {
		return "", "", ErrPairURI
	}
	return server, code, nil
}
