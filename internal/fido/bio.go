package fido

import (
	"errors"
	"fmt"
)

// Fingerprint is one finger enrolled on a key with a fingerprint sensor
// (YubiKey Bio and the like).
type Fingerprint struct {
	// ID is the key's template id, as the key made it.
	ID []byte `json:"id"`
	// Name is the friendly name, "" when none was given.
	Name string `json:"name,omitempty"`
}

var (
	// ErrNoFingerprint is a template id the key does not have.
	ErrNoFingerprint = errors.New("no such fingerprint on the key")
	// ErrFingerprintsFull is a key that holds as many fingers as it can.
	ErrFingerprintsFull = errors.New("the key holds as many fingerprints as it can: delete one first")
)

// MaxFingerprintName is CTAP's usual limit on a friendly name, in bytes
// of UTF-8 (keys may report a different one).
const MaxFingerprintName = 64

// SampleStatus is the key's verdict on one touch of its sensor during
// enrollment (CTAP's lastEnrollSampleStatus).
type SampleStatus uint8

// SampleGood is a sample the key kept; every other status asks for the
// touch again.
const SampleGood SampleStatus = 0

var sampleAdvice = []string{
	"good",
	"too high: place the finger lower",
	"too low: place the finger higher",
	"too far left: move the finger right",
	"too far right: move the finger left",
	"too fast: touch more slowly",
	"too slow: touch more quickly",
	"poor quality: clean the finger and the sensor",
	"too skewed: place the finger straight",
	"too short: keep the finger on the sensor longer",
	"merge failure: touch again",
	"this finger is enrolled already",
	"",
	"no touch: touch the sensor",
	"lifted too early: touch and hold",
}

// String says what the status means and what to do.
func (s SampleStatus) String() string {
	if int(s) < len(sampleAdvice) && sampleAdvice[s] != "" {
		return sampleAdvice[s]
	}
	return fmt.Sprintf("sample status %#02x: touch again", uint8(s))
}

// EnrollProgress is reported after each touch of an enrollment.
type EnrollProgress struct {
	// Remaining is the number of good samples still needed.
	Remaining int
	// Last is the status of the sample just taken.
	Last SampleStatus
}

// checkFingerprintName applies CTAP's friendly-name limit.
func checkFingerprintName(name string) error {
	if len(name) > MaxFingerprintName {
		return fmt.Errorf("the name is %d bytes long; keys take at most %d", len(name), MaxFingerprintName)
	}
	return nil
}
