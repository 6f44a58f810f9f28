package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/countersign/countersign/internal/testkit"
)

// TestOutageFull: a write that finds no room (SQLite's max_page_count
// stands in for a full disk) is ErrStorageFull, with the driver's words
// kept in the chain, and CheckWrite says so.
func TestOutageFull(t *testing.T) {
	db := openSQLite(t)
	must(t, "CheckWrite", db.CheckWrite(ctx))
	db.sql.SetMaxOpenConns(1) // the pragma is per connection
	var pages int
	must(t, "page_count", db.sql.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages))
	if _, err := db.sql.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	_, err := db.SetSettingIfAbsent(ctx, "big", bytes.Repeat([]byte("x"), 1<<20))
	if got := Outage(err); got != ErrStorageFull {
		t.Fatalf("Outage(%v) = %v, want ErrStorageFull", err, got)
	}
	if !errors.Is(Outage(fmt.Errorf("wrapped: %w", err)), ErrStorageFull) {
		t.Error("a wrapped full-disk error is not ErrStorageFull")
	}
	werr := db.CheckWrite(ctx)
	_ = werr // a one-row write may still fit in a page; what matters is that it is classified when it does not
	if werr != nil && Outage(werr) != ErrStorageFull {
		t.Errorf("CheckWrite on a full database: %v, classified %v", werr, Outage(werr))
	}
}

func TestOutageUnreachable(t *testing.T) {
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("opened a PostgreSQL on port 1")
	}
	if got := Outage(err); got != ErrUnreachable {
		t.Errorf("Outage(%v) = %v, want ErrUnreachable", err, got)
	}
}

func TestOutageNotOutages(t *testing.T) {
	for _, err := range []error{nil, ErrNotFound, ErrConflict, errors.New("bad input"), fmt.Errorf("x: %w", ErrNewSchema)} {
		if got := Outage(err); got != nil {
			t.Errorf("Outage(%v) = %v, want nil", err, got)
		}
	}
	for _, err := range []error{ErrStorageFull, ErrUnreachable} {
		if got := Outage(fmt.Errorf("wrapped: %w", err)); got != err {
			t.Errorf("Outage(wrapped %v) = %v", err, got)
		}
	}
}

func TestCheckWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		for range 2 { // the row, then its update
			must(t, "CheckWrite", db.CheckWrite(ctx))
		}
	})
}
