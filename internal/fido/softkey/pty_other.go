//go:build !linux

package softkey

import "errors"

// ErrUnsupported is returned by Start off Linux: libfido2 accepts a pty as
// a HID device only there.
var ErrUnsupported = errors.New("softkey: pty transport needs linux")

type ptyDevice struct{}

// Start is only implemented on Linux.
func (k *Key) Start() error { return ErrUnsupported }

// Path is "" off Linux.
func (k *Key) Path() string { return "" }

// Close does nothing off Linux.
func (k *Key) Close() error { return nil }

// Unplug does nothing off Linux.
func (k *Key) Unplug() error { return nil }

// Plug is only implemented on Linux.
func (k *Key) Plug() error { return ErrUnsupported }
