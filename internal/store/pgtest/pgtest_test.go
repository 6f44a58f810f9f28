package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/countersign/countersign/internal/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestDatabasesAreFreshAndSeparate(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := pgtest.DSN(t), pgtest.DSN(t)
	if dsnA == dsnB {
		t.Fatalf("DSN returned %q twice, want two databases", dsnA)
	}
	a, b := connect(t, dsnA), connect(t, dsnB)

	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("both DSNs lead to database %q", nameA)
	}

	if _, err := a.Exec(ctx, "CREATE TABLE things (id int PRIMARY KEY); INSERT INTO things VALUES (1)"); err != nil {
		t.Fatalf("create table in %s: %v", nameA, err)
	}
	var n int
	if err := a.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count in %s: got %d, %v; want 1, nil", nameA, n, err)
	}
	var exists bool
	if err := b.QueryRow(ctx, "SELECT to_regclass('public.things') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("table created in %s is visible in %s", nameA, nameB)
	}

	var tables int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("fresh database %s has %d tables, want 0", nameB, tables)
	}
}

func TestServerSettings(t *testing.T) {
	conn := connect(t, pgtest.DSN(t))
	for name, want := range map[string]string{
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"listen_addresses":   "127.0.0.1",
	} {
		var got string
		if err := conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatalf("SHOW %s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestParallelDatabases(t *testing.T) {
	for i := range 4 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			conn := connect(t, pgtest.DSN(t))
			if _, err := conn.Exec(context.Background(), "CREATE TABLE x (v int)"); err != nil {
				t.Fatalf("database %d: %v", i, err)
			}
		})
	}
}

func TestStartAndCrash(t *testing.T) {
	pg := pgtest.Start(t)
	conn := connect(t, pg.DSN())
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatalf("ping a server of one's own: %v", err)
	}
	pg.Crash()
	if err := conn.Ping(context.Background()); err == nil {
		t.Error("a connection made before Crash still answers")
	}
	if c, err := pgx.Connect(context.Background(), pg.DSN()); err == nil {
		c.Close(context.Background())
		t.Error("a new connection was accepted after Crash")
	}
}

func TestCrashAndRestart(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := context.Background()
	conn := connect(t, pg.DSN())
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Restart(); err == nil {
		t.Error("Restart of a running server: no error")
	}
	pg.Crash()
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := connect(t, pg.DSN()).QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after the restart: got %d, %v; want the row written before the crash, 7", v, err)
	}
}
