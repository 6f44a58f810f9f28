package transfer

// andOTP backups, as andOTP writes them (github.com/andOTP/andOTP,
// app/src/main/java/org/shadowice/flocke/andotp/Utilities/BackupHelper.java
// and EncryptionHelper.java) and Aegis reads them
// (app/src/main/java/com/beemdevelopment/aegis/importers/AndOtpImporter.java).
//
// The plain-text backup is a JSON array of
//
//	{"secret", "issuer", "label", "digits", "type": "TOTP"|"HOTP"|"STEAM",
//	 "algorithm", "period", "counter", "tags": […]}
//
// with the secret in padded base32. The encrypted backup (.json.aes) is that
// JSON encrypted with AES-256-GCM. In newer versions the file is a 4-byte
// big-endian PBKDF2 iteration count, a 12-byte salt, a 12-byte nonce, then
// the ciphertext with the 16-byte tag last, under
// PBKDF2-HMAC-SHA1(password, salt, iterations, 256 bits). Older versions
// wrote only the nonce and the ciphertext, under SHA-256(password). The file
// does not say which it is: the import tries the newer layout, then the
// older one, and GCM's tag tells which opens. OpenPGP-encrypted backups
// (.json.gpg) are refused with advice.

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

var errAndOTPPGP = errors.New("this looks like an OpenPGP-encrypted andOTP backup: " +
	"make a password-protected or plain-text backup in andOTP (Backups) and import that")

const (
	andOTPSaltLen       = 12
	andOTPNonceLen      = 12
	andOTPTagLen        = 16
	andOTPMaxIterations = 10_000_000 // Aegis's bound: more is not an andOTP file
)

// andOTPIterations reads the iteration count of a newer encrypted backup; ok
// is false when the file cannot be one.
func andOTPIterations(data []byte) (n uint32, ok bool) {
	if len(data) < 4+andOTPSaltLen+andOTPNonceLen+andOTPTagLen {
		return 0, false
	}
	n = binary.BigEndian.Uint32(data)
	return n, n >= 1 && n <= andOTPMaxIterations
}

// decryptAndOTP opens an encrypted andOTP backup, in either layout.
func decryptAndOTP(data, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("andotp backup is encrypted: %w", ErrPasswordRequired)
	}
	open := func(key, rest []byte) ([]byte, bool) {
		if len(rest) < andOTPNonceLen+andOTPTagLen {
			return nil, false
		}
		aead, err := newGCM(key, andOTPNonceLen)
		if err != nil {
			return nil, false
		}
		plain, err := aead.Open(nil, rest[:andOTPNonceLen], rest[andOTPNonceLen:], nil)
		return plain, err == nil
	}
	if n, ok := andOTPIterations(data); ok {
		salt := data[4 : 4+andOTPSaltLen]
		key, err := pbkdf2.Key(sha1.New, string(password), salt, int(n), 32)
		if err != nil {
			return nil, err
		}
		if plain, ok := open(key, data[4+andOTPSaltLen:]); ok {
			return plain, nil
		}
	}
	key := sha256.Sum256(password)
	if plain, ok := open(key[:], data); ok {
		return plain, nil
	}
	return nil, fmt.Errorf("andotp backup: %w", ErrWrongPassword)
}

type andOTPEntry struct {
	Secret    string   `json:"secret"`
	Issuer    string   `json:"issuer"`
	Label     string   `json:"label"`
	Digits    int      `json:"digits"`
	Type      string   `json:"type"`
	Algorithm string   `json:"algorithm"`
	Period    int      `json:"period"`
	Counter   uint64   `json:"counter"`
	Tags      []string `json:"tags"`
}

func parseAndOTP(data []byte, opts Options) (parsed, error) {
	var p parsed
	trimmed := bytes.TrimSpace(trimBOM(data))
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP MESSAGE-----")):
		p.encrypted = true
		return p, errAndOTPPGP
	case len(trimmed) > 0 && trimmed[0] != '[' && trimmed[0] != '{':
		p.encrypted = true
		plain, err := decryptAndOTP(data, opts.Password)
		if err != nil {
			return p, err
		}
		data = plain
	}
	var entries []json.RawMessage
	if err := decodeFile("andOTP", data, &entries); err != nil {
		return p, err
	}
	for i, raw := range entries {
		a, err := andOTPAccount(raw)
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

func andOTPAccount(raw json.RawMessage) (vault.Account, error) {
	var e andOTPEntry
	err := decodeEntry(raw, &e)
	issuer, name := e.Issuer, e.Label
	// Old andOTP versions had no issuer field and wrote "Issuer:name" labels.
	if prefix, rest, ok := strings.Cut(name, ":"); ok && issuer == "" {
		issuer, name = prefix, rest
	}
	a := vault.Account{Key: otp.Key{Issuer: issuer, Name: name}, Tags: e.Tags}
	if err != nil {
		return a, err
	}
	switch t := strings.ToUpper(e.Type); t {
	case "", "TOTP":
		a.Type = otp.TOTP
	case "HOTP":
		a.Type, a.Counter = otp.HOTP, e.Counter
	case "STEAM":
		a.Type, a.Encoder = otp.TOTP, otp.EncoderSteam
	default:
		return a, fmt.Errorf("type %q is not supported", e.Type)
	}
	if a.Secret, err = otp.DecodeSecret(e.Secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	a.Algorithm = otp.Algorithm(strings.ToUpper(e.Algorithm))
	a.Digits, a.Period = e.Digits, e.Period
	return a, nil
}
