package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is the SQL flavour behind a DB.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is the SQL implementation of Store, for SQLite and PostgreSQL. It is
// safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect dialect
	now     func() time.Time
	pgCfg   *pgx.ConnConfig // PostgreSQL: for connections of its own (Listen)
	// secrets seals the stored secrets (see WithSecretsKey); nil: in clear.
	secrets      *atrest.Key
	sealedOnOpen int
	// stmts caches SQLite's prepared statements by query text: preparing
	// (parsing and planning) costs more than running most of these queries.
	// pgx caches PostgreSQL's by itself.
	stmts sync.Map // string → *sql.Stmt
}

var _ Store = (*DB)(nil)

// Option configures Open.
type Option func(*DB)

// WithClock makes the store read the time from now where a method has no time
// argument: Session and TakeChallenge decide expiry with it, AddSMSCode
// stamps the order LatestSMSCode goes by. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// sqliteParams are set on every pooled SQLite connection: WAL so readers do
// not block the writer, a busy timeout so writers queue instead of failing,
// foreign keys on, and BEGIN IMMEDIATE so a write transaction takes the write
// lock at its start (a deferred one that upgrades later fails with
// SQLITE_BUSY without waiting). synchronous stays FULL, an fsync per commit:
// with NORMAL a power cut could undo the last commits, and with them the
// spending of a single-use code.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)&_pragma=synchronous(FULL)&_txlock=immediate"

// sqliteMaxConns bounds the SQLite pool: WAL lets readers run side by side,
// but writers queue on one lock, so many connections only add waiting.
const sqliteMaxConns = 8

// pgMaxConns bounds each server instance's PostgreSQL connections, so that
// several instances stay well under the server's max_connections (100 by
// default).
const pgMaxConns = 20

// Open connects to the database named by dsn and applies any missing
// migrations. dsn is one of
//
//	sqlite:///abs/path/file.db   SQLite, absolute path
//	sqlite://relative.db         SQLite, path relative to the working directory
//	/some/file.db, file.db       SQLite, a plain path
//	postgres://… postgresql://…  PostgreSQL (any libpq URL pgx accepts)
//
// For SQLite the parent directory is created (mode 0700) if missing, and
// the file (mode 0600; SQLite gives its WAL and shared-memory files the
// mode of the database). A database whose schema is newer than this program
// knows is refused with an error wrapping ErrNewSchema.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	db := &DB{now: time.Now}
	for _, o := range opts {
		o(db)
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db.dialect = dialectPostgres
		db.sql, db.pgCfg, err = openPostgres(dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgresql database: %w", err)
		}
		db.sql.SetMaxOpenConns(pgMaxConns)
		db.sql.SetMaxIdleConns(pgMaxConns / 2)
		db.sql.SetConnMaxIdleTime(5 * time.Minute)
	default:
		path, err := sqlitePath(dsn)
		if err != nil {
			return nil, err
		}
		db.dialect = dialectSQLite
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("create the directory of database %s: %w", path, err)
			}
			if err := createPrivate(path); err != nil {
				return nil, err
			}
		}
		db.sql, err = sql.Open("sqlite", path+"?"+sqliteParams)
		if err != nil {
			return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
		}
		if path == ":memory:" {
			db.sql.SetMaxOpenConns(1) // each connection would be a database of its own
		} else {
			db.sql.SetMaxOpenConns(sqliteMaxConns)
			db.sql.SetMaxIdleConns(sqliteMaxConns)
		}
	}
	if err := db.connect(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	if err := db.openSecrets(ctx); err != nil {
		db.sql.Close()
		return nil, err
	}
	return db, nil
}

// createPrivate creates the SQLite file at path readable by its owner only,
// unless it exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	return f.Close()
}

// sqlitePath returns the file path of a SQLite URL or plain path.
func sqlitePath(dsn string) (string, error) {
	path := dsn
	if rest, ok := strings.CutPrefix(dsn, "sqlite://"); ok {
		// sqlite:///abs → /abs; sqlite://rel → rel. Undo %-escapes, if any.
		p, err := url.PathUnescape(rest)
		if err != nil {
			return "", fmt.Errorf("database url %q: bad path: %w", dsn, err)
		}
		path = p
	} else if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		return "", fmt.Errorf("database url scheme %q is not supported: use sqlite://, postgres:// or a file path", scheme)
	}
	if path == "" {
		return "", errors.New("database path is empty: give a file path, sqlite:///path or postgres://…")
	}
	if strings.ContainsRune(path, '?') {
		return "", fmt.Errorf("database path %q contains '?': choose a path without it", path)
	}
	return path, nil
}

// DefaultSQLitePath is where the server keeps its SQLite database when told
// nothing else: $XDG_DATA_HOME/countersign-server/countersign.db, or
// $HOME/.local/share/countersign-server/countersign.db when XDG_DATA_HOME is
// unset or not absolute.
func DefaultSQLitePath(getenv func(string) string) string {
	dir := getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		dir = filepath.Join(getenv("HOME"), ".local", "share")
	}
	return filepath.Join(dir, "countersign-server", "countersign.db")
}

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return db.sql.Close()
}

// connect makes the first connection. A new SQLite connection turns WAL
// mode on, which SQLite may refuse at once with SQLITE_BUSY (without waiting
// for busy_timeout) while another process or connection is doing the same on
// a fresh file — as when two servers start together: it is tried again for
// up to 5 seconds.
func (db *DB) connect(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.sql.PingContext(ctx)
		if err == nil || db.dialect != dialectSQLite || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s database: %w", db.dialect, err)
	}
	return nil
}

// q rewrites a query written with ? placeholders for the dialect: PostgreSQL
// wants $1, $2 …. Queries must not contain a literal '?'.
func (db *DB) q(query string) string {
	if db.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) exec(ctx context.Context, qr querier, query string, args ...any) (sql.Result, error) {
	if st := db.prepared(ctx, qr, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return qr.ExecContext(ctx, db.q(query), args...)
}

func (db *DB) queryRow(ctx context.Context, qr querier, query string, args ...any) *sql.Row {
	if st := db.prepared(ctx, qr, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return qr.QueryRowContext(ctx, db.q(query), args...)
}

func (db *DB) query(ctx context.Context, qr querier, query string, args ...any) (*sql.Rows, error) {
	if st := db.prepared(ctx, qr, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return qr.QueryContext(ctx, db.q(query), args...)
}

// prepared returns the cached prepared statement of query for qr (the pool
// or a transaction), or nil when there is none to use yet: on PostgreSQL, or
// the first time a transaction runs query. A transaction never prepares on
// the pool itself — that needs a second connection, and transactions holding
// every connection while waiting for one more would deadlock — so it runs the
// text and the statement is prepared in the background for the next time.
func (db *DB) prepared(ctx context.Context, qr querier, query string) *sql.Stmt {
	if db.dialect != dialectSQLite {
		return nil
	}
	v, ok := db.stmts.Load(query)
	switch q := qr.(type) {
	case *sql.DB:
		if !ok {
			if v = db.prepare(ctx, query); v == nil {
				return nil
			}
		}
		return v.(*sql.Stmt)
	case *sql.Tx:
		if !ok {
			go db.prepare(context.Background(), query)
			return nil
		}
		return q.StmtContext(ctx, v.(*sql.Stmt)) // closed with the transaction
	}
	return nil
}

// prepare prepares query on the pool and caches it; nil if SQLite refuses
// it (the caller runs the text, which reports why) or the store is closed.
func (db *DB) prepare(ctx context.Context, query string) any {
	st, err := db.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	v, loaded := db.stmts.LoadOrStore(query, st)
	if loaded {
		st.Close()
	}
	return v
}

// execOne runs a statement that must touch a row; none is ErrNotFound.
func (db *DB) execOne(ctx context.Context, qr querier, query string, args ...any) error {
	res, err := db.exec(ctx, qr, query, args...)
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// exists reports whether the query (a SELECT 1 …) finds a row.
func (db *DB) exists(ctx context.Context, qr querier, query string, args ...any) (bool, error) {
	var one int
	err := db.queryRow(ctx, qr, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// inTx runs f in a write transaction and commits it unless f fails.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// mapErr turns driver errors callers branch on into the sentinels: a unique
// key taken is ErrConflict, a reference to a missing row ErrNotFound, no row
// ErrNotFound. The driver's message stays in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: a referenced row is missing: %v", ErrNotFound, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: a referenced row is missing: %v", ErrNotFound, err)
		}
	}
	return err
}

// newID returns a random 128-bit identifier in hex, for rows the caller
// created without one.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ts stores a time as unix nanoseconds; the zero time is 0.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromTS reads what ts stored, in UTC.
func fromTS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullStr stores "" as NULL, for optional references.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores an empty slice as NULL, so unique indexes ignore it.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// useTime is the moment a single-use thing is spent; the zero time would read
// as "unused", so it is refused.
func useTime(at time.Time) (int64, error) {
	if at.IsZero() {
		return 0, errors.New("use time is zero: pass the current time")
	}
	return at.UnixNano(), nil
}
