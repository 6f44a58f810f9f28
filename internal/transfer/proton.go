package transfer

// Proton Authenticator's export (Settings, Export), as Proton Authenticator
// writes it (github.com/protonpass/proton-pass-common,
// proton-authenticator/src/entry/exporter.rs: AuthenticatorEntriesExport)
// and Aegis reads it (ProtonAuthenticatorImporter.java):
//
//	{"version": 1,
//	 "entries": [{"id": "…", "note": "…" | null,
//	              "content": {"uri": "…", "entry_type": "Totp" | "Steam", "name": "…"}}]}
//
// A Totp entry's uri is an otpauth:// URI; a Steam entry's is
// steam://SECRET (base32), named by "name".
//
// An export protected with a password (password_exporter.rs) is
// {"version": 1, "salt": base64, "content": base64}: content is a 12-byte
// nonce, then AES-256-GCM ciphertext with the tag last (crypto.rs: the nonce
// before the ciphertext), of the plain export above, under Argon2id v1.3
// (password, 16-byte salt, 2 passes, 19 MiB, 1 lane, 32 bytes), with the
// additional data "proton.authenticator.export.v1" (crypto.rs's
// EncryptionTag::PasswordExport: the versions of crypto.rs at hand predate
// that tag, so the value is the one independent readers of the format use).

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	protonAAD       = "proton.authenticator.export.v1"
	protonSaltLen   = 16
	protonNonceLen  = 12
	protonArgonTime = 2
	protonArgonKiB  = 19 * 1024
)

type protonFile struct {
	Version int               `json:"version"`
	Entries []json.RawMessage `json:"entries"`
	Salt    *string           `json:"salt"`
	Content *string           `json:"content"`
}

type protonEntry struct {
	Note    *string `json:"note"`
	Content struct {
		URI       string  `json:"uri"`
		EntryType string  `json:"entry_type"`
		Name      *string `json:"name"`
	} `json:"content"`
}

func parseProton(data []byte, opts Options) (parsed, error) {
	var p parsed
	var file protonFile
	if err := decodeFile("Proton Authenticator", data, &file); err != nil {
		return p, err
	}
	if file.Salt != nil && file.Entries == nil {
		p.encrypted = true
		if file.Version != 1 {
			return p, fmt.Errorf("unsupported Proton Authenticator export version %d (this importer reads version 1)", file.Version)
		}
		plain, err := decryptProton(file, opts.Password)
		if err != nil {
			return p, err
		}
		file = protonFile{}
		if err := decodePart("Proton Authenticator", plain, plain, &file); err != nil {
			return p, err
		}
		if file.Entries == nil {
			return p, errors.New("not a valid Proton Authenticator export: the decrypted content has no entries")
		}
	}
	if file.Version != 1 {
		return p, fmt.Errorf("unsupported Proton Authenticator export version %d (this importer reads version 1)", file.Version)
	}
	for i, raw := range file.Entries {
		a, err := protonAccount(raw)
		p.entries = append(p.entries, entry{index: i + 1, account: a, err: err})
	}
	return p, nil
}

const steamURIScheme = "steam://"

func protonAccount(raw json.RawMessage) (vault.Account, error) {
	var e protonEntry
	err := decodeEntry(raw, &e)
	var a vault.Account
	if e.Note != nil {
		a.Notes = *e.Note
	}
	name := ""
	if e.Content.Name != nil {
		name = *e.Content.Name
	}
	a.Name = name
	if err != nil {
		return a, err
	}
	uri := strings.TrimSpace(e.Content.URI)
	switch e.Content.EntryType {
	case "Totp":
		k, err := otp.ParseURI(uri)
		if err != nil {
			return a, hideURI(err)
		}
		a.Key = k
	case "Steam":
		if !hasPrefixFold(uri, steamURIScheme) {
			return a, errors.New("a Steam entry's uri is not a steam:// URI")
		}
		a.Key = otp.Key{Type: otp.TOTP, Encoder: otp.EncoderSteam, Issuer: "Steam", Name: name}
		if a.Secret, err = otp.DecodeSecret(uri[len(steamURIScheme):]); err != nil {
			return a, fmt.Errorf("secret: %w", err)
		}
	default:
		return a, fmt.Errorf("entry_type %q: %w", e.Content.EntryType, otp.ErrUnknownType)
	}
	return a, nil
}

// decryptProton opens a password-protected export; GCM's tag tells a wrong
// password.
func decryptProton(file protonFile, password []byte) ([]byte, error) {
	if len(password) == 0 {
		return nil, fmt.Errorf("proton authenticator export is encrypted: %w", ErrPasswordRequired)
	}
	if file.Content == nil {
		return nil, errors.New("not a valid Proton Authenticator export: it has a salt but no content")
	}
	salt, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*file.Salt))
	if err != nil || len(salt) != protonSaltLen {
		return nil, errors.New("not a valid Proton Authenticator export: the salt is not 16 bytes of base64")
	}
	sealed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*file.Content))
	if err != nil || len(sealed) < protonNonceLen+16 {
		return nil, errors.New("not a valid Proton Authenticator export: the content is not base64 or is cut off")
	}
	key := argon2.IDKey(password, salt, protonArgonTime, protonArgonKiB, 1, 32)
	aead, err := newGCM(key, protonNonceLen)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, sealed[:protonNonceLen], sealed[protonNonceLen:], []byte(protonAAD))
	if err != nil {
		return nil, fmt.Errorf("proton authenticator export: %w", ErrWrongPassword)
	}
	return plain, nil
}
