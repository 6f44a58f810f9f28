// Package fido manages FIDO2 security keys (YubiKeys and the like) through
// libfido2, by way of github.com/keys-pub/go-libfido2: finding keys, reading
// what they are and what they support, setting and changing the PIN, listing
// and deleting the passkeys stored on a key, enrolling, naming and deleting
// fingerprints on keys with a sensor, resetting a key, registering and
// signing in with WebAuthn on behalf of a relying party, deriving secrets
// with the hmac-secret extension (the vault's security key slots: EnrollVault,
// VaultSecret), and noticing keys plugged in or removed (Watch). Operations that wait for a touch take a
// context whose end cancels them on the key.
//
// It checks what can be checked before a key is asked (PIN rules), and turns
// libfido2's error codes into errors a person understands, with sentinel
// values callers can branch on (ErrWrongPIN, ErrPINAuthBlocked,
// ErrPINBlocked, ErrPINRequired …).
//
// Keys are found by libfido2's enumeration and, for paths it cannot see (a
// software key on a pseudo-terminal, an unusual device node), from explicit
// paths: configuration or the COUNTERSIGN_FIDO_DEVICES environment variable.
//
// It is not a WebAuthn relying party: verifying what a key returns is the
// server's job.
package fido
