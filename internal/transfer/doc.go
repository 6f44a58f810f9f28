// Package transfer imports authenticator accounts from the files other apps
// export, and exports them in formats other apps (and Countersign) read back.
//
// Import reads plain otpauth:// URI lists, Google Authenticator
// otpauth-migration:// exports, Aegis vaults (plain and password-encrypted),
// 2FAS backups (plain and password-encrypted), Bitwarden JSON exports, andOTP
// and FreeOTP+ JSON backups, and Countersign's own encrypted backup (see
// BACKUP.md). Import is all or nothing unless Options.SkipInvalid is set: a
// file with one bad entry yields no accounts and an *EntryError naming it.
// Every imported key is normalized and validated with package otp.
//
// Export writes otpauth:// URI lists, plain Aegis vaults and Countersign
// backups.
//
// The package is pure: it works on bytes and writers, never opens files,
// reads the clock or the OS keyring, and never stores accounts (see package
// vault). Randomness comes from the io.Reader the caller passes. It does not
// log, and no error it returns quotes a secret.
package transfer
