package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of a database out of service, as Outage tells them.
var (
	// ErrStorageFull means the database has no room left to write: the
	// disk under SQLite's file, or PostgreSQL's, is full.
	ErrStorageFull = errors.New("the database has no room left to write")
	// ErrUnreachable means the database cannot be reached or does not
	// work: PostgreSQL down or restarting, a connection cut, SQLite's file
	// unreadable or locked for too long.
	ErrUnreachable = errors.New("the database cannot be reached")
)

// Outage says whether err comes from a database out of service rather than
// from the request: ErrStorageFull or ErrUnreachable, nil for anything
// else. Such a failure passes by itself (room is made, the database comes
// back), so servers answer it with 503 and "try again later".
func Outage(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrStorageFull):
		return ErrStorageFull
	case errors.Is(err, ErrUnreachable):
		return ErrUnreachable
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_FULL:
			return ErrStorageFull
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return ErrUnreachable
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100": // disk_full
			return ErrStorageFull
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			pe.Code == "53300": // too_many_connections
			return ErrUnreachable
		}
		return nil
	}
	var ce *pgconn.ConnectError
	var ne *net.OpError
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) {
		return ErrUnreachable
	}
	return nil
}

// CheckWrite writes one row and commits it: the database answers (Ping)
// and can also write. Readiness checks call it.
func (db *DB) CheckWrite(ctx context.Context) error {
	now := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	_, err := db.exec(ctx, db.sql,
		"INSERT INTO settings (key, value) VALUES ('write-check', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", now)
	if err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	return nil
}
