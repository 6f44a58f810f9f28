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

// OwnerName is the owner member's name when the account has none.
const OwnerName = "Owner"

const memberCols = `id, user_id, name, role, shares_authenticator, created_at`

func scanMember(s scanner) (*Member, error) {
	var m Member
	var created int64
	if err := s.Scan(&m.ID, &m.UserID, &m.Name, &m.Role, &m.SharesAuthenticator, &created); err != nil {
		return nil, mapErr(err)
	}
	m.CreatedAt = fromTS(created)
	return &m, nil
}

// Members lists the household, the owner first, then oldest first.
func (db *DB) Members(ctx context.Context, userID string) ([]Member, error) {
	ms, err := list(ctx, db, scanMember, `SELECT `+memberCols+` FROM household_members WHERE user_id = ?
	ORDER BY CASE WHEN role = ? THEN 0 ELSE 1 END, created_at, id`, userID, api.RoleOwner)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ms, nil
}

func (db *DB) Member(ctx context.Context, userID, id string) (*Member, error) {
	m, err := scanMember(db.queryRow(ctx, db.sql, `SELECT `+memberCols+` FROM household_members WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return nil, fmt.Errorf("member: %w", err)
	}
	return m, nil
}

func (db *DB) OwnerMember(ctx context.Context, userID string) (*Member, error) {
	m, err := scanMember(db.queryRow(ctx, db.sql, `SELECT `+memberCols+` FROM household_members WHERE user_id = ? AND role = ?`, userID, api.RoleOwner))
	if err != nil {
		return nil, fmt.Errorf("owner member: %w", err)
	}
	return m, nil
}

// ownMember is where the one rule "a device made without a member is the
// owner's" lives: an empty *memberID becomes the id of userID's owner
// member, read through q (a transaction or the database). Every device,
// approver, security key and pairing code is stored with a real member, so
// nothing else decides who the owner is from an empty id.
func (db *DB) ownMember(ctx context.Context, q querier, userID string, memberID *string) error {
	if *memberID != "" {
		return nil
	}
	err := db.queryRow(ctx, q, `SELECT id FROM household_members WHERE user_id = ? AND role = ?`, userID, api.RoleOwner).Scan(memberID)
	if err != nil {
		return fmt.Errorf("the account's owner: %w", mapErr(err))
	}
	return nil
}

// AddMember adds m to its household. An empty ID is filled with a random
// one; an empty Role is api.RoleMember.
func (db *DB) AddMember(ctx context.Context, m *Member) error {
	if m.ID == "" {
		m.ID = newID()
	}
	if m.Role == "" {
		m.Role = api.RoleMember
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, m.UserID); err != nil {
			return err
		}
		if err := db.nameFree(ctx, tx, m.UserID, "", m.Name); err != nil {
			return err
		}
		return db.insertMember(ctx, tx, m)
	})
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

func (db *DB) insertMember(ctx context.Context, tx *sql.Tx, m *Member) error {
	_, err := db.exec(ctx, tx, `INSERT INTO household_members (`+memberCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.UserID, m.Name, m.Role, m.SharesAuthenticator, ts(m.CreatedAt))
	return mapErr(err)
}

// nameFree returns ErrConflict when a member of the household other than
// exceptID has name, compared case-insensitively (Unicode case folding: the
// unique index's lower() folds only ASCII on SQLite).
func (db *DB) nameFree(ctx context.Context, tx *sql.Tx, userID, exceptID, name string) error {
	rows, err := db.query(ctx, tx, `SELECT id, name FROM household_members WHERE user_id = ?`, userID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, n string
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		if id != exceptID && strings.EqualFold(n, name) {
			return fmt.Errorf("the household has a member named %q: %w", n, ErrConflict)
		}
	}
	return rows.Err()
}

func (db *DB) RenameMember(ctx context.Context, userID, id, name string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		if ok, err := db.exists(ctx, tx, `SELECT 1 FROM household_members WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		} else if !ok {
			return ErrNotFound
		}
		if err := db.nameFree(ctx, tx, userID, id, name); err != nil {
			return err
		}
		return db.execOne(ctx, tx, `UPDATE household_members SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	})
	if err != nil {
		return fmt.Errorf("rename member: %w", err)
	}
	return nil
}

func (db *DB) RemoveMember(ctx context.Context, userID, id string, at time.Time, events []*ApprovalEvent) error {
	removed, err := useTime(at)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		var role string
		if err := db.queryRow(ctx, tx, `SELECT role FROM household_members WHERE id = ? AND user_id = ?`, id, userID).Scan(&role); err != nil {
			return mapErr(err)
		}
		if role == api.RoleOwner {
			return fmt.Errorf("the owner cannot be removed: %w", ErrConflict)
		}
		steps := []struct{ what, query string }{
			{"device challenges", `DELETE FROM device_challenges WHERE device_id IN (SELECT id FROM approvers WHERE member_id = ? AND user_id = ?)`},
			{"share offers", `DELETE FROM share_offers WHERE member_id = ? AND user_id = ?`},
			{"sessions", `DELETE FROM sessions WHERE device_id IN (SELECT id FROM devices WHERE member_id = ? AND user_id = ?)`},
			{"devices", `DELETE FROM devices WHERE member_id = ? AND user_id = ?`},
			{"security keys", `DELETE FROM security_keys WHERE member_id = ? AND user_id = ?`},
			{"pairing codes", `DELETE FROM pairing_codes WHERE member_id = ? AND user_id = ?`},
		}
		if _, err := db.exec(ctx, tx, `UPDATE approvers SET removed_at = ? WHERE member_id = ? AND user_id = ? AND removed_at = 0`,
			removed, id, userID); err != nil {
			return fmt.Errorf("approvers: %w", err)
		}
		for _, st := range steps {
			if _, err := db.exec(ctx, tx, st.query, id, userID); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		if err := db.execOne(ctx, tx, `DELETE FROM household_members WHERE id = ? AND user_id = ?`, id, userID); err != nil {
			return err
		}
		for _, ev := range events {
			if err := db.appendEvent(ctx, tx, userID, at, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

func (db *DB) SetSharesAuthenticator(ctx context.Context, userID, memberID string, on bool) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.execOne(ctx, tx, `UPDATE household_members SET shares_authenticator = ? WHERE id = ? AND user_id = ?`, on, memberID, userID); err != nil {
			return err
		}
		if on {
			return nil
		}
		_, err := db.exec(ctx, tx, `DELETE FROM share_offers WHERE member_id = ? AND accepted_at = 0 AND declined_at = 0`, memberID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set shares authenticator: %w", err)
	}
	return nil
}

// deviceTables maps device types to their tables and the condition that
// makes a row a live device.
var deviceTables = map[string]struct{ table, live string }{
	api.DeviceBrowser:     {"devices", ""},
	api.DeviceApprover:    {"approvers", " AND removed_at = 0"},
	api.DeviceSecurityKey: {"security_keys", ""},
}

// SetDeviceMember gives a live device to memberID, a member of the same
// account (ErrNotFound otherwise, also for an empty id).
func (db *DB) SetDeviceMember(ctx context.Context, userID, deviceType, id, memberID string) error {
	t, ok := deviceTables[deviceType]
	if !ok {
		return fmt.Errorf("set device member: unknown device type %q", deviceType)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var found string
		err := db.queryRow(ctx, tx, `SELECT id FROM household_members WHERE id = ? AND user_id = ?`, memberID, userID).Scan(&found)
		if err != nil {
			return fmt.Errorf("member: %w", mapErr(err))
		}
		return db.execOne(ctx, tx, `UPDATE `+t.table+` SET member_id = ? WHERE id = ? AND user_id = ?`+t.live, memberID, id, userID)
	})
	if err != nil {
		return fmt.Errorf("set device member: %w", err)
	}
	return nil
}

// Share offers.

const offerCols = `id, user_id, member_id, device_id, method_id, label, from_name, rekeyed, sealed, created_at, accepted_at, declined_at`

func scanOffer(s scanner) (*ShareOffer, error) {
	var o ShareOffer
	var created, accepted, declined int64
	if err := s.Scan(&o.ID, &o.UserID, &o.MemberID, &o.DeviceID, &o.MethodID, &o.Label, &o.FromName, &o.Rekeyed, &o.Sealed,
		&created, &accepted, &declined); err != nil {
		return nil, mapErr(err)
	}
	o.CreatedAt, o.AcceptedAt, o.DeclinedAt = fromTS(created), fromTS(accepted), fromTS(declined)
	return &o, nil
}

func (db *DB) AddShareOffer(ctx context.Context, o *ShareOffer, ev *ApprovalEvent) error {
	if o.ID == "" {
		o.ID = newID()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, o.UserID); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM share_offers WHERE device_id = ? AND accepted_at = 0 AND declined_at = 0`, o.DeviceID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `INSERT INTO share_offers (`+offerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.UserID, o.MemberID, o.DeviceID, o.MethodID, o.Label, o.FromName, o.Rekeyed, nullBytes(o.Sealed),
			ts(o.CreatedAt), ts(o.AcceptedAt), ts(o.DeclinedAt))
		if err != nil {
			return mapErr(err)
		}
		return db.appendEvent(ctx, tx, o.UserID, o.CreatedAt, ev)
	})
	if err != nil {
		return fmt.Errorf("add share offer: %w", err)
	}
	return nil
}

func (db *DB) ShareOffers(ctx context.Context, deviceID string) ([]ShareOffer, error) {
	os, err := list(ctx, db, scanOffer, `SELECT `+offerCols+` FROM share_offers
	WHERE device_id = ? AND accepted_at = 0 AND declined_at = 0 ORDER BY created_at, id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("list share offers: %w", err)
	}
	return os, nil
}

func (db *DB) ShareOffer(ctx context.Context, id string) (*ShareOffer, error) {
	o, err := scanOffer(db.queryRow(ctx, db.sql, `SELECT `+offerCols+` FROM share_offers WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("share offer: %w", err)
	}
	return o, nil
}

func (db *DB) AnswerShareOffer(ctx context.Context, id, deviceID string, accepted bool, at time.Time) error {
	when, err := useTime(at)
	if err != nil {
		return fmt.Errorf("answer share offer: %w", err)
	}
	col := "declined_at"
	if accepted {
		col = "accepted_at"
	}
	err = db.execOne(ctx, db.sql, `UPDATE share_offers SET `+col+` = ?, sealed = NULL
	WHERE id = ? AND device_id = ? AND accepted_at = 0 AND declined_at = 0`, when, id, deviceID)
	if err != nil {
		return fmt.Errorf("answer share offer: %w", err)
	}
	return nil
}

// AppendEvent appends ev for userID in a transaction of its own; a zero
// CreatedAt is the store's clock.
func (db *DB) AppendEvent(ctx context.Context, userID string, ev *ApprovalEvent) error {
	if ev == nil {
		return errors.New("append event: no event")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockUser(ctx, tx, userID); err != nil {
			return err
		}
		return db.appendEvent(ctx, tx, userID, db.now(), ev)
	})
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}
