package transfer

// The database files of Google Authenticator and Microsoft Authenticator for
// Android, as copied off a rooted phone or out of an Android backup. Neither
// app documents them; both are read the way Aegis's importers read them
// (github.com/beemdevelopment/Aegis,
// app/src/main/java/com/beemdevelopment/aegis/importers/GoogleAuthImporter.java
// and MicrosoftAuthImporter.java), and the table layouts are the apps' own:
//
//	Google Authenticator, databases/databases:
//	  accounts(_id, email, secret, counter, type, provider, issuer, original_name)
//	  type 0 = TOTP, 1 = HOTP; secret in base32; email may be "Issuer:name";
//	  always SHA1, 6 digits, 30 s.
//	Microsoft Authenticator, databases/PhoneFactor:
//	  accounts(name, username, oath_secret_key, account_type, …)
//	  account_type 0 = a third-party TOTP account (secret in base32, 6 digits),
//	  1 = a personal Microsoft account (secret in base64, 8 digits); both
//	  SHA1 and 30 s. Other types (work or school accounts) sign in by push and
//	  have no secret of their own; rows of them without a secret are left out.
//
// The file is opened in memory (SQLite's deserialize), read only: the package
// still never touches the file system.

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver, pure Go

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	// sqliteMagic starts every SQLite 3 database file.
	sqliteMagic = "SQLite format 3\x00"
	// maxDBAccounts bounds the rows read: far above any phone's accounts.
	maxDBAccounts = 100_000
)

// queryDB runs query on the SQLite database held in data, opened in memory
// and read only, and calls row for each result row. what names the file
// in errors.
func queryDB(data []byte, what, query string, row func(scan func(dest ...any) error) error) error {
	if len(data) < 100 || !strings.HasPrefix(string(data[:len(sqliteMagic)]), sqliteMagic) {
		return fmt.Errorf("not a valid %s: not an SQLite database", what)
	}
	buf := append([]byte(nil), data...)
	// Bytes 18 and 19 say whether the database was last written in WAL mode
	// (2), as Android apps do. A copied database file without its -wal file
	// reads fine as a rollback-journal database (1); SQLite refuses to open
	// an in-memory copy that still says WAL.
	if buf[18] == 2 && buf[19] == 2 {
		buf[18], buf[19] = 1, 1
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		d, ok := dc.(interface{ Deserialize([]byte) error })
		if !ok {
			return errors.New("the SQLite driver cannot read a database from memory")
		}
		return d.Deserialize(buf)
	})
	if err != nil {
		return fmt.Errorf("not a valid %s: %w", what, err)
	}
	for _, pragma := range []string{"PRAGMA query_only = ON", "PRAGMA trusted_schema = OFF"} {
		if _, err := conn.ExecContext(ctx, pragma); err != nil {
			return fmt.Errorf("not a valid %s: %w", what, err)
		}
	}
	// accounts must be a table: a view could compute rows without end.
	var tables int
	err = conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'accounts'").Scan(&tables)
	if err != nil {
		return fmt.Errorf("not a valid %s: %w", what, err)
	}
	if tables != 1 {
		return fmt.Errorf("not a valid %s: it has no accounts table", what)
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("not a valid %s (its accounts table is not the app's): %w", what, err)
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		if n == maxDBAccounts {
			return fmt.Errorf("not a valid %s: more than %d accounts", what, maxDBAccounts)
		}
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("not a valid %s: %w", what, err)
	}
	return nil
}

func parseGoogleDB(data []byte, _ Options) (parsed, error) {
	var p parsed
	err := queryDB(data, "Google Authenticator database",
		"SELECT email, secret, counter, type, issuer FROM accounts ORDER BY _id",
		func(scan func(...any) error) error {
			var email, secret, issuer sql.NullString
			var counter, typ sql.NullInt64
			if err := scan(&email, &secret, &counter, &typ, &issuer); err != nil {
				return fmt.Errorf("not a valid Google Authenticator database: %w", err)
			}
			a, err := googleDBAccount(email.String, secret.String, issuer.String, counter, typ.Int64)
			p.entries = append(p.entries, entry{index: len(p.entries) + 1, account: a, err: err})
			return nil
		})
	return p, err
}

func googleDBAccount(email, secret, issuer string, counter sql.NullInt64, typ int64) (vault.Account, error) {
	name := email
	if prefix, rest, ok := strings.Cut(email, ":"); ok && !strings.Contains(rest, ":") {
		name = rest
		if issuer == "" {
			issuer = prefix
		}
	}
	a := vault.Account{Key: otp.Key{Issuer: issuer, Name: name, Algorithm: otp.SHA1, Digits: 6}}
	switch typ {
	case 0:
		a.Type, a.Period = otp.TOTP, 30
	case 1:
		if !counter.Valid || counter.Int64 < 0 {
			return a, fmt.Errorf("hotp account: %w", otp.ErrBadCounter)
		}
		a.Type, a.Counter = otp.HOTP, uint64(counter.Int64)
	default:
		return a, fmt.Errorf("type %d is not supported (0 is TOTP, 1 is HOTP)", typ)
	}
	var err error
	if a.Secret, err = otp.DecodeSecret(secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	return a, nil
}

func parseMicrosoftDB(data []byte, _ Options) (parsed, error) {
	var p parsed
	err := queryDB(data, "Microsoft Authenticator database",
		"SELECT name, username, oath_secret_key, account_type FROM accounts ORDER BY rowid",
		func(scan func(...any) error) error {
			var name, username, secret sql.NullString
			var typ sql.NullInt64
			if err := scan(&name, &username, &secret, &typ); err != nil {
				return fmt.Errorf("not a valid Microsoft Authenticator database: %w", err)
			}
			if typ.Int64 != 0 && typ.Int64 != 1 && strings.TrimSpace(secret.String) == "" {
				return nil // a push-only work or school account: no code to import
			}
			a, err := microsoftDBAccount(name.String, username.String, secret.String, typ.Int64)
			p.entries = append(p.entries, entry{index: len(p.entries) + 1, account: a, err: err})
			return nil
		})
	return p, err
}

func microsoftDBAccount(issuer, username, secret string, typ int64) (vault.Account, error) {
	a := vault.Account{Key: otp.Key{Type: otp.TOTP, Issuer: issuer, Name: username, Algorithm: otp.SHA1, Period: 30}}
	var err error
	switch typ {
	case 0:
		a.Digits = 6
		a.Secret, err = otp.DecodeSecret(secret)
	case 1:
		a.Digits = 8
		a.Secret, err = base64.StdEncoding.DecodeString(strings.TrimSpace(secret))
		if err != nil {
			err = errors.New("not valid base64")
		}
	default:
		return a, fmt.Errorf("account type %d (a work or school account) is not supported: "+
			"add it again from the organisation's sign-in page", typ)
	}
	if err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	if len(a.Secret) == 0 {
		return a, otp.ErrMissingSecret
	}
	return a, nil
}
