package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Password reset.

func (db *DB) AddResetToken(ctx context.Context, t *ResetToken) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO reset_tokens (hash, user_id, expires_at, used_at) VALUES (?, ?, ?, ?)`,
		t.Hash, t.UserID, ts(t.ExpiresAt), ts(t.UsedAt))
	if err != nil {
		return fmt.Errorf("add reset token: %w", mapErr(err))
	}
	return nil
}

func (db *DB) ResetToken(ctx context.Context, hash []byte) (*ResetToken, error) {
	t := ResetToken{Hash: hash}
	var expires, usedAt int64
	err := db.queryRow(ctx, db.sql, `SELECT user_id, expires_at, used_at FROM reset_tokens WHERE hash = ?`, hash).
		Scan(&t.UserID, &expires, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reset token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reset token: %w", mapErr(err))
	}
	t.ExpiresAt, t.UsedAt = fromTS(expires), fromTS(usedAt)
	return &t, nil
}

func (db *DB) UseResetToken(ctx context.Context, hash []byte, at time.Time) (*ResetToken, error) {
	used, err := useTime(at)
	if err != nil {
		return nil, fmt.Errorf("use reset token: %w", err)
	}
	t := ResetToken{Hash: hash}
	var expires, usedAt int64
	err = db.queryRow(ctx, db.sql, `UPDATE reset_tokens SET used_at = ? WHERE hash = ? AND used_at = 0
	RETURNING user_id, expires_at, used_at`, used, hash).Scan(&t.UserID, &expires, &usedAt)
	if errors.Is(err, sql.ErrNoRows) {
		ok, err := db.exists(ctx, db.sql, `SELECT 1 FROM reset_tokens WHERE hash = ?`, hash)
		switch {
		case err != nil:
			return nil, fmt.Errorf("use reset token: %w", err)
		case ok:
			return nil, fmt.Errorf("use reset token: %w", ErrUsed)
		default:
			return nil, fmt.Errorf("use reset token: %w", ErrNotFound)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("use reset token: %w", mapErr(err))
	}
	t.ExpiresAt, t.UsedAt = fromTS(expires), fromTS(usedAt)
	return &t, nil
}

// API tokens.

const apiTokenCols = `id, user_id, name, hash, scopes, created_at, last_used_at, expires_at, revoked_at`

func scanAPIToken(s scanner) (*APIToken, error) {
	var t APIToken
	var scopes string
	var created, used, expires, revoked int64
	if err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &scopes, &created, &used, &expires, &revoked); err != nil {
		return nil, mapErr(err)
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.RevokedAt = fromTS(created), fromTS(used), fromTS(expires), fromTS(revoked)
	return &t, nil
}

// AddAPIToken stores a token; an empty ID is filled with a random one.
// Scopes are stored space-separated, so a scope may not contain white space.
func (db *DB) AddAPIToken(ctx context.Context, t *APIToken) error {
	if t.ID == "" {
		t.ID = newID()
	}
	for _, s := range t.Scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
			return fmt.Errorf("add api token: scope %q is empty or contains white space", s)
		}
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO api_tokens (`+apiTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Name, t.Hash, strings.Join(t.Scopes, " "),
		ts(t.CreatedAt), ts(t.LastUsedAt), ts(t.ExpiresAt), ts(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("add api token: %w", mapErr(err))
	}
	return nil
}

// APITokens lists the user's tokens, revoked and expired ones too, oldest
// first.
func (db *DB) APITokens(ctx context.Context, userID string) ([]APIToken, error) {
	ts, err := list(ctx, db, scanAPIToken, `SELECT `+apiTokenCols+` FROM api_tokens WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return ts, nil
}

// APITokenByHash finds a token, revoked or expired ones too: the caller
// checks RevokedAt and ExpiresAt.
func (db *DB) APITokenByHash(ctx context.Context, hash []byte) (*APIToken, error) {
	t, err := scanAPIToken(db.queryRow(ctx, db.sql, `SELECT `+apiTokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, fmt.Errorf("api token by hash: %w", err)
	}
	return t, nil
}

func (db *DB) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	if err := db.execOne(ctx, db.sql, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ts(at), id); err != nil {
		return fmt.Errorf("touch api token: %w", err)
	}
	return nil
}

// RevokeAPIToken marks the user's token revoked at at. Revoking a revoked
// token succeeds and keeps the first revocation time.
func (db *DB) RevokeAPIToken(ctx context.Context, userID, id string, at time.Time) error {
	revoked, err := useTime(at)
	if err != nil {
		return fmt.Errorf("revoke api token: %w", err)
	}
	err = db.execOne(ctx, db.sql, `UPDATE api_tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END
	WHERE id = ? AND user_id = ?`, revoked, id, userID)
	if err != nil {
		return fmt.Errorf("revoke api token: %w", err)
	}
	return nil
}

// Revoked is what RevokeSignIns ended.
type Revoked struct {
	Sessions  int      // sessions ended
	APITokens []string // names of the API tokens revoked, oldest first
	Apps      []string // IDs of the OAuth clients that held a live code or token, in ID order
}

// RevokeSignIns ends, in one transaction, what lets anyone act as the user
// without the password and second step: every session but keepSessionID
// ("" for none), every API token neither revoked nor expired (revoked at
// at) and every OAuth authorization code, access and refresh token of every
// app. The apps' grants stay, so an app asks the person to sign in again,
// not to consent again; approver devices and their tokens stay (they are
// the second factor).
func (db *DB) RevokeSignIns(ctx context.Context, userID, keepSessionID string, at time.Time) (Revoked, error) {
	var r Revoked
	revoked, err := useTime(at)
	if err != nil {
		return r, fmt.Errorf("revoke sign-ins: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, userID, keepSessionID)
		if err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sessions: %w", err)
		}
		r.Sessions = int(n)
		if r.APITokens, err = db.revokeAPITokens(ctx, tx, userID, revoked); err != nil {
			return fmt.Errorf("api tokens: %w", err)
		}
		rows, err := db.query(ctx, tx, `SELECT DISTINCT client_id FROM oauth_tokens
	WHERE user_id = ? AND kind IN (?, ?, ?) AND active = ? AND expires_at > ? ORDER BY client_id`,
			userID, OAuthCode, OAuthAccess, OAuthRefresh, true, revoked)
		if err != nil {
			return fmt.Errorf("oauth tokens: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("oauth tokens: %w", err)
			}
			r.Apps = append(r.Apps, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("oauth tokens: %w", err)
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM oauth_tokens WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("oauth tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return Revoked{}, fmt.Errorf("revoke sign-ins: %w", mapErr(err))
	}
	return r, nil
}

// revokeAPITokens revokes the user's live API tokens and returns their
// names, oldest first (RETURNING has no ORDER BY).
func (db *DB) revokeAPITokens(ctx context.Context, tx *sql.Tx, userID string, at int64) ([]string, error) {
	rows, err := db.query(ctx, tx, `UPDATE api_tokens SET revoked_at = ?
	WHERE user_id = ? AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?) RETURNING name, created_at, id`, at, userID, at)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type token struct {
		name, id string
		created  int64
	}
	var ts []token
	for rows.Next() {
		var t token
		if err := rows.Scan(&t.name, &t.created, &t.id); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(ts, func(a, b token) int {
		return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.id, b.id))
	})
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return names, nil
}

// SMS and voice codes.

const smsCols = `id, user_id, COALESCE(method_id, ''), hash, expires_at, tries, used_at`

func scanSMSCode(s scanner) (*SMSCode, error) {
	var c SMSCode
	var expires, used int64
	if err := s.Scan(&c.ID, &c.UserID, &c.MethodID, &c.Hash, &expires, &c.Tries, &used); err != nil {
		return nil, mapErr(err)
	}
	c.ExpiresAt, c.UsedAt = fromTS(expires), fromTS(used)
	return &c, nil
}

// AddSMSCode stores a code; an empty ID is filled with a random one.
// ErrNotFound when the user or the method does not exist.
func (db *DB) AddSMSCode(ctx context.Context, c *SMSCode) error {
	if c.ID == "" {
		c.ID = newID()
	}
	// created_at orders the user's codes for LatestSMSCode: the store's clock,
	// nudged past the user's newest code so that order holds on a clock that
	// stands still (tests) or steps back.
	now := ts(db.now())
	_, err := db.exec(ctx, db.sql, `INSERT INTO sms_codes (id, user_id, method_id, hash, created_at, expires_at, tries, used_at)
	VALUES (?, ?, ?, ?,
		(SELECT CASE WHEN COALESCE(MAX(created_at), 0) >= ? THEN MAX(created_at) + 1 ELSE ? END FROM sms_codes WHERE user_id = ?),
		?, ?, ?)`,
		c.ID, c.UserID, nullStr(c.MethodID), c.Hash, now, now, c.UserID, ts(c.ExpiresAt), c.Tries, ts(c.UsedAt))
	if err != nil {
		return fmt.Errorf("add sms code: %w", mapErr(err))
	}
	return nil
}

// LatestSMSCode returns the user's most recently added unused code, expired
// or not: the caller checks ExpiresAt.
func (db *DB) LatestSMSCode(ctx context.Context, userID string) (*SMSCode, error) {
	c, err := scanSMSCode(db.queryRow(ctx, db.sql, `SELECT `+smsCols+` FROM sms_codes
	WHERE user_id = ? AND used_at = 0 ORDER BY created_at DESC, expires_at DESC LIMIT 1`, userID))
	if err != nil {
		return nil, fmt.Errorf("latest sms code: %w", err)
	}
	return c, nil
}

func (db *DB) TrySMSCode(ctx context.Context, id string) (int, error) {
	var n int
	err := db.queryRow(ctx, db.sql, `UPDATE sms_codes SET tries = tries + 1 WHERE id = ? RETURNING tries`, id).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sms code try: %w", mapErr(err))
	}
	return n, nil
}

// UseSMSCode marks the code used; ErrUsed if it was, ErrNotFound if there is
// no such code.
func (db *DB) UseSMSCode(ctx context.Context, id string, at time.Time) error {
	used, err := useTime(at)
	if err != nil {
		return fmt.Errorf("use sms code: %w", err)
	}
	res, err := db.exec(ctx, db.sql, `UPDATE sms_codes SET used_at = ? WHERE id = ? AND used_at = 0`, used, id)
	if err != nil {
		return fmt.Errorf("use sms code: %w", mapErr(err))
	}
	return db.spent(ctx, res, "use sms code", `SELECT 1 FROM sms_codes WHERE id = ?`, id)
}

// WebAuthn ceremonies.

// AddChallenge stores a pending ceremony; an empty ID is filled with a random
// one.
func (db *DB) AddChallenge(ctx context.Context, c *Challenge) error {
	if c.ID == "" {
		c.ID = newID()
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO challenges (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
		c.ID, nullStr(c.UserID), c.Kind, c.Data, ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("add challenge: %w", mapErr(err))
	}
	return nil
}

// TakeChallenge deletes the challenge and returns it. Of two concurrent calls
// one gets it and the other ErrNotFound. An expired challenge (by the store's
// clock, see WithClock) is deleted and reported as ErrNotFound.
func (db *DB) TakeChallenge(ctx context.Context, id string) (*Challenge, error) {
	var c Challenge
	var expires int64
	err := db.queryRow(ctx, db.sql, `DELETE FROM challenges WHERE id = ? RETURNING id, COALESCE(user_id, ''), kind, data, expires_at`, id).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Data, &expires)
	if err != nil {
		return nil, fmt.Errorf("take challenge: %w", mapErr(err))
	}
	c.ExpiresAt = fromTS(expires)
	if !db.now().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("take challenge: it expired: %w", ErrNotFound)
	}
	return &c, nil
}
