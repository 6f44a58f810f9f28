// Package softkey is a software FIDO2 (CTAP 2.1) authenticator served over
// CTAPHID on a Linux pseudo-terminal, so that libfido2, fido2-tools and
// go-libfido2 can be exercised in tests and demos without hardware.
//
// IT IS NOT A SECURITY DEVICE. Its private keys, PIN hash and device secret
// live in process memory and, when Options.StateFile is set, in a plain JSON
// file. Anyone who can read the process or the file can impersonate the key.
// Never register it with an account that matters.
//
// What it speaks: CTAPHID INIT, PING, CBOR, CANCEL, KEEPALIVE and ERROR
// (no U2F/MSG, no WINK, no LOCK); CTAP2 getInfo, makeCredential (ES256,
// "packed" self attestation or "none"), getAssertion, getNextAssertion,
// clientPIN (PIN/UV auth protocols 1 and 2), credentialManagement, reset
// and, with Options.Fingerprint, authenticatorBioEnrollment (0x09 and the
// preview 0x40) over a simulated sensor whose touches Options decide.
// One extension: hmac-secret (CTAP 2.1 section 12.5), whose CredRandom
// values travel inside a non-discoverable credential's ID and are stored
// with a discoverable one. No built-in user verification (not even with a
// sensor), no enterprise attestation.
//
// Every key reports the AAGUID 612994a4-8f8e-420b-99f8-8d494e0836cd
// ("Countersign software key"), so a relying party can recognise it.
//
// libfido2 opens a path, requires a character device and, when the HID
// report-descriptor ioctls fail, uses 64-byte reports. Key.Path names the
// slave side of a fresh pty in raw mode (VMIN=64): libfido2 writes 65 bytes
// (report id 0 and a 64-byte frame) and reads 64-byte frames. udev does not
// list it; give the path explicitly, e.g. `fido2-token -I "$(path)"`.
package softkey
