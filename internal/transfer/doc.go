// Package transfer imports authenticator accounts from the files other apps
// export, and exports them in formats other apps (and Countersign) read back.
//
// Import reads plain otpauth:// URI lists (otpauth://steam/ included),
// Google Authenticator otpauth-migration:// exports, Aegis vaults (plain and
// password-encrypted), 2FAS backups (plain and password-encrypted), Bitwarden
// JSON exports, andOTP backups (plain and password-encrypted), FreeOTP+ JSON
// backups, Ente Auth's plain export, Proton Authenticator's export (plain and
// password-protected), Stratum (Authenticator Pro) backups (plain and
// password-encrypted), FreeOTP's tokens.xml, Authy's token files, the
// database files of Google Authenticator and Microsoft Authenticator, and
// Countersign's own encrypted backup (see BACKUP.md). Each format's file
// names the source it follows. Import is all or nothing unless
// Options.SkipInvalid is set: a file with one bad entry yields no accounts and
// an *EntryError naming it. Every imported key is normalized and validated
// with package otp.
//
// The two database formats are SQLite files. They are read with the SQLite
// driver the repository already uses (modernc.org/sqlite, pure Go), from a
// copy of the bytes deserialized into an in-memory database (SQLite's
// sqlite3_deserialize) with query_only on, so nothing can write, and
// trusted_schema off, so the file's views and triggers cannot call functions
// SQLite does not deem innocuous. No temporary file is written: the package
// still never touches the file system.
//
// Export writes otpauth:// URI lists, plain Aegis vaults and Countersign
// backups.
//
// The package is pure: it works on bytes and writers, never opens files,
// reads the clock or the OS keyring, and never stores accounts (see package
// vault). Randomness comes from the io.Reader the caller passes. It does not
// log, and no error it returns quotes a secret.
package transfer
