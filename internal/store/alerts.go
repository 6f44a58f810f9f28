package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kinds of what an account has signed in from (SeenSignIn.Kind).
const (
	SeenBrowser = "browser" // "Chrome on Linux"
	SeenPlace   = "place"   // a city by GeoIP, else an IP network ("192.0.2.0/24")
)

// SeenSignIn is one browser or place an account has signed in from.
type SeenSignIn struct {
	Kind  string // SeenBrowser or SeenPlace
	Value string
}

// AlertSettings are the channels that send an account's sign-in alerts.
type AlertSettings struct {
	Mail    bool // a mail to the account's address
	Desktop bool // an event on every paired desktop of the owner and of the member signed in
}

// SignInAlert is what a sign-in from a new browser or place said, and the
// session it names (MoveSignIn keeps SessionID current when the session
// gets a new id). SessionCreatedAt is when that session signed in.
type SignInAlert struct {
	ID               string
	UserID           string
	SessionID        string
	SessionCreatedAt time.Time
	MemberID         string // the member the session acts as
	Browser          string // "Chrome on Linux"
	Place            string // "Paris, France", or "" when no GeoIP database names it
	IP               string
	CreatedAt        time.Time
	ExpiresAt        time.Time
	UsedAt           time.Time // when "This wasn't me" ended the session
}

// RememberSignIn records that the account signed in from each of seen at
// at, and returns those it had not signed in from before. first is true
// when the account had none recorded at all: its first sign-in, which is
// not new to anyone.
func (db *DB) RememberSignIn(ctx context.Context, userID string, seen []SeenSignIn, at time.Time) (fresh []SeenSignIn, first bool, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		fresh = nil
		known, err := db.exists(ctx, tx, `SELECT 1 FROM signin_seen WHERE user_id = ? LIMIT 1`, userID)
		if err != nil {
			return err
		}
		first = !known
		for _, s := range seen {
			res, err := db.exec(ctx, tx, `UPDATE signin_seen SET last_at = ? WHERE user_id = ? AND kind = ? AND value = ?`, ts(at), userID, s.Kind, s.Value)
			if err != nil {
				return mapErr(err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				continue
			}
			if _, err := db.exec(ctx, tx, `INSERT INTO signin_seen (user_id, kind, value, first_at, last_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (user_id, kind, value) DO UPDATE SET last_at = excluded.last_at`, userID, s.Kind, s.Value, ts(at), ts(at)); err != nil {
				return mapErr(err)
			}
			fresh = append(fresh, s)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("remember sign-in: %w", err)
	}
	return fresh, first, nil
}

// AlertSettings returns the account's alert channels; both are on when it
// never set them.
func (db *DB) AlertSettings(ctx context.Context, userID string) (AlertSettings, error) {
	a := AlertSettings{Mail: true, Desktop: true}
	err := db.queryRow(ctx, db.sql, `SELECT mail, desktop FROM signin_alert_settings WHERE user_id = ?`, userID).Scan(&a.Mail, &a.Desktop)
	if errors.Is(err, sql.ErrNoRows) {
		return AlertSettings{Mail: true, Desktop: true}, nil
	}
	if err != nil {
		return a, fmt.Errorf("alert settings: %w", mapErr(err))
	}
	return a, nil
}

// SetAlertSettings stores the account's alert channels.
func (db *DB) SetAlertSettings(ctx context.Context, userID string, a AlertSettings) error {
	if _, err := db.exec(ctx, db.sql, `INSERT INTO signin_alert_settings (user_id, mail, desktop) VALUES (?, ?, ?)
	ON CONFLICT (user_id) DO UPDATE SET mail = excluded.mail, desktop = excluded.desktop`, userID, a.Mail, a.Desktop); err != nil {
		return fmt.Errorf("set alert settings: %w", mapErr(err))
	}
	return nil
}

const signInAlertCols = `id, user_id, session_id, session_created_at, member_id, browser, place, ip, created_at, expires_at, used_at`

func scanSignInAlert(row scanner) (*SignInAlert, error) {
	var a SignInAlert
	var sessCreated, created, expires, used int64
	if err := row.Scan(&a.ID, &a.UserID, &a.SessionID, &sessCreated, &a.MemberID, &a.Browser, &a.Place, &a.IP, &created, &expires, &used); err != nil {
		return nil, mapErr(err)
	}
	a.SessionCreatedAt, a.CreatedAt, a.ExpiresAt, a.UsedAt = fromTS(sessCreated), fromTS(created), fromTS(expires), fromTS(used)
	return &a, nil
}

// AddSignInAlert stores a (an empty ID is filled in).
func (db *DB) AddSignInAlert(ctx context.Context, a *SignInAlert) error {
	if a.ID == "" {
		a.ID = newID()
	}
	_, err := db.exec(ctx, db.sql, `INSERT INTO signin_alerts (`+signInAlertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		a.ID, a.UserID, a.SessionID, ts(a.SessionCreatedAt), a.MemberID, a.Browser, a.Place, a.IP, ts(a.CreatedAt), ts(a.ExpiresAt))
	if err != nil {
		return fmt.Errorf("add sign-in alert: %w", mapErr(err))
	}
	return nil
}

// SignInAlert returns the alert, used or not, expired or not (until Purge
// takes it).
func (db *DB) SignInAlert(ctx context.Context, id string) (*SignInAlert, error) {
	a, err := scanSignInAlert(db.queryRow(ctx, db.sql, `SELECT `+signInAlertCols+` FROM signin_alerts WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("sign-in alert: %w", err)
	}
	return a, nil
}

// MoveSignIn follows a session that got a new id (a privilege change
// keeps the sign-in under a new cookie): its alerts name newID, and the
// OAuth codes and tokens issued in it carry newSID, in one transaction.
func (db *DB) MoveSignIn(ctx context.Context, userID, oldID, newID, oldSID, newSID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `UPDATE signin_alerts SET session_id = ? WHERE user_id = ? AND session_id = ?`, newID, userID, oldID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, `UPDATE oauth_tokens SET session_id = ? WHERE user_id = ? AND session_id = ?`, newSID, userID, oldSID)
		return err
	})
	if err != nil {
		return fmt.Errorf("move sign-in: %w", mapErr(err))
	}
	return nil
}

// Disowned is what DisownSignIn ended.
type Disowned struct {
	Sessions   []string // the id of the session ended; none when it had ended already
	OAuthApps  []string // client ids of the apps whose codes and tokens ended
	OAuthCount int      // codes and tokens deleted
}

// DisownSignIn spends the alert ("This wasn't me") and, in one
// transaction, ends the session it names and deletes the OAuth codes and
// tokens issued in it (whose session_id is sids(the session's id): sids
// turns a session id into the "sid" the tokens carry). ErrUsed when the
// alert was used already, ErrNotFound when there is no such alert. Expiry
// is the caller's to check.
func (db *DB) DisownSignIn(ctx context.Context, alertID string, at time.Time, sids func(sessionID string) string) (*SignInAlert, Disowned, error) {
	var a *SignInAlert
	var d Disowned
	used, err := useTime(at)
	if err != nil {
		return nil, d, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		d = Disowned{}
		got, err := scanSignInAlert(db.queryRow(ctx, tx, `SELECT `+signInAlertCols+` FROM signin_alerts WHERE id = ?`, alertID))
		if err != nil {
			return err
		}
		a = got
		if err := db.execOne(ctx, tx, `UPDATE signin_alerts SET used_at = ? WHERE id = ? AND used_at = 0`, used, alertID); errors.Is(err, ErrNotFound) {
			return ErrUsed
		} else if err != nil {
			return err
		}
		a.UsedAt = fromTS(used)
		res, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, a.SessionID, a.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n > 0 {
			d.Sessions = []string{a.SessionID}
		}
		in, args := `user_id = ? AND session_id = ?`, []any{a.UserID, sids(a.SessionID)}
		crows, err := db.query(ctx, tx, `SELECT DISTINCT client_id FROM oauth_tokens WHERE `+in+` ORDER BY client_id`, args...)
		if err != nil {
			return err
		}
		for crows.Next() {
			var id string
			if err := crows.Scan(&id); err != nil {
				crows.Close()
				return err
			}
			d.OAuthApps = append(d.OAuthApps, id)
		}
		crows.Close()
		if err := crows.Err(); err != nil {
			return err
		}
		res, err = db.exec(ctx, tx, `DELETE FROM oauth_tokens WHERE `+in, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		d.OAuthCount = int(n)
		return err
	})
	if err != nil {
		return nil, Disowned{}, fmt.Errorf("disown sign-in: %w", err)
	}
	return a, d, nil
}
