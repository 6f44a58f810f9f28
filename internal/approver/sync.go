package approver

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/sealed"
)

// The desktop's side of vault sync's server API: the sync key sealed to
// this desktop, joining with a short code, the records and rotation.
// Package vaultsync/syncer maps the vault onto the records.

// Errors of vault sync callers branch on.
var (
	// ErrNotSyncing: this desktop does not hold the sync key.
	ErrNotSyncing = errors.New("this desktop does not sync the vault: start sync here, or ask to join and approve on a desktop that syncs")
	// ErrWrongCode: the code typed is not the one this desktop computes
	// for the join request: do not approve (the server may have swapped
	// the joining desktop's key).
	ErrWrongCode = errors.New("the code does not match the join request: check it on the joining desktop; if it shows this code, someone is in between: do not approve")
	// ErrSyncKey: the sealed key does not open, or is not for this
	// account and generation.
	ErrSyncKey = errors.New("the sync key sealed to this desktop does not open: it was altered or is not this account's: ask a syncing desktop to approve this one again")
)

// syncKeySize is the sync key's size (vaultsync.KeySize).
const syncKeySize = 32

// syncRandMu serializes reads of a Manager's randomness here (a test's
// reader need not be safe for concurrent use).
var syncRandMu sync.Mutex

func (m *Manager) random(n int) ([]byte, error) {
	b := make([]byte, n)
	syncRandMu.Lock()
	_, err := io.ReadFull(m.rand, b)
	syncRandMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("randomness: %w", err)
	}
	return b, nil
}

// SyncKey is a generation of an account's sync key.
type SyncKey struct {
	Generation int
	Key        []byte // secret: never log it
}

// keyEnvelope is what a sealed sync key opens to: bound to the account
// and generation so that the server cannot pass one off as another.
type keyEnvelope struct {
	V          int    `json:"v"`
	Account    string `json:"account"`
	Generation int    `json:"generation"`
	Key        []byte `json:"key"`
}

// sealKey seals k to pub for the account.
func (m *Manager) sealKey(accountID string, pub ed25519.PublicKey, k SyncKey) (string, error) {
	plain, err := json.Marshal(keyEnvelope{V: 1, Account: accountID, Generation: k.Generation, Key: k.Key})
	if err != nil {
		return "", err
	}
	defer clear(plain)
	syncRandMu.Lock()
	box, err := sealed.Seal(m.rand, pub, plain)
	syncRandMu.Unlock()
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(box), nil
}

// openKey opens a key sealed to this desktop.
func openKey(priv ed25519.PrivateKey, accountID string, gen int, s string) (SyncKey, error) {
	box, err := b64.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return SyncKey{}, ErrSyncKey
	}
	plain, err := sealed.Open(priv, box)
	if err != nil {
		return SyncKey{}, ErrSyncKey
	}
	defer clear(plain)
	var e keyEnvelope
	if json.Unmarshal(plain, &e) != nil || e.V != 1 || e.Account != accountID || e.Generation != gen || len(e.Key) != syncKeySize {
		return SyncKey{}, ErrSyncKey
	}
	return SyncKey{Generation: gen, Key: e.Key}, nil
}

// SyncStatus is the account's sync as the server tells it.
func (m *Manager) SyncStatus(ctx context.Context, accountID string) (api.SyncStatus, error) {
	var st api.SyncStatus
	err := m.Call(ctx, accountID, http.MethodGet, "/api/v1/sync", nil, &st)
	return st, err
}

// SyncKey returns the sync status and this desktop's key of its current
// generation; ErrNotSyncing when it holds none.
func (m *Manager) SyncKey(ctx context.Context, accountID string) (api.SyncStatus, SyncKey, error) {
	st, err := m.SyncStatus(ctx, accountID)
	if err != nil {
		return st, SyncKey{}, err
	}
	if !st.Syncing || st.Key == "" {
		return st, SyncKey{}, ErrNotSyncing
	}
	a, priv, err := m.accountKey(accountID)
	if err != nil {
		return st, SyncKey{}, err
	}
	k, err := openKey(priv, a.AccountID, st.Generation, st.Key)
	return st, k, err
}

func (m *Manager) accountKey(accountID string) (*account, ed25519.PrivateKey, error) {
	a, err := m.paired(accountID)
	if err != nil {
		return nil, nil, err
	}
	priv, err := m.key(a)
	if err != nil {
		return nil, nil, err
	}
	return a, priv, nil
}

// SyncStart starts the account's sync with a new key, this desktop the
// first to hold it.
func (m *Manager) SyncStart(ctx context.Context, accountID string) (SyncKey, error) {
	a, priv, err := m.accountKey(accountID)
	if err != nil {
		return SyncKey{}, err
	}
	key, err := m.random(syncKeySize)
	if err != nil {
		return SyncKey{}, err
	}
	k := SyncKey{Generation: 1, Key: key}
	s, err := m.sealKey(a.AccountID, priv.Public().(ed25519.PublicKey), k)
	if err != nil {
		return SyncKey{}, err
	}
	if err := m.authed(ctx, a, http.MethodPost, "/api/v1/sync/start", api.SyncStart{Generation: 1, Sealed: s}, nil); err != nil {
		return SyncKey{}, err
	}
	return k, nil
}

// SyncStop takes this desktop out of the account's sync.
func (m *Manager) SyncStop(ctx context.Context, accountID string) error {
	return m.Call(ctx, accountID, http.MethodDelete, "/api/v1/sync", nil, nil)
}

// JoinCode is the short code both desktops show for a join request: six
// digits of SHA-256 over the joining desktop's public key and the
// request's nonce. The joining desktop computes it from its own key; the
// approving one from what the server says, so a server that put another
// key in the request makes the two codes differ.
func JoinCode(pub []byte, nonce []byte) string {
	h := sha256.New()
	h.Write([]byte("countersign-sync-join-v1\n"))
	h.Write(pub)
	h.Write(nonce)
	sum := h.Sum(nil)
	return fmt.Sprintf("%06d", binary.BigEndian.Uint32(sum[:4])%1_000_000)
}

// SyncJoin asks to join the account's sync; the code is what this desktop
// shows and the approving one must show too.
func (m *Manager) SyncJoin(ctx context.Context, accountID string) (api.SyncJoin, string, error) {
	a, priv, err := m.accountKey(accountID)
	if err != nil {
		return api.SyncJoin{}, "", err
	}
	nonce, err := m.random(16)
	if err != nil {
		return api.SyncJoin{}, "", err
	}
	var j api.SyncJoin
	if err := m.authed(ctx, a, http.MethodPost, "/api/v1/sync/joins", api.SyncJoinRequest{Nonce: b64.EncodeToString(nonce)}, &j); err != nil {
		return api.SyncJoin{}, "", err
	}
	return j, JoinCode(priv.Public().(ed25519.PublicKey), nonce), nil
}

// JoinRequest is a desktop asking to join, with the code computed here
// from what the server says.
type JoinRequest struct {
	api.SyncJoin
	Code string
}

// SyncJoins lists the desktops asking to join.
func (m *Manager) SyncJoins(ctx context.Context, accountID string) ([]JoinRequest, error) {
	var l api.SyncJoinList
	if err := m.Call(ctx, accountID, http.MethodGet, "/api/v1/sync/joins", nil, &l); err != nil {
		return nil, err
	}
	out := make([]JoinRequest, 0, len(l.Joins))
	for _, j := range l.Joins {
		pub, err1 := b64.DecodeString(j.PublicKey)
		nonce, err2 := b64.DecodeString(j.Nonce)
		if err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize {
			m.log.Warn("approver: a sync join request that cannot be read", "join", j.ID)
			continue
		}
		out = append(out, JoinRequest{SyncJoin: j, Code: JoinCode(pub, nonce)})
	}
	return out, nil
}

// SyncApprove gives the sync key to the desktop whose join request shows
// code (typed by the person, who read it on the joining desktop): the
// one request whose code, computed here, is code. ErrWrongCode when none.
func (m *Manager) SyncApprove(ctx context.Context, accountID, code string) (JoinRequest, error) {
	code = strings.Join(strings.Fields(code), "")
	js, err := m.SyncJoins(ctx, accountID)
	if err != nil {
		return JoinRequest{}, err
	}
	var match *JoinRequest
	for i := range js {
		if subtle.ConstantTimeCompare([]byte(js[i].Code), []byte(code)) == 1 {
			if match != nil {
				return JoinRequest{}, errors.New("two join requests show this code: ask again from the joining desktop")
			}
			match = &js[i]
		}
	}
	if match == nil {
		return JoinRequest{}, ErrWrongCode
	}
	_, k, err := m.SyncKey(ctx, accountID)
	if err != nil {
		return JoinRequest{}, err
	}
	a, err := m.paired(accountID)
	if err != nil {
		return JoinRequest{}, err
	}
	pub, _ := b64.DecodeString(match.PublicKey)
	s, err := m.sealKey(a.AccountID, pub, k)
	if err != nil {
		return JoinRequest{}, err
	}
	err = m.authed(ctx, a, http.MethodPost, "/api/v1/sync/joins/"+url.PathEscape(match.ID)+"/approve",
		api.SyncApproval{Generation: k.Generation, Sealed: s}, nil)
	return *match, err
}

// SyncPull reads the records after the cursor.
func (m *Manager) SyncPull(ctx context.Context, accountID string, after int64, limit int) (api.SyncRecords, error) {
	var out api.SyncRecords
	q := url.Values{"after": {strconv.FormatInt(after, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	err := m.Call(ctx, accountID, http.MethodGet, "/api/v1/sync/records?"+q.Encode(), nil, &out)
	return out, err
}

// SyncPush appends records (each its entry's next version); an
// *APIError with Code api.CodeSyncConflict means entries moved on.
func (m *Manager) SyncPush(ctx context.Context, accountID string, gen int, recs []api.SyncRecord) (int64, error) {
	var out api.SyncPushed
	err := m.Call(ctx, accountID, http.MethodPost, "/api/v1/sync/records", api.SyncPush{Generation: gen, Records: recs}, &out)
	return out.Cursor, err
}

// SyncRotate moves the sync to key k (the next generation), sealed to
// each of the live desktops the status lists, with every entry re-sealed.
func (m *Manager) SyncRotate(ctx context.Context, accountID string, st api.SyncStatus, k SyncKey, recs []api.SyncRecord) (int64, error) {
	a, err := m.paired(accountID)
	if err != nil {
		return 0, err
	}
	keys := map[string]string{}
	for _, d := range st.Devices {
		if !d.Live {
			continue
		}
		pub, err := b64.DecodeString(d.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return 0, fmt.Errorf("the server gave a damaged public key for %s", d.Name)
		}
		if keys[d.ID], err = m.sealKey(a.AccountID, pub, k); err != nil {
			return 0, err
		}
	}
	var out api.SyncPushed
	if recs == nil {
		recs = []api.SyncRecord{}
	}
	err = m.authed(ctx, a, http.MethodPost, "/api/v1/sync/rotate", api.SyncRotation{Generation: k.Generation, Keys: keys, Records: recs}, &out)
	return out.Cursor, err
}

// NewSyncKey is a fresh key of generation gen, for a rotation.
func (m *Manager) NewSyncKey(gen int) (SyncKey, error) {
	key, err := m.random(syncKeySize)
	if err != nil {
		return SyncKey{}, err
	}
	return SyncKey{Generation: gen, Key: key}, nil
}

// SyncScope names the account's sync for the records' binding: the
// account's id on its server (the same on every desktop of the account).
func (m *Manager) SyncScope(accountID string) (string, error) {
	a, err := m.paired(accountID)
	if err != nil {
		return "", err
	}
	return a.AccountID, nil
}

// SyncStateKey is the key that seals this desktop's sync state file for
// the account (Lamport times, versions, the cursor): derived from the
// device key, so it needs nothing more from the keyring.
func (m *Manager) SyncStateKey(accountID string) ([]byte, error) {
	_, priv, err := m.accountKey(accountID)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("countersign-sync-state-v1\n"))
	h.Write(priv.Seed())
	return h.Sum(nil), nil
}
