// Package syncer keeps a desktop's vault in sync with the other desktops
// of the same person through the server's sealed record log: it maps each
// synced account of the vault to a vaultsync entry, turns local changes
// (add, edit, remove, a HOTP code used) into new versions, and merges the
// versions other desktops wrote into the vault.
//
// Local changes are found by comparing the vault with what was last synced
// (a salted fingerprint per entry), so an edit made by any process — the
// window, the command line — is seen at the next round. A round is: look
// at the vault, pull what is new, merge entry by entry (vaultsync.Merge),
// write the merged accounts into the vault, and push the local winners as
// next versions; a push refused because an entry moved on is pulled and
// merged again. Accounts marked "this desktop only" never leave.
//
// The state (cursor, versions, Lamport times) is kept in a file beside the
// vault sealed with a key derived from the device key. The package logs
// nothing, and its errors never hold a secret; they name records by their
// opaque entry ids (the vault's own errors, wrapped, may name an account
// by its label, for the person at this desktop).
package syncer

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/vault"
	"github.com/countersign/countersign/internal/vaultsync"
)

// Vault is what syncing needs of the account store (*vault.Vault).
type Vault interface {
	Accounts() []vault.Account
	Add(accounts ...vault.Account) (added, dups []vault.Account, err error)
	Edit(ref string, fn func(*vault.Account) error) (vault.Account, error)
	Remove(ref string) (vault.Account, error)
	Reload() (changed bool, err error)
}

// Server is the desktop's side of the sync API (*approver.Manager).
type Server interface {
	SyncKey(ctx context.Context, accountID string) (api.SyncStatus, approver.SyncKey, error)
	SyncPull(ctx context.Context, accountID string, after int64, limit int) (api.SyncRecords, error)
	SyncPush(ctx context.Context, accountID string, gen int, recs []api.SyncRecord) (int64, error)
	SyncRotate(ctx context.Context, accountID string, st api.SyncStatus, k approver.SyncKey, recs []api.SyncRecord) (int64, error)
	NewSyncKey(gen int) (approver.SyncKey, error)
	SyncScope(accountID string) (string, error)
	SyncStateKey(accountID string) ([]byte, error)
}

// Options configure a Syncer.
type Options struct {
	Server    Server
	Vault     Vault
	AccountID string // the paired account (its local id, the server's device id)
	Dir       string // where the state file goes: the vault's directory
	Rand      io.Reader
}

// Syncer syncs one vault through one paired account. Its methods are safe
// for concurrent use; rounds run one at a time.
type Syncer struct {
	srv     Server
	vault   Vault
	account string
	path    string
	rand    io.Reader
	mu      sync.Mutex
}

// New checks the options.
func New(opts Options) (*Syncer, error) {
	if opts.Server == nil || opts.Vault == nil || opts.AccountID == "" || opts.Dir == "" {
		return nil, errors.New("syncer: a server, a vault, an account and a directory are needed")
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	return &Syncer{srv: opts.Server, vault: opts.Vault, account: opts.AccountID, rand: opts.Rand,
		path: filepath.Join(opts.Dir, "sync-"+hex.EncodeToString([]byte(opts.AccountID))+".state")}, nil
}

// Refused is a record that was not applied: it did not open (altered on
// the server, or sealed with another key), or it was older than one seen.
type Refused struct {
	Entry   string
	Version int64
	Device  string // the desktop the server says wrote it
	Why     string
}

// Result says what a round did.
type Result struct {
	Pulled, Applied, Pushed int
	Rotated                 bool
	Refused                 []Refused
	Cursor                  int64
}

// ErrRefused means some records were refused (Result.Refused says which):
// the rest was synced.
var ErrRefused = errors.New("some sync records were refused: they did not open (altered on the server, or sealed with another key) or replayed an older version")

// state is what a desktop remembers of the sync, sealed in its file.
type state struct {
	V          int                    `json:"v"`
	Scope      string                 `json:"scope,omitempty"` // the server's id of the scope synced with`
	Cursor     int64                  `json:"cursor"`
	Generation int                    `json:"generation"`
	Lamport    uint64                 `json:"lamport"`
	Salt       []byte                 `json:"salt"`
	Entries    map[string]*entryState `json:"entries"`
}

// entryState is an entry as last synced here.
type entryState struct {
	VaultID  string            `json:"vault_id,omitempty"` // "" for a tombstone or an entry merged into another
	Version  int64             `json:"version"`            // the server's latest version known (0: never pushed)
	Lamport  uint64            `json:"lamport"`
	Device   string            `json:"device"`
	Deleted  bool              `json:"deleted,omitempty"`
	Counters map[string]uint64 `json:"counters,omitempty"`
	Print    string            `json:"print,omitempty"` // fingerprint of the account as synced
	Bad      bool              `json:"bad,omitempty"`   // its latest version did not open
}

// fingerprint is a salted HMAC of what of the account syncs: it tells
// a change without keeping the account.
func fingerprint(salt []byte, a vault.Account) string {
	a.ID, a.Modified = "", time.Time{}
	b, _ := json.Marshal(a)
	defer clear(b)
	m := hmac.New(sha256.New, salt)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

// fresh is the state of a desktop that has never synced.
func (s *Syncer) fresh() (*state, error) {
	salt := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, salt); err != nil {
		return nil, err
	}
	return &state{V: 1, Salt: salt, Entries: map[string]*entryState{}}, nil
}

// inScope returns the state to sync with scope: st when it was kept for
// scope (or for no scope yet: a state written before scopes were
// recorded), else a fresh one. A desktop moved to another member, or
// syncing again after the sync was turned off and on, starts from that
// scope's first record, as a newly joined desktop does: the cursor and
// versions of another scope would skip its earlier records.
func (s *Syncer) inScope(st *state, scope string) (*state, error) {
	if scope == "" || st.Scope == scope {
		return st, nil
	}
	if st.Scope != "" {
		lamport := st.Lamport
		var err error
		if st, err = s.fresh(); err != nil {
			return nil, err
		}
		st.Lamport = lamport
	}
	st.Scope = scope
	return st, nil
}

func (s *Syncer) load(key []byte) (*state, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s.fresh()
	}
	if err != nil {
		return nil, fmt.Errorf("read the sync state: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	if len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("the sync state %s is damaged: delete it and sync again", s.path)
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(s.account))
	if err != nil {
		return nil, fmt.Errorf("the sync state %s does not open with this desktop's key: delete it and sync again", s.path)
	}
	defer clear(plain)
	var st state
	if err := json.Unmarshal(plain, &st); err != nil || st.V != 1 {
		return nil, fmt.Errorf("the sync state %s is damaged: delete it and sync again", s.path)
	}
	if st.Entries == nil {
		st.Entries = map[string]*entryState{}
	}
	return &st, nil
}

func (s *Syncer) save(key []byte, st *state) error {
	plain, err := json.Marshal(st)
	if err != nil {
		return err
	}
	defer clear(plain)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(s.rand, nonce); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, aead.Seal(nonce, nonce, plain, []byte(s.account)), 0o600); err != nil {
		return fmt.Errorf("write the sync state: %w", err)
	}
	return nil
}

// Forget deletes the state file (after sync is turned off).
func (s *Syncer) Forget() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// round is one Sync's working set.
type round struct {
	s       *Syncer
	ctx     context.Context
	st      *state
	status  api.SyncStatus
	key     approver.SyncKey
	scope   string
	clock   vaultsync.Clock
	byVault map[string]string // vault id → entry id
	local   map[string]vault.Account
	dirty   map[string]bool            // entries with a local version to push
	opened  map[string]vaultsync.Entry // each entry as merged from the server this round
	res     Result
}

// Sync runs one round. A key holder's removal (rotate_first) makes it
// rotate the key first.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stateKey, err := s.srv.SyncStateKey(s.account)
	if err != nil {
		return Result{}, err
	}
	st, err := s.load(stateKey)
	if err != nil {
		return Result{}, err
	}
	r := &round{s: s, ctx: ctx, st: st, dirty: map[string]bool{}, opened: map[string]vaultsync.Entry{}}
	if r.scope, err = s.srv.SyncScope(s.account); err != nil {
		return Result{}, err
	}
	if r.status, r.key, err = s.srv.SyncKey(ctx, s.account); err != nil {
		return Result{}, err
	}
	if st, err = s.inScope(st, r.status.Scope); err != nil {
		return Result{}, err
	}
	r.st = st
	r.clock.Seen(st.Lamport)
	if _, err := s.vault.Reload(); err != nil {
		return Result{}, fmt.Errorf("read the vault: %w", err)
	}
	err = r.run()
	st.Lamport = r.clock.Now()
	if serr := s.save(stateKey, st); serr != nil && err == nil {
		err = serr
	}
	r.res.Cursor = st.Cursor
	if err == nil && len(r.res.Refused) > 0 {
		err = ErrRefused
	}
	return r.res, err
}

func (r *round) run() error {
	if r.status.RotateFirst {
		if err := r.rotate(); err != nil {
			return err
		}
	}
	r.scan()
	for attempt := 0; ; attempt++ {
		if err := r.pull(); err != nil {
			return err
		}
		err := r.push()
		var apiErr *approver.APIError
		if errors.As(err, &apiErr) && attempt < 5 {
			switch apiErr.Code {
			case api.CodeSyncConflict:
				continue // pull what moved on, merge, push again
			case api.CodeRotateFirst, api.CodeGeneration:
				if r.status, r.key, err = r.s.srv.SyncKey(r.ctx, r.s.account); err != nil {
					return err
				}
				if r.status.RotateFirst {
					if err := r.rotate(); err != nil {
						return err
					}
				}
				continue
			}
		}
		return err
	}
}

// scan compares the vault with the state: new accounts get an entry,
// changed ones and removed ones a new local version.
func (r *round) scan() {
	st := r.st
	r.byVault = map[string]string{}
	for id, e := range st.Entries {
		if e.VaultID != "" {
			r.byVault[e.VaultID] = id
		}
	}
	r.local = map[string]vault.Account{}
	for _, a := range r.s.vault.Accounts() {
		r.local[a.ID] = a
	}
	ids := make([]string, 0, len(r.local))
	for id := range r.local {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, vid := range ids {
		a := r.local[vid]
		eid, known := r.byVault[vid]
		if vaultsync.LocalOnly(&a) {
			if known { // it stops syncing; the other desktops keep their copy
				st.Entries[eid].VaultID = ""
				delete(r.byVault, vid)
			}
			continue
		}
		fp := fingerprint(st.Salt, a)
		if !known {
			eid = r.newEntryID()
			st.Entries[eid] = &entryState{VaultID: vid}
			r.byVault[vid] = eid
		}
		e := st.Entries[eid]
		if e.Print != fp {
			e.Lamport, e.Device, e.Deleted, e.Print = r.clock.Tick(), r.s.account, false, fp
			r.dirty[eid] = true
		}
	}
	for eid, e := range st.Entries {
		if e.VaultID == "" || e.Deleted {
			continue
		}
		if _, ok := r.local[e.VaultID]; !ok {
			e.VaultID, e.Deleted, e.Print = "", true, ""
			e.Lamport, e.Device = r.clock.Tick(), r.s.account
			r.dirty[eid] = true
		}
	}
}

func (r *round) newEntryID() string {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r.s.rand, b); err != nil {
		panic("syncer: randomness: " + err.Error()) // crypto/rand does not fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// localEntry is the entry as this desktop has it now.
func (r *round) localEntry(eid string) vaultsync.Entry {
	e := r.st.Entries[eid]
	out := vaultsync.Entry{ID: eid, Lamport: e.Lamport, Device: e.Device, Deleted: e.Deleted, Counters: e.Counters}
	if a, ok := r.local[e.VaultID]; ok && e.VaultID != "" && !e.Deleted {
		acc := a
		out.Account = &acc
	}
	return out
}

// pull reads every record after the cursor and merges it in. A record
// that cannot be written into the vault stops the round before the cursor
// moves past it, so that the next round reads it again.
func (r *round) pull() error {
	for {
		page, err := r.s.srv.SyncPull(r.ctx, r.s.account, r.st.Cursor, 0)
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			if err := r.merge(rec); err != nil {
				return err
			}
		}
		r.st.Cursor = max(r.st.Cursor, page.Cursor)
		if !page.More {
			return nil
		}
	}
}

func (r *round) refuse(rec api.SyncRecord, why string) {
	r.res.Refused = append(r.res.Refused, Refused{Entry: rec.Entry, Version: rec.Version, Device: rec.DeviceID, Why: why})
}

// merge takes one remote record in; an error is the vault's, and leaves
// the entry's state as it was.
func (r *round) merge(rec api.SyncRecord) error {
	r.res.Pulled++
	e := r.st.Entries[rec.Entry]
	if e != nil && rec.Version <= e.Version {
		// The server gives only each entry's latest version: one older
		// than a version seen is a replay (the same one again is not).
		if rec.Version < e.Version {
			r.refuse(rec, "an older version than one seen: replayed")
		}
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(rec.Sealed)
	var remote vaultsync.Entry
	if err == nil {
		if rec.Generation != r.key.Generation {
			err = vaultsync.ErrOpen
		} else {
			remote, err = vaultsync.Open(r.key.Key, r.scope, vaultsync.Record{Entry: rec.Entry, Version: rec.Version, Generation: rec.Generation, Sealed: sealed})
		}
	}
	if e == nil {
		e = &entryState{}
		r.st.Entries[rec.Entry] = e
	}
	if err != nil {
		r.refuse(rec, "does not open: altered on the server, or sealed with another key")
		e.Version, e.Bad = rec.Version, true // the next local version replaces it
		return nil
	}
	r.clock.Seen(remote.Lamport)
	local := r.localEntry(rec.Entry)
	merged := vaultsync.Merge(local, remote)
	r.opened[rec.Entry] = merged
	if local.Account == nil && !local.Deleted {
		// Not in this vault (marked "this desktop only" here): what the
		// others have is the entry.
		r.opened[rec.Entry] = remote
	}
	if merged.Lamport == local.Lamport && merged.Device == local.Device {
		// The local version wins (or is the same): only raised HOTP
		// counters come in; a local version newer than the server's
		// latest is pushed at the next version.
		if local.Account != nil && merged.Account != nil && merged.Account.Counter != local.Account.Counter {
			if err := r.apply(rec.Entry, merged); err != nil {
				return err
			}
		}
		if remote.Lamport != local.Lamport || remote.Device != local.Device {
			r.dirty[rec.Entry] = true
		}
		e.Version, e.Bad, e.Counters = rec.Version, false, merged.Counters
		return nil
	}
	// The remote version wins. apply may mark the entry again (a second
	// entry of an account the vault has): set it first, undo on failure.
	was, wasDirty := *e, r.dirty[rec.Entry]
	delete(r.dirty, rec.Entry)
	e.Version, e.Bad, e.Counters = rec.Version, false, merged.Counters
	e.Lamport, e.Device, e.Deleted = merged.Lamport, merged.Device, merged.Deleted
	if err := r.apply(rec.Entry, merged); err != nil {
		*e = was
		if wasDirty {
			r.dirty[rec.Entry] = true
		}
		return err
	}
	return nil
}

// apply writes a merged entry into the vault.
func (r *round) apply(eid string, m vaultsync.Entry) error {
	e := r.st.Entries[eid]
	v := r.s.vault
	if m.Deleted || m.Account == nil {
		if e.VaultID != "" {
			if _, err := v.Remove(e.VaultID); err != nil && !errors.Is(err, vault.ErrNotFound) {
				return fmt.Errorf("remove a synced account from the vault: %w", err)
			}
			delete(r.local, e.VaultID)
			delete(r.byVault, e.VaultID)
			e.VaultID = ""
		}
		e.Print = ""
		r.res.Applied++
		return nil
	}
	acc := *m.Account
	if e.VaultID != "" {
		if _, ok := r.local[e.VaultID]; ok {
			got, err := v.Edit(e.VaultID, func(a *vault.Account) error {
				id, created := a.ID, a.Created
				*a = acc
				a.ID, a.Created = id, created
				return nil
			})
			if err != nil {
				return fmt.Errorf("write a synced account into the vault: %w", err)
			}
			r.local[got.ID], e.Print = got, fingerprint(r.st.Salt, got)
			r.res.Applied++
			return nil
		}
	}
	added, dups, err := v.Add(acc)
	switch {
	case err != nil:
		return fmt.Errorf("add a synced account to the vault: %w", err)
	case len(dups) == 1:
		// The same account came in as two entries (added on two desktops
		// while apart): the vault keeps one; the entry with the larger id
		// is merged into the other everywhere.
		other, ok := r.byVault[dups[0].ID]
		keep, drop := eid, other
		if ok && other < eid {
			keep, drop = other, eid
		}
		e.VaultID = ""
		if ok && drop != keep {
			d := r.st.Entries[drop]
			d.VaultID, d.Deleted, d.Print = "", true, ""
			d.Lamport, d.Device = r.clock.Tick(), r.s.account
			r.dirty[drop] = true
		}
		r.st.Entries[keep].VaultID = dups[0].ID
		r.byVault[dups[0].ID] = keep
		r.local[dups[0].ID] = dups[0]
		r.st.Entries[keep].Print = fingerprint(r.st.Salt, dups[0])
		return nil
	case len(added) != 1:
		return errors.New("add a synced account to the vault: the vault neither added nor had it")
	}
	a := added[0]
	e.VaultID = a.ID
	r.local[a.ID], r.byVault[a.ID] = a, eid
	e.Print = fingerprint(r.st.Salt, a)
	r.res.Applied++
	return nil
}

// push seals and sends every local version.
func (r *round) push() error {
	if len(r.dirty) == 0 {
		return nil
	}
	ids := make([]string, 0, len(r.dirty))
	for id := range r.dirty {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	recs := make([]api.SyncRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := r.seal(id, r.st.Entries[id].Version+1, r.key)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	for len(recs) > 0 {
		n := min(len(recs), 500)
		// The cursor is not moved past the pushed records: others may
		// have written below them; our own come back at the next pull and
		// are known by their versions.
		if _, err := r.s.srv.SyncPush(r.ctx, r.s.account, r.key.Generation, recs[:n]); err != nil {
			return err
		}
		for _, rec := range recs[:n] {
			r.st.Entries[rec.Entry].Version = rec.Version
			delete(r.dirty, rec.Entry)
			r.res.Pushed++
		}
		recs = recs[n:]
	}
	return nil
}

func (r *round) seal(eid string, version int64, k approver.SyncKey) (api.SyncRecord, error) {
	return r.sealEntry(r.localEntry(eid), version, k)
}

func (r *round) sealEntry(ent vaultsync.Entry, version int64, k approver.SyncKey) (api.SyncRecord, error) {
	eid := ent.ID
	rec, err := vaultsync.Seal(r.s.rand, k.Key, k.Generation, r.scope, version, ent)
	if err != nil {
		return api.SyncRecord{}, fmt.Errorf("seal a sync entry: %w", err)
	}
	return api.SyncRecord{Entry: eid, Version: version, Generation: k.Generation, Sealed: base64.RawURLEncoding.EncodeToString(rec.Sealed)}, nil
}

// rotate moves the sync to a new key sealed to the remaining desktops,
// every entry re-sealed under it: first everything is pulled and merged
// with the old key, so that no version is lost.
func (r *round) rotate() error {
	if r.st.Generation != r.key.Generation {
		r.st.Generation = r.key.Generation
	}
	for attempt := 0; attempt < 5; attempt++ {
		r.st.Cursor = 0 // read every entry's latest version again
		for _, e := range r.st.Entries {
			e.Version = 0
		}
		r.scan()
		if err := r.pull(); err != nil {
			return err
		}
		next, err := r.s.srv.NewSyncKey(r.key.Generation + 1)
		if err != nil {
			return err
		}
		var recs []api.SyncRecord
		ids := make([]string, 0, len(r.st.Entries))
		bad := 0
		for id, e := range r.st.Entries {
			switch {
			case e.Version > 0 && e.Bad:
				bad++
			case e.Version > 0:
				ids = append(ids, id)
			}
		}
		if bad > 0 {
			// Re-sealing needs every entry's content: another desktop,
			// which could open them, rotates.
			return fmt.Errorf("%d sync records do not open on this desktop, so it cannot rotate the key: sync another desktop first", bad)
		}
		sort.Strings(ids)
		for _, id := range ids {
			ent, ok := r.opened[id]
			if !ok || r.dirty[id] {
				ent = r.localEntry(id)
			}
			rec, err := r.sealEntry(ent, r.st.Entries[id].Version+1, next)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		_, err = r.s.srv.SyncRotate(r.ctx, r.s.account, r.status, next, recs)
		var apiErr *approver.APIError
		if errors.As(err, &apiErr) && apiErr.Status == 409 {
			// Someone wrote or rotated meanwhile: read the key again.
			if r.status, r.key, err = r.s.srv.SyncKey(r.ctx, r.s.account); err != nil {
				return err
			}
			if !r.status.RotateFirst {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		for _, rec := range recs {
			r.st.Entries[rec.Entry].Version = rec.Version
			delete(r.dirty, rec.Entry)
		}
		r.key, r.st.Generation, r.res.Rotated = next, next.Generation, true
		r.status.Generation, r.status.RotateFirst = next.Generation, false
		return nil
	}
	return errors.New("the sync key could not be rotated: other desktops kept writing; try again")
}

// Run syncs at once, then whenever wake receives (the account's "vault"
// events: approver.EventVault) and at every tick (a periodic pull, and
// the local edits of other processes), until ctx ends. done, if not nil,
// gets each round's outcome; rounds that fail are retried at the next
// wake or tick.
func (s *Syncer) Run(ctx context.Context, wake <-chan struct{}, tick <-chan time.Time, done func(Result, error)) {
	for {
		res, err := s.Sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if done != nil {
			done(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick:
		}
	}
}
