package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
)

type scanner interface{ Scan(dest ...any) error }

const userCols = `id, email, phone, name, password_hash, password_changed_at, two_step,
	webauthn_id, created_at, failed_logins, locked_until`

func scanUser(s scanner) (*User, error) {
	var u User
	var changed, created, locked int64
	if err := s.Scan(&u.ID, &u.Email, &u.Phone, &u.Name, &u.PasswordHash, &changed, &u.TwoStep,
		&u.WebAuthnID, &created, &u.FailedLogins, &locked); err != nil {
		return nil, mapErr(err)
	}
	u.PasswordChangedAt, u.CreatedAt, u.LockedUntil = fromTS(changed), fromTS(created), fromTS(locked)
	return &u, nil
}

// CreateUser stores a new account with its household's owner member (named
// after the account, "Owner" when it has no name), in one transaction. An
// empty ID is filled with a random one; Email is stored lower-cased.
func (db *DB) CreateUser(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = newID()
	}
	u.Email = strings.ToLower(u.Email)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.Phone, u.Name, u.PasswordHash, ts(u.PasswordChangedAt), u.TwoStep,
			nullBytes(u.WebAuthnID), ts(u.CreatedAt), u.FailedLogins, ts(u.LockedUntil))
		if err != nil {
			return mapErr(err)
		}
		name := strings.TrimSpace(u.Name)
		if name == "" {
			name = OwnerName
		}
		return db.insertMember(ctx, tx, &Member{ID: newID(), UserID: u.ID, Name: name, Role: api.RoleOwner, CreatedAt: u.CreatedAt})
	})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

func (db *DB) userWhere(ctx context.Context, what, where string, args ...any) (*User, error) {
	u, err := scanUser(db.queryRow(ctx, db.sql, `SELECT `+userCols+` FROM users WHERE `+where, args...))
	if err != nil {
		return nil, fmt.Errorf("user by %s: %w", what, err)
	}
	return u, nil
}

func (db *DB) UserByID(ctx context.Context, id string) (*User, error) {
	return db.userWhere(ctx, "id", "id = ?", id)
}

// UserByLogin finds the account whose email (compared case-insensitively) or
// phone is login.
func (db *DB) UserByLogin(ctx context.Context, login string) (*User, error) {
	if login == "" {
		return nil, fmt.Errorf("user by login: %w", ErrNotFound)
	}
	// The "<> ''" terms let SQLite use the partial unique indexes.
	return db.userWhere(ctx, "login", "(email = ? AND email <> '') OR (phone = ? AND phone <> '') LIMIT 1",
		strings.ToLower(login), login)
}

func (db *DB) UserByWebAuthnID(ctx context.Context, handle []byte) (*User, error) {
	if len(handle) == 0 {
		return nil, fmt.Errorf("user by webauthn id: %w", ErrNotFound)
	}
	return db.userWhere(ctx, "webauthn id", "webauthn_id = ?", handle)
}

// UpdateUser writes every field of u but ID and CreatedAt.
func (db *DB) UpdateUser(ctx context.Context, u *User) error {
	u.Email = strings.ToLower(u.Email)
	err := db.execOne(ctx, db.sql, `UPDATE users SET email = ?, phone = ?, name = ?, password_hash = ?,
	password_changed_at = ?, two_step = ?, webauthn_id = ?, failed_logins = ?, locked_until = ?
	WHERE id = ?`,
		u.Email, u.Phone, u.Name, u.PasswordHash, ts(u.PasswordChangedAt), u.TwoStep,
		nullBytes(u.WebAuthnID), u.FailedLogins, ts(u.LockedUntil), u.ID)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return nil
}

func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.sql, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// RecordLoginFailure increments the user's failure count and sets LockedUntil
// to lock(count) in one transaction; a nil lock leaves LockedUntil alone.
func (db *DB) RecordLoginFailure(ctx context.Context, userID string, lock func(failures int) time.Time) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := db.queryRow(ctx, tx, "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins", userID).Scan(&n)
		if err != nil {
			return mapErr(err)
		}
		if lock == nil {
			return nil
		}
		_, err = db.exec(ctx, tx, "UPDATE users SET locked_until = ? WHERE id = ?", ts(lock(n)), userID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record login failure: %w", err)
	}
	return n, nil
}

// ResetLoginFailures clears the failure count and any lock.
func (db *DB) ResetLoginFailures(ctx context.Context, userID string) error {
	if err := db.execOne(ctx, db.sql, "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = ?", userID); err != nil {
		return fmt.Errorf("reset login failures: %w", err)
	}
	return nil
}

// Settings.

func (db *DB) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := db.queryRow(ctx, db.sql, "SELECT value FROM settings WHERE key = ?", key).Scan(&v); err != nil {
		return nil, fmt.Errorf("setting %q: %w", key, mapErr(err))
	}
	v, err := db.open(sealedSetting, v, key)
	if err != nil {
		return nil, fmt.Errorf("setting %q: %w", key, err)
	}
	return v, nil
}

func (db *DB) SetSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	if value == nil {
		value = []byte{}
	}
	sealed, err := db.seal(sealedSetting, value, key)
	if err != nil {
		return nil, fmt.Errorf("store setting %q: %w", key, err)
	}
	if _, err := db.exec(ctx, db.sql, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, sealed); err != nil {
		return nil, fmt.Errorf("store setting %q: %w", key, mapErr(err))
	}
	v, err := db.Setting(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("store setting %q: it vanished after insert: %w", key, err)
	}
	return v, err
}
