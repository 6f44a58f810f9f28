package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSQLitePragmas(t *testing.T) {
	db := openSQLite(t)
	// Every pooled connection gets the pragmas: hold several at once.
	var conns []interface{ Close() error }
	for i := range 3 {
		c, err := db.sql.Conn(ctx)
		must(t, "Conn", err)
		conns = append(conns, c)
		var mode string
		var fk, busy int
		must(t, "journal_mode", c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		must(t, "foreign_keys", c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
		must(t, "busy_timeout", c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
		if mode != "wal" || fk != 1 || busy < 1000 {
			t.Errorf("connection %d: journal_mode %s, foreign_keys %d, busy_timeout %d; want wal, 1, ≥1000", i, mode, fk, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenURLForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	tests := []struct {
		url  string
		file string // where the database must appear
	}{
		{"sqlite://" + filepath.Join(dir, "abs", "a.db"), filepath.Join(dir, "abs", "a.db")},
		{"sqlite://rel/b.db", filepath.Join(dir, "rel", "b.db")},
		{filepath.Join(dir, "plain", "c.db"), filepath.Join(dir, "plain", "c.db")},
		{"d.db", filepath.Join(dir, "d.db")},
	}
	for _, tt := range tests {
		db, err := Open(ctx, tt.url)
		if err != nil {
			t.Errorf("Open(%q): %v", tt.url, err)
			continue
		}
		db.Close()
		if _, err := os.Stat(tt.file); err != nil {
			t.Errorf("Open(%q) did not create %s: %v", tt.url, tt.file, err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "abs"))
	must(t, "stat", err)
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("created directory has mode %v, want 0700", perm)
	}

	mem := openURL(t, ":memory:")
	must(t, "CreateUser in :memory:", mem.CreateUser(ctx, &User{Email: "m@example.com"}))
	if n, err := mem.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf(":memory: CountUsers = %d, %v; want 1", n, err)
	}

	for _, bad := range []string{"", "mysql://localhost/db", "sqlite://", "odd?name.db"} {
		if db, err := Open(ctx, bad); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = Open(c, "postgres://ada:hunter2@127.0.0.1:1/none?connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open(unreachable postgres) = %v, want an error without the password", err)
	}
	t.Logf("unreachable postgres: %v", err)
}

func TestDefaultSQLitePath(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/ada"}, "/data/countersign-server/countersign.db"},
		{map[string]string{"HOME": "/home/ada"}, "/home/ada/.local/share/countersign-server/countersign.db"},
		{map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/home/ada"}, "/home/ada/.local/share/countersign-server/countersign.db"},
	}
	for _, tt := range tests {
		if got := DefaultSQLitePath(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("DefaultSQLitePath(%v) = %s, want %s", tt.env, got, tt.want)
		}
	}
}

// TestSQLiteFileMode: a new database and its WAL are readable by their owner
// only, whatever the umask lets through.
func TestSQLiteFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "countersign.db")
	db := openURL(t, path)
	must(t, "CheckWrite", db.CheckWrite(ctx)) // the WAL exists once something is written
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		must(t, "Stat", err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
