package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/atrest"
)

// Errors of Open about the secrets key; the caller names its flag and file.
var (
	// ErrSecretsKeyNeeded: the database's secrets are sealed and Open was
	// given no key.
	ErrSecretsKeyNeeded = errors.New("the database's secrets are sealed and no secrets key was given")
	// ErrSecretsKeyWrong: the key given is not the one they are sealed under.
	ErrSecretsKeyWrong = errors.New("the secrets key is not the one the database's secrets are sealed under")
)

// WithSecretsKey makes the store seal the secrets it keeps — TOTP secrets
// (Method.Secret), settings (the HMAC keys) and ID-token signing keys
// (OAuthKey.Private) — under k, and open them when read. Open seals a
// database whose secrets are still in clear in place, all in one
// transaction, and refuses (ErrSecretsKeyWrong) a database sealed under
// another key. Without it Open refuses a sealed database
// (ErrSecretsKeyNeeded) and keeps an unsealed one in clear.
func WithSecretsKey(k *atrest.Key) Option {
	return func(db *DB) { db.secrets = k }
}

// sealedColumn is a column whose values are sealed: keys are the columns
// that name the row, bound into each seal so a value cannot be moved to
// another row; where leaves out rows that hold no secret.
type sealedColumn struct {
	table, column string
	keys          []string
	where         string
}

var (
	sealedMethodSecret = sealedColumn{table: "methods", column: "secret", keys: []string{"id", "user_id"}}
	// write-check is the store's own timestamp (CheckWrite), not a secret.
	sealedSetting  = sealedColumn{table: "settings", column: "value", keys: []string{"key"}, where: "key <> 'write-check'"}
	sealedOAuthKey = sealedColumn{table: "oauth_keys", column: "private_key", keys: []string{"id", "alg"}}
	sealedColumns  = []sealedColumn{sealedMethodSecret, sealedSetting, sealedOAuthKey}
)

func (c sealedColumn) place(row []string) []string {
	return append([]string{c.table + "." + c.column}, row...)
}

// proofPlace and proofValue make the secrets_key row's proof: a known value
// sealed under the key.
const proofValue = "countersign secrets key proof"

var proofPlace = []string{"secrets_key.proof"}

// seal seals v for column c of the row named by row, when the store has a
// key; an empty v stays empty.
func (db *DB) seal(c sealedColumn, v []byte, row ...string) ([]byte, error) {
	if db.secrets == nil || len(v) == 0 {
		return v, nil
	}
	s, err := db.secrets.Seal(rand.Reader, v, c.place(row)...)
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", c.table, c.column, err)
	}
	return s, nil
}

// open opens what seal stored.
func (db *DB) open(c sealedColumn, v []byte, row ...string) ([]byte, error) {
	if db.secrets == nil || len(v) == 0 {
		return v, nil
	}
	p, err := db.secrets.Open(v, c.place(row)...)
	if err != nil {
		return nil, fmt.Errorf("open %s.%s of %s: %w", c.table, c.column, strings.Join(row, " "), err)
	}
	return p, nil
}

// SealedOnOpen is how many values Open sealed in place because the
// database's secrets were in clear (0 when they were sealed already).
func (db *DB) SealedOnOpen() int { return db.sealedOnOpen }

// openSecrets checks the secrets key against the database at Open, and
// seals a database in clear when given a key.
func (db *DB) openSecrets(ctx context.Context) error {
	keyID, proof, err := db.secretsKeyRow(ctx, db.sql)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if db.secrets == nil {
			return nil
		}
		return db.inTx(ctx, func(tx *sql.Tx) error {
			if err := db.lockSecrets(ctx, tx); err != nil {
				return err
			}
			if _, _, err := db.secretsKeyRow(ctx, tx); err == nil {
				return db.checkSecretsKey(ctx, tx) // another instance sealed it first
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			n, err := db.reseal(ctx, tx, func(c sealedColumn, v []byte, row []string) ([]byte, error) {
				return db.seal(c, v, row...)
			})
			if err != nil {
				return fmt.Errorf("seal the database's secrets: %w", err)
			}
			if err := db.writeSecretsKeyRow(ctx, tx, db.secrets, false); err != nil {
				return err
			}
			db.sealedOnOpen = n
			return nil
		})
	case err != nil:
		return fmt.Errorf("read the secrets key row: %w", err)
	}
	if db.secrets == nil {
		return fmt.Errorf("%w (key id %s)", ErrSecretsKeyNeeded, keyID)
	}
	return verifyProof(db.secrets, keyID, proof)
}

// checkSecretsKey is the check of openSecrets on a row read in tx.
func (db *DB) checkSecretsKey(ctx context.Context, qr querier) error {
	keyID, proof, err := db.secretsKeyRow(ctx, qr)
	if err != nil {
		return fmt.Errorf("read the secrets key row: %w", err)
	}
	return verifyProof(db.secrets, keyID, proof)
}

func verifyProof(k *atrest.Key, keyID string, proof []byte) error {
	if keyID != k.ID() {
		return fmt.Errorf("%w: it is key id %s, they are sealed under key id %s", ErrSecretsKeyWrong, k.ID(), keyID)
	}
	if p, err := k.Open(proof, proofPlace...); err != nil || string(p) != proofValue {
		return fmt.Errorf("%w: the key's proof does not open (%v)", ErrSecretsKeyWrong, err)
	}
	return nil
}

func (db *DB) secretsKeyRow(ctx context.Context, qr querier) (keyID string, proof []byte, err error) {
	err = qr.QueryRowContext(ctx, "SELECT key_id, proof FROM secrets_key WHERE one = 1").Scan(&keyID, &proof)
	return keyID, proof, err
}

func (db *DB) writeSecretsKeyRow(ctx context.Context, tx *sql.Tx, k *atrest.Key, replace bool) error {
	proof, err := k.Seal(rand.Reader, []byte(proofValue), proofPlace...)
	if err != nil {
		return err
	}
	query := "INSERT INTO secrets_key (one, key_id, proof, sealed_at) VALUES (1, ?, ?, ?)"
	if replace {
		query = "UPDATE secrets_key SET key_id = ?, proof = ?, sealed_at = ? WHERE one = 1"
	}
	if _, err := tx.ExecContext(ctx, db.q(query), k.ID(), proof, ts(db.now())); err != nil {
		return fmt.Errorf("record the secrets key: %w", err)
	}
	return nil
}

// lockSecrets serializes instances sealing or rotating the same PostgreSQL
// database (SQLite's write transactions are serialized already).
func (db *DB) lockSecrets(ctx context.Context, tx *sql.Tx) error {
	if db.dialect != dialectPostgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgMigrationLock)); err != nil {
		return fmt.Errorf("take the secrets lock: %w", err)
	}
	return nil
}

// reseal rewrites every value of the sealed columns with f, in tx, and
// returns how many it rewrote.
func (db *DB) reseal(ctx context.Context, tx *sql.Tx, f func(c sealedColumn, v []byte, row []string) ([]byte, error)) (int, error) {
	n := 0
	for _, c := range sealedColumns {
		type value struct {
			row []string
			v   []byte
		}
		where := c.column + " IS NOT NULL"
		if c.where != "" {
			where += " AND " + c.where
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(c.keys, ", ")+", "+c.column+" FROM "+c.table+" WHERE "+where)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", c.table, err)
		}
		var vs []value
		for rows.Next() {
			val := value{row: make([]string, len(c.keys))}
			dest := make([]any, 0, len(c.keys)+1)
			for i := range val.row {
				dest = append(dest, &val.row[i])
			}
			if err := rows.Scan(append(dest, &val.v)...); err != nil {
				rows.Close()
				return 0, fmt.Errorf("read %s: %w", c.table, err)
			}
			vs = append(vs, val)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read %s: %w", c.table, err)
		}
		update := "UPDATE " + c.table + " SET " + c.column + " = ? WHERE " + strings.Join(c.keys, " = ? AND ") + " = ?"
		for _, val := range vs {
			if len(val.v) == 0 {
				continue
			}
			nv, err := f(c, val.v, val.row)
			if err != nil {
				return 0, err
			}
			args := []any{nv}
			for _, k := range val.row {
				args = append(args, k)
			}
			if _, err := tx.ExecContext(ctx, db.q(update), args...); err != nil {
				return 0, fmt.Errorf("write %s: %w", c.table, err)
			}
			n++
		}
	}
	return n, nil
}

// RotateSecretsKey reseals every sealed value of the database under next,
// and records next as its key, in one transaction: either all of it
// happens or none. The store must have been opened with the current key;
// afterwards it is to be closed and opened again with next, as must every
// other server on the database. It returns how many values it resealed.
func (db *DB) RotateSecretsKey(ctx context.Context, next *atrest.Key) (int, error) {
	if db.secrets == nil {
		return 0, errors.New("rotate the secrets key: the store was opened without the current key")
	}
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.lockSecrets(ctx, tx); err != nil {
			return err
		}
		if err := db.checkSecretsKey(ctx, tx); err != nil {
			return err
		}
		var err error
		n, err = db.reseal(ctx, tx, func(c sealedColumn, v []byte, row []string) ([]byte, error) {
			p, err := db.open(c, v, row...)
			if err != nil {
				return nil, err
			}
			return next.Seal(rand.Reader, p, c.place(row)...)
		})
		if err != nil {
			return err
		}
		return db.writeSecretsKeyRow(ctx, tx, next, true)
	})
	if err != nil {
		return 0, fmt.Errorf("rotate the secrets key: %w", err)
	}
	return n, nil
}
