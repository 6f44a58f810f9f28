package fido

import "errors"

// VaultRPID is the relying party id of the credentials that open
// Countersign's vault (its security key slots). It is no web domain: a
// credential made for it is never offered to a web site, and a site could
// not ask for its secret anyway (WebAuthn's PRF extension hashes a site's
// salts before the key sees them).
const VaultRPID = "countersign-vault"

// ExtHMACSecret is the hmac-secret extension's name in Info.Extensions.
const ExtHMACSecret = "hmac-secret"

// HMACSecretSize is the size of a secret HMACSecret returns.
const HMACSecretSize = 32

// ErrNoHMACSecret means the key, or the credential, has no hmac-secret: it
// cannot derive secrets (older U2F-only keys, keys without the extension).
var ErrNoHMACSecret = errors.New("the key cannot derive secrets (it has no hmac-secret extension)")

// HMACCredential is a credential made with the hmac-secret extension: the
// key derives a secret from it and a salt, the same every time, and only
// that key can.
type HMACCredential struct {
	// ID is the credential id, kept by the caller: the credential is not
	// stored on the key (it is not a passkey), the id is needed to use it.
	ID []byte
	// AAGUID names the key's model; Model is its name when known.
	AAGUID, Model string
	// UV is true for a credential made with the key's PIN: its secrets
	// are those given with the PIN (HMACSecret with the PIN), which
	// differ from those given without.
	UV bool
}
