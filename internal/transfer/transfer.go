package transfer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/vault"
)

// Format names a file format this package reads or writes.
type Format string

const (
	FormatAuto      Format = "auto"      // detect from the content
	FormatURIs      Format = "uris"      // otpauth:// (and otpauth-migration://) URIs, one a line
	FormatMigration Format = "migration" // Google Authenticator otpauth-migration:// URIs only
	FormatAegis     Format = "aegis"     // Aegis vault JSON, plain or encrypted
	Format2FAS      Format = "2fas"      // 2FAS .2fas backup, plain or encrypted
	FormatBitwarden Format = "bitwarden" // Bitwarden JSON export (unencrypted)
	FormatAndOTP    Format = "andotp"    // andOTP plain JSON backup
	FormatFreeOTP   Format = "freeotp"   // FreeOTP+ JSON backup
	FormatBackup    Format = "backup"    // Countersign encrypted backup

	FormatEnte       Format = "ente"        // Ente Auth plain-text export
	FormatProton     Format = "proton"      // Proton Authenticator JSON export
	FormatStratum    Format = "stratum"     // Stratum / Authenticator Pro backup, plain or encrypted
	FormatFreeOTPXML Format = "freeotp-xml" // FreeOTP's tokens.xml
	FormatAuthy      Format = "authy"       // Authy's tokens preferences XML
	FormatGoogleDB   Format = "google-db"   // Google Authenticator's SQLite database file
	FormatMicrosoft  Format = "microsoft"   // Microsoft Authenticator's SQLite database file (PhoneFactor)
)

// formatInfo describes one importable format.
type formatInfo struct {
	format  Format
	title   string   // how people write the app's name
	aliases []string // other names ParseFormat accepts
	parse   func(data []byte, opts Options) (parsed, error)
}

// parsed is what a format's parser found: every entry in file order, each
// either a candidate account or the reason it could not be read.
type parsed struct {
	entries   []entry
	encrypted bool
}

type entry struct {
	index   int    // 1-based position among the file's entries
	line    int    // line number, for text formats; 0 otherwise
	name    string // how to name the entry in errors; derived from the account when empty
	account vault.Account
	err     error
}

var formats = []formatInfo{
	{FormatURIs, "otpauth URI list", []string{"uri", "otpauth", "text", "txt"}, parseURIList},
	{FormatMigration, "Google Authenticator export", []string{"google", "google-authenticator", "otpauth-migration"}, parseMigrationList},
	{FormatAegis, "Aegis", nil, parseAegis},
	{Format2FAS, "2FAS", []string{"twofas"}, parse2FAS},
	{FormatBitwarden, "Bitwarden", nil, parseBitwarden},
	{FormatAndOTP, "andOTP", nil, parseAndOTP},
	{FormatFreeOTP, "FreeOTP+", []string{"freeotp+", "freeotpplus", "freeotp-plus"}, parseFreeOTP},
	{FormatEnte, "Ente Auth", []string{"ente-auth", "enteauth"}, parseEnte},
	{FormatProton, "Proton Authenticator", []string{"proton-authenticator", "protonauthenticator"}, parseProton},
	{FormatStratum, "Stratum (Authenticator Pro)", []string{"authenticatorpro", "authenticator-pro", "authpro"}, parseStratum},
	{FormatFreeOTPXML, "FreeOTP tokens.xml", []string{"freeotpxml", "tokens.xml"}, parseFreeOTPXML},
	{FormatAuthy, "Authy", nil, parseAuthy},
	{FormatGoogleDB, "Google Authenticator database", []string{"googledb", "google-authenticator-db"}, parseGoogleDB},
	{FormatMicrosoft, "Microsoft Authenticator database", []string{"microsoft-authenticator", "phonefactor"}, parseMicrosoftDB},
	{FormatBackup, "Countersign backup", []string{"countersign"}, parseBackup},
}

func lookup(f Format) (formatInfo, bool) {
	for _, fi := range formats {
		if fi.format == f {
			return fi, true
		}
	}
	return formatInfo{}, false
}

// Formats lists the formats Import reads, in the order people usually meet them.
func Formats() []Format {
	out := make([]Format, len(formats))
	for i, fi := range formats {
		out[i] = fi.format
	}
	return out
}

// Title is the format as people name it ("Aegis", "FreeOTP+").
func (f Format) Title() string {
	if fi, ok := lookup(f); ok {
		return fi.title
	}
	return string(f)
}

func supportedList() string {
	names := make([]string, len(formats))
	for i, fi := range formats {
		names[i] = string(fi.format)
	}
	return strings.Join(names, ", ")
}

// ParseFormat reads a format name as a person types it: any case, and a few
// common aliases ("google", "twofas", "freeotp+"). The empty string means
// FormatAuto.
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == string(FormatAuto) {
		return FormatAuto, nil
	}
	for _, fi := range formats {
		if s == string(fi.format) || slices.Contains(fi.aliases, s) {
			return fi.format, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: supported formats are auto, %s", s, supportedList())
}

// Options controls Import.
type Options struct {
	Format      Format // "" or FormatAuto: detect
	Password    []byte // for encrypted Aegis, 2FAS, andOTP, Proton, Stratum and Authy files and Countersign backups
	SkipInvalid bool   // import the valid entries and list the others in Result.Skipped
}

// Skipped is an entry left out by Options.SkipInvalid, and why.
type Skipped struct {
	Entry string // "entry 3 (GitHub: alice)"
	Err   error
}

// Result is what Import found.
type Result struct {
	Format    Format
	Encrypted bool
	Accounts  []vault.Account
	Skipped   []Skipped
}

// Errors callers branch on.
var (
	// ErrPasswordRequired: the file is encrypted and Options.Password is empty.
	ErrPasswordRequired = errors.New("password required")
	// ErrWrongPassword: the password does not decrypt the file.
	ErrWrongPassword = errors.New("wrong password")
	// ErrUnknownFormat: Detect recognised none of the supported formats.
	ErrUnknownFormat = errors.New("unknown file format")
)

// EntryError says which entry of a file is wrong and why.
type EntryError struct {
	Index int    // 1-based position among the file's entries
	Line  int    // line in the file, for text formats; 0 when not known
	Name  string // "GitHub: alice"; empty when the entry names nothing
	Err   error
}

// Entry names the entry: "entry 3 (GitHub: alice)", with " on line 7" for
// text formats.
func (e *EntryError) Entry() string {
	s := "entry " + strconv.Itoa(e.Index)
	if e.Name != "" {
		s += " (" + e.Name + ")"
	}
	if e.Line > 0 {
		s += " on line " + strconv.Itoa(e.Line)
	}
	return s
}

func (e *EntryError) Error() string { return e.Entry() + ": " + e.Err.Error() }

func (e *EntryError) Unwrap() error { return e.Err }

// entryName is how errors name an account: "Issuer: name", or whichever exists.
func entryName(issuer, name string) string {
	issuer, name = strings.TrimSpace(issuer), strings.TrimSpace(name)
	switch {
	case issuer == "":
		return name
	case name == "":
		return issuer
	}
	return issuer + ": " + name
}

// Import reads the accounts in data. Unless opts.SkipInvalid is set, one bad
// entry fails the whole import with an *EntryError and no accounts. Imported
// accounts have no ID and zero Created and Modified times (the vault assigns
// them), except that a Countersign backup restores its times.
func Import(data []byte, opts Options) (Result, error) {
	data = trimBOM(data)
	f := opts.Format
	if f == "" || f == FormatAuto {
		var err error
		if f, err = Detect(data); err != nil {
			return Result{}, err
		}
	}
	fi, ok := lookup(f)
	if !ok {
		return Result{}, fmt.Errorf("unknown format %q: supported formats are %s", f, supportedList())
	}
	p, err := fi.parse(data, opts)
	res := Result{Format: f, Encrypted: p.encrypted}
	if err != nil {
		return res, err
	}
	return collect(res, p.entries, opts.SkipInvalid)
}

// collect finishes and checks every entry a parser found: all or nothing,
// or the valid ones and the reasons for the others when skipInvalid.
func collect(res Result, entries []entry, skipInvalid bool) (Result, error) {
	for _, e := range entries {
		if e.err == nil {
			e.account, e.err = finishAccount(e.account, res.Format == FormatBackup)
		}
		if e.err != nil {
			name := e.name
			if name == "" {
				name = entryName(e.account.Issuer, e.account.Name)
			}
			ee := &EntryError{Index: e.index, Line: e.line, Name: name, Err: e.err}
			if !skipInvalid {
				return Result{Format: res.Format, Encrypted: res.Encrypted}, ee
			}
			res.Skipped = append(res.Skipped, Skipped{Entry: ee.Entry(), Err: e.err})
			continue
		}
		res.Accounts = append(res.Accounts, e.account)
	}
	if len(res.Accounts) == 0 {
		if len(res.Skipped) > 0 {
			return res, fmt.Errorf("no valid accounts in %s file: all %d entries were skipped", res.Format.Title(), len(res.Skipped))
		}
		return res, fmt.Errorf("no accounts found in %s file", res.Format.Title())
	}
	return res, nil
}

// finishAccount normalizes and validates what a parser read, and tidies the
// labels and tags. Only a Countersign backup keeps its times.
func finishAccount(a vault.Account, keepTimes bool) (vault.Account, error) {
	a.ID = ""
	if !keepTimes {
		a.Created, a.Modified = time.Time{}, time.Time{}
	}
	k := a.Key.Normalize()
	if err := k.Validate(); err != nil {
		return a, err
	}
	a.Key = k
	a.Tags = vault.CleanTags(a.Tags)
	return a, nil
}
