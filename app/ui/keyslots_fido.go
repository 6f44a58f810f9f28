package ui

import (
	"context"

	"github.com/countersign/countersign/internal/fido"
)

// vaultKeyService is what the vault's security-key slots need of the keys:
// the keys present and what they say about themselves, and the hmac-secret
// of a credential made for the vault (internal/fido's EnrollVault and
// VaultSecret). FidoKeys gives one; every method talks to a key, so callers
// run them off the UI goroutine.
type vaultKeyService interface {
	Watch(ctx context.Context) (<-chan []fido.Location, error)
	Info(path string) (*fido.Info, error)
	// HasVaultCredential tells, without a touch, whether the key at path
	// holds the vault credential credID.
	HasVaultCredential(path string, credID []byte) (bool, error)
	// EnrollVault makes a vault credential on the key and gets its secret
	// for salt: two touches, onTouch called before each.
	EnrollVault(ctx context.Context, path string, salt []byte, pin string, onTouch func()) (*fido.HMACCredential, []byte, error)
	// VaultSecret is the secret of the vault credential credID for salt,
	// with pin when the credential was made with one; one touch.
	VaultSecret(ctx context.Context, path string, credID, salt []byte, pin string, onTouch func()) ([]byte, error)
}

func (fidoKeys) HasVaultCredential(path string, credID []byte) (bool, error) {
	return with(path, func(k *fido.Key) (bool, error) { return k.HasCredential(fido.VaultRPID, credID) })
}

func (fidoKeys) EnrollVault(ctx context.Context, path string, salt []byte, pin string, onTouch func()) (*fido.HMACCredential, []byte, error) {
	var secret []byte
	cred, err := with(path, func(k *fido.Key) (*fido.HMACCredential, error) {
		c, s, err := k.EnrollVault(ctx, salt, pin, fido.OnTouch(onTouch))
		secret = s
		return c, err
	})
	return cred, secret, err
}

func (fidoKeys) VaultSecret(ctx context.Context, path string, credID, salt []byte, pin string, onTouch func()) ([]byte, error) {
	return with(path, func(k *fido.Key) ([]byte, error) {
		return k.HMACSecret(ctx, fido.VaultRPID, credID, salt, pin, fido.OnTouch(onTouch))
	})
}
