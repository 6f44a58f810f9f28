// Package otp computes one-time codes and reads and writes the URIs that carry
// their keys.
//
// It covers HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard codes, the
// otpauth:// Key Uri Format, and Google Authenticator's
// otpauth-migration://offline export. Code computation is delegated to
// github.com/pquerna/otp; this package owns the key model, validation and the
// URI formats.
//
// CodeCache serves screens that ask for many codes every second.
//
// It does not store keys (see package vault) and never reads the clock: every
// function that depends on time takes it as an argument.
package otp
