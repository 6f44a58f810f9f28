//go:build cgo

package fido

import (
	"context"
	"errors"
	"fmt"
	"slices"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// Key is one security key, opened by path. libfido2 opens the device for
// each operation, so a Key holds no handle and needs no Close. A Key is not
// safe for concurrent use (go-libfido2's Device is not); one operation at a
// time is also all a key can do.
type Key struct {
	path string
	dev  *libfido2.Device
}

// Open prepares the key at path, checking first that it can be opened.
func Open(path string) (*Key, error) {
	if path == "" {
		return nil, errors.New("no device path")
	}
	if err := checkOpenable(path); err != nil {
		return nil, err
	}
	dev, err := libfido2.NewDevice(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &Key{path: path, dev: dev}, nil
}

// Path is the device path the key was opened with.
func (k *Key) Path() string { return k.path }

// retries is the RetryCount callback translate wants.
func (k *Key) retries() (int, error) { return k.dev.RetryCount() }

// List finds the keys libfido2 enumerates, keys present but not openable
// (see ErrPermission), and the explicit paths in extra, in that order, each
// path once.
func List(extra []string) ([]Location, error) {
	found, err := libfido2.DeviceLocations()
	if err != nil {
		return nil, fmt.Errorf("listing security keys: %w", err)
	}
	var locs []Location
	seen := map[string]bool{}
	for _, d := range found {
		seen[d.Path] = true
		locs = append(locs, Location{
			Path: d.Path, Product: d.Product, Manufacturer: d.Manufacturer,
			VendorID: uint16(d.VendorID), ProductID: uint16(d.ProductID),
		})
	}
	for _, p := range unopenableKeys() {
		if !seen[p] {
			seen[p] = true
			locs = append(locs, Location{Path: p, Err: permissionError(p)})
		}
	}
	for _, p := range extra {
		if seen[p] {
			continue
		}
		seen[p] = true
		locs = append(locs, Location{Path: p, Configured: true, Err: checkOpenable(p)})
	}
	return locs, nil
}

// Info asks the key what it is and what it supports.
func (k *Key) Info() (*Info, error) {
	li, err := k.dev.Info()
	if err != nil {
		return nil, translate("reading the key's info", err, nil)
	}
	info := &Info{
		Path:                  k.path,
		AAGUID:                FormatAAGUID(li.AAGUID),
		Versions:              li.Versions,
		Extensions:            li.Extensions,
		Options:               map[string]bool{},
		PINRetries:            -1,
		MinPINLength:          DefaultMinPINLength,
		RemainingDiscoverable: -1,
	}
	info.Model = ModelName(info.AAGUID)
	if locs, err := libfido2.DeviceLocations(); err == nil {
		for _, l := range locs {
			if l.Path == k.path {
				info.Product, info.Manufacturer = l.Product, l.Manufacturer
			}
		}
	}
	for _, o := range li.Options {
		info.Options[o.Name] = o.Value == "true"
	}
	for _, p := range li.Protocols {
		info.PINProtocols = append(info.PINProtocols, int(p))
	}
	slices.Sort(info.PINProtocols)
	minPIN, fw, rk, err := extraInfo(k.path)
	if err != nil {
		return nil, fmt.Errorf("reading the key's info: %w", err)
	}
	if minPIN > 0 {
		info.MinPINLength = minPIN
	}
	info.Firmware, info.RemainingDiscoverable = fw, rk
	if info.PINSet() {
		n, err := k.dev.RetryCount()
		if err != nil {
			return nil, translate("reading the PIN retry count", err, nil)
		}
		info.PINRetries = n
	}
	return info, nil
}

// SetPIN sets the PIN of a key that has none.
func (k *Key) SetPIN(pin string) error {
	info, err := k.Info()
	if err != nil {
		return err
	}
	if !info.SupportsPIN() {
		return fmt.Errorf("setting the PIN: %w", ErrNotSupported)
	}
	if info.PINSet() {
		return fmt.Errorf("setting the PIN: %w", ErrPINSet)
	}
	if err := CheckPIN(pin, info.MinPINLength); err != nil {
		return fmt.Errorf("setting the PIN: %w", err)
	}
	return translate("setting the PIN", k.dev.SetPIN(pin, ""), nil)
}

// ChangePIN replaces the key's PIN old with pin.
func (k *Key) ChangePIN(old, pin string) error {
	info, err := k.Info()
	if err != nil {
		return err
	}
	if !info.PINSet() {
		return fmt.Errorf("changing the PIN: %w", ErrPINNotSet)
	}
	if err := CheckPIN(pin, info.MinPINLength); err != nil {
		return fmt.Errorf("changing the PIN: new %w", err)
	}
	if pin == old {
		return fmt.Errorf("changing the PIN: %w: the new PIN is the same as the old one", ErrPINPolicy)
	}
	if old == "" {
		return fmt.Errorf("changing the PIN: %w", ErrPINRequired)
	}
	return translate("changing the PIN", k.dev.SetPIN(pin, old), k.retries)
}

// Passkeys lists the relying parties with passkeys on the key, each with
// its credentials. It needs the PIN and a key with credential management.
func (k *Key) Passkeys(pin string) ([]RelyingParty, error) {
	if pin == "" {
		return nil, fmt.Errorf("listing passkeys: %w", ErrPINRequired)
	}
	rps, err := k.dev.RelyingParties(pin)
	if errors.Is(err, libfido2.ErrNoCredentials) {
		return nil, nil
	}
	if err != nil {
		return nil, translate("listing passkeys", err, k.retries)
	}
	out := make([]RelyingParty, 0, len(rps))
	for _, rp := range rps {
		creds, err := k.dev.Credentials(rp.ID, pin)
		if err != nil && !errors.Is(err, libfido2.ErrNoCredentials) {
			return nil, translate("listing passkeys of "+rp.ID, err, k.retries)
		}
		r := RelyingParty{ID: rp.ID, Name: rp.Name, Credentials: []Credential{}}
		for _, c := range creds {
			r.Credentials = append(r.Credentials, Credential{
				ID: c.ID, UserID: c.User.ID, UserName: c.User.Name, DisplayName: c.User.DisplayName,
			})
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteCredential deletes the passkey with the credential id from the key.
func (k *Key) DeleteCredential(pin string, id []byte) error {
	if pin == "" {
		return fmt.Errorf("deleting the passkey: %w", ErrPINRequired)
	}
	if len(id) == 0 {
		return errors.New("deleting the passkey: no credential id")
	}
	return translate("deleting the passkey", k.dev.DeleteCredential(id, pin), k.retries)
}

// Reset returns the key to its factory state: every credential goes, the
// PIN goes. The key must have been plugged in seconds ago (ResetRule) and
// will want a touch. Cancelling ctx cancels the request on the key.
func (k *Key) Reset(ctx context.Context, topts ...TouchOption) error {
	err := k.reset(ctx, topts)
	if errors.Is(err, ErrNotAllowed) {
		return fmt.Errorf("resetting the key: %w", ErrResetNotAllowed)
	}
	return err
}

// ctap2ErrPINBlocked is CTAP2_ERR_PIN_BLOCKED, which go-libfido2 passes on as
// a bare libfido2.Error.
const ctap2ErrPINBlocked = 0x32

// translate turns a go-libfido2 error into one of this package's, wrapped
// with what was being done. retries is asked only after a wrong PIN.
func translate(what string, err error, retries func() (int, error)) error {
	if err == nil {
		return nil
	}
	var code libfido2.Error
	switch {
	case errors.Is(err, libfido2.ErrPinInvalid):
		n := -1
		if retries != nil {
			if r, rerr := retries(); rerr == nil {
				n = r
			}
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, ErrPINBlocked)
		}
		return fmt.Errorf("%s: %w", what, &WrongPINError{Retries: n})
	case errors.Is(err, libfido2.ErrPinAuthBlocked):
		return fmt.Errorf("%s: %w", what, ErrPINAuthBlocked)
	case errors.As(err, &code) && code.Code == ctap2ErrPINBlocked:
		return fmt.Errorf("%s: %w", what, ErrPINBlocked)
	case errors.Is(err, libfido2.ErrPinRequired):
		return fmt.Errorf("%s: %w", what, ErrPINRequired)
	case errors.Is(err, libfido2.ErrPinNotSet):
		return fmt.Errorf("%s: %w", what, ErrPINNotSet)
	case errors.Is(err, libfido2.ErrPinPolicyViolation):
		return fmt.Errorf("%s: %w: the key's PIN rules refuse it", what, ErrPINPolicy)
	case errors.Is(err, libfido2.ErrActionTimeout), errors.Is(err, libfido2.ErrUserPresenceRequired):
		return fmt.Errorf("%s: %w", what, ErrTimeout)
	case errors.Is(err, libfido2.ErrNoCredentials):
		return fmt.Errorf("%s: %w", what, ErrNoCredentials)
	case errors.Is(err, libfido2.ErrInvalidCommand), errors.Is(err, libfido2.ErrUnsupportedOption), errors.Is(err, libfido2.ErrNotFIDO2):
		return fmt.Errorf("%s: %w", what, ErrNotSupported)
	case errors.Is(err, libfido2.ErrNotAllowed), errors.Is(err, libfido2.ErrOperationDenied):
		return fmt.Errorf("%s: %w", what, ErrNotAllowed)
	}
	return fmt.Errorf("%s: %w", what, err)
}
