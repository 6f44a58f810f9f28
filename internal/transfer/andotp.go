package transfer

// andOTP plain-text backup: a JSON array of
//
//	{"secret", "issuer", "label", "digits", "type": "TOTP"|"HOTP"|"STEAM",
//	 "algorithm", "period", "counter", "tags": […]}
//
// with the secret in padded base32. Encrypted andOTP backups (.json.aes,
// .json.gpg) are binary or OpenPGP armour and are refused with advice.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

var errAndOTPEncrypted = errors.New("this looks like an encrypted andOTP backup: " +
	"make a plain-text backup in andOTP (Backups, Backup (plain-text)) and import that")

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

func parseAndOTP(data []byte, _ Options) (parsed, error) {
	var p parsed
	trimmed := bytes.TrimSpace(trimBOM(data))
	if len(trimmed) > 0 && trimmed[0] != '[' && trimmed[0] != '{' {
		p.encrypted = true
		return p, errAndOTPEncrypted
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
