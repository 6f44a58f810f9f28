package ui

import (
	"context"
	"time"

	"github.com/countersign/countersign/internal/fido"
)

// keyWatchInterval is how often the key list is polled besides inotify.
const keyWatchInterval = 2 * time.Second

// FidoKeys is the KeyService of the security keys libfido2 finds, plus the
// device paths in the COUNTERSIGN_FIDO_DEVICES variable read with getenv.
func FidoKeys(getenv func(string) string) KeyService {
	return fidoKeys{extra: fido.PathsFromEnv(getenv)}
}

type fidoKeys struct{ extra []string }

func (f fidoKeys) Watch(ctx context.Context) (<-chan []fido.Location, error) {
	return fido.Watch(ctx, keyWatchInterval, f.extra)
}

// with opens the key at path for one operation; libfido2 opens the device
// for each request anyway.
func with[T any](path string, op func(*fido.Key) (T, error)) (T, error) {
	k, err := fido.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	return op(k)
}

func (fidoKeys) Info(path string) (*fido.Info, error) {
	return with(path, (*fido.Key).Info)
}

func (fidoKeys) SetPIN(path, pin string) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.SetPIN(pin) })
	return err
}

func (fidoKeys) ChangePIN(path, old, pin string) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.ChangePIN(old, pin) })
	return err
}

func (fidoKeys) Passkeys(path, pin string) ([]fido.RelyingParty, error) {
	return with(path, func(k *fido.Key) ([]fido.RelyingParty, error) { return k.Passkeys(pin) })
}

func (fidoKeys) DeleteCredential(path, pin string, id []byte) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.DeleteCredential(pin, id) })
	return err
}

func (fidoKeys) Reset(ctx context.Context, path string, onTouch func()) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.Reset(ctx, fido.OnTouch(onTouch)) })
	return err
}

func (fidoKeys) Fingerprints(path, pin string) ([]fido.Fingerprint, error) {
	return with(path, func(k *fido.Key) ([]fido.Fingerprint, error) { return k.Fingerprints(pin) })
}

func (fidoKeys) EnrollFingerprint(ctx context.Context, path, pin, name string, progress func(fido.EnrollProgress)) (fido.Fingerprint, error) {
	return with(path, func(k *fido.Key) (fido.Fingerprint, error) { return k.EnrollFingerprint(ctx, pin, name, progress) })
}

func (fidoKeys) RenameFingerprint(path, pin string, id []byte, name string) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.RenameFingerprint(pin, id, name) })
	return err
}

func (fidoKeys) DeleteFingerprint(path, pin string, id []byte) error {
	_, err := with(path, func(k *fido.Key) (struct{}, error) { return struct{}{}, k.DeleteFingerprint(pin, id) })
	return err
}
