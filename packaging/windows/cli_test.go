package windows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/wine"
)

// The command line is a contract scripts rely on (README, "The command
// line"): the same under Windows as on Linux.

func TestVersion(t *testing.T) {
	c := newCS(t)
	out := c.ok("--version")
	if !regexp.MustCompile(`^countersign \S+\n$`).MatchString(out) {
		t.Errorf("--version printed %q, want \"countersign VERSION\"", out)
	}
	if again := c.ok("version"); again != out {
		t.Errorf("version printed %q, --version %q", again, out)
	}
}

// codeEntry is an entry of code --json.
type codeEntry struct {
	ID, Issuer, Name, Type, Code string
	Period, Remaining            int
	Counter                      *uint64
}

// codes runs code --json with args.
func (c *cs) codes(args ...string) []codeEntry {
	c.t.Helper()
	var got []codeEntry
	out := c.ok(append([]string{"code", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		c.t.Fatalf("code --json: %v\n%s", err, out)
	}
	return got
}

// oathtool is the reference: the code of secret (base32) by oathtool's own
// implementation of RFC 4226/6238.
func oathtool(t *testing.T, args ...string) string {
	t.Helper()
	path := testkit.Tool(t, "oathtool", "oathtool")
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		t.Fatalf("oathtool %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// TestCodesEqualOathtool adds accounts of every algorithm, length and
// period by URI, and compares code --json --at with oathtool at the same
// times; then an HOTP account, whose code advances its counter.
func TestCodesEqualOathtool(t *testing.T) {
	c := newCS(t)
	const (
		s20 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"                                                                        // RFC 6238's SHA1 seed
		s32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"                                                    // SHA256
		s64 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA" // SHA512
	)
	accounts := []struct {
		issuer, secret, alg string
		digits, period      int
	}{
		{"SHA1-6", s20, "SHA1", 6, 30},
		{"SHA1-8", s20, "SHA1", 8, 30},
		{"SHA256-8", s32, "SHA256", 8, 30},
		{"SHA512-8", s64, "SHA512", 8, 30},
		{"SHA256-6-60s", s32, "SHA256", 6, 60},
	}
	for _, a := range accounts {
		out := c.ok("add", "otpauth://totp/"+a.issuer+":user?secret="+a.secret+"&issuer="+a.issuer+
			"&algorithm="+a.alg+"&digits="+strconv.Itoa(a.digits)+"&period="+strconv.Itoa(a.period))
		if !strings.Contains(out, "\t"+a.issuer+" (user)") {
			t.Errorf("add %s printed %q, want ID<TAB>label", a.issuer, out)
		}
	}
	for _, at := range []int64{59, 1111111109, 1234567890, 2000000000, 20000000000} {
		got := map[string]string{}
		for _, e := range c.codes("--at", strconv.FormatInt(at, 10)) {
			got[e.Issuer] = e.Code
		}
		for _, a := range accounts {
			want := oathtool(t, "--totp="+a.alg, "-b", "-d", strconv.Itoa(a.digits), "-s", strconv.Itoa(a.period)+"s",
				"--now=@"+strconv.FormatInt(at, 10), a.secret)
			if got[a.issuer] != want {
				t.Errorf("%s at %d: countersign.exe %q, oathtool %q", a.issuer, at, got[a.issuer], want)
			}
		}
	}

	// HOTP: listed without a code; asked by id, the code of the stored
	// counter is shown and the counter moves on, so the next ask shows the
	// next code.
	id, _, _ := strings.Cut(c.ok("add", "otpauth://hotp/Acme:carol?secret="+s20+"&issuer=Acme&counter=5"), "\t")
	for _, e := range c.codes() {
		if e.Type == "hotp" && e.Code != "" {
			t.Errorf("code without an id shows the HOTP code %q; it must not use it up", e.Code)
		}
	}
	for counter := 5; counter <= 6; counter++ {
		got := c.codes(id)
		want := oathtool(t, "--hotp", "-b", "-c", strconv.Itoa(counter), s20)
		if len(got) != 1 || got[0].Code != want {
			t.Errorf("HOTP at counter %d: countersign.exe %+v, oathtool %s", counter, got, want)
		}
	}
}

// TestImportExport imports Aegis's plain export (the sample the Linux CLI
// tests use), lists it, and exports it back as URIs: what comes out is
// what the importer and exporter make of the file on Linux, and importing
// that export into a second vault gives the same codes.
func TestImportExport(t *testing.T) {
	c := newCS(t)
	sample := filepath.Join(repo, "testdata", "transfer", "aegis-plain.json")
	r := c.run("import", wine.Path(sample))
	if r.Code != 0 || !strings.Contains(r.Stderr, "imported 6 accounts from Aegis") {
		t.Fatalf("import: exit %d\n%s", r.Code, r.Stderr)
	}

	// What Linux makes of the same file, in this process.
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	res, err := transfer.Import(data, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}

	var list []struct{ ID, Issuer, Name, Type string }
	if err := json.Unmarshal([]byte(c.ok("list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var gotNames, wantNames []string
	for _, a := range list {
		gotNames = append(gotNames, a.Issuer+"/"+a.Name)
	}
	for _, a := range res.Accounts {
		wantNames = append(wantNames, a.Issuer+"/"+a.Name)
	}
	slices.Sort(gotNames)
	slices.Sort(wantNames)
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("list --json: %q, want %q", gotNames, wantNames)
	}

	out := filepath.Join(t.TempDir(), "codes.txt")
	r = c.run("export", "--format", "uris", wine.Path(out))
	if r.Code != 0 {
		t.Fatalf("export: exit %d\n%s", r.Code, r.Stderr)
	}
	exported, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := transfer.ExportURIs(&want, res.Accounts); err != nil {
		t.Fatal(err)
	}
	if got, want := sortedLines(string(exported)), sortedLines(want.String()); !slices.Equal(got, want) {
		t.Errorf("export --format uris:\n%s\nwant (Linux's export of the same file, in any order):\n%s", exported, strings.Join(want, "\n"))
	}
	// An existing file is not replaced without --force, as on Linux.
	if r := c.run("export", "--format", "uris", wine.Path(out)); r.Code != 1 || !strings.Contains(r.Stderr, "exists") {
		t.Errorf("export over an existing file: exit %d, %q", r.Code, r.Stderr)
	}

	second := &cs{t: t, p: c.p, exe: c.exe, home: t.TempDir()}
	second.ok("import", wine.Path(out))
	at := []string{"--at", "1700000000"}
	if a, b := codesByName(c.codes(at...)), codesByName(second.codes(at...)); !maps.Equal(a, b) {
		t.Errorf("codes after export and import differ:\n%v\n%v", a, b)
	}
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}

func codesByName(entries []codeEntry) map[string]string {
	m := map[string]string{}
	for _, e := range entries {
		m[e.Issuer+"/"+e.Name] = e.Code
	}
	return m
}

// credentialKey is where Wine keeps its Credential Manager's generic
// credentials: one registry key each, the secret sealed in its Password.
const credentialKey = `HKCU\Software\Wine\Credential Manager`

// vaultCredentials names the Countersign vault keys in Wine's credential
// store, read with reg query (never printing a secret: only the keys'
// names are kept). A prefix that has stored no credential yet has none.
func vaultCredentials(t *testing.T, p *wine.Prefix) []string {
	t.Helper()
	r, err := p.Run(context.Background(), time.Minute, wine.Options{}, "reg", "query", credentialKey)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 0 {
		if r.Code == 1 && strings.Contains(r.Stdout+r.Stderr, "Unable to find") {
			return nil
		}
		t.Fatalf("reg query %s: exit %d\n%s%s", credentialKey, r.Code, r.Stdout, r.Stderr)
	}
	var names []string
	for _, line := range strings.Split(r.Stdout, "\n") {
		line = strings.TrimSpace(line)
		if _, name, ok := strings.Cut(line, `\Generic: countersign:`); ok {
			names = append(names, name)
		}
	}
	return names
}

// TestVaultKeyInCredentialStore: the vault's key goes to the Windows
// Credential Manager (Wine's), not beside the vault; a second process opens
// the vault with it; without it the vault does not open, says why, and is
// left as it was.
func TestVaultKeyInCredentialStore(t *testing.T) {
	c := newCS(t)
	before := vaultCredentials(t, c.p)
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	c.ok("add", "otpauth://totp/Vault:test?secret="+secret+"&issuer=Vault")
	var added []string
	for _, n := range vaultCredentials(t, c.p) {
		if !slices.Contains(before, n) {
			added = append(added, n)
		}
	}
	if len(added) != 1 || !strings.HasPrefix(added[0], "vault-key-") {
		t.Fatalf("new credentials of countersign in Wine's Credential Manager: %q, want one vault-key-…", added)
	}
	key := credentialKey + `\Generic: countersign:` + added[0]
	r, err := c.p.Run(context.Background(), time.Minute, wine.Options{}, "reg", "query", key, "/v", "UserName")
	if err != nil || r.Code != 0 || !strings.Contains(r.Stdout, added[0]) {
		t.Errorf("the credential's UserName: %v, exit %d, %q", err, r.Code, r.Stdout)
	}

	files, err := os.ReadDir(c.home)
	if err != nil {
		t.Fatal(err)
	}
	vaultFile := filepath.Join(c.home, "vault.csv1")
	sealed, err := os.ReadFile(vaultFile)
	if err != nil {
		t.Fatalf("no vault.csv1 in COUNTERSIGN_HOME (%v): %v", files, err)
	}
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte("Vault")) {
		t.Error("the vault file holds the account in plaintext")
	}

	// A second process opens the vault through the credential store.
	if out := c.ok("list"); !regexp.MustCompile(`(?m)^[0-9a-f]+ +Vault +test +totp`).MatchString(out) {
		t.Errorf("list in a second process: %q", out)
	}

	// Without the credential, the vault stays shut and untouched.
	r, err = c.p.Run(context.Background(), time.Minute, wine.Options{}, "reg", "delete", key, "/f")
	if err != nil || r.Code != 0 {
		t.Fatalf("reg delete: %v, exit %d, %s", err, r.Code, r.Stderr)
	}
	r = c.run("list")
	if r.Code != 1 || !strings.Contains(r.Stderr, "countersign: ") || !strings.Contains(r.Stderr, "keyring") {
		t.Errorf("list with the key gone from the credential store: exit %d, %q; want exit 1 and an error about the keyring", r.Code, r.Stderr)
	}
	if r.Stdout != "" {
		t.Errorf("list with the key gone printed %q", r.Stdout)
	}
	t.Logf("with the key gone: %s", strings.TrimSpace(r.Stderr))
	if after, err := os.ReadFile(vaultFile); err != nil || !bytes.Equal(after, sealed) {
		t.Errorf("the vault changed after failing to open (%v)", err)
	}
}

// TestBadInputAsOnLinux: mistakes give the message and exit status of
// the Linux build: the same library's error, prefixed "countersign: ", exit
// 1 for a failure and 2 for a mistake in the command line.
func TestBadInputAsOnLinux(t *testing.T) {
	c := newCS(t)

	const bad = "otpauth://totp/Bad:x?secret=1NOTBASE32"
	_, parseErr := otp.ParseURI(bad)
	if parseErr == nil {
		t.Fatal("the bad URI parses on Linux")
	}
	if r := c.run("add", bad); r.Code != 1 || r.Stderr != "countersign: "+parseErr.Error()+"\n" {
		t.Errorf("add of a bad URI: exit %d, stderr %q; want exit 1, %q", r.Code, r.Stderr, "countersign: "+parseErr.Error())
	}

	badFile := filepath.Join(repo, "testdata", "transfer", "aegis-bad-entry.json")
	data, err := os.ReadFile(badFile)
	if err != nil {
		t.Fatal(err)
	}
	_, importErr := transfer.Import(data, transfer.Options{})
	if importErr == nil {
		t.Fatal("aegis-bad-entry.json imports on Linux")
	}
	r := c.run("import", wine.Path(badFile))
	if r.Code != 1 || !strings.Contains(r.Stderr, importErr.Error()) {
		t.Errorf("import of a file with a bad entry: exit %d, stderr %q; want exit 1 and %q", r.Code, r.Stderr, importErr.Error())
	}
	if r := c.run("list"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("after a failed import the vault lists %q, want nothing (all or nothing)", r.Stdout)
	}

	r = c.run("code", "--bogus")
	if r.Code != 2 || !strings.HasSuffix(r.Stderr, "countersign: usage: flag provided but not defined: -bogus\n") {
		t.Errorf("an unknown flag: exit %d, stderr %q; want exit 2 and the usage error", r.Code, r.Stderr)
	}
	if r := c.run("frobnicate"); r.Code != 2 || !strings.HasSuffix(r.Stderr, "countersign: usage: unknown command \"frobnicate\"\n") {
		t.Errorf("an unknown command: exit %d, stderr %q; want exit 2 and the usage error", r.Code, r.Stderr)
	}
}
