package transfer

// Stratum (formerly Authenticator Pro) backups, after the app's own
// doc/BACKUP_FORMAT.md and its decryption tool in
// github.com/jamie-mh/AuthenticatorPro, as Aegis reads them
// (app/src/main/java/com/beemdevelopment/aegis/importers/StratumImporter.java).
//
// The plain backup ("Export > Unencrypted") is JSON:
//
//	{"Authenticators": [{"Type", "Issuer", "Username", "Secret", "Pin",
//	                     "Algorithm", "Digits", "Period", "Counter", "Ranking", …}],
//	 "Categories": [{"Id", "Name", "Ranking"}],
//	 "AuthenticatorCategories": [{"CategoryId", "AuthenticatorSecret", "Ranking"}],
//	 "CustomIcons": […]}
//
// Type is 1 HOTP, 2 TOTP, 3 mOTP, 4 Steam (5 Yandex in later versions);
// Algorithm 0 SHA1, 1 SHA256, 2 SHA512; the secret is base32. Categories
// become tags.
//
// The encrypted backup (.stratum, before that .authpro) is the 16 ASCII bytes
// "AUTHENTICATORPRO", a 16-byte salt, a 12-byte IV, then AES-256-GCM (tag
// last) over the JSON, under Argon2id(password, salt, 3 passes, 64 MiB,
// 4 lanes). Backups from before 2022 start "AuthenticatorPro", then a 20-byte
// salt, a 16-byte IV and AES-256-CBC (PKCS#7) under PBKDF2-HMAC-SHA1 with
// 64,000 iterations.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	stratumHeader       = "AUTHENTICATORPRO"
	stratumHeaderLegacy = "AuthenticatorPro"
)

type stratumFile struct {
	Authenticators []json.RawMessage `json:"Authenticators"`
	Categories     []struct {
		ID   string `json:"Id"`
		Name string `json:"Name"`
	} `json:"Categories"`
	AuthenticatorCategories []struct {
		CategoryID          string `json:"CategoryId"`
		AuthenticatorSecret string `json:"AuthenticatorSecret"`
	} `json:"AuthenticatorCategories"`
}

type stratumEntry struct {
	Type      int     `json:"Type"`
	Issuer    string  `json:"Issuer"`
	Username  *string `json:"Username"`
	Secret    string  `json:"Secret"`
	Algorithm int     `json:"Algorithm"`
	Digits    int     `json:"Digits"`
	Period    int     `json:"Period"`
	Counter   uint64  `json:"Counter"`
}

// hasStratumHeader reports whether data is an encrypted Stratum backup.
func hasStratumHeader(data []byte) bool {
	return bytes.HasPrefix(data, []byte(stratumHeader)) || bytes.HasPrefix(data, []byte(stratumHeaderLegacy))
}

func parseStratum(data []byte, opts Options) (parsed, error) {
	var p parsed
	if hasStratumHeader(data) {
		p.encrypted = true
		plain, err := decryptStratum(data, opts.Password)
		if err != nil {
			return p, err
		}
		data = plain
	}
	var file stratumFile
	if err := decodeFile("Stratum", data, &file); err != nil {
		return p, err
	}
	if file.Authenticators == nil {
		return p, errors.New("not a Stratum backup: it has no Authenticators list")
	}
	categories := make(map[string]string, len(file.Categories))
	for _, c := range file.Categories {
		categories[c.ID] = c.Name
	}
	tags := map[string][]string{} // by secret, as the backup binds them
	for _, ac := range file.AuthenticatorCategories {
		if name, ok := categories[ac.CategoryID]; ok {
			tags[ac.AuthenticatorSecret] = append(tags[ac.AuthenticatorSecret], name)
		}
	}
	for i, raw := range file.Authenticators {
		a, err := stratumAccount(raw, tags)
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

func stratumAccount(raw json.RawMessage, tags map[string][]string) (vault.Account, error) {
	var e stratumEntry
	err := decodeEntry(raw, &e)
	a := vault.Account{Key: otp.Key{Issuer: e.Issuer}, Tags: tags[e.Secret]}
	if e.Username != nil {
		a.Name = *e.Username
	}
	if err != nil {
		return a, err
	}
	switch e.Type {
	case 1:
		a.Type, a.Counter = otp.HOTP, e.Counter
	case 2:
		a.Type, a.Period = otp.TOTP, e.Period
	case 4:
		a.Type, a.Encoder, a.Period = otp.TOTP, otp.EncoderSteam, e.Period
	case 3:
		return a, errors.New("mOTP (Mobile-OTP) keys are not supported")
	case 5:
		return a, errors.New("yandex keys are not supported")
	default:
		return a, fmt.Errorf("type %d: %w", e.Type, otp.ErrUnknownType)
	}
	switch e.Algorithm {
	case 0:
		a.Algorithm = otp.SHA1
	case 1:
		a.Algorithm = otp.SHA256
	case 2:
		a.Algorithm = otp.SHA512
	default:
		return a, fmt.Errorf("algorithm %d: %w", e.Algorithm, otp.ErrBadAlgorithm)
	}
	if a.Type == otp.TOTP && a.Period == 0 {
		a.Period = 30 // Stratum allows 0 and means its default
	}
	a.Digits = e.Digits
	if a.Secret, err = otp.DecodeSecret(e.Secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	return a, nil
}

// decryptStratum opens an encrypted Stratum backup. Both ciphers tell a
// wrong password only by failing: GCM's tag, or CBC's padding and the JSON
// behind it.
func decryptStratum(data, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("stratum backup is encrypted: %w", ErrPasswordRequired)
	}
	if bytes.HasPrefix(data, []byte(stratumHeader)) {
		const saltLen, ivLen = 16, 12
		rest := data[len(stratumHeader):]
		if len(rest) < saltLen+ivLen+16 {
			return nil, errors.New("not a valid Stratum backup: the file is too short (damaged or cut off)")
		}
		salt, iv, sealed := rest[:saltLen], rest[saltLen:saltLen+ivLen], rest[saltLen+ivLen:]
		key := argon2.IDKey(password, salt, 3, 64*1024, 4, 32)
		aead, err := newGCM(key, ivLen)
		if err != nil {
			return nil, err
		}
		plain, err := aead.Open(nil, iv, sealed, nil)
		if err != nil {
			return nil, fmt.Errorf("stratum backup: %w", ErrWrongPassword)
		}
		return plain, nil
	}
	const saltLen, ivLen, iterations = 20, aes.BlockSize, 64000
	rest := data[len(stratumHeaderLegacy):]
	if len(rest) < saltLen+ivLen+aes.BlockSize || (len(rest)-saltLen-ivLen)%aes.BlockSize != 0 {
		return nil, errors.New("not a valid Stratum backup: the file is too short or cut off")
	}
	salt, iv, ciphertext := rest[:saltLen], rest[saltLen:saltLen+ivLen], rest[saltLen+ivLen:]
	key, err := pbkdf2.Key(sha1.New, string(password), salt, iterations, 32)
	if err != nil {
		return nil, err
	}
	plain, ok := decryptCBC(key, iv, ciphertext)
	if !ok || !json.Valid(plain) {
		return nil, fmt.Errorf("stratum backup: %w", ErrWrongPassword)
	}
	return plain, nil
}

// decryptCBC decrypts AES-CBC with PKCS#7 padding; ok is false when the
// padding is wrong, which is what a wrong key gives.
func decryptCBC(key, iv, ciphertext []byte) (plain []byte, ok bool) {
	block, err := aes.NewCipher(key)
	if err != nil || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 || len(iv) != aes.BlockSize {
		return nil, false
	}
	plain = make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, false
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, false
		}
	}
	return plain[:len(plain)-n], true
}
