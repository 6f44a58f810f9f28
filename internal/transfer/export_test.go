package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// cheapKDF makes ExportBackup fast in tests; DefaultBackupKDF stays the
// real cost (TestExportBackupDefaultCost).
func cheapKDF(t *testing.T) {
	t.Helper()
	saved := exportKDF
	exportKDF = sampleKDF
	t.Cleanup(func() { exportKDF = saved })
}

func testRand() *rand.ChaCha8 { return rand.NewChaCha8([32]byte{1, 2, 3}) }

// exportAccounts exercise every field and the awkward values: a name with a
// colon and no issuer, percent signs, spaces, non-ASCII, newlines in notes.
func exportAccounts() []vault.Account {
	created := time.Date(2023, 4, 5, 6, 7, 8, 9, time.FixedZone("CEST", 2*3600))
	return append(backupSampleAccounts(),
		vault.Account{
			Key:     otp.Key{Type: otp.TOTP, Issuer: "Café & Co", Name: "zoë 100%", Secret: rfcSecret32, Algorithm: otp.SHA256, Digits: 7, Period: 45},
			Tags:    []string{"Personal", "Work"},
			Created: created, Modified: created.Add(time.Hour),
		},
		vault.Account{
			Key:    otp.Key{Type: otp.HOTP, Issuer: "Lab", Name: "x/y?z#w", Secret: rfcSecret64, Algorithm: otp.SHA512, Digits: 8, Counter: 1 << 40},
			Pinned: true,
		},
	)
}

func TestRoundTripURIs(t *testing.T) {
	accounts := exportAccounts()
	var buf bytes.Buffer
	if err := ExportURIs(&buf, accounts); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(buf.String(), "\n"); got != len(accounts) {
		t.Errorf("got %d lines, want %d", got, len(accounts))
	}
	res, err := Import(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatURIs {
		t.Errorf("got format %q, want uris", res.Format)
	}
	// URIs carry the key only: compare keys (with Extra), not the organisation.
	plain := make([]vault.Account, len(accounts))
	for i, a := range accounts {
		plain[i] = vault.Account{Key: a.Key}
	}
	got := res.Accounts
	for i := range got {
		if !equalValues(got[i].Extra, accounts[i].Key.Normalize().Extra) {
			t.Errorf("%s: extra: got %v, want %v", accounts[i].Label(), got[i].Extra, accounts[i].Extra)
		}
	}
	checkSameAccounts(t, got, plain, false)
}

func TestRoundTripAegis(t *testing.T) {
	accounts := exportAccounts()
	var buf bytes.Buffer
	if err := ExportAegis(&buf, accounts, testRand()); err != nil {
		t.Fatal(err)
	}
	res, err := Import(buf.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatAegis || res.Encrypted {
		t.Errorf("got format %q encrypted %v, want aegis false", res.Format, res.Encrypted)
	}
	checkSameAccounts(t, res.Accounts, accounts, false)

	// The file is what Aegis writes: version 1, no slots, db version 3 with
	// one group per tag and a version 4 uuid for every entry and group.
	var file struct {
		Version int `json:"version"`
		Header  struct {
			Slots  any `json:"slots"`
			Params any `json:"params"`
		} `json:"header"`
		DB struct {
			Version int          `json:"version"`
			Entries []aegisEntry `json:"entries"`
			Groups  []aegisGroup `json:"groups"`
		} `json:"db"`
	}
	if err := json.Unmarshal(buf.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	if file.Version != 1 || file.Header.Slots != nil || file.Header.Params != nil || file.DB.Version != 3 {
		t.Errorf("got version %d slots %v params %v db version %d, want 1 null null 3",
			file.Version, file.Header.Slots, file.Header.Params, file.DB.Version)
	}
	var names []string
	for _, g := range file.DB.Groups {
		names = append(names, g.Name)
	}
	if want := []string{"Work", "VPN", "Personal"}; !equalValues(names, want) {
		t.Errorf("got groups %q, want %q", names, want)
	}
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, e := range file.DB.Entries {
		if !uuid4.MatchString(e.UUID) || seen[e.UUID] {
			t.Errorf("entry uuid %q is not a fresh version 4 uuid", e.UUID)
		}
		seen[e.UUID] = true
	}
	if file.DB.Entries[3].Type != "steam" || file.DB.Entries[3].Info.Digits != 5 {
		t.Errorf("steam entry: got type %q digits %d, want steam 5", file.DB.Entries[3].Type, file.DB.Entries[3].Info.Digits)
	}

	// The same randomness gives the same file.
	var again bytes.Buffer
	if err := ExportAegis(&again, accounts, testRand()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two exports with the same randomness differ")
	}
}

func TestRoundTripBackup(t *testing.T) {
	cheapKDF(t)
	accounts := exportAccounts()
	var buf bytes.Buffer
	if err := ExportBackup(&buf, accounts, []byte("correct horse"), testRand()); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("GEZDGNBV")) || bytes.Contains(buf.Bytes(), []byte("GitHub")) {
		t.Error("the backup shows account data in clear")
	}
	res, err := Import(buf.Bytes(), Options{Password: []byte("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatBackup || !res.Encrypted {
		t.Errorf("got format %q encrypted %v, want backup true", res.Format, res.Encrypted)
	}
	checkSameAccounts(t, res.Accounts, accounts, true)
}

func TestBackupEnvelopeIsBound(t *testing.T) {
	cheapKDF(t)
	var buf bytes.Buffer
	if err := ExportBackup(&buf, backupSampleAccounts(), []byte("pw"), testRand()); err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(map[string]any)
		is     error
		want   string
	}{
		{"threads", func(e map[string]any) { e["kdf"].(map[string]any)["threads"] = 2 }, ErrWrongPassword, ""},
		{"time", func(e map[string]any) { e["kdf"].(map[string]any)["time"] = 2 }, ErrWrongPassword, ""},
		{"salt", func(e map[string]any) { e["kdf"].(map[string]any)["salt"] = "AAAAAAAAAAAAAAAAAAAAAA==" }, ErrWrongPassword, ""},
		{"nonce", func(e map[string]any) { e["nonce"] = strings.Repeat("A", 32) }, ErrWrongPassword, ""},
		{"version", func(e map[string]any) { e["version"] = 2 }, nil, "unsupported Countersign backup version 2 (this version reads 1)"},
		{"cipher", func(e map[string]any) { e["cipher"] = "aes-256-gcm" }, nil, `unsupported backup cipher "aes-256-gcm" (want xchacha20-poly1305)`},
		{"kdf", func(e map[string]any) { e["kdf"].(map[string]any)["name"] = "scrypt" }, nil, `unsupported backup key derivation "scrypt" (want argon2id)`},
		// A hostile file cannot make the import allocate 4 GiB or run for minutes.
		{"memory", func(e map[string]any) { e["kdf"].(map[string]any)["memory_kib"] = 4 << 20 }, nil,
			"backup argon2id memory 4194304 KiB is out of range (8 to 1048576)"},
		{"passes", func(e map[string]any) { e["kdf"].(map[string]any)["time"] = 1000 }, nil,
			"backup argon2id time 1000 is out of range (1 to 20)"},
		{"threads zero", func(e map[string]any) { e["kdf"].(map[string]any)["threads"] = 0 }, nil,
			"backup argon2id threads must be at least 1"},
		{"short salt", func(e map[string]any) { e["kdf"].(map[string]any)["salt"] = "AAAA" }, nil,
			"backup salt is 3 bytes (want 16 to 64)"},
		{"truncated data", func(e map[string]any) { e["data"] = "AAAA" }, nil, "backup data is truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e map[string]any
			_ = json.Unmarshal(buf.Bytes(), &e)
			tt.change(e)
			data, _ := json.Marshal(e)
			start := time.Now()
			_, err := Import(data, Options{Password: []byte("pw")})
			switch {
			case err == nil:
				t.Fatal("got no error")
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("got %v, want %v", err, tt.is)
			case tt.want != "" && err.Error() != tt.want:
				t.Errorf("got %q, want %q", err, tt.want)
			}
			if d := time.Since(start); tt.want != "" && d > 2*time.Second {
				t.Errorf("refusing took %v: the key was derived first", d)
			}
		})
	}
}

func TestExportBackupDefaultCost(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a 64 MiB Argon2id key")
	}
	if DefaultBackupKDF != (KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}) {
		t.Errorf("got DefaultBackupKDF %+v, want time 3, 64 MiB, 4 threads", DefaultBackupKDF)
	}
	var buf bytes.Buffer
	if err := ExportBackup(&buf, backupSampleAccounts()[:1], []byte("pw"), testRand()); err != nil {
		t.Fatal(err)
	}
	var env backupEnvelope
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if env.KDF.Time != 3 || env.KDF.MemoryKiB != 65536 || env.KDF.Threads != 4 || len(env.KDF.Salt) != 16 || len(env.Nonce) != 24 {
		t.Errorf("got kdf %+v nonce %d bytes, want the defaults, a 16-byte salt and a 24-byte nonce", env.KDF, len(env.Nonce))
	}
	res, err := Import(buf.Bytes(), Options{Password: []byte("pw")})
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("got %d accounts, %v, want 1", len(res.Accounts), err)
	}
}

func TestExportErrors(t *testing.T) {
	cheapKDF(t)
	bad := []vault.Account{
		{Key: otp.Key{Type: otp.TOTP, Issuer: "A", Name: "ok", Secret: rfcSecret20}},
		{Key: otp.Key{Type: otp.TOTP, Issuer: "GitHub", Name: "alice", Secret: rfcSecret20, Digits: 9}},
	}
	exports := map[string]func(*bytes.Buffer, []vault.Account) error{
		"uris":   func(w *bytes.Buffer, a []vault.Account) error { return ExportURIs(w, a) },
		"aegis":  func(w *bytes.Buffer, a []vault.Account) error { return ExportAegis(w, a, testRand()) },
		"backup": func(w *bytes.Buffer, a []vault.Account) error { return ExportBackup(w, a, []byte("pw"), testRand()) },
	}
	for name, export := range exports {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			err := export(&buf, bad)
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Entry() != "entry 2 (GitHub: alice)" || !errors.Is(err, otp.ErrBadDigits) {
				t.Errorf("invalid account: got %v, want entry 2 (GitHub: alice) with bad digits", err)
			}
			if buf.Len() != 0 {
				t.Errorf("invalid account: wrote %d bytes, want nothing", buf.Len())
			}
			if err := export(&buf, nil); err == nil || err.Error() != "no accounts to export" {
				t.Errorf("no accounts: got %v, want no accounts to export", err)
			}
		})
	}
	var buf bytes.Buffer
	if err := ExportBackup(&buf, backupSampleAccounts(), nil, testRand()); err == nil || buf.Len() != 0 {
		t.Errorf("empty passphrase: got %v and %d bytes, want a refusal", err, buf.Len())
	}
	if err := ExportAegis(&buf, backupSampleAccounts(), strings.NewReader("short")); err == nil {
		t.Error("failing randomness: got no error")
	}
}

func TestExportFile(t *testing.T) {
	dir := t.TempDir()
	accounts := []vault.Account{{Key: otp.Key{Type: otp.TOTP, Issuer: "GitHub", Name: "octocat", Secret: rfcSecret20}}}
	vaultPath := filepath.Join(dir, "vault.json")
	if err := os.WriteFile(vaultPath, []byte("the vault"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ExportFile(vaultPath, vaultPath, FormatURIs, accounts, nil, nil); err == nil {
		t.Error("an export was written over the vault")
	}
	if b, _ := os.ReadFile(vaultPath); string(b) != "the vault" {
		t.Errorf("the vault file now holds %q", b)
	}
	out := filepath.Join(dir, "codes.txt")
	if err := ExportFile(out, vaultPath, FormatURIs, accounts, nil, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 { // Windows has no Unix modes
		t.Errorf("the export's mode: %v (%v), want 0600", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "otpauth://totp/GitHub:octocat?") {
		t.Errorf("the export holds %q", b)
	}
	if _, err := ParseExportFormat("bitwarden"); err == nil || !strings.Contains(err.Error(), "want backup, aegis, uris") {
		t.Errorf("ParseExportFormat(bitwarden) = %v, want the formats that are written", err)
	}
	for _, f := range ExportFormats() {
		if g, err := ParseExportFormat(strings.ToUpper(string(f))); err != nil || g != f {
			t.Errorf("ParseExportFormat(%s) = %s, %v", f, g, err)
		}
	}
	if !FormatAegis.Plaintext() || FormatBackup.Plaintext() {
		t.Error("Plaintext: want Aegis plaintext, the backup not")
	}
}
