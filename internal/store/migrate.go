package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations live in migrations/<dialect>/NNNN_name.sql, one file per version
// and dialect; both dialects must have the same versions.
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// pgMigrationLock is the pg_advisory_xact_lock key that serializes server
// instances migrating the same PostgreSQL database at once ("cs-migrate").
const pgMigrationLock = 0x63732d6d69677261

// migrations returns the dialect's embedded migrations in version order.
func migrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("embedded migration %s: name must start with a positive version number", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("embedded migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate brings the schema up to the newest embedded version in one
// transaction, or refuses a database that is already past it.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	known := len(ms)
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if db.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgMigrationLock)); err != nil {
				return fmt.Errorf("take the migration lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`); err != nil {
			return fmt.Errorf("create schema_version table: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if current > known {
			return fmt.Errorf("the database has schema version %d but this countersign-server knows versions up to %d: upgrade countersign-server (a newer one migrated this database): %w",
				current, known, ErrNewSchema)
		}
		for _, m := range ms[current:] {
			for _, stmt := range splitSQL(m.sql) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("apply migration %s: %w", m.name, err)
				}
			}
			if _, err := db.exec(ctx, tx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", m.version, ts(db.now())); err != nil {
				return fmt.Errorf("record migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s database: %w", db.dialect, err)
	}
	return nil
}

// splitSQL cuts a migration into statements at semicolons that end a line,
// dropping "--" comment lines. Migrations are written to suit it: no
// semicolon at a line's end inside a statement.
func splitSQL(src string) []string {
	var stmts []string
	var cur strings.Builder
	for line := range strings.Lines(src) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		if strings.HasSuffix(t, ";") {
			stmts = append(stmts, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		stmts = append(stmts, s)
	}
	return stmts
}
