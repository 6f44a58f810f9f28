//go:build !cgo

package fido

import (
	"context"
	"errors"
)

// ErrUnavailable is every key operation's error in a build without cgo,
// which cannot link libfido2.
var ErrUnavailable = errors.New("security keys are not available: this build has no libfido2 (built without cgo)")

// List returns ErrUnavailable: without libfido2 no key can be used.
func List(extra []string) ([]Location, error) { return nil, ErrUnavailable }

// Key is a security key; without cgo none can be opened.
type Key struct{ path string }

// Open returns ErrUnavailable.
func Open(path string) (*Key, error) { return nil, ErrUnavailable }

func (k *Key) Path() string                                { return k.path }
func (k *Key) Info() (*Info, error)                        { return nil, ErrUnavailable }
func (k *Key) SetPIN(string) error                         { return ErrUnavailable }
func (k *Key) ChangePIN(string, string) error              { return ErrUnavailable }
func (k *Key) Passkeys(string) ([]RelyingParty, error)     { return nil, ErrUnavailable }
func (k *Key) DeleteCredential(string, []byte) error       { return ErrUnavailable }
func (k *Key) Reset(context.Context, ...TouchOption) error { return ErrUnavailable }
func (k *Key) Register(context.Context, RegistrationOptions, ...TouchOption) (*Registration, error) {
	return nil, ErrUnavailable
}
func (k *Key) Assert(context.Context, AssertionOptions, ...TouchOption) (*Assertion, error) {
	return nil, ErrUnavailable
}

func (k *Key) Fingerprints(string) ([]Fingerprint, error) { return nil, ErrUnavailable }
func (k *Key) EnrollFingerprint(context.Context, string, string, func(EnrollProgress), ...TouchOption) (Fingerprint, error) {
	return Fingerprint{}, ErrUnavailable
}
func (k *Key) RenameFingerprint(string, []byte, string) error { return ErrUnavailable }
func (k *Key) DeleteFingerprint(string, []byte) error         { return ErrUnavailable }

func (k *Key) NewHMACCredential(context.Context, string, string, ...TouchOption) (*HMACCredential, error) {
	return nil, ErrUnavailable
}
func (k *Key) HasCredential(string, []byte) (bool, error) { return false, ErrUnavailable }
func (k *Key) HMACSecret(context.Context, string, []byte, []byte, string, ...TouchOption) ([]byte, error) {
	return nil, ErrUnavailable
}
func (k *Key) EnrollVault(context.Context, []byte, string, ...TouchOption) (*HMACCredential, []byte, error) {
	return nil, nil, ErrUnavailable
}
func (k *Key) VaultSecret(context.Context, []byte, []byte, bool, func() (string, error), ...TouchOption) ([]byte, error) {
	return nil, ErrUnavailable
}
