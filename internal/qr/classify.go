package qr

import "strings"

// Kind tells what a decoded QR code is for.
type Kind string

const (
	KindOTPAuth   Kind = "otpauth"           // otpauth:// — one account
	KindMigration Kind = "otpauth-migration" // otpauth-migration:// — a Google Authenticator export, many accounts
	KindOther     Kind = "other"             // not an authenticator QR code
)

// Classify tells an authenticator QR code from any other by the URI scheme
// of its text. Schemes are case-insensitive (RFC 3986), so OTPAUTH://… is
// an otpauth URI too.
func Classify(text string) Kind {
	scheme, _, ok := strings.Cut(text, "://")
	switch {
	case !ok:
		return KindOther
	case strings.EqualFold(scheme, "otpauth"):
		return KindOTPAuth
	case strings.EqualFold(scheme, "otpauth-migration"):
		return KindMigration
	}
	return KindOther
}
