package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AddActivity appends an event to the log and sets a.ID. An empty UserID
// records an event tied to no account.
const insertActivity = `INSERT INTO activity (user_id, at, kind, ok, ip, user_agent, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`

func (db *DB) AddActivity(ctx context.Context, a *Activity) error {
	err := db.queryRow(ctx, db.sql, insertActivity,
		nullStr(a.UserID), ts(a.At), a.Kind, a.OK, a.IP, a.UserAgent, a.Detail).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("add activity: %w", mapErr(err))
	}
	return nil
}

func scanActivity(s scanner) (*Activity, error) {
	var a Activity
	var at int64
	if err := s.Scan(&a.ID, &a.UserID, &at, &a.Kind, &a.OK, &a.IP, &a.UserAgent, &a.Detail); err != nil {
		return nil, err
	}
	a.At = fromTS(at)
	return &a, nil
}

// ActivityPage returns up to limit of the user's events with an ID below
// beforeID (0: from the newest), newest first. The last event's ID is the
// cursor for the next page. A limit below 1 returns nothing.
func (db *DB) ActivityPage(ctx context.Context, userID string, beforeID int64, limit int) ([]Activity, error) {
	if limit < 1 {
		return nil, nil
	}
	where := "user_id = ?"
	args := []any{userID}
	if userID == "" {
		where, args = "user_id IS NULL", nil
	}
	if beforeID > 0 {
		where += " AND id < ?"
		args = append(args, beforeID)
	}
	args = append(args, limit)
	as, err := list(ctx, db, scanActivity, `SELECT id, COALESCE(user_id, ''), at, kind, ok, ip, user_agent, detail
	FROM activity WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	return as, nil
}

// Purge deletes sessions, challenges, SMS codes, reset tokens, pairing codes,
// device challenges and device tokens that expired at or before now (a zero
// expiry counts as expired), and approval events older than a day, in one
// transaction.
func (db *DB) Purge(ctx context.Context, now time.Time) error {
	n := ts(now)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"sessions", "challenges", "sms_codes", "reset_tokens",
			"pairing_codes", "device_challenges", "device_tokens", "oauth_tokens"} {
			if _, err := db.exec(ctx, tx, `DELETE FROM `+table+` WHERE expires_at <= ?`, n); err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM approval_events WHERE created_at <= ?`, ts(now.Add(-eventRetention))); err != nil {
			return fmt.Errorf("approval_events: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("purge expired rows: %w", err)
	}
	return nil
}
