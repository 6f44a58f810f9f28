package fido

import "fmt"

// DefaultMinPINLength is CTAP's minimum PIN length for keys that do not
// report their own.
const DefaultMinPINLength = 4

// MaxPINBytes is CTAP's maximum PIN length in bytes of UTF-8.
const MaxPINBytes = 63

// Info is what a key says about itself (authenticatorGetInfo).
type Info struct {
	Path string `json:"path"`
	// Product and Manufacturer are the USB strings, when libfido2's
	// enumeration lists the key.
	Product      string `json:"product,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	AAGUID       string `json:"aaguid"`
	// Model is named from the AAGUID, or UnknownModel.
	Model      string   `json:"model"`
	Versions   []string `json:"versions"`
	Extensions []string `json:"extensions"`
	// Options holds the key's options by their CTAP names: clientPin
	// (present: the key supports a PIN; true: one is set), rk, up, uv,
	// credMgmt, bioEnroll, alwaysUv …
	Options      map[string]bool `json:"options"`
	PINProtocols []int           `json:"pin_protocols,omitempty"`
	// PINRetries is the number of PIN tries left, -1 when the key has no PIN.
	PINRetries int `json:"pin_retries"`
	// MinPINLength is the key's minimum PIN length in code points.
	MinPINLength int `json:"min_pin_length"`
	// RemainingDiscoverable is the number of free passkey slots, -1 when the
	// key does not say.
	RemainingDiscoverable int64 `json:"remaining_discoverable_credentials"`
	// Firmware is the key's firmware version, 0 when not reported.
	Firmware uint64 `json:"firmware,omitempty"`
}

// PINSet reports whether the key has a PIN.
func (i *Info) PINSet() bool { return i.Options["clientPin"] }

// SupportsPIN reports whether the key can have a PIN.
func (i *Info) SupportsPIN() bool {
	_, ok := i.Options["clientPin"]
	return ok
}

// FirmwareString formats Firmware as most vendors do (0x050403 → "5.4.3"),
// or "" when the key did not report one.
func (i *Info) FirmwareString() string {
	switch {
	case i.Firmware == 0:
		return ""
	case i.Firmware <= 0xffffff:
		return fmt.Sprintf("%d.%d.%d", i.Firmware>>16, i.Firmware>>8&0xff, i.Firmware&0xff)
	}
	return fmt.Sprint(i.Firmware)
}
