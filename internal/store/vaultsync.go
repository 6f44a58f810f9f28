package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Vault sync: per household member of an account (a scope), the sync key
// sealed to each syncing desktop and an append-only log of sealed entry
// records. The store sees only ciphertext and opaque entry ids.

// Activity kinds of vault sync (titles in api.ActivityTitle).
const (
	ActSyncStarted = "sync.started" // a member's first desktop started syncing the vault
	ActSyncJoined  = "sync.joined"  // a desktop was given the sync key
	ActSyncRotated = "sync.rotated" // the sync key was rotated
	ActSyncLeft    = "sync.left"    // a desktop stopped syncing
)

// Errors of vault sync callers branch on.
var (
	// ErrRotateFirst: a desktop that held the scope's key was removed (or
	// left); nothing is written with that key until a remaining desktop
	// rotates it.
	ErrRotateFirst = errors.New("the sync key must be rotated first")
	// ErrGeneration: the caller wrote with another generation of the key
	// than the scope's.
	ErrGeneration = errors.New("the sync key's generation is not the scope's")
	// ErrKeySet: a rotation's keys are not exactly the remaining syncing
	// desktops', or its records not exactly the scope's entries.
	ErrKeySet = errors.New("the rotation does not cover every remaining desktop and entry")
)

// SyncScope is one member's sync: its key generation, whether it must be
// rotated first, the last record's sequence number, and the desktops that
// hold the key.
type SyncScope struct {
	UserID, MemberID string
	Generation       int
	RotateFirst      bool  // a key holder left or was removed (or moved to another member)
	Cursor           int64 // the last record's seq, 0 when none
	Keys             []SyncKey
	CreatedAt        time.Time
}

// ID names the scope for the desktops (api.SyncStatus.Scope): opaque, the
// same for as long as the scope lasts, another for another member or for a
// sync turned off and started again.
func (s *SyncScope) ID() string {
	h := sha256.Sum256([]byte("countersign-sync-scope-v1\n" + s.UserID + "\n" + s.MemberID + "\n" + strconv.FormatInt(s.CreatedAt.UnixNano(), 10)))
	return hex.EncodeToString(h[:16])
}

// SyncKey is the scope's key sealed to one desktop.
type SyncKey struct {
	DeviceID   string
	Generation int
	Sealed     []byte
	Live       bool // read only: the desktop is paired and still the scope member's
	CreatedAt  time.Time
}

// SyncRecord is one version of one entry, sealed by a desktop.
type SyncRecord struct {
	Seq        int64
	Entry      string
	Version    int64
	Generation int
	Sealed     []byte
	DeviceID   string // the desktop that wrote it
	CreatedAt  time.Time
}

// SyncJoin is a desktop's request to join a scope's sync.
type SyncJoin struct {
	ID                string
	UserID, MemberID  string
	DeviceID          string
	Nonce             []byte
	CreatedAt         time.Time
	ExpiresAt         time.Time
	DeviceName        string // read only
	DevicePublicKey   []byte // read only
	DeviceRemovedFrom bool   // read only: the device is no longer paired
}

// SyncConflictError is a push refused because entries moved on: Versions
// are their current versions (0: no such entry yet).
type SyncConflictError struct{ Versions map[string]int64 }

func (e *SyncConflictError) Error() string {
	return fmt.Sprintf("%d sync entries have newer versions", len(e.Versions))
}

// Is makes errors.Is(err, ErrConflict) hold.
func (e *SyncConflictError) Is(target error) bool { return target == ErrConflict }

// SyncStore is the vault sync's part of Store.
type SyncStore interface {
	SyncScope(ctx context.Context, userID, memberID string) (*SyncScope, error)
	// StartSync makes the scope with its first desktop's key; ErrConflict
	// when it exists.
	StartSync(ctx context.Context, userID, memberID string, key SyncKey, at time.Time) error
	// StopSync takes the desktop out of the scope: its key goes and the
	// scope must be rotated first; the last desktop's leaving deletes
	// the scope and its records.
	StopSync(ctx context.Context, userID, memberID, deviceID string) error
	// SyncRecords are the records after seq after that are still their
	// entry's latest version, oldest first, at most limit.
	SyncRecords(ctx context.Context, userID, memberID string, after int64, limit int) ([]SyncRecord, error)
	// PushSync appends records in one transaction: each must be its
	// entry's next version, sealed with the scope's generation, which
	// must not need rotating first (*SyncConflictError, ErrGeneration,
	// ErrRotateFirst). ev, if any, is appended with them and its data
	// completed by fill with the new cursor. Returns the new cursor.
	PushSync(ctx context.Context, userID, memberID string, gen int, recs []SyncRecord, ev *ApprovalEvent, fill func(cursor int64) []byte) (int64, error)
	// RotateSync moves the scope to generation gen: keys must be exactly
	// the live key holders' (ErrKeySet) and recs the next version of
	// every entry of the scope; the old keys go.
	RotateSync(ctx context.Context, userID, memberID string, gen int, keys []SyncKey, recs []SyncRecord, ev *ApprovalEvent, fill func(cursor int64) []byte) (int64, error)
	AddSyncJoin(ctx context.Context, j *SyncJoin, ev *ApprovalEvent) error
	// SyncJoins are the scope's unexpired join requests, oldest first.
	SyncJoins(ctx context.Context, userID, memberID string, now time.Time) ([]SyncJoin, error)
	// ApproveSyncJoin gives the joining desktop its sealed key (of the
	// scope's generation) and deletes the request; ErrNotFound when it
	// is gone or expired.
	ApproveSyncJoin(ctx context.Context, userID, memberID, joinID string, key SyncKey, now time.Time) error
}

func (db *DB) SyncScope(ctx context.Context, userID, memberID string) (*SyncScope, error) {
	s, err := db.syncScope(ctx, db.sql, userID, memberID)
	if err != nil {
		return nil, fmt.Errorf("sync scope: %w", err)
	}
	return s, nil
}

func (db *DB) syncScope(ctx context.Context, q querier, userID, memberID string) (*SyncScope, error) {
	s := &SyncScope{UserID: userID, MemberID: memberID}
	var created int64
	err := db.queryRow(ctx, q, `SELECT generation, rotate_first, created_at FROM sync_scopes WHERE user_id = ? AND member_id = ?`,
		userID, memberID).Scan(&s.Generation, &s.RotateFirst, &created)
	if err != nil {
		return nil, mapErr(err)
	}
	s.CreatedAt = fromTS(created)
	if err := db.queryRow(ctx, q, `SELECT COALESCE(MAX(seq), 0) FROM sync_records WHERE user_id = ? AND member_id = ?`,
		userID, memberID).Scan(&s.Cursor); err != nil {
		return nil, mapErr(err)
	}
	rows, err := db.query(ctx, q, `SELECT k.device_id, k.generation, k.sealed, k.created_at,
	CASE WHEN a.id IS NOT NULL AND a.removed_at = 0 AND a.user_id = k.user_id AND COALESCE(a.member_id, '') = k.member_id THEN 1 ELSE 0 END
	FROM sync_keys k LEFT JOIN approvers a ON a.id = k.device_id
	WHERE k.user_id = ? AND k.member_id = ? ORDER BY k.created_at, k.device_id`, userID, memberID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k SyncKey
		var live int
		if err := rows.Scan(&k.DeviceID, &k.Generation, &k.Sealed, &created, &live); err != nil {
			return nil, mapErr(err)
		}
		k.CreatedAt, k.Live = fromTS(created), live == 1
		s.RotateFirst = s.RotateFirst || !k.Live
		s.Keys = append(s.Keys, k)
	}
	return s, rows.Err()
}

func (db *DB) StartSync(ctx context.Context, userID, memberID string, key SyncKey, at time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO sync_scopes (user_id, member_id, generation, rotate_first, created_at) VALUES (?, ?, ?, ?, ?)`,
			userID, memberID, key.Generation, false, ts(at)); err != nil {
			return mapErr(err)
		}
		_, err := db.exec(ctx, tx, `INSERT INTO sync_keys (user_id, member_id, device_id, generation, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			userID, memberID, key.DeviceID, key.Generation, key.Sealed, ts(at))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("start sync: %w", err)
	}
	return nil
}

func (db *DB) StopSync(ctx context.Context, userID, memberID, deviceID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if err := db.execOne(ctx, tx, `DELETE FROM sync_keys WHERE user_id = ? AND member_id = ? AND device_id = ?`, userID, memberID, deviceID); err != nil {
			return err
		}
		var left int
		if err := db.queryRow(ctx, tx, `SELECT COUNT(*) FROM sync_keys WHERE user_id = ? AND member_id = ?`, userID, memberID).Scan(&left); err != nil {
			return mapErr(err)
		}
		if left == 0 {
			for _, t := range []string{"sync_joins", "sync_records", "sync_scopes"} {
				if _, err := db.exec(ctx, tx, `DELETE FROM `+t+` WHERE user_id = ? AND member_id = ?`, userID, memberID); err != nil {
					return mapErr(err)
				}
			}
			return nil
		}
		_, err := db.exec(ctx, tx, `UPDATE sync_scopes SET rotate_first = ? WHERE user_id = ? AND member_id = ?`, true, userID, memberID)
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("stop sync: %w", err)
	}
	return nil
}

const syncRecordCols = `seq, entry, version, generation, sealed, device_id, created_at`

func scanSyncRecord(s scanner) (*SyncRecord, error) {
	var r SyncRecord
	var created int64
	if err := s.Scan(&r.Seq, &r.Entry, &r.Version, &r.Generation, &r.Sealed, &r.DeviceID, &created); err != nil {
		return nil, mapErr(err)
	}
	r.CreatedAt = fromTS(created)
	return &r, nil
}

func (db *DB) SyncRecords(ctx context.Context, userID, memberID string, after int64, limit int) ([]SyncRecord, error) {
	rs, err := list(ctx, db, scanSyncRecord, `SELECT `+syncRecordCols+` FROM sync_records r
	WHERE user_id = ? AND member_id = ? AND seq > ?
	AND version = (SELECT MAX(version) FROM sync_records l WHERE l.user_id = r.user_id AND l.member_id = r.member_id AND l.entry = r.entry)
	ORDER BY seq LIMIT ?`, userID, memberID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sync records: %w", err)
	}
	return rs, nil
}

// appendSync checks that each record is its entry's next version and
// appends them, then ev; it returns the new cursor.
func (db *DB) appendSync(ctx context.Context, tx *sql.Tx, userID, memberID string, recs []SyncRecord, at time.Time,
	ev *ApprovalEvent, fill func(int64) []byte) (int64, error) {
	conflicts := map[string]int64{}
	for _, r := range recs {
		var cur int64
		if err := db.queryRow(ctx, tx, `SELECT COALESCE(MAX(version), 0) FROM sync_records WHERE user_id = ? AND member_id = ? AND entry = ?`,
			userID, memberID, r.Entry).Scan(&cur); err != nil {
			return 0, mapErr(err)
		}
		if r.Version != cur+1 {
			conflicts[r.Entry] = cur
		}
	}
	if len(conflicts) > 0 {
		return 0, &SyncConflictError{Versions: conflicts}
	}
	var cursor int64
	for _, r := range recs {
		err := db.queryRow(ctx, tx, `INSERT INTO sync_records (user_id, member_id, entry, version, generation, sealed, device_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, userID, memberID, r.Entry, r.Version, r.Generation, r.Sealed, r.DeviceID, ts(at)).Scan(&cursor)
		if err != nil {
			if errors.Is(mapErr(err), ErrConflict) { // a duplicate entry in the batch
				return 0, &SyncConflictError{Versions: map[string]int64{r.Entry: r.Version}}
			}
			return 0, mapErr(err)
		}
	}
	if ev != nil {
		if fill != nil {
			ev.Data = fill(cursor)
		}
		if err := db.appendEvent(ctx, tx, userID, at, ev); err != nil {
			return 0, err
		}
	}
	return cursor, nil
}

func (db *DB) PushSync(ctx context.Context, userID, memberID string, gen int, recs []SyncRecord, ev *ApprovalEvent, fill func(int64) []byte) (int64, error) {
	var cursor int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		s, err := db.syncScope(ctx, tx, userID, memberID)
		if err != nil {
			return err
		}
		switch {
		case gen != s.Generation:
			return ErrGeneration
		case s.RotateFirst:
			return ErrRotateFirst
		}
		for i := range recs {
			if recs[i].Generation != gen {
				return ErrGeneration
			}
		}
		cursor, err = db.appendSync(ctx, tx, userID, memberID, recs, db.now(), ev, fill)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("push sync records: %w", err)
	}
	return cursor, nil
}

func (db *DB) RotateSync(ctx context.Context, userID, memberID string, gen int, keys []SyncKey, recs []SyncRecord, ev *ApprovalEvent, fill func(int64) []byte) (int64, error) {
	var cursor int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		s, err := db.syncScope(ctx, tx, userID, memberID)
		if err != nil {
			return err
		}
		if gen != s.Generation+1 {
			return ErrGeneration
		}
		live := map[string]bool{}
		for _, k := range s.Keys {
			if k.Live {
				live[k.DeviceID] = true
			}
		}
		given := map[string]bool{}
		for _, k := range keys {
			if !live[k.DeviceID] || given[k.DeviceID] || k.Generation != gen {
				return ErrKeySet
			}
			given[k.DeviceID] = true
		}
		if len(given) != len(live) {
			return ErrKeySet
		}
		var entries int
		if err := db.queryRow(ctx, tx, `SELECT COUNT(DISTINCT entry) FROM sync_records WHERE user_id = ? AND member_id = ?`,
			userID, memberID).Scan(&entries); err != nil {
			return mapErr(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			if r.Generation != gen || seen[r.Entry] || r.Version < 2 {
				return ErrKeySet
			}
			seen[r.Entry] = true
		}
		now := db.now()
		if cursor, err = db.appendSync(ctx, tx, userID, memberID, recs, now, nil, nil); err != nil {
			return err
		}
		// Every entry re-sealed: as many distinct entries after as before
		// and each record a next version means none was left out.
		if len(recs) != entries {
			return ErrKeySet
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM sync_keys WHERE user_id = ? AND member_id = ?`, userID, memberID); err != nil {
			return mapErr(err)
		}
		for _, k := range keys {
			if _, err := db.exec(ctx, tx, `INSERT INTO sync_keys (user_id, member_id, device_id, generation, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				userID, memberID, k.DeviceID, gen, k.Sealed, ts(now)); err != nil {
				return mapErr(err)
			}
		}
		if _, err := db.exec(ctx, tx, `UPDATE sync_scopes SET generation = ?, rotate_first = ? WHERE user_id = ? AND member_id = ?`,
			gen, false, userID, memberID); err != nil {
			return mapErr(err)
		}
		if cursor == 0 {
			cursor = s.Cursor
		}
		if ev != nil {
			if fill != nil {
				ev.Data = fill(cursor)
			}
			return db.appendEvent(ctx, tx, userID, now, ev)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rotate the sync key: %w", err)
	}
	return cursor, nil
}

func (db *DB) AddSyncJoin(ctx context.Context, j *SyncJoin, ev *ApprovalEvent) error {
	if j.ID == "" {
		j.ID = newID()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, j.UserID); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM sync_joins WHERE user_id = ? AND member_id = ? AND device_id = ?`, j.UserID, j.MemberID, j.DeviceID); err != nil {
			return mapErr(err)
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO sync_joins (id, user_id, member_id, device_id, nonce, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			j.ID, j.UserID, j.MemberID, j.DeviceID, j.Nonce, ts(j.CreatedAt), ts(j.ExpiresAt)); err != nil {
			return mapErr(err)
		}
		return db.appendEvent(ctx, tx, j.UserID, j.CreatedAt, ev)
	})
	if err != nil {
		return fmt.Errorf("add sync join request: %w", err)
	}
	return nil
}

func (db *DB) SyncJoins(ctx context.Context, userID, memberID string, now time.Time) ([]SyncJoin, error) {
	js, err := list(ctx, db, func(s scanner) (*SyncJoin, error) {
		var j SyncJoin
		var created, expires, removed int64
		if err := s.Scan(&j.ID, &j.UserID, &j.MemberID, &j.DeviceID, &j.Nonce, &created, &expires, &j.DeviceName, &j.DevicePublicKey, &removed); err != nil {
			return nil, mapErr(err)
		}
		j.CreatedAt, j.ExpiresAt, j.DeviceRemovedFrom = fromTS(created), fromTS(expires), removed != 0
		return &j, nil
	}, `SELECT j.id, j.user_id, j.member_id, j.device_id, j.nonce, j.created_at, j.expires_at, a.name, a.public_key, a.removed_at
	FROM sync_joins j JOIN approvers a ON a.id = j.device_id AND a.user_id = j.user_id AND COALESCE(a.member_id, '') = j.member_id
	WHERE j.user_id = ? AND j.member_id = ? AND j.expires_at > ? AND a.removed_at = 0 ORDER BY j.created_at, j.id`, userID, memberID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("sync join requests: %w", err)
	}
	return js, nil
}

func (db *DB) ApproveSyncJoin(ctx context.Context, userID, memberID, joinID string, key SyncKey, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var device string
		err := db.queryRow(ctx, tx, `DELETE FROM sync_joins WHERE id = ? AND user_id = ? AND member_id = ? AND expires_at > ? RETURNING device_id`,
			joinID, userID, memberID, ts(now)).Scan(&device)
		if err != nil {
			return mapErr(err)
		}
		if device != key.DeviceID {
			return ErrNotFound
		}
		var gen int
		if err := db.queryRow(ctx, tx, `SELECT generation FROM sync_scopes WHERE user_id = ? AND member_id = ?`, userID, memberID).Scan(&gen); err != nil {
			return mapErr(err)
		}
		if gen != key.Generation {
			return ErrGeneration
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM sync_keys WHERE user_id = ? AND member_id = ? AND device_id = ?`, userID, memberID, device); err != nil {
			return mapErr(err)
		}
		_, err = db.exec(ctx, tx, `INSERT INTO sync_keys (user_id, member_id, device_id, generation, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			userID, memberID, device, gen, key.Sealed, ts(now))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("approve a sync join request: %w", err)
	}
	return nil
}
