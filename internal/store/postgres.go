package store

import (
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres returns a database/sql pool of PostgreSQL connections for a
// libpq URL, through pgx's own database/sql adapter.
func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err // pgx leaves the password out of its message
	}
	return stdlib.OpenDB(*cfg), nil
}
