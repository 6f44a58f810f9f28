package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres returns a database/sql pool of PostgreSQL connections for a
// libpq URL, through pgx's own database/sql adapter.
func openPostgres(dsn string) (*sql.DB, *pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, nil, err // pgx leaves the password out of its message
	}
	return stdlib.OpenDB(*cfg), cfg, nil
}

// listenRetry bounds the wait between attempts to reconnect a lost LISTEN
// connection.
const listenRetry = 5 * time.Second

// Listen receives PostgreSQL notifications on channel over a connection of
// its own, kept open (and reconnected when lost) until ctx ends, when the
// returned channel closes. Each notification's payload arrives on it; after
// a reconnection an empty payload says that some may have been missed. On
// SQLite it returns an error wrapping errors.ErrUnsupported: one process
// holds the database, so there is no one else to hear from.
func (db *DB) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if db.dialect != dialectPostgres {
		return nil, fmt.Errorf("listen: %w on sqlite", errors.ErrUnsupported)
	}
	conn, err := db.listenConn(ctx, channel)
	if err != nil {
		return nil, err
	}
	ch := make(chan string, 16)
	go func() {
		defer close(ch)
		// conn is nil while the database can't be reached.
		defer func() {
			if conn != nil {
				conn.Close(context.Background())
			}
		}()
		wait := 100 * time.Millisecond
		for {
			n, err := conn.WaitForNotification(ctx)
			if err == nil {
				wait = 100 * time.Millisecond
				select {
				case ch <- n.Payload:
				case <-ctx.Done():
					return
				}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			conn.Close(context.Background())
			conn = nil
			for conn == nil {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
				wait = min(2*wait, listenRetry)
				conn, _ = db.listenConn(ctx, channel) // nil until the database answers
			}
			select {
			case ch <- "":
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// listenConn opens a connection that listens on channel.
func (db *DB) listenConn(ctx context.Context, channel string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pgCfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("listen: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("listen on %s: %w", channel, err)
	}
	return conn, nil
}

// Notify sends payload on a PostgreSQL channel (pg_notify); on SQLite it
// returns an error wrapping errors.ErrUnsupported. Appending approval events
// notifies ApprovalChannel by itself, in the same transaction.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if db.dialect != dialectPostgres {
		return fmt.Errorf("notify: %w on sqlite", errors.ErrUnsupported)
	}
	if _, err := db.exec(ctx, db.sql, "SELECT pg_notify(?, ?)", channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}
