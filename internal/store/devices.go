package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const deviceCols = `id, user_id, name, kind, browser, os, ip, user_agent, token_hash,
	COALESCE(member_id, ''), created_at, last_seen_at, trusted_until`

func scanDevice(s scanner) (*Device, error) {
	var d Device
	var created, seen, until int64
	if err := s.Scan(&d.ID, &d.UserID, &d.Name, &d.Kind, &d.Browser, &d.OS, &d.IP, &d.UserAgent,
		&d.TokenHash, &d.MemberID, &created, &seen, &until); err != nil {
		return nil, mapErr(err)
	}
	d.CreatedAt, d.LastSeenAt, d.TrustedUntil = fromTS(created), fromTS(seen), fromTS(until)
	return &d, nil
}

// AddDevice stores a trusted device; an empty ID is filled with a random
// one. ErrConflict when another device has the same token hash, ErrNotFound
// when its member does not exist.
func (db *DB) AddDevice(ctx context.Context, d *Device) error {
	if d.ID == "" {
		d.ID = newID()
	}
	if err := db.ownMember(ctx, db.sql, d.UserID, &d.MemberID); err != nil {
		return fmt.Errorf("add device: %w", err)
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO devices (id, user_id, name, kind, browser, os, ip, user_agent, token_hash,
	member_id, created_at, last_seen_at, trusted_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.UserID, d.Name, d.Kind, d.Browser, d.OS, d.IP, d.UserAgent, nullBytes(d.TokenHash),
		nullStr(d.MemberID), ts(d.CreatedAt), ts(d.LastSeenAt), ts(d.TrustedUntil))
	if err != nil {
		return fmt.Errorf("add device: %w", mapErr(err))
	}
	return nil
}

// Devices lists the user's trusted devices, oldest first (a stable order for
// boards and lists).
func (db *DB) Devices(ctx context.Context, userID string) ([]Device, error) {
	ds, err := list(ctx, db, scanDevice, `SELECT `+deviceCols+` FROM devices WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return ds, nil
}

func (db *DB) Device(ctx context.Context, userID, id string) (*Device, error) {
	d, err := scanDevice(db.queryRow(ctx, db.sql, `SELECT `+deviceCols+` FROM devices WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return d, nil
}

func (db *DB) DeviceByToken(ctx context.Context, tokenHash []byte) (*Device, error) {
	if len(tokenHash) == 0 {
		return nil, fmt.Errorf("device by token: %w", ErrNotFound)
	}
	d, err := scanDevice(db.queryRow(ctx, db.sql, `SELECT `+deviceCols+` FROM devices WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return nil, fmt.Errorf("device by token: %w", err)
	}
	return d, nil
}

// UpdateDevice writes Name, Kind, Browser, OS, IP, UserAgent, LastSeenAt and
// TrustedUntil of the user's device.
func (db *DB) UpdateDevice(ctx context.Context, d *Device) error {
	err := db.execOne(ctx, db.sql, `UPDATE devices SET name = ?, kind = ?, browser = ?, os = ?, ip = ?, user_agent = ?,
	last_seen_at = ?, trusted_until = ? WHERE id = ? AND user_id = ?`,
		d.Name, d.Kind, d.Browser, d.OS, d.IP, d.UserAgent, ts(d.LastSeenAt), ts(d.TrustedUntil), d.ID, d.UserID)
	if err != nil {
		return fmt.Errorf("update device: %w", err)
	}
	return nil
}

// DeleteDevice removes the user's device and every session bound to it, in
// one transaction.
func (db *DB) DeleteDevice(ctx context.Context, userID, id string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE device_id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		return db.execOne(ctx, tx, `DELETE FROM devices WHERE id = ? AND user_id = ?`, id, userID)
	})
	if err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	return nil
}

// Sessions.

const sessionCols = `id, user_id, COALESCE(device_id, ''), COALESCE(member_id, ''), stage, method, ip, user_agent, created_at, last_seen_at, expires_at`

func scanSession(s scanner) (*Session, error) {
	var ss Session
	var created, seen, expires int64
	if err := s.Scan(&ss.ID, &ss.UserID, &ss.DeviceID, &ss.MemberID, &ss.Stage, &ss.Method, &ss.IP, &ss.UserAgent,
		&created, &seen, &expires); err != nil {
		return nil, mapErr(err)
	}
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = fromTS(created), fromTS(seen), fromTS(expires)
	return &ss, nil
}

// CreateSession stores a session. Its ID (the hash of the cookie) must be
// set. ErrNotFound when the user or the device does not exist.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	if s.ID == "" {
		return errors.New("create session: the session id is empty: set it to the hash of the cookie")
	}
	if err := db.ownMember(ctx, db.sql, s.UserID, &s.MemberID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO sessions (id, user_id, device_id, member_id, stage, method, ip, user_agent, created_at, last_seen_at, expires_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, nullStr(s.DeviceID), s.MemberID, string(s.Stage), s.Method, s.IP, s.UserAgent,
		ts(s.CreatedAt), ts(s.LastSeenAt), ts(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", mapErr(err))
	}
	return nil
}

// Session returns the session unless it is missing or expired (by the
// store's clock, see WithClock): both are ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*Session, error) {
	s, err := scanSession(db.queryRow(ctx, db.sql, `SELECT `+sessionCols+` FROM sessions WHERE id = ? AND expires_at > ?`,
		id, ts(db.now())))
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return s, nil
}

// Sessions lists the user's signed-in (full-stage) sessions unexpired at now,
// most recently seen first.
func (db *DB) Sessions(ctx context.Context, userID string, now time.Time) ([]Session, error) {
	ss, err := list(ctx, db, scanSession, `SELECT `+sessionCols+` FROM sessions
	WHERE user_id = ? AND expires_at > ? AND stage = ? ORDER BY last_seen_at DESC, id`,
		userID, ts(now), string(StageFull))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ss, nil
}

// TouchSession records that the session was seen at at, from ip (an empty
// ip keeps the old one).
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, ip string) error {
	var err error
	if ip == "" {
		err = db.execOne(ctx, db.sql, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, ts(at), id)
	} else {
		err = db.execOne(ctx, db.sql, `UPDATE sessions SET last_seen_at = ?, ip = ? WHERE id = ?`, ts(at), ip, id)
	}
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

func (db *DB) DeleteSession(ctx context.Context, id string) error {
	if err := db.execOne(ctx, db.sql, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (db *DB) DeleteUserSession(ctx context.Context, userID, id string) error {
	if err := db.execOne(ctx, db.sql, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (db *DB) DeleteOtherSessions(ctx context.Context, userID, keepID string) (int, error) {
	res, err := db.exec(ctx, db.sql, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepID)
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	return int(n), nil
}
