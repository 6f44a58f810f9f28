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
// steam://SECRET (base32), named by "name". An export protected with a
// password has "salt" and "content" instead of "entries"; it is refused with
// advice, as its encryption is not published.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

var errProtonEncrypted = errors.New("this Proton Authenticator export is password-protected: " +
	"export again from Proton Authenticator (Settings, Export) without a password and import that file")

type protonFile struct {
	Version int               `json:"version"`
	Entries []json.RawMessage `json:"entries"`
	Salt    *json.RawMessage  `json:"salt"`
}

type protonEntry struct {
	Note    *string `json:"note"`
	Content struct {
		URI       string  `json:"uri"`
		EntryType string  `json:"entry_type"`
		Name      *string `json:"name"`
	} `json:"content"`
}

func parseProton(data []byte, _ Options) (parsed, error) {
	var p parsed
	var file protonFile
	if err := decodeFile("Proton Authenticator", data, &file); err != nil {
		return p, err
	}
	if file.Salt != nil && file.Entries == nil {
		p.encrypted = true
		return p, errProtonEncrypted
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
