package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/api"
)

// AddActivity appends an event to the log and sets a.ID. An empty UserID
// records an event tied to no account.
const insertActivity = `INSERT INTO activity (user_id, at, kind, ok, ip, user_agent, member, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

func (db *DB) AddActivity(ctx context.Context, a *Activity) error {
	if err := db.addActivity(ctx, db.sql, a); err != nil {
		return fmt.Errorf("add activity: %w", err)
	}
	return nil
}

func (db *DB) addActivity(ctx context.Context, qr querier, a *Activity) error {
	err := db.queryRow(ctx, qr, insertActivity,
		nullStr(a.UserID), ts(a.At), a.Kind, a.OK, a.IP, a.UserAgent, a.Member, a.Detail).Scan(&a.ID)
	return mapErr(err)
}

// signInKinds are the kinds of api.ActivitySignIns besides "signin.*".
var signInKinds = []string{ActSignOut, ActTwoStepUsed, ActTwoStepFailed, ActLockedOut}

// ActivityCategory is the category of an activity kind: sign-ins,
// sign-outs, 2-step checks and lock-outs are api.ActivitySignIns,
// "approval.*" api.ActivityApprovals, everything else api.ActivityChanges.
func ActivityCategory(kind string) string {
	switch {
	case strings.HasPrefix(kind, "signin."), slices.Contains(signInKinds, kind):
		return api.ActivitySignIns
	case strings.HasPrefix(kind, "approval."):
		return api.ActivityApprovals
	}
	return api.ActivityChanges
}

func scanActivity(s scanner) (*Activity, error) {
	var a Activity
	var at int64
	if err := s.Scan(&a.ID, &a.UserID, &at, &a.Kind, &a.OK, &a.IP, &a.UserAgent, &a.Member, &a.Detail); err != nil {
		return nil, err
	}
	a.At = fromTS(at)
	return &a, nil
}

// ActivityPage returns up to limit of the user's events with an ID below
// beforeID (0: from the newest), newest first. The last event's ID is the
// cursor for the next page. A limit below 1 returns nothing.
func (db *DB) ActivityPage(ctx context.Context, userID string, beforeID int64, limit int) ([]Activity, error) {
	return db.ActivityCategoryPage(ctx, userID, "", beforeID, limit)
}

// ActivityCategoryPage is ActivityPage of one category's events (see
// ActivityCategory); "" is every category, an unknown one an error.
func (db *DB) ActivityCategoryPage(ctx context.Context, userID, category string, beforeID int64, limit int) ([]Activity, error) {
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
	signIns := "(kind LIKE ? OR kind IN (?" + strings.Repeat(", ?", len(signInKinds)-1) + "))"
	signInArgs := []any{"signin.%"}
	for _, k := range signInKinds {
		signInArgs = append(signInArgs, k)
	}
	switch category {
	case "":
	case api.ActivitySignIns:
		where += " AND " + signIns
		args = append(args, signInArgs...)
	case api.ActivityApprovals:
		where += " AND kind LIKE ?"
		args = append(args, "approval.%")
	case api.ActivityChanges:
		where += " AND NOT " + signIns + " AND kind NOT LIKE ?"
		args = append(append(args, signInArgs...), "approval.%")
	default:
		return nil, fmt.Errorf("list activity: unknown category %q", category)
	}
	args = append(args, limit)
	as, err := list(ctx, db, scanActivity, `SELECT id, COALESCE(user_id, ''), at, kind, ok, ip, user_agent, member, detail
	FROM activity WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	return as, nil
}

// Purge deletes sessions, challenges, SMS codes, reset tokens, pairing codes,
// device challenges, device tokens, OAuth tokens, sign-in alerts and sync
// join requests that expired at or before now (a zero
// expiry counts as expired), and approval events older than a day, in one
// transaction.
func (db *DB) Purge(ctx context.Context, now time.Time) error {
	n := ts(now)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"sessions", "challenges", "sms_codes", "reset_tokens",
			"pairing_codes", "device_challenges", "device_tokens", "oauth_tokens", "signin_alerts", "sync_joins"} {
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
