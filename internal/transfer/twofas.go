package transfer

// 2FAS backup format (.2fas), as written by 2FAS for Android and iOS
// (BackupContent and BackupService in github.com/twofas/2fas-android):
//
//	{"services": [ {"name", "secret", "otp": {"account", "issuer", "label",
//	  "digits", "period", "algorithm", "counter", "tokenType"}, "groupId"} ],
//	 "groups": [ {"id", "name"} ], "schemaVersion": 4, …}
//
// A password-protected backup has "services": [] and
// "servicesEncrypted": "base64(ciphertext+tag):base64(salt):base64(iv)",
// the services array encrypted with AES-256-GCM under
// PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 256 bits). Groups stay
// in clear. ("reference" holds a known text encrypted the same way; it is
// not needed to decrypt.)

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	twofasIterations = 10000
	twofasKeyLen     = 32
)

type twofasFile struct {
	SchemaVersion     int               `json:"schemaVersion"`
	Services          []json.RawMessage `json:"services"`
	ServicesEncrypted *string           `json:"servicesEncrypted"`
	Groups            []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"groups"`
}

type twofasService struct {
	Name    string  `json:"name"`
	Secret  string  `json:"secret"`
	GroupID *string `json:"groupId"`
	OTP     struct {
		Label     string `json:"label"`
		Account   string `json:"account"`
		Issuer    string `json:"issuer"`
		Digits    int    `json:"digits"`
		Period    int    `json:"period"`
		Algorithm string `json:"algorithm"`
		Counter   uint64 `json:"counter"`
		TokenType string `json:"tokenType"`
	} `json:"otp"`
}

func parse2FAS(data []byte, opts Options) (parsed, error) {
	var p parsed
	var file twofasFile
	if err := decodeFile("2FAS", data, &file); err != nil {
		return p, err
	}
	services := file.Services
	if file.ServicesEncrypted != nil && *file.ServicesEncrypted != "" {
		p.encrypted = true
		plain, err := decrypt2FAS(*file.ServicesEncrypted, opts.Password)
		if err != nil {
			return p, err
		}
		services = nil
		if err := decodeFile("2FAS", plain, &services); err != nil {
			return p, fmt.Errorf("decrypted services: %w", err)
		}
	}
	groups := make(map[string]string, len(file.Groups))
	for _, g := range file.Groups {
		groups[g.ID] = g.Name
	}
	for i, raw := range services {
		a, err := twofasAccount(raw, groups)
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

func twofasAccount(raw json.RawMessage, groups map[string]string) (vault.Account, error) {
	var s twofasService
	err := decodeEntry(raw, &s)
	// The service name is what 2FAS shows (people may rename it); the issuer
	// from the enrolment URI stands in when it is empty.
	issuer := s.Name
	if issuer == "" {
		issuer = s.OTP.Issuer
	}
	name := s.OTP.Account
	if name == "" {
		name = s.OTP.Label
		if prefix, rest, ok := strings.Cut(name, ":"); ok && strings.EqualFold(strings.TrimSpace(prefix), strings.TrimSpace(issuer)) {
			name = rest
		}
	}
	a := vault.Account{Key: otp.Key{Issuer: issuer, Name: name}}
	if err != nil {
		return a, err
	}
	switch t := strings.ToUpper(s.OTP.TokenType); t {
	case "", "TOTP":
		a.Type = otp.TOTP
	case "HOTP":
		a.Type, a.Counter = otp.HOTP, s.OTP.Counter
	case "STEAM":
		a.Type, a.Encoder = otp.TOTP, otp.EncoderSteam
	default:
		return a, fmt.Errorf("token type %q is not supported", s.OTP.TokenType)
	}
	if a.Secret, err = otp.DecodeSecret(s.Secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	a.Algorithm = otp.Algorithm(strings.ToUpper(s.OTP.Algorithm))
	a.Digits, a.Period = s.OTP.Digits, s.OTP.Period
	if s.GroupID != nil {
		if g, ok := groups[*s.GroupID]; ok {
			a.Tags = []string{g}
		}
	}
	return a, nil
}

func decrypt2FAS(field string, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("2fas backup is encrypted: %w", ErrPasswordRequired)
	}
	parts := strings.Split(field, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a valid 2FAS backup: servicesEncrypted has %d parts, want 3 (data:salt:iv)", len(parts))
	}
	var decoded [3][]byte
	for i, part := range parts {
		b, err := base64.StdEncoding.DecodeString(part)
		if err != nil {
			return nil, fmt.Errorf("not a valid 2FAS backup: servicesEncrypted part %d is not base64: %w", i+1, err)
		}
		decoded[i] = b
	}
	sealed, salt, iv := decoded[0], decoded[1], decoded[2]
	if len(iv) < 12 || len(iv) > 64 || len(sealed) < 16 {
		return nil, errors.New("not a valid 2FAS backup: servicesEncrypted is too short")
	}
	key, err := pbkdf2.Key(sha256.New, string(password), salt, twofasIterations, twofasKeyLen)
	if err != nil {
		return nil, fmt.Errorf("2fas backup: derive key: %w", err)
	}
	aead, err := newGCM(key, len(iv))
	if err != nil {
		return nil, fmt.Errorf("2fas backup: %w", err)
	}
	plain, err := aead.Open(nil, iv, sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("2fas backup: %w", ErrWrongPassword)
	}
	return plain, nil
}
