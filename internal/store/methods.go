package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const methodCols = `id, user_id, kind, label, secret, phone, confirmed, last_step, created_at, last_used_at`

func scanMethod(s scanner) (*Method, error) {
	var m Method
	var created, used int64
	if err := s.Scan(&m.ID, &m.UserID, &m.Kind, &m.Label, &m.Secret, &m.Phone, &m.Confirmed,
		&m.LastStep, &created, &used); err != nil {
		return nil, mapErr(err)
	}
	m.CreatedAt, m.LastUsedAt = fromTS(created), fromTS(used)
	return &m, nil
}

// AddMethod stores a second-step method; an empty ID is filled with a random
// one. Two methods of a user may not share kind and a non-empty phone
// (ErrConflict); several TOTP methods (no phone) are allowed.
func (db *DB) AddMethod(ctx context.Context, m *Method) error {
	if m.ID == "" {
		m.ID = newID()
	}
	secret, err := db.seal(sealedMethodSecret, m.Secret, m.ID, m.UserID)
	if err != nil {
		return fmt.Errorf("add method: %w", err)
	}
	_, err = db.exec(ctx, db.sql, `INSERT INTO methods (`+methodCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.UserID, string(m.Kind), m.Label, secret, m.Phone, m.Confirmed, m.LastStep,
		ts(m.CreatedAt), ts(m.LastUsedAt))
	if err != nil {
		return fmt.Errorf("add method: %w", mapErr(err))
	}
	return nil
}

// Methods lists the user's methods, oldest first.
func (db *DB) Methods(ctx context.Context, userID string) ([]Method, error) {
	ms, err := list(ctx, db, scanMethod, `SELECT `+methodCols+` FROM methods WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list methods: %w", err)
	}
	for i := range ms {
		if ms[i].Secret, err = db.open(sealedMethodSecret, ms[i].Secret, ms[i].ID, ms[i].UserID); err != nil {
			return nil, fmt.Errorf("list methods: %w", err)
		}
	}
	return ms, nil
}

func (db *DB) Method(ctx context.Context, userID, id string) (*Method, error) {
	m, err := scanMethod(db.queryRow(ctx, db.sql, `SELECT `+methodCols+` FROM methods WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return nil, fmt.Errorf("method: %w", err)
	}
	if m.Secret, err = db.open(sealedMethodSecret, m.Secret, m.ID, m.UserID); err != nil {
		return nil, fmt.Errorf("method: %w", err)
	}
	return m, nil
}

// UpdateMethod writes Label, Secret, Phone, Confirmed, LastStep and
// LastUsedAt. LastStep never moves back, so writing a stale copy of the
// method cannot make a spent TOTP code valid again.
func (db *DB) UpdateMethod(ctx context.Context, m *Method) error {
	secret, err := db.seal(sealedMethodSecret, m.Secret, m.ID, m.UserID)
	if err != nil {
		return fmt.Errorf("update method: %w", err)
	}
	err = db.execOne(ctx, db.sql, `UPDATE methods SET label = ?, secret = ?, phone = ?, confirmed = ?,
	last_step = CASE WHEN last_step < ? THEN ? ELSE last_step END, last_used_at = ?
	WHERE id = ? AND user_id = ?`,
		m.Label, secret, m.Phone, m.Confirmed, m.LastStep, m.LastStep, ts(m.LastUsedAt), m.ID, m.UserID)
	if err != nil {
		return fmt.Errorf("update method: %w", err)
	}
	return nil
}

func (db *DB) DeleteMethod(ctx context.Context, userID, id string) error {
	if err := db.execOne(ctx, db.sql, `DELETE FROM methods WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("delete method: %w", err)
	}
	return nil
}

// UseTOTPStep moves the method's LastStep to step, and LastUsedAt to at, if
// step is past LastStep; ErrUsed if it is not, ErrNotFound if there is no
// such method. The compare and the write are one statement, so of two
// concurrent calls with the same step exactly one succeeds.
func (db *DB) UseTOTPStep(ctx context.Context, methodID string, step int64, at time.Time) error {
	res, err := db.exec(ctx, db.sql, `UPDATE methods SET last_step = ?, last_used_at = ? WHERE id = ? AND last_step < ?`,
		step, ts(at), methodID, step)
	if err != nil {
		return fmt.Errorf("use totp step: %w", mapErr(err))
	}
	return db.spent(ctx, res, "use totp step", `SELECT 1 FROM methods WHERE id = ?`, methodID)
}

// spent finishes a conditional "mark used" update: a row touched is success;
// none means ErrUsed when the row exists (by the exists query) and
// ErrNotFound when it does not.
func (db *DB) spent(ctx context.Context, res sql.Result, what, existsQuery string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n > 0 {
		return nil
	}
	ok, err := db.exists(ctx, db.sql, existsQuery, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if ok {
		return fmt.Errorf("%s: %w", what, ErrUsed)
	}
	return fmt.Errorf("%s: %w", what, ErrNotFound)
}

// Backup codes.

// ReplaceBackupCodes drops the user's codes and stores hashes as the new,
// unused set, in one transaction.
func (db *DB) ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := db.exec(ctx, tx, `INSERT INTO backup_codes (user_id, hash, used_at) VALUES (?, ?, 0)`, userID, h); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace backup codes: %w", err)
	}
	return nil
}

func scanBackupCode(s scanner) (*BackupCode, error) {
	var c BackupCode
	var used int64
	if err := s.Scan(&c.UserID, &c.Hash, &used); err != nil {
		return nil, err
	}
	c.UsedAt = fromTS(used)
	return &c, nil
}

// BackupCodes lists the user's codes, used ones too.
func (db *DB) BackupCodes(ctx context.Context, userID string) ([]BackupCode, error) {
	cs, err := list(ctx, db, scanBackupCode, `SELECT user_id, hash, used_at FROM backup_codes WHERE user_id = ? ORDER BY hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("list backup codes: %w", err)
	}
	return cs, nil
}

func (db *DB) UseBackupCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	used, err := useTime(at)
	if err != nil {
		return fmt.Errorf("use backup code: %w", err)
	}
	res, err := db.exec(ctx, db.sql, `UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at = 0`,
		used, userID, hash)
	if err != nil {
		return fmt.Errorf("use backup code: %w", mapErr(err))
	}
	return db.spent(ctx, res, "use backup code", `SELECT 1 FROM backup_codes WHERE user_id = ? AND hash = ?`, userID, hash)
}

// Security keys.

const keyCols = `id, user_id, name, credential_id, credential, COALESCE(member_id, ''), discoverable, created_at, last_used_at`

func scanKey(s scanner) (*SecurityKey, error) {
	var k SecurityKey
	var created, used int64
	if err := s.Scan(&k.ID, &k.UserID, &k.Name, &k.CredentialID, &k.Credential, &k.MemberID, &k.Discoverable, &created, &used); err != nil {
		return nil, mapErr(err)
	}
	k.CreatedAt, k.LastUsedAt = fromTS(created), fromTS(used)
	return &k, nil
}

// AddSecurityKey stores a credential; an empty ID is filled with a random
// one. ErrConflict when the credential id is registered already.
func (db *DB) AddSecurityKey(ctx context.Context, k *SecurityKey) error {
	if k.ID == "" {
		k.ID = newID()
	}
	if len(k.CredentialID) == 0 {
		return fmt.Errorf("add security key: the credential id is empty")
	}
	if err := db.ownMember(ctx, db.sql, k.UserID, &k.MemberID); err != nil {
		return fmt.Errorf("add security key: %w", err)
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO security_keys (id, user_id, name, credential_id, credential, member_id, discoverable, created_at, last_used_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.CredentialID, k.Credential, nullStr(k.MemberID), k.Discoverable, ts(k.CreatedAt), ts(k.LastUsedAt))
	if err != nil {
		return fmt.Errorf("add security key: %w", mapErr(err))
	}
	return nil
}

// SecurityKeys lists the user's keys, oldest first.
func (db *DB) SecurityKeys(ctx context.Context, userID string) ([]SecurityKey, error) {
	ks, err := list(ctx, db, scanKey, `SELECT `+keyCols+` FROM security_keys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list security keys: %w", err)
	}
	return ks, nil
}

func (db *DB) SecurityKeyByCredentialID(ctx context.Context, credID []byte) (*SecurityKey, error) {
	k, err := scanKey(db.queryRow(ctx, db.sql, `SELECT `+keyCols+` FROM security_keys WHERE credential_id = ?`, credID))
	if err != nil {
		return nil, fmt.Errorf("security key by credential id: %w", err)
	}
	return k, nil
}

// UpdateSecurityKey writes Name, Credential and LastUsedAt of the user's key.
func (db *DB) UpdateSecurityKey(ctx context.Context, k *SecurityKey) error {
	err := db.execOne(ctx, db.sql, `UPDATE security_keys SET name = ?, credential = ?, last_used_at = ? WHERE id = ? AND user_id = ?`,
		k.Name, k.Credential, ts(k.LastUsedAt), k.ID, k.UserID)
	if err != nil {
		return fmt.Errorf("update security key: %w", err)
	}
	return nil
}

func (db *DB) DeleteSecurityKey(ctx context.Context, userID, id string) error {
	if err := db.execOne(ctx, db.sql, `DELETE FROM security_keys WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("delete security key: %w", err)
	}
	return nil
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, db *DB, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
