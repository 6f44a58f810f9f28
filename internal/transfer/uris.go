package transfer

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	uriScheme       = "otpauth://"
	migrationScheme = "otpauth-migration://"
)

// ErrNotURI is returned by ParseURI for text that is neither an otpauth://
// nor an otpauth-migration:// URI.
var ErrNotURI = errors.New("not an otpauth:// or otpauth-migration:// URI")

// ParseURI returns the account of one otpauth:// URI, or every account of
// one otpauth-migration:// URI (a Google Authenticator export), as a QR code
// or the clipboard holds them. Errors never quote the URI, which holds the
// secret.
func ParseURI(text string) ([]vault.Account, error) {
	text = strings.TrimSpace(text)
	switch {
	case hasPrefixFold(text, migrationScheme):
		batch, err := otp.ParseMigration(text)
		if err != nil {
			return nil, hideURI(err)
		}
		accounts := make([]vault.Account, len(batch.Keys))
		for i, k := range batch.Keys {
			accounts[i] = vault.Account{Key: k}
		}
		return accounts, nil
	case hasPrefixFold(text, uriScheme):
		k, err := otp.ParseURI(text)
		if err != nil {
			return nil, hideURI(err)
		}
		return []vault.Account{{Key: k}}, nil
	}
	return nil, ErrNotURI
}

func parseURIList(data []byte, _ Options) (parsed, error) {
	return parseLines(data, false)
}

func parseMigrationList(data []byte, _ Options) (parsed, error) {
	return parseLines(data, true)
}

// parseLines reads one URI a line, skipping blank lines and # comments. Each
// otpauth:// URI is one entry; each account of an otpauth-migration:// URI is
// one entry, and a migration URI that does not decode is one failed entry.
func parseLines(data []byte, migrationOnly bool) (parsed, error) {
	var p parsed
	text := trimBOM(data)
	if !utf8.Valid(text) {
		return p, errors.New("not a text file: the content is not UTF-8")
	}
	add := func(e entry) {
		e.index = len(p.entries) + 1
		p.entries = append(p.entries, e)
	}
	lineNo := 0
	for line := range strings.Lines(string(text)) {
		lineNo++
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case hasPrefixFold(line, migrationScheme):
			batch, err := otp.ParseMigration(line)
			if err != nil {
				add(entry{line: lineNo, name: "Google Authenticator export", err: hideURI(err)})
				continue
			}
			for _, k := range batch.Keys {
				add(entry{line: lineNo, account: vault.Account{Key: k}})
			}
		case migrationOnly:
			add(entry{line: lineNo, err: errors.New("not an otpauth-migration:// URI")})
		case hasPrefixFold(line, uriScheme):
			k, err := otp.ParseURI(line)
			if err != nil {
				add(entry{line: lineNo, name: uriLabel(line), err: hideURI(err)})
				continue
			}
			add(entry{line: lineNo, account: vault.Account{Key: k}})
		default:
			add(entry{line: lineNo, err: errors.New("not an otpauth:// URI")})
		}
	}
	return p, nil
}

// hideURI replaces a *url.Error, whose message quotes the whole URI and so
// the secret, by the reason it wraps.
func hideURI(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("malformed URI: %w", ue.Err)
	}
	return err
}

// uriLabel names an otpauth:// URI that did not parse, from its label.
func uriLabel(s string) string {
	rest := s[len(uriScheme):]
	_, label, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(label, "?#"); i >= 0 {
		label = label[:i]
	}
	if u, err := url.PathUnescape(label); err == nil {
		label = u
	}
	if !utf8.ValidString(label) {
		return ""
	}
	issuer, name, ok := strings.Cut(label, ":")
	if !ok {
		return entryName("", label)
	}
	return entryName(issuer, name)
}

// ExportURIs writes one otpauth:// URI a line. Tags, notes and pinning are
// not part of a URI and are left out. Nothing is written unless every
// account is valid.
func ExportURIs(w io.Writer, accounts []vault.Account) error {
	keys, err := exportKeys(accounts)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.URI())
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write URIs: %w", err)
	}
	return nil
}

// exportKeys normalizes and validates the keys of the accounts to export.
func exportKeys(accounts []vault.Account) ([]otp.Key, error) {
	if len(accounts) == 0 {
		return nil, errors.New("no accounts to export")
	}
	keys := make([]otp.Key, len(accounts))
	for i, a := range accounts {
		k := a.Key.Normalize()
		if err := k.Validate(); err != nil {
			return nil, &EntryError{Index: i + 1, Name: entryName(a.Issuer, a.Name), Err: err}
		}
		keys[i] = k
	}
	return keys, nil
}
