package transfer

// Bitwarden JSON export (unencrypted):
//
//	{"encrypted": false, "folders": [{"id", "name"}],
//	 "items": [{"type": 1, "name", "notes", "favorite", "folderId",
//	            "collectionIds", "login": {"username", "totp"}}]}
//
// login.totp is an otpauth:// URI, steam://SECRET, or a bare base32 secret
// (TOTP, SHA1, 6 digits, 30 seconds). Organization exports list
// "collections" instead of folders. Items without a TOTP are not accounts
// and are passed over.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// errBitwardenEncrypted explains what to do with an encrypted export.
var errBitwardenEncrypted = errors.New("this Bitwarden export is encrypted: " +
	`export the vault again in Bitwarden choosing the ".json" format, not ".json (Encrypted)"`)

type bitwardenFile struct {
	Encrypted   bool              `json:"encrypted"`
	Folders     []bitwardenNamed  `json:"folders"`
	Collections []bitwardenNamed  `json:"collections"`
	Items       []json.RawMessage `json:"items"`
}

type bitwardenNamed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type bitwardenItem struct {
	Name          string   `json:"name"`
	Notes         *string  `json:"notes"`
	Favorite      bool     `json:"favorite"`
	FolderID      *string  `json:"folderId"`
	CollectionIDs []string `json:"collectionIds"`
	Login         *struct {
		Username *string `json:"username"`
		TOTP     *string `json:"totp"`
	} `json:"login"`
}

func parseBitwarden(data []byte, _ Options) (parsed, error) {
	var p parsed
	var file bitwardenFile
	if err := decodeFile("Bitwarden", data, &file); err != nil {
		return p, err
	}
	if file.Encrypted {
		p.encrypted = true
		return p, errBitwardenEncrypted
	}
	folders := map[string]string{}
	for _, f := range file.Folders {
		folders[f.ID] = f.Name
	}
	collections := map[string]string{}
	for _, c := range file.Collections {
		collections[c.ID] = c.Name
	}
	for i, raw := range file.Items {
		if !bitwardenHasTOTP(raw) {
			continue
		}
		a, name, err := bitwardenAccount(raw, folders, collections)
		p.entries = append(p.entries, entry{index: i + 1, name: name, account: a, err: err})
	}
	return p, nil
}

// bitwardenHasTOTP reports whether an item carries a TOTP, even when the
// rest of it is malformed.
func bitwardenHasTOTP(raw json.RawMessage) bool {
	var item struct {
		Login struct {
			TOTP any `json:"totp"`
		} `json:"login"`
	}
	_ = json.Unmarshal(raw, &item)
	s, isString := item.Login.TOTP.(string)
	return item.Login.TOTP != nil && (!isString || strings.TrimSpace(s) != "")
}

func bitwardenAccount(raw json.RawMessage, folders, collections map[string]string) (vault.Account, string, error) {
	var item bitwardenItem
	err := decodeEntry(raw, &item)
	var username string
	if item.Login != nil && item.Login.Username != nil {
		username = *item.Login.Username
	}
	label := entryName(item.Name, username)
	if err != nil {
		return vault.Account{}, label, err
	}
	a := vault.Account{Pinned: item.Favorite}
	if item.Notes != nil {
		a.Notes = *item.Notes
	}
	if item.FolderID != nil {
		if f, ok := folders[*item.FolderID]; ok {
			a.Tags = append(a.Tags, f)
		}
	}
	for _, id := range item.CollectionIDs {
		if c, ok := collections[id]; ok {
			a.Tags = append(a.Tags, c)
		}
	}
	if item.Login == nil || item.Login.TOTP == nil {
		return a, label, errors.New("login has no totp")
	}
	totp := strings.TrimSpace(*item.Login.TOTP)
	switch {
	case hasPrefixFold(totp, uriScheme):
		k, err := otp.ParseURI(totp)
		if err != nil {
			return a, label, hideURI(err)
		}
		if k.Issuer == "" {
			k.Issuer = strings.TrimSpace(item.Name)
		}
		a.Key = k
	case hasPrefixFold(totp, "steam://"):
		secret, err := otp.DecodeSecret(totp[len("steam://"):])
		if err != nil {
			return a, label, fmt.Errorf("secret: %w", err)
		}
		a.Key = otp.Key{Type: otp.TOTP, Encoder: otp.EncoderSteam, Issuer: item.Name, Name: username, Secret: secret}
		if a.Issuer == "" {
			a.Issuer = "Steam"
		}
	default:
		secret, err := otp.DecodeSecret(totp)
		if err != nil {
			return a, label, fmt.Errorf("totp is neither an otpauth:// URI nor a base32 secret: %w", err)
		}
		a.Key = otp.Key{Type: otp.TOTP, Issuer: item.Name, Name: username, Secret: secret}
	}
	return a, label, nil
}
