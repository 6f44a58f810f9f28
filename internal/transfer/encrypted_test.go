package transfer

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/otp"
)

// The *-encrypted-independent samples are written by
// testdata/transfer/make-encrypted.py with Python's cryptography, from Aegis's
// docs/vault.md and 2FAS's published source, and share no code with this
// package: opening them checks the decryptors against another implementation
// of each format, not against their own output (as the older *-encrypted
// samples, made by TestGenerateSamples, do). The passwords are the script's.
const (
	independentAegisPassword       = "correct horse battery staple"
	independentAegisBackupPassword = "Gr\u00fc\u00dfe aus K\u00f6ln \U0001f511"                       // in the slot marked is_backup
	independent2FASPassword        = "Za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144" // "Zażółć gęślą jaźń"
)

// The accounts of the independent samples, with the codes RFC 6238 (T = 59 s)
// and RFC 4226 (counters 5 and 7) give for their secrets.
var (
	independentSteamSecret = mustSecret("BNWEXNBOQ7SB3EWMZUETRTD6NWALZYNA")

	independentAegis = []want{
		{issuer: "GitLab", name: "frank@example.org", typ: otp.TOTP, alg: otp.SHA1, digits: 6, period: 30,
			secret: rfcSecret20, code: "287082", tags: []string{"Work"}, pinned: true,
			notes: "Codes: https://gitlab.example.org/-/profile/two_factor_auth"},
		{issuer: "B\u00fccherei M\u00fcnchen", name: "zo\u00eb", typ: otp.TOTP, alg: otp.SHA256, digits: 8, period: 30,
			secret: rfcSecret32, code: "46119246", tags: []string{"Work", "Travel"}},
		{issuer: "Proton", name: "grace", typ: otp.TOTP, alg: otp.SHA512, digits: 8, period: 30,
			secret: rfcSecret64, code: "90693936"},
		{issuer: "Yubico", name: "heidi", typ: otp.HOTP, alg: otp.SHA1, digits: 6, counter: 5,
			secret: rfcSecret20, code: "254676"},
		{issuer: "Steam", name: "ivan", typ: otp.TOTP, alg: otp.SHA1, digits: 5, period: 30, steam: true,
			secret: independentSteamSecret},
	}
	independent2FAS = []want{
		// The service was renamed in 2FAS; the name it shows is the issuer.
		{issuer: "Dropbox (work)", name: "judy@example.net", typ: otp.TOTP, alg: otp.SHA1, digits: 6, period: 30,
			secret: rfcSecret20, code: "287082"},
		{issuer: "Caf\u00e9 Z\u00fcrich", name: "kai", typ: otp.TOTP, alg: otp.SHA256, digits: 8, period: 30,
			secret: rfcSecret32, code: "46119246", tags: []string{"Personal"}},
		{issuer: "Nextcloud", name: "liam", typ: otp.HOTP, alg: otp.SHA1, digits: 6, counter: 7,
			secret: rfcSecret20, code: "162583"},
		{issuer: "Steam", name: "mallory", typ: otp.TOTP, alg: otp.SHA1, digits: 5, period: 30, steam: true,
			secret: independentSteamSecret},
	}
)

func TestImportIndependentSamples(t *testing.T) {
	tests := []struct {
		name, file string
		format     Format
		password   string
		want       []want
	}{
		{"aegis password slot", "aegis-encrypted-independent.json", FormatAegis, independentAegisPassword, independentAegis},
		{"aegis backup password slot", "aegis-encrypted-independent.json", FormatAegis, independentAegisBackupPassword, independentAegis},
		{"2fas", "2fas-encrypted-independent.2fas", Format2FAS, independent2FASPassword, independent2FAS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := readSample(t, tt.file)
			if got, err := Detect(data); err != nil || got != tt.format {
				t.Errorf("Detect: got %q, %v, want %q", got, err, tt.format)
			}
			res, err := Import(data, Options{Password: []byte(tt.password)})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if res.Format != tt.format || !res.Encrypted || len(res.Skipped) != 0 {
				t.Errorf("got format %q encrypted %v skipped %v, want %q true none", res.Format, res.Encrypted, res.Skipped, tt.format)
			}
			checkAccounts(t, res.Accounts, tt.want)
		})
	}
}

// A flipped byte anywhere GCM authenticates gives an error and no accounts.
// In Aegis the slot that opens tells a damaged vault from a wrong password;
// 2FAS's own app reports any failed tag as a wrong password
// (AEADBadTagException → DecryptWrongPassword), and so does the importer.
func TestTamperedEncryptedSamples(t *testing.T) {
	const damaged = "aegis vault content does not decrypt with its master key (the file is damaged)"
	type tamper struct {
		name    string
		edit    func(t *testing.T, f map[string]any)
		wantErr error  // errors.Is, or nil
		wantMsg string // a part of the message
	}
	aegisCases := []tamper{
		{"db ciphertext", func(t *testing.T, f map[string]any) { f["db"] = flipBase64(t, f["db"].(string), 7) }, nil, damaged},
		{"db tag", func(t *testing.T, f map[string]any) {
			params := f["header"].(map[string]any)["params"].(map[string]any)
			params["tag"] = flipHex(t, params["tag"].(string), 0)
		}, nil, damaged},
		{"db nonce", func(t *testing.T, f map[string]any) {
			params := f["header"].(map[string]any)["params"].(map[string]any)
			params["nonce"] = flipHex(t, params["nonce"].(string), 11)
		}, nil, damaged},
		{"wrapped master key", func(t *testing.T, f map[string]any) {
			for _, s := range f["header"].(map[string]any)["slots"].([]any) {
				slot := s.(map[string]any)
				slot["key"] = flipHex(t, slot["key"].(string), 31)
			}
		}, ErrWrongPassword, "aegis vault: wrong password"},
	}
	flip2FAS := func(part, i int) func(t *testing.T, f map[string]any) {
		return func(t *testing.T, f map[string]any) {
			f["servicesEncrypted"] = flip2FASPart(t, f["servicesEncrypted"].(string), part, i)
		}
	}
	twofasCases := []tamper{
		{"services ciphertext", flip2FAS(0, 7), ErrWrongPassword, "2fas backup: wrong password"},
		{"services tag", flip2FAS(0, -1), ErrWrongPassword, "2fas backup: wrong password"},
		{"services iv", flip2FAS(2, 0), ErrWrongPassword, "2fas backup: wrong password"},
	}
	samples := []struct {
		file, password string
		cases          []tamper
	}{
		{"aegis-encrypted.json", samplePassword, aegisCases},
		{"aegis-encrypted-independent.json", independentAegisPassword, aegisCases},
		{"2fas-encrypted.2fas", samplePassword, twofasCases},
		{"2fas-encrypted-independent.2fas", independent2FASPassword, twofasCases},
	}
	for _, sample := range samples {
		file, password := sample.file, sample.password
		for _, tc := range sample.cases {
			t.Run(file+"/"+tc.name, func(t *testing.T) {
				var f map[string]any
				if err := json.Unmarshal(readSample(t, file), &f); err != nil {
					t.Fatal(err)
				}
				tc.edit(t, f)
				data, err := json.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Import(data, Options{Password: []byte(password)})
				if err == nil {
					t.Fatalf("got %d accounts and no error, want an error", len(res.Accounts))
				}
				if len(res.Accounts) != 0 || !res.Encrypted {
					t.Errorf("got %d accounts, encrypted %v, want none, true", len(res.Accounts), res.Encrypted)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("got %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && errors.Is(err, ErrWrongPassword) {
					t.Errorf("got %v, want an error that does not blame the password", err)
				}
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("got message %q, want it to contain %q", err, tc.wantMsg)
				}
			})
		}
	}
}

// The 2FAS samples' "reference" holds 2FAS's known text under the same key,
// as the app writes it, so the samples are what 2FAS itself would accept.
func Test2FASSampleReference(t *testing.T) {
	for _, s := range []struct{ file, password string }{
		{"2fas-encrypted.2fas", samplePassword},
		{"2fas-encrypted-independent.2fas", independent2FASPassword},
	} {
		file, password := s.file, s.password
		t.Run(file, func(t *testing.T) {
			var f struct {
				Reference string `json:"reference"`
			}
			if err := json.Unmarshal(readSample(t, file), &f); err != nil {
				t.Fatal(err)
			}
			got, err := decrypt2FAS(f.Reference, []byte(password))
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			if string(got) != twofasReference {
				t.Errorf("reference: got %q, want 2FAS's reference text", got)
			}
		})
	}
}

// flipBase64 flips the low bit of byte i (from the end if negative) of
// base64 data.
func flipBase64(t *testing.T, s string, i int) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	flipAt(t, b, i)
	return base64.StdEncoding.EncodeToString(b)
}

func flipHex(t *testing.T, s string, i int) string {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	flipAt(t, b, i)
	return hex.EncodeToString(b)
}

// flip2FASPart flips byte i of one part of 2FAS's "data:salt:iv".
func flip2FASPart(t *testing.T, field string, part, i int) string {
	t.Helper()
	parts := strings.Split(field, ":")
	if len(parts) != 3 {
		t.Fatalf("got %d parts, want 3", len(parts))
	}
	parts[part] = flipBase64(t, parts[part], i)
	return strings.Join(parts, ":")
}

func flipAt(t *testing.T, b []byte, i int) {
	t.Helper()
	if i < 0 {
		i += len(b)
	}
	if i < 0 || i >= len(b) {
		t.Fatalf("byte %d of %d", i, len(b))
	}
	b[i] ^= 1
}
