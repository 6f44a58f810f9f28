package transfer

import (
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/otp"
)

// The samples in the subdirectories of testdata/transfer (ente/, proton/,
// stratum/, andotp/, freeotp/, authy/, google-authenticator/,
// microsoft-authenticator/) are each written by the make.py beside them, with
// Python's standard library or cryptography and none of this package's code,
// from the app's own source or documentation. The codes below are the RFC
// 4226/6238 values for their secrets and, for Steam, the Steam Guard code;
// testdata/transfer/vectors.py computes every one of them with Python's hmac.
const (
	stratumPassword = "Stratum \u00e9t\u00e9 \U0001f510" // "Stratum été 🔐"
	andOTPPassword  = "andOTP s\u00e4mple p\u00e4ssword" // "andOTP sämple pässword"
	authyPassword   = "Authy backup p\u00e4ss"           // "Authy backup päss"
	protonPassword  = "Proton p\u00e4ssw\u00f6rd \u2713" // "Proton pässwörd ✓"

	independentSteamCode = "T2F4R" // BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA at T = 59 s
)

func appSteam(name string, tags ...string) want {
	return want{issuer: "Steam", name: name, typ: otp.TOTP, alg: otp.SHA1, digits: 5, period: 30, steam: true,
		secret: independentSteamSecret, code: independentSteamCode, tags: tags}
}

func appTOTP(issuer, name string, digits int, code string) want {
	return want{issuer: issuer, name: name, typ: otp.TOTP, alg: otp.SHA1, digits: digits, period: 30,
		secret: rfcSecret20, code: code}
}

func appHOTP(issuer, name string, counter uint64, code string) want {
	return want{issuer: issuer, name: name, typ: otp.HOTP, alg: otp.SHA1, digits: 6, counter: counter,
		secret: rfcSecret20, code: code}
}

var (
	appBank = want{issuer: "Example Bank", name: "alice", typ: otp.TOTP, alg: otp.SHA256, digits: 8, period: 30,
		secret: rfcSecret32, code: "46119246"}
	appVPN = want{issuer: "Corp VPN", name: "bob", typ: otp.TOTP, alg: otp.SHA512, digits: 8, period: 30,
		secret: rfcSecret64, code: "90693936"}
	appGitHub = appTOTP("GitHub", "alice@example.com", 6, "287082")
)

func TestImportAppSamples(t *testing.T) {
	moneyWork := []string{"Money", "Work"}
	tests := []struct {
		file      string
		format    Format
		password  string
		encrypted bool
		want      []want
	}{
		{"ente/ente-auth-codes.txt", FormatEnte, "", false, []want{
			appGitHub.with(work, noteSafe, true),
			appBank.with(moneyWork, "", false),
			appHOTP("Acme", "carol", 5, "254676").with(nil, "Z\u00e4hler, \u00d1and\u00fa", false),
			appSteam("dave"),
			// Old Forum: zed is in Ente's trash and is left out.
		}},
		{"proton/proton-authenticator.json", FormatProton, "", false, []want{
			appGitHub.with(nil, noteSafe, false), appVPN, appSteam("dave"),
		}},
		{"proton/proton-authenticator-encrypted.json", FormatProton, protonPassword, true, nil},
		{"stratum/stratum-plain.json", FormatStratum, "", false, []want{
			appGitHub.with(work, "", false),
			appBank.with(moneyWork, "", false),
			appHOTP("Acme", "carol", 7, "162583"),
			appSteam("dave"),
			// Stratum binds categories to secrets: this one shares GitHub's.
			appTOTP("Nextcloud", "", 8, "94287082").with(work, "", false),
		}},
		{"stratum/stratum-encrypted.stratum", FormatStratum, stratumPassword, true, nil}, // same as plain
		{"stratum/authpro-legacy.authpro", FormatStratum, stratumPassword, true, nil},
		{"andotp/andotp-encrypted.json.aes", FormatAndOTP, andOTPPassword, true, []want{
			appGitHub.with(work, "", false), appVPN, appHOTP("Acme", "carol", 7, "162583"), appSteam("dave", "Games"),
		}},
		{"freeotp/tokens.xml", FormatFreeOTPXML, "", false, []want{
			appSteam("dave"), appGitHub, appBank, appHOTP("Acme", "carol", 5, "254676"),
		}},
		{"authy/com.authy.storage.tokens.authenticator.xml", FormatAuthy, "", false, []want{
			appGitHub,
			appTOTP("Example Bank", "alice", 8, "94287082"),
			appTOTP("Corp VPN", "bob", 7, "4287082"),
			appTOTP("Dropbox", "carol@example.net", 6, "287082"),
		}},
		{"authy/com.authy.storage.tokens.authenticator-encrypted.xml", FormatAuthy, authyPassword, true, nil},
		{"authy/com.authy.storage.tokens.authy.xml", FormatAuthy, "", false, []want{
			{issuer: "Twitch", typ: otp.TOTP, alg: otp.SHA1, digits: 7, period: 10, secret: rfcSecret20, code: "8254676"},
		}},
		{"google-authenticator/databases", FormatGoogleDB, "", false, []want{
			appGitHub, appHOTP("Acme", "carol", 7, "162583"), appTOTP("Example Bank", "alice", 6, "287082"),
		}},
		{"microsoft-authenticator/PhoneFactor", FormatMicrosoft, "", false, []want{
			appGitHub,
			appTOTP("Microsoft", "alice@outlook.example", 8, "94287082"),
			// Contoso is a work account that signs in by push: no code, left out.
		}},
	}
	byFile := map[string][]want{}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			wants := tt.want
			if wants == nil {
				// An encrypted sample holds what the plain one beside it holds.
				wants = byFile[filepath.Dir(tt.file)]
			} else {
				byFile[filepath.Dir(tt.file)] = wants
			}
			data := readSample(t, tt.file)
			if got, err := Detect(data); err != nil || got != tt.format {
				t.Errorf("Detect: got %q, %v, want %q", got, err, tt.format)
			}
			res, err := Import(data, Options{Password: []byte(tt.password)})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if res.Format != tt.format || res.Encrypted != tt.encrypted || len(res.Skipped) != 0 {
				t.Errorf("got format %q encrypted %v skipped %v, want %q %v none", res.Format, res.Encrypted, res.Skipped, tt.format, tt.encrypted)
			}
			checkAccounts(t, res.Accounts, wants)
		})
	}
}

// An older andOTP backup has no header, so it is not detected; named, it
// opens with the same password.
func TestImportAndOTPOldLayout(t *testing.T) {
	data := readSample(t, "andotp/andotp-encrypted-old.json.aes")
	if f, err := Detect(data); err == nil {
		t.Errorf("Detect: got %q, want no format (the file has no header)", f)
	}
	res, err := Import(data, Options{Format: FormatAndOTP, Password: []byte(andOTPPassword)})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !res.Encrypted {
		t.Error("got encrypted false, want true")
	}
	checkAccounts(t, res.Accounts, []want{
		appGitHub.with(work, "", false), appVPN, appHOTP("Acme", "carol", 7, "162583"), appSteam("dave", "Games"),
	})
}

// Every encrypted sample asks for its password, and refuses a wrong one with
// an error naming the app and the password, importing nothing.
func TestAppSamplesPassword(t *testing.T) {
	tests := []struct {
		file    string
		format  Format // "" to detect
		app     string // what the errors start with
		correct string
	}{
		{"stratum/stratum-encrypted.stratum", "", "stratum backup", stratumPassword},
		{"stratum/authpro-legacy.authpro", "", "stratum backup", stratumPassword},
		{"andotp/andotp-encrypted.json.aes", "", "andotp backup", andOTPPassword},
		{"andotp/andotp-encrypted-old.json.aes", FormatAndOTP, "andotp backup", andOTPPassword},
		{"authy/com.authy.storage.tokens.authenticator-encrypted.xml", "", "authy tokens", authyPassword},
		{"proton/proton-authenticator-encrypted.json", "", "proton authenticator export", protonPassword},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readSample(t, tt.file)
			res, err := Import(data, Options{Format: tt.format})
			if !errors.Is(err, ErrPasswordRequired) || len(res.Accounts) != 0 || !res.Encrypted {
				t.Errorf("no password: got %d accounts, encrypted %v, %v; want none, true, ErrPasswordRequired", len(res.Accounts), res.Encrypted, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), tt.app) {
				t.Errorf("no password: got %q, want it to start with %q", err, tt.app)
			}
			for _, wrong := range []string{"wrong password", tt.correct + " ", strings.ToUpper(tt.correct)} {
				res, err := Import(data, Options{Format: tt.format, Password: []byte(wrong)})
				if !errors.Is(err, ErrWrongPassword) || len(res.Accounts) != 0 || !res.Encrypted {
					t.Errorf("password %q: got %d accounts, encrypted %v, %v; want none, true, ErrWrongPassword", wrong, len(res.Accounts), res.Encrypted, err)
					continue
				}
				if want := tt.app + ": wrong password"; err.Error() != want {
					t.Errorf("password %q: got %q, want %q", wrong, err, want)
				}
			}
		})
	}
}

// A flipped byte in an encrypted Stratum, andOTP or Proton file fails GCM's
// tag: nothing is imported (the formats cannot tell damage from a wrong
// password).
func TestTamperedAppSamples(t *testing.T) {
	for _, s := range []struct{ file, password string }{
		{"stratum/stratum-encrypted.stratum", stratumPassword},
		{"andotp/andotp-encrypted.json.aes", andOTPPassword},
	} {
		data := readSample(t, s.file)
		for _, i := range []int{40, len(data) - 1} {
			bad := append([]byte(nil), data...)
			bad[i] ^= 1
			res, err := Import(bad, Options{Password: []byte(s.password)})
			if err == nil || len(res.Accounts) != 0 {
				t.Errorf("%s with byte %d flipped: got %d accounts, %v; want an error and none", s.file, i, len(res.Accounts), err)
			}
		}
	}
}

func TestTamperedProtonSample(t *testing.T) {
	var f map[string]any
	if err := json.Unmarshal(readSample(t, "proton/proton-authenticator-encrypted.json"), &f); err != nil {
		t.Fatal(err)
	}
	f["content"] = flipBase64(t, f["content"].(string), -1)
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(data, Options{Password: []byte(protonPassword)})
	if !errors.Is(err, ErrWrongPassword) || len(res.Accounts) != 0 {
		t.Errorf("a flipped tag: got %d accounts, %v; want none and ErrWrongPassword", len(res.Accounts), err)
	}
}

func TestAppFormatErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		opts Options
		want string // the whole message, or a prefix ending in …
		is   error
	}{
		{"proton with a short salt", `{"version":1,"salt":"c2FsdA==","content":"Y29udGVudA=="}`, Options{Password: []byte("x")},
			"not a valid Proton Authenticator export: the salt is not 16 bytes of base64", nil},
		{"proton version 2", `{"version":2,"entries":[]}`, Options{},
			"unsupported Proton Authenticator export version 2 (this importer reads version 1)", nil},
		{"proton steam uri", `{"version":1,"entries":[{"id":"1","content":{"uri":"otpauth://totp/x?secret=GEZDGNBV","entry_type":"Steam","name":"dave"},"note":null}]}`,
			Options{}, "entry 1 (dave): a Steam entry's uri is not a steam:// URI", nil},
		{"proton bad uri hides the secret", `{"version":1,"entries":[{"id":"1","content":{"uri":"otpauth://totp/x?secret=GEZDGNBV1","entry_type":"Totp","name":"x"},"note":null}]}`,
			Options{}, "entry 1 (x): invalid otpauth URI: secret is not valid base32: …", otp.ErrBadSecret},
		{"stratum motp", `{"Authenticators":[{"Type":3,"Issuer":"Old","Username":"x","Secret":"GEZDGNBV","Algorithm":0,"Digits":6,"Period":30,"Counter":0}]}`,
			Options{}, "entry 1 (Old: x): mOTP (Mobile-OTP) keys are not supported", nil},
		{"stratum algorithm", `{"Authenticators":[{"Type":2,"Issuer":"A","Username":"x","Secret":"GEZDGNBV","Algorithm":7,"Digits":6,"Period":30,"Counter":0}]}`,
			Options{}, "entry 1 (A: x): algorithm 7: …", otp.ErrBadAlgorithm},
		{"stratum cut off", stratumHeader + "0123456789", Options{Password: []byte("x")},
			"not a valid Stratum backup: the file is too short (damaged or cut off)", nil},
		{"ente codeDisplay not json", "otpauth://totp/A:b?secret=GEZDGNBV&codeDisplay=%7Bnope\n", Options{},
			"entry 1 (A: b) on line 1: codeDisplay is not valid JSON", nil},
		{"authy without its key", "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n<string name=\"x\">[]</string>\n</map>\n",
			Options{Format: FormatAuthy}, "not an Authy tokens file: …", nil},
		{"freeotp xml broken", "<map>\n<string name=\"a\">{&quot;secret&quot;:[1]}</strin>\n</map>\n", Options{},
			"not a valid FreeOTP tokens.xml: the XML breaks on line 2: …", nil},
		{"freeotp xml bad token", "<map><string name=\"GitHub:alice\">{&quot;type&quot;:&quot;TOTP&quot;,&quot;secret&quot;:[]}</string></map>", Options{},
			"entry 1 (GitHub:alice): missing secret", nil},
		{"not an sqlite database", sqliteMagic + strings.Repeat("\x00", 20), Options{Format: FormatGoogleDB},
			"not a valid Google Authenticator database: not an SQLite database", nil},
		{"sqlite of another app", sqliteMagic + strings.Repeat("\x00", 200), Options{},
			"unknown file format: an SQLite database that is neither Google Authenticator's nor Microsoft Authenticator's; …", ErrUnknownFormat},
		{"andotp pgp", "-----BEGIN PGP MESSAGE-----\n\nhQEMA\n", Options{Format: FormatAndOTP},
			"this looks like an OpenPGP-encrypted andOTP backup: …", errAndOTPPGP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := importRefused(t, tt.data, tt.opts, tt.want, tt.is)
			if strings.Contains(err.Error(), "GEZDGNBV") {
				t.Errorf("the error %q quotes the secret", err)
			}
		})
	}
}

// A database whose accounts is a view (which could compute rows without end)
// or is missing is refused before any row is read.
func TestDBAccountsMustBeATable(t *testing.T) {
	for _, file := range []string{"google-authenticator/accounts-view.db", "google-authenticator/no-accounts.db"} {
		res, err := Import(readSample(t, file), Options{Format: FormatGoogleDB})
		if err == nil || len(res.Accounts) != 0 || !strings.Contains(err.Error(), "it has no accounts table") {
			t.Errorf("%s: got %d accounts, %v; want the missing table named", file, len(res.Accounts), err)
		}
	}
}

// A Google Authenticator account of a type the app never wrote is the
// entry's error, naming what the types are.
func TestGoogleDBUnknownType(t *testing.T) {
	_, err := googleDBAccount("alice", "GEZDGNBV", "GitHub", sql.NullInt64{}, 2)
	if err == nil || err.Error() != "type 2 is not supported (0 is TOTP, 1 is HOTP)" {
		t.Errorf("got %v, want type 2 refused", err)
	}
}

// A Microsoft work or school account that has a secret is not one the
// import understands: the file imports nothing unless told to skip it.
func TestMicrosoftWorkAccountWithSecret(t *testing.T) {
	a, err := microsoftDBAccount("Contoso", "alice", "GEZDGNBV", 2)
	if err == nil || !strings.Contains(err.Error(), "account type 2 (a work or school account) is not supported") {
		t.Errorf("got %+v, %v; want the work account refused", a.Key, err)
	}
}

// The unknown-format error lists every format, the new ones included.
func TestUnknownFormatListsApps(t *testing.T) {
	_, err := Detect([]byte("hello"))
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("got %v, want ErrUnknownFormat", err)
	}
	for _, f := range []Format{FormatEnte, FormatProton, FormatStratum, FormatFreeOTPXML, FormatAuthy, FormatGoogleDB, FormatMicrosoft} {
		if !strings.Contains(err.Error(), string(f)) {
			t.Errorf("got %q, want it to list %s", err, f)
		}
	}
}
