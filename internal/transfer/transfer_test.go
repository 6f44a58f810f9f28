package transfer

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// The secrets of RFC 6238 Appendix B (and RFC 4226 Appendix D for the
// 20-byte one), so that imported keys can be checked against the RFCs'
// codes rather than against this package's own output.
var (
	rfcSecret20 = []byte("12345678901234567890")
	rfcSecret32 = []byte("12345678901234567890123456789012")
	rfcSecret64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
	steamSecret = mustSecret("JRZCL47CMXVOQMNPZR2F7J4RGI")
)

func mustSecret(s string) []byte {
	b, err := otp.DecodeSecret(s)
	if err != nil {
		panic(err)
	}
	return b
}

// rfcTime is T = 59 s, the first row of RFC 6238's table.
var rfcTime = time.Unix(59, 0)

// want is what one imported account must hold.
type want struct {
	issuer, name string
	typ          otp.Type
	alg          otp.Algorithm
	digits       int
	period       int
	counter      uint64
	steam        bool
	secret       []byte
	tags         []string
	notes        string
	pinned       bool
	extra        map[string][]string
	code         string // at rfcTime for TOTP, at the counter for HOTP; for Steam, "" checks only the alphabet
}

// The accounts the samples hold, with the codes the RFCs give for them:
// RFC 6238 T=59: 94287082 (SHA1), 46119246 (SHA256), 90693936 (SHA512);
// RFC 4226 counter 1: 287082; counter 2 (T=59 at 20 s): 137359152.
var (
	wantGitHub = want{issuer: "GitHub", name: "alice@example.com", typ: otp.TOTP, alg: otp.SHA1, digits: 6, period: 30,
		secret: rfcSecret20, code: "287082"}
	wantBank = want{issuer: "Example Bank", name: "alice", typ: otp.TOTP, alg: otp.SHA256, digits: 8, period: 30,
		secret: rfcSecret32, code: "46119246"}
	wantVPN = want{issuer: "Corp VPN", name: "bob", typ: otp.TOTP, alg: otp.SHA512, digits: 8, period: 30,
		secret: rfcSecret64, code: "90693936"}
	wantAcme = want{issuer: "Acme", name: "carol", typ: otp.HOTP, alg: otp.SHA1, digits: 6, counter: 1,
		secret: rfcSecret20, code: "287082"}
	wantSteam = want{issuer: "Steam", name: "dave", typ: otp.TOTP, alg: otp.SHA1, digits: 5, period: 30, steam: true,
		secret: steamSecret}
	wantMastodon = want{issuer: "Mastodon", name: "@erin@social.example", typ: otp.TOTP, alg: otp.SHA1, digits: 7, period: 20,
		secret: rfcSecret20, code: "7359152"}
)

// with returns w with organisation fields set.
func (w want) with(tags []string, notes string, pinned bool) want {
	w.tags, w.notes, w.pinned = tags, notes, pinned
	return w
}

func checkAccount(t *testing.T, got vault.Account, w want) {
	t.Helper()
	label := w.issuer + ": " + w.name
	check := func(field string, got, want any) {
		t.Helper()
		if !equalValues(got, want) {
			t.Errorf("%s: %s: got %#v, want %#v", label, field, got, want)
		}
	}
	check("issuer", got.Issuer, w.issuer)
	check("name", got.Name, w.name)
	check("type", got.Type, w.typ)
	check("algorithm", got.Algorithm, w.alg)
	check("digits", got.Digits, w.digits)
	check("period", got.Period, w.period)
	check("counter", got.Counter, w.counter)
	check("steam", got.IsSteam(), w.steam)
	check("secret", got.Secret, w.secret)
	check("tags", got.Tags, w.tags)
	check("notes", got.Notes, w.notes)
	check("pinned", got.Pinned, w.pinned)
	check("extra", got.Extra, w.extra)
	check("id", got.ID, "")
	if err := got.Validate(); err != nil {
		t.Errorf("%s: Validate: %v", label, err)
	}
	code, err := otp.Code(got.Key, rfcTime)
	if err != nil {
		t.Fatalf("%s: Code: %v", label, err)
	}
	switch {
	case w.steam && w.code != "":
		if code != w.code {
			t.Errorf("%s: code: got %s, want %s", label, code, w.code)
		}
	case w.steam:
		if len(code) != 5 || strings.Trim(code, "23456789BCDFGHJKMNPQRTVWXY") != "" {
			t.Errorf("%s: code: got %q, want 5 characters of Steam's alphabet", label, code)
		}
	case code != w.code:
		t.Errorf("%s: code: got %s, want %s", label, code, w.code)
	}
}

func equalValues(got, want any) bool {
	switch g := got.(type) {
	case []byte:
		return slices.Equal(g, want.([]byte))
	case []string:
		return slices.Equal(g, want.([]string))
	case map[string][]string:
		w := want.(map[string][]string)
		if len(g) != len(w) {
			return false
		}
		for k, v := range g {
			if !slices.Equal(v, w[k]) {
				return false
			}
		}
		return true
	}
	return got == want
}

func checkAccounts(t *testing.T, got []vault.Account, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		var labels []string
		for _, a := range got {
			labels = append(labels, a.Label())
		}
		t.Fatalf("got %d accounts %q, want %d", len(got), labels, len(wants))
	}
	for i, w := range wants {
		checkAccount(t, got[i], w)
	}
}

var (
	work     = []string{"Work"}
	finance  = []string{"Finance"}
	finPers  = []string{"Finance", "Personal"}
	noteSafe = "Recovery codes are in the safe"
)

var wantCorpVPNWithImage = func() want {
	w := wantVPN
	w.extra = map[string][]string{"image": {"https://vpn.example.com/logo.png"}}
	return w
}()

func TestImportSamples(t *testing.T) {
	aegis := []want{
		wantGitHub.with(work, noteSafe, true),
		wantBank.with(finPers, "", false),
		wantVPN.with(work, "", false), // the unknown group uuid is dropped, as Aegis does
		wantAcme, wantSteam, wantMastodon,
	}
	twofas := []want{wantGitHub.with(work, "", false), wantBank.with(finance, "", false), wantAcme, wantSteam, wantMastodon}
	tests := []struct {
		file      string
		format    Format
		password  string
		encrypted bool
		want      []want
	}{
		{"aegis-plain.json", FormatAegis, "", false, aegis},
		{"aegis-encrypted.json", FormatAegis, samplePassword, true, aegis},
		{"aegis-plain-v2.json", FormatAegis, "", false, []want{wantGitHub.with(work, "", false), wantAcme}},
		{"2fas-plain.2fas", Format2FAS, "", false, twofas},
		{"2fas-encrypted.2fas", Format2FAS, samplePassword, true, twofas},
		{"bitwarden.json", FormatBitwarden, "", false, []want{
			wantGitHub.with(work, noteSafe, true), wantBank.with(finance, "", false), wantSteam, wantAcme,
		}},
		{"andotp.json", FormatAndOTP, "", false, []want{
			wantGitHub.with(work, "", false), wantBank.with(finPers, "", false), wantAcme, wantSteam, wantMastodon,
		}},
		{"freeotp-plus.json", FormatFreeOTP, "", false, []want{wantSteam, wantGitHub, wantBank, wantAcme}}, // in tokenOrder
		{"uris.txt", FormatURIs, "", false, []want{wantGitHub, wantBank, wantCorpVPNWithImage, wantAcme, wantSteam, wantMastodon}},
		{"migration.txt", FormatMigration, "", false, []want{wantGitHub, wantBank, wantAcme}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readSample(t, tt.file)
			if got, err := Detect(data); err != nil || got != tt.format {
				t.Errorf("Detect: got %q, %v, want %q", got, err, tt.format)
			}
			res, err := Import(data, Options{Password: []byte(tt.password)})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if res.Format != tt.format || res.Encrypted != tt.encrypted {
				t.Errorf("got format %q encrypted %v, want %q %v", res.Format, res.Encrypted, tt.format, tt.encrypted)
			}
			if len(res.Skipped) != 0 {
				t.Errorf("got skipped %v, want none", res.Skipped)
			}
			checkAccounts(t, res.Accounts, tt.want)
			for _, a := range res.Accounts {
				if !a.Created.IsZero() || !a.Modified.IsZero() {
					t.Errorf("%s: got times %v %v, want zero (the vault sets them)", a.Label(), a.Created, a.Modified)
				}
			}

			// Naming the format gives the same result as detecting it.
			named, err := Import(data, Options{Format: tt.format, Password: []byte(tt.password)})
			if err != nil || len(named.Accounts) != len(res.Accounts) {
				t.Errorf("Import with Format %q: got %d accounts, %v, want %d", tt.format, len(named.Accounts), err, len(res.Accounts))
			}
		})
	}
}

func TestImportBackupSample(t *testing.T) {
	data := readSample(t, "countersign-backup.json")
	if got, err := Detect(data); err != nil || got != FormatBackup {
		t.Fatalf("Detect: got %q, %v, want %q", got, err, FormatBackup)
	}
	res, err := Import(data, Options{Password: []byte(samplePassword)})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if res.Format != FormatBackup || !res.Encrypted {
		t.Errorf("got format %q encrypted %v, want backup true", res.Format, res.Encrypted)
	}
	checkSameAccounts(t, res.Accounts, backupSampleAccounts(), true)
	checkAccounts(t, res.Accounts, []want{
		wantGitHub.with(work, noteSafe, true),
		func() want {
			w := wantVPN.with([]string{"Work", "VPN"}, "", false)
			w.extra = map[string][]string{"image": {"https://vpn.example.com/logo.png"}, "color": {"#336699"}}
			return w
		}(),
		wantAcme.with(nil, "line one\nline two", false),
		wantSteam,
	})
}

// checkSameAccounts compares imported accounts with the ones exported:
// every key field, the organisation fields, and the times when withTimes.
func checkSameAccounts(t *testing.T, got, want []vault.Account, withTimes bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d accounts, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		wk := w.Key.Normalize()
		label := w.Label()
		check := func(field string, got, want any) {
			t.Helper()
			if !equalValues(got, want) {
				t.Errorf("%s: %s: got %#v, want %#v", label, field, got, want)
			}
		}
		check("type", g.Type, wk.Type)
		check("issuer", g.Issuer, wk.Issuer)
		check("name", g.Name, wk.Name)
		check("secret", g.Secret, wk.Secret)
		check("algorithm", g.Algorithm, wk.Algorithm)
		check("digits", g.Digits, wk.Digits)
		check("period", g.Period, wk.Period)
		check("counter", g.Counter, wk.Counter)
		check("encoder", g.Encoder, wk.Encoder)
		check("tags", g.Tags, w.Tags)
		check("notes", g.Notes, w.Notes)
		check("pinned", g.Pinned, w.Pinned)
		check("id", g.ID, "")
		if withTimes {
			check("extra", g.Extra, wk.Extra)
			if !g.Created.Equal(w.Created) || !g.Modified.Equal(w.Modified) {
				t.Errorf("%s: times: got %v %v, want %v %v", label, g.Created, g.Modified, w.Created, w.Modified)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		data string
		want Format // "" means ErrUnknownFormat
	}{
		{"uri list with comments", "# mine\n\notpauth://totp/A:b?secret=GEZDGNBV\n", FormatURIs},
		{"upper-case scheme", "OTPAUTH://TOTP/A:b?secret=GEZDGNBV", FormatURIs},
		{"uris and migrations", "otpauth-migration://offline?data=x\notpauth://totp/A:b?secret=GEZDGNBV", FormatURIs},
		{"migrations only", "\ufeffotpauth-migration://offline?data=x\r\n", FormatMigration},
		{"aegis", `{"version":1,"header":{"slots":null,"params":null},"db":{"version":3,"entries":[]}}`, FormatAegis},
		{"malformed aegis", "{\"version\":1,\"header\":{},\n\"db\":{\"entries\":[}", FormatAegis},
		{"2fas", `{"services":[],"schemaVersion":4}`, Format2FAS},
		{"encrypted 2fas", `{"servicesEncrypted":"a:b:c"}`, Format2FAS},
		{"bitwarden", `{"encrypted":false,"items":[]}`, FormatBitwarden},
		{"encrypted bitwarden", `{"encrypted":true,"encKeyValidation_DO_NOT_EDIT":"2.x","data":"2.y"}`, FormatBitwarden},
		{"andotp", `[{"secret":"GEZDGNBV","type":"TOTP"}]`, FormatAndOTP},
		{"freeotp+", `{"tokens":[],"tokenOrder":[]}`, FormatFreeOTP},
		{"backup", `{"format":"countersign-backup","version":1}`, FormatBackup},
		{"empty", " \n\t", ""},
		{"other json", `{"hello":"world"}`, ""},
		{"json array of numbers", `[1,2,3]`, ""},
		{"malformed other json", `{"hello":`, ""},
		{"plain text", "GEZDGNBVGY3TQOJQ\n", ""},
		{"binary", "\x00\x02\x22\xe0\xff\xfe", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect([]byte(tt.data))
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownFormat) {
					t.Fatalf("got %q, %v, want ErrUnknownFormat", got, err)
				}
				if !strings.Contains(err.Error(), "aegis, 2fas, bitwarden") && !strings.Contains(err.Error(), "empty") {
					t.Errorf("error %q does not list the supported formats", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// Windows editors put a byte order mark in front of what they save.
func TestImportWithByteOrderMark(t *testing.T) {
	for _, file := range []string{"aegis-plain.json", "uris.txt", "andotp.json"} {
		data := append([]byte("\ufeff"), readSample(t, file)...)
		if res, err := Import(data, Options{}); err != nil || len(res.Accounts) == 0 {
			t.Errorf("%s: got %d accounts, %v, want the accounts", file, len(res.Accounts), err)
		}
	}
}

func TestDetectEveryGeneratedSample(t *testing.T) {
	for file, want := range map[string]Format{
		"aegis-bad-entry.json":              FormatAegis,
		"2fas-bad-entry.2fas":               Format2FAS,
		"bitwarden-bad-entry.json":          FormatBitwarden,
		"bitwarden-encrypted.json":          FormatBitwarden,
		"andotp-bad-entry.json":             FormatAndOTP,
		"freeotp-bad-entry.json":            FormatFreeOTP,
		"uris-bad-entry.txt":                FormatURIs,
		"countersign-backup-bad-entry.json": FormatBackup,
	} {
		t.Run(file, func(t *testing.T) {
			if got, err := Detect(readSample(t, file)); err != nil || got != want {
				t.Errorf("got %q, %v, want %q", got, err, want)
			}
		})
	}
}

func TestPasswords(t *testing.T) {
	for _, file := range []string{
		"aegis-encrypted.json", "aegis-encrypted-independent.json",
		"2fas-encrypted.2fas", "2fas-encrypted-independent.2fas",
		"countersign-backup.json",
	} {
		t.Run(file, func(t *testing.T) {
			data := readSample(t, file)
			res, err := Import(data, Options{})
			if !errors.Is(err, ErrPasswordRequired) {
				t.Errorf("no password: got %v, want ErrPasswordRequired", err)
			}
			if !res.Encrypted || len(res.Accounts) != 0 {
				t.Errorf("no password: got encrypted %v and %d accounts, want true and none", res.Encrypted, len(res.Accounts))
			}
			res, err = Import(data, Options{Password: []byte("tset")})
			if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), "wrong password") {
				t.Errorf("wrong password: got %v, want ErrWrongPassword", err)
			}
			if len(res.Accounts) != 0 {
				t.Errorf("wrong password: got %d accounts, want none", len(res.Accounts))
			}
		})
	}
}

// Encrypted Bitwarden exports are refused with what to do instead.
func TestEncryptedExportsRefused(t *testing.T) {
	_, err := Import(readSample(t, "bitwarden-encrypted.json"), Options{Password: []byte("test")})
	if !errors.Is(err, errBitwardenEncrypted) || !strings.Contains(err.Error(), `".json (Encrypted)"`) {
		t.Errorf("bitwarden: got %v, want advice to export unencrypted", err)
	}
}

func TestBadEntry(t *testing.T) {
	tests := []struct {
		file     string
		password string
		entry    string // EntryError.Entry()
		index    int
		is       error  // what the reason wraps; nil to skip
		message  string // the whole message, when this package words all of it
		valid    int    // accounts SkipInvalid returns
	}{
		{"aegis-bad-entry.json", "", "entry 2 (GitHub: alice)", 2, otp.ErrBadDigits, "", 2},
		{"2fas-bad-entry.2fas", "", "entry 2 (GitHub: alice)", 2, otp.ErrBadSecret, "", 2},
		{"bitwarden-bad-entry.json", "", "entry 2 (GitHub: alice)", 2, otp.ErrBadDigits, "", 2},
		{"andotp-bad-entry.json", "", "entry 3 (GitHub: alice)", 3, otp.ErrBadAlgorithm, "", 2},
		{"freeotp-bad-entry.json", "", "entry 2 (GitHub: alice)", 2, nil,
			"entry 2 (GitHub: alice): secret: byte 20 is out of range", 2},
		{"uris-bad-entry.txt", "", "entry 2 (GitHub: alice) on line 3", 2, otp.ErrBadDigits, "", 2},
		{"countersign-backup-bad-entry.json", samplePassword, "entry 2 (GitHub: alice)", 2, otp.ErrBadAlgorithm, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readSample(t, tt.file)
			res, err := Import(data, Options{Password: []byte(tt.password)})
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("got %v, want an *EntryError", err)
			}
			if len(res.Accounts) != 0 {
				t.Errorf("got %d accounts, want none (all or nothing)", len(res.Accounts))
			}
			if ee.Entry() != tt.entry || ee.Index != tt.index {
				t.Errorf("got entry %q index %d, want %q %d", ee.Entry(), ee.Index, tt.entry, tt.index)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to wrap %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), tt.entry+": ") {
				t.Errorf("got message %q, want it to start with %q", err, tt.entry+": ")
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Errorf("got message %q, want %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "GEZDGNBV") {
				t.Errorf("error %q shows the secret", err)
			}

			res, err = Import(data, Options{Password: []byte(tt.password), SkipInvalid: true})
			if err != nil {
				t.Fatalf("SkipInvalid: %v", err)
			}
			if len(res.Accounts) != tt.valid {
				t.Errorf("SkipInvalid: got %d accounts, want %d", len(res.Accounts), tt.valid)
			}
			if len(res.Skipped) != 1 || res.Skipped[0].Entry != tt.entry || res.Skipped[0].Err == nil {
				t.Errorf("SkipInvalid: got skipped %+v, want one for %q", res.Skipped, tt.entry)
			}
			for _, a := range res.Accounts {
				if a.Issuer == "GitHub" {
					t.Errorf("SkipInvalid: got the bad entry %s among the accounts", a.Label())
				}
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		opts Options
		want string // the error message, or its start when it ends in "…"
		is   error
	}{
		{"malformed aegis", "{\"version\": 1,\n \"header\": {},\n \"db\": {\"version\": 3, \"entries\": [}}",
			Options{}, "not valid Aegis JSON: line 3, column 35: invalid character '}' looking for beginning of value", nil},
		{"aegis wrong type", `{"version": 1, "header": {}, "db": {"version": "3"}}`,
			Options{}, "not valid Aegis JSON: line 1, column 50: field version: expected a whole number, got string", nil},
		{"truncated 2fas", `{"services": [`, Options{Format: Format2FAS},
			"not valid 2FAS JSON: line 1, column 14: unexpected end of JSON input", nil},
		{"malformed bitwarden", "{\"items\": [\n  {\"name\": \"x\",,}]}", Options{},
			"not valid Bitwarden JSON: line 2, column 16: invalid character ',' looking for beginning of object key string", nil},
		{"malformed andotp", `[{"secret": "GEZDGNBV"`, Options{}, "not valid andOTP JSON: line 1, column 22: …", nil},
		{"malformed freeotp", `{"tokens": [{"secret": [1, 2,]}]}`, Options{}, "not valid FreeOTP+ JSON: line 1, column 30: …", nil},
		{"malformed backup", `{"format": "countersign-backup", "version": 1,`, Options{}, "not valid Countersign backup JSON: …", nil},
		{"aegis without entries", `{"version":1,"header":{"slots":null,"params":null},"db":{"version":3,"entries":[],"groups":[]}}`,
			Options{}, "no accounts found in Aegis file", nil},
		{"uris with only comments", "# nothing here\n\n", Options{Format: FormatURIs}, "no accounts found in otpauth URI list file", nil},
		{"all entries invalid", "otpauth://totp/A:b?secret=GEZDGNBV&digits=9\n", Options{SkipInvalid: true},
			"no valid accounts in otpauth URI list file: all 1 entries were skipped", nil},
		{"aegis db version 4", `{"version":1,"header":{},"db":{"version":4,"entries":[]}}`, Options{},
			"unsupported Aegis database version 4 (this importer reads versions 1 to 3)", nil},
		{"aegis file version 2", `{"version":2,"header":{},"db":{}}`, Options{},
			"unsupported Aegis vault version 2 (this importer reads version 1)", nil},
		{"aegis biometric only", `{"version":1,"header":{"slots":[{"type":2,"key":"00","key_params":{"nonce":"00","tag":"00"}}],"params":{"nonce":"00","tag":"00"}},"db":"AAAA"}`,
			Options{Password: []byte("x")}, "aegis vault has no password slot …", nil},
		{"aegis hostile scrypt", `{"version":1,"header":{"slots":[{"type":1,"n":1073741824,"r":8,"p":1,"salt":"00","key":"00","key_params":{"nonce":"00","tag":"00"}}],"params":{"nonce":"00","tag":"00"}},"db":"AAAA"}`,
			Options{Password: []byte("x")}, "aegis password slot: scrypt parameters n=1073741824 r=8 p=1 are too costly …", nil},
		{"encrypted bitwarden", `{"encrypted":true,"encKeyValidation_DO_NOT_EDIT":"2.x","data":"2.y"}`, Options{},
			"this Bitwarden export is encrypted: …", errBitwardenEncrypted},
		{"encrypted andotp without a password", "\x00\x02\x22\xe0 binary", Options{Format: FormatAndOTP}, "andotp backup is encrypted: password required", ErrPasswordRequired},
		{"migration format with a plain uri", "otpauth://totp/GitHub:alice?secret=GEZDGNBV\n", Options{Format: FormatMigration},
			"entry 1 on line 1: not an otpauth-migration:// URI", nil},
		{"not a uri", "otpauth://totp/GitHub:alice?secret=GEZDGNBV\nGEZDGNBVGY3TQOJQ\n", Options{},
			"entry 2 on line 2: not an otpauth:// URI", nil},
		{"unknown format option", "{}", Options{Format: "keepass"}, `unknown format "keepass": …`, nil},
		{"2fas bad servicesEncrypted", `{"services":[],"servicesEncrypted":"abc"}`, Options{Password: []byte("x")},
			"not a valid 2FAS backup: servicesEncrypted has 1 parts, want 3 (data:salt:iv)", nil},
		{"aegis hotp without counter", `{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"hotp","name":"carol","issuer":"Acme","info":{"secret":"GEZDGNBV","algo":"SHA1","digits":6}}]}}`,
			Options{}, "entry 1 (Acme: carol): hotp entry has no counter", nil},
		{"aegis yandex", `{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"yandex","name":"x","issuer":"Yandex","info":{"secret":"GEZDGNBV","algo":"SHA256","digits":8,"period":30}}]}}`,
			Options{}, "entry 1 (Yandex: x): yandex keys are not supported", nil},
		{"aegis entry with wrong types", `{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"totp","name":"x","issuer":"Y","info":{"secret":12345678,"digits":6}}]}}`,
			Options{}, "entry 1 (Y: x): not a valid entry: field info.secret: expected a string, got number", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			importRefused(t, tt.data, tt.opts, tt.want, tt.is)
		})
	}
}

// Errors must never show a secret, even when the URI holding it is malformed.
func TestErrorsHideSecrets(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	inputs := []string{
		"otpauth://totp/A%zz:b?secret=" + secret,
		"otpauth://totp/A:b?secret=" + secret + "&digits=9",
		"otpauth://to tp/A:b?secret=" + secret,
		"otpauth://totp/A:b?secret=" + secret + "\x7f",
		"otpauth://totp/A:b?secret=" + secret + "&period=%zz",
		"otpauth-migration://off line?data=" + secret,
		"otpauth-migration://offline?data=" + secret + "%zz",
		"otpauth://totp/A:b?secret=" + secret + "1",
	}
	for _, in := range inputs {
		_, err := Import([]byte(in+"\n"), Options{})
		if err == nil {
			t.Errorf("%q: got no error", in)
			continue
		}
		if strings.Contains(err.Error(), secret[:8]) {
			t.Errorf("error %q shows the secret", err)
		}
	}
	// A bare secret in a Bitwarden item that is not base32 stays hidden too.
	bw := `{"items":[{"name":"X","login":{"username":"u","totp":"` + secret + `!!"}}]}`
	if _, err := Import([]byte(bw), Options{}); err == nil || strings.Contains(err.Error(), secret[:8]) {
		t.Errorf("bitwarden: got %v, want an error without the secret", err)
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"", FormatAuto}, {"auto", FormatAuto}, {"Aegis", FormatAegis}, {" 2FAS ", Format2FAS},
		{"twofas", Format2FAS}, {"google", FormatMigration}, {"migration", FormatMigration},
		{"uris", FormatURIs}, {"otpauth", FormatURIs}, {"bitwarden", FormatBitwarden},
		{"andOTP", FormatAndOTP}, {"freeotp", FormatFreeOTP}, {"FreeOTP+", FormatFreeOTP},
		{"backup", FormatBackup}, {"countersign", FormatBackup},
		{"Ente", FormatEnte}, {"proton-authenticator", FormatProton}, {"authenticatorpro", FormatStratum},
		{"Stratum", FormatStratum}, {"freeotp-xml", FormatFreeOTPXML}, {"Authy", FormatAuthy},
		{"googledb", FormatGoogleDB}, {"microsoft-authenticator", FormatMicrosoft}, {"phonefactor", FormatMicrosoft},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got, err := ParseFormat(tt.in); err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
	_, err := ParseFormat("keepass")
	if err == nil || !strings.Contains(err.Error(), "aegis, 2fas, bitwarden, andotp, freeotp, ente, proton, stratum, freeotp-xml, authy, google-db, microsoft, backup") {
		t.Errorf("got %v, want an error listing the formats", err)
	}
	for _, f := range Formats() {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q): got %q, %v", f, got, err)
		}
	}
}

func TestEntryError(t *testing.T) {
	tests := []struct {
		err  EntryError
		want string
	}{
		{EntryError{Index: 3, Name: "GitHub: alice", Err: otp.ErrBadDigits}, "entry 3 (GitHub: alice): digits must be 6, 7 or 8"},
		{EntryError{Index: 1, Err: otp.ErrMissingSecret}, "entry 1: missing secret"},
		{EntryError{Index: 2, Line: 9, Name: "Acme", Err: otp.ErrMissingSecret}, "entry 2 (Acme) on line 9: missing secret"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if !errors.Is(&tt.err, tt.err.Err) {
			t.Errorf("%q does not unwrap to its reason", tt.want)
		}
	}
}

func TestParseURI(t *testing.T) {
	migration, err := otp.EncodeMigration([]otp.Key{
		{Type: otp.TOTP, Issuer: "A", Name: "a", Secret: []byte("12345678901234567890")},
		{Type: otp.HOTP, Issuer: "B", Name: "b", Secret: []byte("12345678901234567890")},
	}, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text    string
		want    int
		wantErr error
	}{
		{"  otpauth://totp/A:a?secret=GEZDGNBVGY3TQOJQ\n", 1, nil},
		{migration[0], 2, nil},
		{"https://example.com", 0, ErrNotURI},
		{"otpauth://totp/A:a?secret=1", 0, otp.ErrBadSecret},
	} {
		got, err := ParseURI(tc.text)
		if len(got) != tc.want || (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("ParseURI(%.30q) = %d accounts, %v; want %d, %v", tc.text, len(got), err, tc.want, tc.wantErr)
		}
	}
	if _, err := ParseURI("otpauth://totp/A:a?secret=%zz"); err == nil || strings.Contains(err.Error(), "secret=") {
		t.Errorf("a malformed URI: got %v, want an error that does not quote the URI", err)
	}
}

// importRefused checks that importing data fails with the error want (or
// one starting with want less its "…") wrapping is (when not nil), and
// imports nothing; it returns the error.
func importRefused(t *testing.T, data string, opts Options, want string, is error) error {
	t.Helper()
	res, err := Import([]byte(data), opts)
	if err == nil {
		t.Fatalf("got %d accounts and no error, want %q", len(res.Accounts), want)
	}
	if len(res.Accounts) != 0 {
		t.Errorf("got %d accounts with the error, want none", len(res.Accounts))
	}
	if prefix, ok := strings.CutSuffix(want, "…"); ok {
		if !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("got %q, want it to start with %q", err, prefix)
		}
	} else if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if is != nil && !errors.Is(err, is) {
		t.Errorf("got %v, want it to wrap %v", err, is)
	}
	return err
}
