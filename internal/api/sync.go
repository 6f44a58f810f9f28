package api

import "time"

// Vault sync between one person's desktops (the approvers of one household
// member). The server keeps only what these types carry: opaque entry ids,
// version numbers, key generations and ciphertext (base64url, no padding).

// EventVault is the stream event that tells a scope's other desktops that
// its records or join requests changed (VaultChanged).
const EventVault = "vault"

// VaultChanged is the data of a "vault" event.
type VaultChanged struct {
	MemberID string `json:"member_id"` // the scope: this member's desktops
	DeviceID string `json:"device_id"` // the desktop that caused it (not told)
	Cursor   int64  `json:"cursor"`    // the last record's seq
	Join     bool   `json:"join,omitempty"`
	Rotated  bool   `json:"rotated,omitempty"`
}

// Error codes of the sync endpoints.
const (
	CodeSyncConflict = "sync_conflict" // 409: entries moved on: pull, merge, push again (SyncConflict.Versions)
	CodeRotateFirst  = "rotate_first"  // 409: a desktop holding the key went: a remaining one must rotate first
	CodeGeneration   = "wrong_generation"
	CodeNotSyncing   = "not_syncing" // 409: this desktop does not sync (start or join)
	CodeSyncing      = "syncing"     // 409: this desktop's member syncs already: join instead
)

// SyncStatus answers GET sync.
type SyncStatus struct {
	Syncing bool `json:"syncing"` // the member's desktops sync
	// Scope names the member's sync as the server keeps it, opaque; it
	// changes when the desktop is moved to another member and when the
	// sync is turned off and started again. "" when not syncing.
	Scope       string       `json:"scope"`
	Generation  int          `json:"generation"`
	RotateFirst bool         `json:"rotate_first"`
	Cursor      int64        `json:"cursor"`
	Devices     []SyncDevice `json:"devices"`
	// Key is the scope's key of the current generation sealed to the
	// calling desktop; "" when it does not hold it.
	Key string `json:"key"`
}

// SyncDevice is a desktop holding the key; Live is false for one removed
// (or moved to another member) since the last rotation.
type SyncDevice struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PublicKey  string `json:"public_key"`
	Generation int    `json:"generation"`
	Live       bool   `json:"live"`
}

// SyncStart is POST sync/start: the first desktop's own key.
type SyncStart struct {
	Generation int    `json:"generation"`
	Sealed     string `json:"sealed"`
}

// SyncRecord is one version of one entry.
type SyncRecord struct {
	Seq        int64  `json:"seq"` // set by the server
	Entry      string `json:"entry"`
	Version    int64  `json:"version"`
	Generation int    `json:"generation"`
	Sealed     string `json:"sealed"`
	DeviceID   string `json:"device_id"` // set by the server: the writer
}

// SyncRecords answers GET sync/records: the records after the cursor that
// are still their entry's latest version, and the cursor to ask from next.
type SyncRecords struct {
	Records []SyncRecord `json:"records"`
	Cursor  int64        `json:"cursor"`
	More    bool         `json:"more"`
}

// SyncPush is POST sync/records: each record the next version of its
// entry, all or none.
type SyncPush struct {
	Generation int          `json:"generation"`
	Records    []SyncRecord `json:"records"`
}

// SyncPushed answers a push or a rotation.
type SyncPushed struct {
	Cursor int64 `json:"cursor"`
}

// SyncConflict is the 409 sync_conflict answer.
type SyncConflict struct {
	Error    string           `json:"error"`
	Code     string           `json:"code"`
	Versions map[string]int64 `json:"versions"`
}

// SyncJoinRequest is POST sync/joins: a desktop asks to join with a nonce
// of its own (base64url, 16 bytes).
type SyncJoinRequest struct {
	Nonce string `json:"nonce"`
}

// SyncJoin is a join request as the syncing desktops see it.
type SyncJoin struct {
	ID         string    `json:"id"`
	DeviceID   string    `json:"device_id"`
	DeviceName string    `json:"device_name"`
	PublicKey  string    `json:"public_key"`
	Nonce      string    `json:"nonce"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// SyncJoinList answers GET sync/joins.
type SyncJoinList struct {
	Joins []SyncJoin `json:"joins"`
}

// SyncApproval is POST sync/joins/{id}/approve: the key sealed to the
// joining desktop.
type SyncApproval struct {
	Generation int    `json:"generation"`
	Sealed     string `json:"sealed"`
}

// SyncRotation is POST sync/rotate: the next generation's key sealed to
// every remaining desktop, and every entry re-sealed under it.
type SyncRotation struct {
	Generation int               `json:"generation"`
	Keys       map[string]string `json:"keys"` // device id → sealed key
	Records    []SyncRecord      `json:"records"`
}
