package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ApprovalChannel is the PostgreSQL NOTIFY channel on which every commit that
// appends approval events announces the account (payload: the user id).
const ApprovalChannel = "countersign_approvals"

// eventRetention is how long approval events are kept for streams to
// replay; Purge deletes older ones.
const eventRetention = 24 * time.Hour

// Pairing codes and approvers.

// AddPairingCode stores a pairing code; an empty MemberID is filled with
// the owner's.
func (db *DB) AddPairingCode(ctx context.Context, c *PairingCode) error {
	if err := db.ownMember(ctx, db.sql, c.UserID, &c.MemberID); err != nil {
		return fmt.Errorf("add pairing code: %w", err)
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO pairing_codes (hash, user_id, member_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Hash, c.UserID, nullStr(c.MemberID), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.UsedAt))
	if err != nil {
		return fmt.Errorf("add pairing code: %w", mapErr(err))
	}
	return nil
}

const approverCols = `id, user_id, name, platform, public_key, COALESCE(member_id, ''), created_at, last_seen_at, removed_at`

func scanApprover(s scanner) (*Approver, error) {
	var a Approver
	var created, seen, removed int64
	if err := s.Scan(&a.ID, &a.UserID, &a.Name, &a.Platform, &a.PublicKey, &a.MemberID, &created, &seen, &removed); err != nil {
		return nil, mapErr(err)
	}
	a.CreatedAt, a.LastSeenAt, a.RemovedAt = fromTS(created), fromTS(seen), fromTS(removed)
	return &a, nil
}

// RedeemPairingCode spends the code and adds the approver in one
// transaction; an empty a.ID is filled with a random one. The approver
// belongs to the code's member (a.MemberID is set from it).
func (db *DB) RedeemPairingCode(ctx context.Context, hash []byte, at time.Time, a *Approver) error {
	used, err := useTime(at)
	if err != nil {
		return fmt.Errorf("redeem pairing code: %w", err)
	}
	if a.ID == "" {
		a.ID = newID()
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var userID, memberID string
		var expires, usedAt int64
		err := db.queryRow(ctx, tx, `SELECT user_id, COALESCE(member_id, ''), expires_at, used_at FROM pairing_codes WHERE hash = ?`, hash).
			Scan(&userID, &memberID, &expires, &usedAt)
		if err != nil {
			return mapErr(err)
		}
		if usedAt != 0 {
			return ErrUsed
		}
		if expires <= used {
			return fmt.Errorf("it expired: %w", ErrNotFound)
		}
		// The used_at = 0 condition makes the spend atomic on PostgreSQL,
		// where the SELECT above takes no lock.
		res, err := db.exec(ctx, tx, `UPDATE pairing_codes SET used_at = ? WHERE hash = ? AND used_at = 0`, used, hash)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return ErrUsed
		}
		a.UserID, a.MemberID = userID, memberID
		if err := db.ownMember(ctx, tx, userID, &a.MemberID); err != nil { // a code made before every code had a member
			return err
		}
		_, err = db.exec(ctx, tx, `INSERT INTO approvers (id, user_id, name, platform, public_key, member_id, created_at, last_seen_at, removed_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.UserID, a.Name, a.Platform, a.PublicKey, nullStr(a.MemberID), ts(a.CreatedAt), ts(a.LastSeenAt), ts(a.RemovedAt))
		return mapErr(err)
	})
	if err != nil {
		return fmt.Errorf("redeem pairing code: %w", err)
	}
	return nil
}

// Approvers lists the user's paired (not removed) approvers, oldest first.
func (db *DB) Approvers(ctx context.Context, userID string) ([]Approver, error) {
	as, err := list(ctx, db, scanApprover, `SELECT `+approverCols+` FROM approvers WHERE user_id = ? AND removed_at = 0 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list approvers: %w", err)
	}
	return as, nil
}

// Approver returns an approver, removed or not: the caller checks
// RemovedAt.
func (db *DB) Approver(ctx context.Context, id string) (*Approver, error) {
	a, err := scanApprover(db.queryRow(ctx, db.sql, `SELECT `+approverCols+` FROM approvers WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("approver: %w", err)
	}
	return a, nil
}

func (db *DB) TouchApprover(ctx context.Context, id string, at time.Time) error {
	if err := db.execOne(ctx, db.sql, `UPDATE approvers SET last_seen_at = ? WHERE id = ?`, ts(at), id); err != nil {
		return fmt.Errorf("touch approver: %w", err)
	}
	return nil
}

func (db *DB) RenameApprover(ctx context.Context, userID, id, name string) error {
	if err := db.execOne(ctx, db.sql, `UPDATE approvers SET name = ? WHERE id = ? AND user_id = ? AND removed_at = 0`, name, id, userID); err != nil {
		return fmt.Errorf("rename approver: %w", err)
	}
	return nil
}

func (db *DB) RemoveApprover(ctx context.Context, userID, id string, at time.Time, ev *ApprovalEvent) error {
	removed, err := useTime(at)
	if err != nil {
		return fmt.Errorf("remove approver: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if err := db.execOne(ctx, tx, `UPDATE approvers SET removed_at = ? WHERE id = ? AND user_id = ? AND removed_at = 0`, removed, id, userID); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM device_challenges WHERE device_id = ?`, id); err != nil {
			return fmt.Errorf("device challenges: %w", err)
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM share_offers WHERE device_id = ? AND accepted_at = 0 AND declined_at = 0`, id); err != nil {
			return fmt.Errorf("share offers: %w", err)
		}
		return db.appendEvent(ctx, tx, userID, at, ev)
	})
	if err != nil {
		return fmt.Errorf("remove approver: %w", err)
	}
	return nil
}

// Device challenges and tokens.

func (db *DB) AddDeviceChallenge(ctx context.Context, c *DeviceChallenge) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO device_challenges (hash, device_id, expires_at) VALUES (?, ?, ?)`,
		c.Hash, c.DeviceID, ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("add device challenge: %w", mapErr(err))
	}
	return nil
}

// TakeDeviceChallenge deletes the challenge and returns it. Of two
// concurrent calls one gets it and the other ErrNotFound.
func (db *DB) TakeDeviceChallenge(ctx context.Context, hash []byte) (*DeviceChallenge, error) {
	c := DeviceChallenge{}
	var expires int64
	err := db.queryRow(ctx, db.sql, `DELETE FROM device_challenges WHERE hash = ? RETURNING hash, device_id, expires_at`, hash).
		Scan(&c.Hash, &c.DeviceID, &expires)
	if err != nil {
		return nil, fmt.Errorf("take device challenge: %w", mapErr(err))
	}
	c.ExpiresAt = fromTS(expires)
	return &c, nil
}

func (db *DB) AddDeviceToken(ctx context.Context, t *DeviceToken) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO device_tokens (hash, device_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.DeviceID, t.UserID, ts(t.CreatedAt), ts(t.ExpiresAt))
	if err != nil {
		return fmt.Errorf("add device token: %w", mapErr(err))
	}
	return nil
}

func (db *DB) DeviceTokenByHash(ctx context.Context, hash []byte) (*DeviceToken, error) {
	t := DeviceToken{}
	var created, expires int64
	err := db.queryRow(ctx, db.sql, `SELECT hash, device_id, user_id, created_at, expires_at FROM device_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.DeviceID, &t.UserID, &created, &expires)
	if err != nil {
		return nil, fmt.Errorf("device token by hash: %w", mapErr(err))
	}
	t.CreatedAt, t.ExpiresAt = fromTS(created), fromTS(expires)
	return &t, nil
}

// Approval requests.

const requestCols = `id, user_id, session_id, nonce, number, decoys, browser, os, ip, user_agent, place, app,
	created_at, expires_at, status, reason, decided_by, decided_by_name, decided_at,
	require_key, key_challenge_id, key_options, consumed_at`

func scanRequest(s scanner) (*ApprovalRequest, error) {
	var r ApprovalRequest
	var decoys string
	var created, expires, decided, consumed int64
	if err := s.Scan(&r.ID, &r.UserID, &r.SessionID, &r.Nonce, &r.Number, &decoys, &r.Browser, &r.OS, &r.IP, &r.UserAgent, &r.Place, &r.App,
		&created, &expires, &r.Status, &r.Reason, &r.DecidedBy, &r.DecidedByName, &decided,
		&r.RequireKey, &r.KeyChallengeID, &r.KeyOptions, &consumed); err != nil {
		return nil, mapErr(err)
	}
	for f := range strings.SplitSeq(decoys, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			r.Decoys = append(r.Decoys, n)
		}
	}
	r.CreatedAt, r.ExpiresAt, r.DecidedAt, r.ConsumedAt = fromTS(created), fromTS(expires), fromTS(decided), fromTS(consumed)
	return &r, nil
}

// CreateApprovalRequest stores r (Status defaults to ApprovalPending) and
// appends ev, unless the user has maxPending requests pending already.
func (db *DB) CreateApprovalRequest(ctx context.Context, r *ApprovalRequest, maxPending int, ev *ApprovalEvent) error {
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Status == "" {
		r.Status = ApprovalPending
	}
	decoys := make([]string, len(r.Decoys))
	for i, d := range r.Decoys {
		decoys[i] = strconv.Itoa(d)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// The user's row lock serializes the count and the insert with
		// other requests of the account (SQLite's write lock does that for
		// every transaction).
		if err := db.lockUser(ctx, tx, r.UserID); err != nil {
			return err
		}
		var n int
		err := db.queryRow(ctx, tx, `SELECT COUNT(*) FROM approval_requests WHERE user_id = ? AND status = ? AND expires_at > ?`,
			r.UserID, ApprovalPending, ts(r.CreatedAt)).Scan(&n)
		if err != nil {
			return err
		}
		if n >= maxPending {
			return fmt.Errorf("%d requests are pending: %w", n, ErrLimit)
		}
		_, err = db.exec(ctx, tx, `INSERT INTO approval_requests (`+requestCols+`)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.UserID, r.SessionID, r.Nonce, r.Number, strings.Join(decoys, ","), r.Browser, r.OS, r.IP, r.UserAgent, r.Place, r.App,
			ts(r.CreatedAt), ts(r.ExpiresAt), r.Status, r.Reason, r.DecidedBy, r.DecidedByName, ts(r.DecidedAt),
			r.RequireKey, r.KeyChallengeID, nullBytes(r.KeyOptions), ts(r.ConsumedAt))
		if err != nil {
			return mapErr(err)
		}
		return db.appendEvent(ctx, tx, r.UserID, r.CreatedAt, ev)
	})
	if err != nil {
		return fmt.Errorf("create approval request: %w", err)
	}
	return nil
}

func (db *DB) ApprovalRequest(ctx context.Context, id string) (*ApprovalRequest, error) {
	r, err := scanRequest(db.queryRow(ctx, db.sql, `SELECT `+requestCols+` FROM approval_requests WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("approval request: %w", err)
	}
	return r, nil
}

func (db *DB) SessionApprovalRequest(ctx context.Context, sessionID string) (*ApprovalRequest, error) {
	if sessionID == "" {
		return nil, fmt.Errorf("session approval request: %w", ErrNotFound)
	}
	r, err := scanRequest(db.queryRow(ctx, db.sql, `SELECT `+requestCols+` FROM approval_requests
	WHERE session_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, sessionID))
	if err != nil {
		return nil, fmt.Errorf("session approval request: %w", err)
	}
	return r, nil
}

func (db *DB) PendingApprovalRequests(ctx context.Context, userID string, now time.Time) ([]ApprovalRequest, error) {
	rs, err := list(ctx, db, scanRequest, `SELECT `+requestCols+` FROM approval_requests
	WHERE user_id = ? AND status = ? AND expires_at > ? ORDER BY created_at, id`, userID, ApprovalPending, ts(now))
	if err != nil {
		return nil, fmt.Errorf("list pending approval requests: %w", err)
	}
	return rs, nil
}

func (db *DB) ExpiredApprovalRequests(ctx context.Context, now time.Time, limit int) ([]ApprovalRequest, error) {
	if limit < 1 {
		return nil, nil
	}
	rs, err := list(ctx, db, scanRequest, `SELECT `+requestCols+` FROM approval_requests
	WHERE status = ? AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, ApprovalPending, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired approval requests: %w", err)
	}
	return rs, nil
}

func (db *DB) ResolveApprovalRequest(ctx context.Context, res Resolution, ev *ApprovalEvent) error {
	at, err := useTime(res.At)
	if err != nil {
		return fmt.Errorf("resolve approval request: %w", err)
	}
	if res.Status == "" || res.Status == ApprovalPending {
		return fmt.Errorf("resolve approval request: status %q is not a resolution", res.Status)
	}
	expiry := "expires_at > ?"
	if res.Status == ApprovalExpired {
		expiry = "expires_at <= ?"
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var userID string
		if err := db.queryRow(ctx, tx, `SELECT user_id FROM approval_requests WHERE id = ?`, res.RequestID).Scan(&userID); err != nil {
			return mapErr(err)
		}
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		r, err := db.exec(ctx, tx, `UPDATE approval_requests SET status = ?, reason = ?, decided_by = ?, decided_by_name = ?, decided_at = ?
	WHERE id = ? AND status = ? AND `+expiry,
			res.Status, res.Reason, res.DecidedBy, res.DecidedByName, at, res.RequestID, ApprovalPending, at)
		if err != nil {
			return mapErr(err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrUsed
		}
		return db.appendEvent(ctx, tx, userID, res.At, ev)
	})
	if err != nil {
		return fmt.Errorf("resolve approval request: %w", err)
	}
	return nil
}

func (db *DB) CountApprovalRequests(ctx context.Context, userID string, since time.Time, statuses ...string) (int, error) {
	if len(statuses) == 0 {
		return 0, nil
	}
	args := []any{userID, ts(since)}
	for _, s := range statuses {
		args = append(args, s)
	}
	var n int
	err := db.queryRow(ctx, db.sql, `SELECT COUNT(*) FROM approval_requests WHERE user_id = ? AND decided_at >= ?
	AND status IN (?`+strings.Repeat(", ?", len(statuses)-1)+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count approval requests: %w", err)
	}
	return n, nil
}

func (db *DB) ConsumeApprovalRequest(ctx context.Context, id, sessionID string, at time.Time) error {
	used, err := useTime(at)
	if err != nil {
		return fmt.Errorf("consume approval request: %w", err)
	}
	res, err := db.exec(ctx, db.sql, `UPDATE approval_requests SET consumed_at = ?
	WHERE id = ? AND session_id = ? AND status = ? AND consumed_at = 0`, used, id, sessionID, ApprovalApproved)
	if err != nil {
		return fmt.Errorf("consume approval request: %w", mapErr(err))
	}
	return db.spent(ctx, res, "consume approval request",
		`SELECT 1 FROM approval_requests WHERE id = ? AND session_id = ? AND status = ?`, id, sessionID, ApprovalApproved)
}

// Approval events.

// lockUser takes the user's row lock for the rest of a PostgreSQL
// transaction, so that the account's event-writing transactions take their
// sequence numbers in commit order: a stream that has read up to seq n never
// sees a later commit bring an event below n. SQLite's write lock does the
// same for every transaction. ErrNotFound when there is no such user.
func (db *DB) lockUser(ctx context.Context, tx *sql.Tx, userID string) error {
	if db.dialect != dialectPostgres {
		return nil
	}
	var one int
	if err := db.queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR NO KEY UPDATE`, userID).Scan(&one); err != nil {
		return fmt.Errorf("lock user: %w", mapErr(err))
	}
	return nil
}

// appendEvent inserts ev (if any) for userID and, on PostgreSQL, queues the
// NOTIFY that announces it when the transaction commits.
func (db *DB) appendEvent(ctx context.Context, tx *sql.Tx, userID string, at time.Time, ev *ApprovalEvent) error {
	if ev == nil {
		return nil
	}
	if ev.Kind == "" || len(ev.Data) == 0 {
		return errors.New("append approval event: kind or data missing")
	}
	ev.UserID = userID
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = at
	}
	err := db.queryRow(ctx, tx, `INSERT INTO approval_events (user_id, kind, data, created_at) VALUES (?, ?, ?, ?) RETURNING seq`,
		ev.UserID, ev.Kind, ev.Data, ts(ev.CreatedAt)).Scan(&ev.Seq)
	if err != nil {
		return fmt.Errorf("append approval event: %w", mapErr(err))
	}
	if a := ev.Activity; a != nil {
		a.UserID = userID
		if err := db.addActivity(ctx, tx, a); err != nil {
			return fmt.Errorf("add activity: %w", mapErr(err))
		}
	}
	if db.dialect == dialectPostgres {
		if _, err := db.exec(ctx, tx, `SELECT pg_notify(?, ?)`, ApprovalChannel, userID); err != nil {
			return fmt.Errorf("notify approval event: %w", err)
		}
	}
	return nil
}

func scanEvent(s scanner) (*ApprovalEvent, error) {
	var e ApprovalEvent
	var created int64
	if err := s.Scan(&e.Seq, &e.UserID, &e.Kind, &e.Data, &created); err != nil {
		return nil, mapErr(err)
	}
	e.CreatedAt = fromTS(created)
	return &e, nil
}

func (db *DB) ApprovalEvents(ctx context.Context, userID string, afterSeq int64, limit int) ([]ApprovalEvent, error) {
	if limit < 1 {
		return nil, nil
	}
	es, err := list(ctx, db, scanEvent, `SELECT seq, user_id, kind, data, created_at FROM approval_events
	WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?`, userID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list approval events: %w", err)
	}
	return es, nil
}

func (db *DB) LastApprovalEventSeq(ctx context.Context, userID string) (int64, error) {
	var n int64
	if err := db.queryRow(ctx, db.sql, `SELECT COALESCE(MAX(seq), 0) FROM approval_events WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("last approval event: %w", err)
	}
	return n, nil
}

// Approval settings.

func (db *DB) SetApprovalRequireKey(ctx context.Context, userID string, on bool) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO approval_settings (user_id, require_key) VALUES (?, ?)
	ON CONFLICT (user_id) DO UPDATE SET require_key = excluded.require_key`, userID, on)
	if err != nil {
		return fmt.Errorf("set approval require key: %w", mapErr(err))
	}
	return nil
}

func (db *DB) ApprovalRequireKey(ctx context.Context, userID string) (bool, error) {
	var on bool
	err := db.queryRow(ctx, db.sql, `SELECT require_key FROM approval_settings WHERE user_id = ?`, userID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("approval require key: %w", err)
	}
	return on, nil
}
