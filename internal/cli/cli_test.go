package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

// harness runs commands with a home directory of its own and
// testkit.Keyring for the vault key and device keys.
type harness struct {
	t        *testing.T
	home     string
	keys     testkit.Secrets
	now      time.Time
	terminal bool   // stdin is a terminal
	typed    string // what is typed at a password prompt on the terminal
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, home: t.TempDir(), keys: testkit.Keyring(t), now: time.Unix(59, 0)}
}

// run runs one command and returns stdout, stderr and the error.
func (h *harness) run(stdin string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	env := Env{
		Stdin:      strings.NewReader(stdin),
		Stdout:     &out,
		Stderr:     &errOut,
		Getenv:     func(k string) string { return map[string]string{"COUNTERSIGN_HOME": h.home}[k] },
		Now:        func() time.Time { return h.now },
		Keys:       h.keys,
		IsTerminal: func() bool { return h.terminal },
		ReadPassword: func(prompt string) ([]byte, error) {
			if !h.terminal {
				return nil, errors.New("no terminal")
			}
			fmt.Fprint(&errOut, prompt)
			return []byte(h.typed), nil
		},
		Version: "test",
	}
	err := Run(env, args)
	return out.String(), errOut.String(), err
}

func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	out, errOut, err := h.run("", args...)
	if err != nil {
		h.t.Fatalf("countersign %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// The RFC 6238 SHA1 seed, base32: at T=59 its 6-digit code is 287082.
const (
	rfcBase32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	rfcURI    = "otpauth://totp/Example:alice@example.com?secret=" + rfcBase32 + "&issuer=Example"
)

func TestAddListCodeRemove(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("add", "--tag", "work", rfcURI)
	id, label, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if label != "Example (alice@example.com)" || len(id) != 12 {
		t.Fatalf("add printed %q, want ID<TAB>Example (alice@example.com)", out)
	}

	var list []accountJSON
	listOut := h.mustRun("list", "--json")
	if err := json.Unmarshal([]byte(listOut), &list); err != nil {
		t.Fatalf("list --json is not JSON: %v", err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Issuer != "Example" || list[0].Tags[0] != "work" || list[0].Digits != 6 {
		t.Errorf("list --json = %+v", list)
	}
	if strings.Contains(listOut, rfcBase32) || strings.Contains(listOut, "secret") {
		t.Errorf("list --json shows the secret: %s", listOut)
	}

	if got := h.mustRun("code", "exam"); got != "287082\n" {
		t.Errorf("code exam = %q, want 287082", got)
	}
	var codes []codeJSON
	if err := json.Unmarshal([]byte(h.mustRun("code", "--json", "--at", "1111111109")), &codes); err != nil {
		t.Fatal(err)
	}
	// RFC 6238 Appendix B, SHA1, T=1111111109: 07081804 in 8 digits.
	if len(codes) != 1 || codes[0].Code != "081804" || codes[0].Period != 30 || codes[0].Remaining != 1 || codes[0].Next == "" {
		t.Errorf("code --json --at 1111111109 = %+v, want code 081804, period 30, remaining 1 and a next code", codes)
	}
	if _, _, err := h.run("", "code", "nothing-like-this"); err == nil || !strings.Contains(err.Error(), "no account matches") {
		t.Errorf("code with no match: got %v", err)
	}

	if got := h.mustRun("remove", id); !strings.HasPrefix(got, id) {
		t.Errorf("remove printed %q", got)
	}
	if _, stderr, _ := h.run("", "list"); !strings.Contains(stderr, "no accounts yet") {
		t.Errorf("list after remove: stderr %q, want a hint", stderr)
	}
}

func TestAddDuplicateSaysSo(t *testing.T) {
	h := newHarness(t)
	h.mustRun("add", rfcURI)
	out, stderr, err := h.run("", "add", rfcURI)
	if err != nil || out != "" || !strings.Contains(stderr, "already in the vault") {
		t.Errorf("second add: out %q, stderr %q, err %v", out, stderr, err)
	}
	var list []accountJSON
	json.Unmarshal([]byte(h.mustRun("list", "--json")), &list)
	if len(list) != 1 {
		t.Errorf("got %d accounts after adding twice, want 1", len(list))
	}
}

func TestAddRejectsBadURIs(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ uri, want string }{
		{"otpauth://totp/A:b?secret=12345", "secret"},
		{"otpauth://totp/A:b?secret=" + rfcBase32 + "&digits=12", "digits"},
		{"otpauth://push/A:b?secret=" + rfcBase32, "type"},
		{"https://example.com", "not an otpauth"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			_, _, err := h.run("", "add", tc.uri)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(h.home, "vault.csv1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a vault file was written although nothing was added")
	}
}

func TestHOTPAdvancesOnlyByExactID(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("add", "otpauth://hotp/RFC:4226?secret="+rfcBase32+"&counter=0")
	id, _, _ := strings.Cut(out, "\t")

	// A query that is not the exact id lists the account without using a code.
	if got := h.mustRun("code", "RFC"); strings.Contains(got, "755224") {
		t.Errorf("code RFC showed a HOTP code: %q", got)
	}
	// RFC 4226 Appendix D: counter 0 → 755224, counter 1 → 287082.
	for _, want := range []string{"755224", "287082"} {
		if got := h.mustRun("code", id); got != want+"\n" {
			t.Errorf("code %s = %q, want %s", id, got, want)
		}
	}
	var list []accountJSON
	json.Unmarshal([]byte(h.mustRun("list", "--json")), &list)
	if list[0].Counter == nil || *list[0].Counter != 2 {
		t.Errorf("counter after two codes = %v, want 2", list[0].Counter)
	}
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"frobnicate"},
		{"add"},
		{"code", "--at", "yesterday"},
		{"export", "out.txt"},
		{"import", "--format", "lastpass", "x"},
		{"list", "--bogus"},
	} {
		if _, _, err := h.run("", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("countersign %s: got %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if out := h.mustRun("version"); out != "countersign test\n" {
		t.Errorf("version = %q", out)
	}
}

func samplePath(name string) string { return filepath.Join("..", "..", "testdata", "transfer", name) }

func TestImportSamples(t *testing.T) {
	for _, tc := range []struct {
		file, password string
		format         string
	}{
		{"aegis-plain.json", "", "aegis"},
		{"aegis-encrypted.json", "test", "aegis"},
		{"2fas-plain.2fas", "", "2fas"},
		{"2fas-encrypted.2fas", "test", "2fas"},
		{"bitwarden.json", "", "bitwarden"},
		{"andotp.json", "", "andotp"},
		{"freeotp-plus.json", "", "freeotp"},
		{"uris.txt", "", "uris"},
		{"migration.txt", "", "migration"},
		{"ente/ente-auth-codes.txt", "", "ente"},
		{"proton/proton-authenticator.json", "", "proton"},
		{"proton/proton-authenticator-encrypted.json", "Proton p\u00e4ssw\u00f6rd \u2713", "proton"},
		{"stratum/stratum-plain.json", "", "stratum"},
		{"stratum/stratum-encrypted.stratum", "Stratum \u00e9t\u00e9 \U0001f510", "stratum"},
		{"andotp/andotp-encrypted.json.aes", "andOTP s\u00e4mple p\u00e4ssword", "andotp"},
		{"freeotp/tokens.xml", "", "freeotp-xml"},
		{"authy/com.authy.storage.tokens.authenticator-encrypted.xml", "Authy backup p\u00e4ss", "authy"},
		{"google-authenticator/databases", "", "google-db"},
		{"microsoft-authenticator/PhoneFactor", "", "microsoft"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := newHarness(t)
			args := []string{"import", "--json"}
			if tc.password != "" {
				pw := filepath.Join(t.TempDir(), "pw")
				os.WriteFile(pw, []byte(tc.password+"\n"), 0o600)
				args = append(args, "--password-file", pw)
			}
			var res importJSON
			if err := json.Unmarshal([]byte(h.mustRun(append(args, samplePath(tc.file))...)), &res); err != nil {
				t.Fatal(err)
			}
			if string(res.Format) != tc.format || len(res.Imported) == 0 || len(res.Skipped) != 0 {
				t.Errorf("import = format %s, %d imported, %d skipped; want %s, some, none", res.Format, len(res.Imported), len(res.Skipped), tc.format)
			}
			var list []accountJSON
			json.Unmarshal([]byte(h.mustRun("list", "--json")), &list)
			if len(list) != len(res.Imported) {
				t.Errorf("vault holds %d accounts, import reported %d", len(list), len(res.Imported))
			}
			// Importing again adds nothing.
			json.Unmarshal([]byte(h.mustRun(append(args, samplePath(tc.file))...)), &res)
			if len(res.Imported) != 0 || len(res.Duplicates) != len(list) {
				t.Errorf("second import: %d imported, %d duplicates; want 0 and %d", len(res.Imported), len(res.Duplicates), len(list))
			}
		})
	}
}

func TestImportBadEntryImportsNothing(t *testing.T) {
	h := newHarness(t)
	_, _, err := h.run("", "import", samplePath("aegis-bad-entry.json"))
	if err == nil || !strings.Contains(err.Error(), "entry") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("got %v, want an error naming the entry and saying nothing was imported", err)
	}
	if _, err := os.Stat(filepath.Join(h.home, "vault.csv1")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the vault was written")
	}
	out, stderr, err := h.run("", "import", "--skip-invalid", samplePath("aegis-bad-entry.json"))
	if err != nil || out == "" || !strings.Contains(stderr, "skipped") {
		t.Errorf("--skip-invalid: out %q, stderr %q, err %v", out, stderr, err)
	}
}

func TestImportDryRunWritesNothing(t *testing.T) {
	h := newHarness(t)
	out, stderr, err := h.run("", "import", "--dry-run", samplePath("andotp.json"))
	if err != nil || !strings.Contains(stderr, "would import") || out == "" {
		t.Fatalf("dry run: out %q, stderr %q, err %v", out, stderr, err)
	}
	if _, err := os.Stat(filepath.Join(h.home, "vault.csv1")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run wrote the vault")
	}
}

func TestImportEncryptedWithoutPassword(t *testing.T) {
	h := newHarness(t)
	_, _, err := h.run("", "import", samplePath("2fas-encrypted.2fas"))
	if err == nil || !strings.Contains(err.Error(), "--password-file") {
		t.Errorf("got %v, want advice to use --password-file", err)
	}
	_, _, err = h.run("wrong\n", "import", "--password-file", "-", samplePath("2fas-encrypted.2fas"))
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("wrong password from stdin: got %v", err)
	}
}

// import's usage lists every format transfer reads.
func TestImportUsageListsFormats(t *testing.T) {
	h := newHarness(t)
	_, stderr, err := h.run("", "import")
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("import without a file: got %v, want a usage error", err)
	}
	for _, f := range []string{"auto|uris|", "|ente|proton|stratum|freeotp-xml|authy|google-db|microsoft|"} {
		if !strings.Contains(stderr, f) {
			t.Errorf("usage %q does not list %q", stderr, f)
		}
	}
}

// A wrong password for an app's encrypted backup imports nothing and says
// the password is wrong; a Steam account from an otpauth://steam/ URI shows
// five characters of Steam's alphabet.
func TestImportAppBackups(t *testing.T) {
	h := newHarness(t)
	_, _, err := h.run("wrong\n", "import", "--password-file", "-", samplePath("andotp/andotp-encrypted.json.aes"))
	if err == nil || !strings.Contains(err.Error(), "andotp backup: wrong password") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("wrong andOTP password: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.home, "vault.csv1")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the vault was written")
	}
	h.mustRun("import", samplePath("ente/ente-auth-codes.txt"))
	code := strings.TrimSpace(h.mustRun("code", "Steam"))
	if len(code) != 5 || strings.Trim(code, "23456789BCDFGHJKMNPQRTVWXY") != "" {
		t.Errorf("code Steam = %q, want 5 characters of Steam's alphabet", code)
	}
	if got := h.mustRun("code", "GitHub"); len(strings.TrimSpace(got)) != 6 {
		t.Errorf("code GitHub = %q, want 6 digits", got)
	}
}

func TestExportAegisReimports(t *testing.T) {
	h := newHarness(t)
	h.mustRun("add", rfcURI)
	out := filepath.Join(t.TempDir(), "aegis.json")
	if _, stderr, err := h.run("", "export", "--format", "aegis", out); err != nil || !strings.Contains(stderr, "plaintext") {
		t.Fatalf("export: stderr %q, err %v", stderr, err)
	}
	other := newHarness(t)
	other.mustRun("import", out)
	if got := other.mustRun("code", "Example"); got != "287082\n" {
		t.Errorf("code after aegis round trip = %q, want 287082", got)
	}
	if _, _, err := h.run("", "export", "--format", "backup", filepath.Join(t.TempDir(), "b")); err == nil || !strings.Contains(err.Error(), "--passphrase-file") {
		t.Errorf("backup without passphrase: got %v", err)
	}
}

// TestListShowsNamesSafely: an issuer or name with terminal escapes, a
// text-direction override or a line break (from a QR code or a server)
// reaches the terminal as plain text.
func TestListShowsNamesSafely(t *testing.T) {
	h := newHarness(t)
	h.mustRun("add", "otpauth://totp/Evil%1B%5B2J%E2%80%AEkoob:ada%0Aroot?secret="+rfcBase32+"&issuer=Evil%1B%5B2J%E2%80%AEkoob")
	h.mustRun("add", rfcURI)
	for _, args := range [][]string{{"list"}, {"code"}} {
		out := h.mustRun(args...)
		if strings.ContainsAny(out, "\x1b\u202e") || strings.Count(out, "\n") != 3 {
			t.Errorf("countersign %s printed %q: escapes, overrides or extra lines", args[0], out)
		}
		if !strings.Contains(out, "Evil [2Jkoob") {
			t.Errorf("countersign %s printed %q, want the issuer's plain characters", args[0], out)
		}
	}
}
