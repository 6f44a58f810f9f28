// Package vaultsync is the companion's end-to-end encrypted sync of the
// vault between one person's desktops: the records the server keeps, how
// they are sealed, and how two versions of an entry merge.
//
// The server stores, per paired account, an append-only log of records.
// A record is one version of one entry (an account of the vault, or its
// tombstone) sealed with the account's sync key, which only the syncing
// desktops hold: the server sees an opaque entry id, a version number, the
// key's generation and ciphertext, never a secret, an issuer or a name.
//
// Merging is per entry and needs no coordination: the version with the
// larger (Lamport time, device id) wins, a deletion included (a
// tombstone), except that a counter-based (HOTP) account keeps the largest
// counter any version had for its secret, so that a code used on one
// desktop is never offered again on another. Entries marked "this desktop only" are never
// sealed (Seal refuses them).
//
// The package is pure: no network, no vault, no clock; randomness comes
// from the io.Reader the caller passes.
package vaultsync

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// KeySize is the size of a sync key.
const KeySize = chacha20poly1305.KeySize

// Entry is one version of one synced account: the account as the vault
// keeps it (its vault id aside, which is each desktop's own), or its
// tombstone.
type Entry struct {
	ID      string         `json:"id"` // the entry's id, the same on every desktop
	Lamport uint64         `json:"lamport"`
	Device  string         `json:"device"` // the desktop that wrote it
	Deleted bool           `json:"deleted,omitempty"`
	Account *vault.Account `json:"account,omitempty"` // nil for a tombstone

	// Counters is the largest HOTP counter any version of the entry had,
	// per secret (by CounterKey): what merging keeps so that no code is
	// offered twice, whatever order the versions arrive in.
	Counters map[string]uint64 `json:"counters,omitempty"`
}

// CounterKey names a secret in Entry.Counters without showing it (inside
// the sealed record still): the first 16 bytes of its SHA-256, in hex.
func CounterKey(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:16])
}

// counters is e's Counters with its own account's counter in it.
func (e Entry) counters() map[string]uint64 {
	out := make(map[string]uint64, len(e.Counters)+1)
	for k, v := range e.Counters {
		out[k] = v
	}
	if e.Account != nil && e.Account.Type == otp.HOTP {
		k := CounterKey(e.Account.Secret)
		out[k] = max(out[k], e.Account.Counter)
	}
	return out
}

// Newer says whether e wins over o: the larger Lamport time, then the
// larger device id (any fixed order will do, the same on every desktop).
func (e Entry) Newer(o Entry) bool {
	if e.Lamport != o.Lamport {
		return e.Lamport > o.Lamport
	}
	return e.Device > o.Device
}

// Merge is the version of an entry every desktop ends with, whatever order
// it sees the versions in (Merge is commutative, associative and
// idempotent): the newer one, its HOTP counter raised to the largest any
// version had for the same secret.
func Merge(a, b Entry) Entry {
	w := a
	if b.Newer(a) {
		w = b
	}
	cs := a.counters()
	for k, v := range b.counters() {
		cs[k] = max(cs[k], v)
	}
	w.Counters = cs
	if w.Account != nil && w.Account.Type == otp.HOTP {
		if c := cs[CounterKey(w.Account.Secret)]; c > w.Account.Counter {
			acc := *w.Account
			acc.Counter = c
			w.Account = &acc
		}
	}
	return w
}

// Record is what the server keeps of one entry's version.
type Record struct {
	Entry      string // the entry's id
	Version    int64  // 1, 2, … per entry: a push names the version it replaces
	Generation int    // the sync key's generation it is sealed with
	Sealed     []byte
}

// ErrLocalOnly means an entry marked "this desktop only" was to be sealed.
var ErrLocalOnly = errors.New("the account is kept on this desktop only and is not synced")

// ErrOpen means a record did not open: sealed with another key, or altered
// (its ciphertext, or the entry, version or generation it claims).
var ErrOpen = errors.New("the sync record does not open: it was altered, or sealed with another key")

// LocalOnlyParam is the account's URI extra parameter that keeps it on
// this desktop only.
const LocalOnlyParam = "countersign-local-only"

// LocalOnly says whether a keeps out of sync.
func LocalOnly(a *vault.Account) bool {
	return a != nil && len(a.Extra[LocalOnlyParam]) > 0 && a.Extra[LocalOnlyParam][0] == "1"
}

// aad binds a record's ciphertext to the account, the entry, its version
// and the key's generation, so that the server cannot move a ciphertext to
// another entry or replay an old version as a new one.
func aad(account string, r Record) []byte {
	return []byte("countersign-sync 1\n" + account + "\n" + r.Entry + "\n" +
		strconv.FormatInt(r.Version, 10) + "\n" + strconv.Itoa(r.Generation))
}

// Seal seals e as version of its entry under the account's sync key of
// generation gen.
func Seal(rand io.Reader, key []byte, gen int, account string, version int64, e Entry) (Record, error) {
	if LocalOnly(e.Account) {
		return Record{}, ErrLocalOnly
	}
	if e.ID == "" || version < 1 {
		return Record{}, errors.New("vaultsync: an entry needs an id and a version from 1")
	}
	e.Counters = e.counters()
	if e.Account != nil {
		acc := *e.Account
		acc.ID = "" // each desktop's own
		e.Account = &acc
	}
	plain, err := json.Marshal(e)
	if err != nil {
		return Record{}, err
	}
	defer clear(plain)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return Record{}, err
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return Record{}, fmt.Errorf("vaultsync: nonce: %w", err)
	}
	r := Record{Entry: e.ID, Version: version, Generation: gen}
	r.Sealed = aead.Seal(nonce, nonce, plain, aad(account, r))
	return r, nil
}

// Open opens a record with the sync key of its generation; the entry must
// be the one the record says.
func Open(key []byte, account string, r Record) (Entry, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return Entry{}, err
	}
	if len(r.Sealed) < chacha20poly1305.NonceSizeX+aead.Overhead() {
		return Entry{}, ErrOpen
	}
	nonce, ct := r.Sealed[:chacha20poly1305.NonceSizeX], r.Sealed[chacha20poly1305.NonceSizeX:]
	plain, err := aead.Open(nil, nonce, ct, aad(account, r))
	if err != nil {
		return Entry{}, ErrOpen
	}
	defer clear(plain)
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.ID != r.Entry {
		return Entry{}, ErrOpen
	}
	if e.Account != nil {
		e.Account.Key = e.Account.Key.Normalize()
		if err := e.Account.Key.Validate(); err != nil {
			return Entry{}, fmt.Errorf("the synced account is not valid: %w", err)
		}
	}
	return e, nil
}

// Clock is a desktop's Lamport clock for its edits.
type Clock struct{ now uint64 }

// Seen moves the clock past a time read in another desktop's entry.
func (c *Clock) Seen(t uint64) {
	if t > c.now {
		c.now = t
	}
}

// Tick is the time of a new local edit.
func (c *Clock) Tick() uint64 {
	c.now++
	return c.now
}

// Now is the last time ticked or seen.
func (c *Clock) Now() uint64 { return c.now }
