package main

// These tests build the real countersign binary and run it against the real
// Secret Service that make test starts (.ci/keyring-session): the CLI is a
// stable contract, tested as scripts use it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	stdpng "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
	"github.com/countersign/countersign/internal/qr"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "countersign-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "countersign")
	// Built as make builds it: with the tags of build-tags.
	tags, err := os.ReadFile("build-tags")
	if err != nil {
		panic(err)
	}
	build := exec.Command("go", "build", "-tags", strings.TrimSpace(string(tags)), "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build countersign: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs a real Secret Service: run through make test (.ci/keyring-session)")
	}
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with its vault in home and extra environment.
func run(t *testing.T, home string, extraEnv []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "COUNTERSIGN_HOME="+home)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func ok(t *testing.T, home string, args ...string) string {
	t.Helper()
	r := run(t, home, nil, "", args...)
	if r.code != 0 {
		t.Fatalf("countersign %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

const (
	rfcBase32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	sha256Key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA" // RFC 6238's 32-byte SHA256 seed
)

func TestCLIAgainstRealKeyring(t *testing.T) {
	needKeyring(t)
	home := t.TempDir()

	ok(t, home, "add", "otpauth://totp/ACME%20Co:john.doe@email.com?secret="+rfcBase32+"&issuer=ACME%20Co&algorithm=SHA1&digits=8&period=30")
	ok(t, home, "add", "otpauth://totp/Example:sha256?secret="+sha256Key+"&algorithm=SHA256&digits=8")

	// RFC 6238 Appendix B at T=1234567890.
	var codes []map[string]any
	if err := json.Unmarshal([]byte(ok(t, home, "code", "--json", "--at", "1234567890")), &codes); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ACME Co": "89005924", "Example": "91819424"}
	if len(codes) != 2 {
		t.Fatalf("got %d codes, want 2", len(codes))
	}
	for _, c := range codes {
		for _, field := range []string{"id", "issuer", "name", "type", "code", "period", "remaining"} {
			if _, ok := c[field]; !ok {
				t.Errorf("code --json entry lacks %q: %v", field, c)
			}
		}
		if got := c["code"]; got != want[c["issuer"].(string)] {
			t.Errorf("%s: code %v, want %s", c["issuer"], got, want[c["issuer"].(string)])
		}
	}

	// The vault on disk is sealed, and its key is in the Secret Service
	// (secret-tool is an independent client of it).
	raw, err := os.ReadFile(filepath.Join(home, "vault.csv1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("john.doe")) || bytes.Contains(raw, []byte(rfcBase32)) {
		t.Error("vault file holds plaintext")
	}
	out, err := exec.Command("secret-tool", "search", "--all", "service", "countersign").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "vault-key-") {
		t.Errorf("secret-tool finds no countersign vault key: %v\n%s", err, out)
	}

	// Nothing but an explicit code or export prints a secret.
	for _, args := range [][]string{{"list"}, {"list", "--json"}, {"add", "otpauth://totp/Example:sha256?secret=" + sha256Key + "&algorithm=SHA256&digits=8"}} {
		r := run(t, home, nil, "", args...)
		if strings.Contains(r.stdout+r.stderr, rfcBase32[:16]) {
			t.Errorf("countersign %s printed a secret", strings.Join(args, " "))
		}
	}

	// Export to URIs and read them back into a second vault: same codes.
	uris := filepath.Join(t.TempDir(), "accounts.txt")
	ok(t, home, "export", "--format", "uris", uris)
	if fi, _ := os.Stat(uris); fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %o, want 600", fi.Mode().Perm())
	}
	if r := run(t, home, nil, "", "export", "--format", "uris", uris); r.code != 1 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("export over an existing file: exit %d, %q", r.code, r.stderr)
	}
	other := t.TempDir()
	ok(t, other, "import", uris)
	if a, b := ok(t, home, "code", "--at", "1234567890", "ACME"), ok(t, other, "code", "--at", "1234567890", "ACME"); a != b || a != "89005924\n" {
		t.Errorf("codes after export/import differ: %q vs %q", a, b)
	}
}

func TestCLIBackupRoundTrip(t *testing.T) {
	needKeyring(t)
	home := t.TempDir()
	ok(t, home, "add", "--tag", "bank", "otpauth://hotp/Bank:me?secret="+rfcBase32+"&counter=5")
	pass := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600)
	backup := filepath.Join(t.TempDir(), "countersign.backup")
	ok(t, home, "export", "--format", "backup", "--passphrase-file", pass, backup)

	other := t.TempDir()
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("tr0ub4dor&3\n"), 0o600)
	if r := run(t, other, nil, "", "import", "--password-file", wrong, backup); r.code != 1 || !strings.Contains(r.stderr, "password") {
		t.Errorf("import with the wrong passphrase: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, other, nil, "", "import", backup); r.code != 1 || !strings.Contains(r.stderr, "--password-file") {
		t.Errorf("import of an encrypted backup without a password: exit %d, %q", r.code, r.stderr)
	}
	ok(t, other, "import", "--password-file", pass, backup)
	var list []map[string]any
	json.Unmarshal([]byte(ok(t, other, "list", "--json")), &list)
	if len(list) != 1 || list[0]["counter"] != float64(5) || list[0]["tags"].([]any)[0] != "bank" {
		t.Errorf("restored backup = %v, want the HOTP account at counter 5 tagged bank", list)
	}
}

func TestCLIWithoutKeyringFailsClearly(t *testing.T) {
	home := t.TempDir()
	noBus := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")}
	r := run(t, home, noBus, "", "add", "otpauth://totp/A:b?secret="+rfcBase32)
	if r.code != 1 {
		t.Fatalf("add without a keyring: exit %d, want 1", r.code)
	}
	for _, want := range []string{"keyring is not available", "gnome-keyring"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("add without a keyring: stderr %q lacks %q", r.stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "vault.csv1")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a vault file was written without a keyring (plaintext fallback?)")
	}
}

func TestCLIExitCodes(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--help"}, 0},
		{[]string{"version"}, 0},
		{[]string{"no-such-command"}, 2},
		{[]string{"code", "--at", "soon"}, 2},
		{[]string{"import", filepath.Join(home, "missing.json")}, 1},
	} {
		if r := run(t, home, nil, "", tc.args...); r.code != tc.code {
			t.Errorf("countersign %s: exit %d, want %d (stderr %q)", strings.Join(tc.args, " "), r.code, tc.code, r.stderr)
		}
	}
}

// TestAddFromScreen shows a QR code on a real X server, as a web page would,
// and enrolls it with countersign add --screen.
func TestAddFromScreen(t *testing.T) {
	display := xvfbtest.Start(t, image.Pt(1280, 800), image.Pt(1024, 768))
	uri := "otpauth://totp/ACME%20Co:jane@acme.example?secret=" + rfcBase32 + "&issuer=ACME%20Co"
	png, err := qr.Encode(uri, 180)
	if err != nil {
		t.Fatal(err)
	}
	img, err := stdpng.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	// On the second monitor, away from its corner.
	xvfbtest.Show(t, display, img, image.Pt(1280+400, 300))

	x11 := []string{"DISPLAY=" + display, "WAYLAND_DISPLAY=", "XDG_SESSION_TYPE=x11"}
	var found []map[string]string
	r := run(t, t.TempDir(), x11, "", "qr", "scan-screen", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || r.code != 0 {
		t.Fatalf("qr scan-screen: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	if len(found) != 1 || found[0]["text"] != uri || found[0]["kind"] != "otpauth" || found[0]["file"] != "monitor 2" {
		t.Errorf("qr scan-screen --json = %v, want the URI on monitor 2", found)
	}

	if os.Getenv("COUNTERSIGN_TEST_KEYRING") == "secret-service" {
		home := t.TempDir()
		r = run(t, home, x11, "", "add", "--screen")
		if r.code != 0 || !strings.Contains(r.stdout, "ACME Co (jane@acme.example)") {
			t.Fatalf("add --screen: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		if got := ok(t, home, "code", "--at", "59", "ACME"); got != "287082\n" {
			t.Errorf("code of the account enrolled from the screen = %q, want 287082", got)
		}
	}

	noScreen := []string{"DISPLAY=", "WAYLAND_DISPLAY=", "XDG_SESSION_TYPE="}
	r = run(t, t.TempDir(), noScreen, "", "add", "--screen")
	if r.code != 1 || !strings.Contains(r.stderr, "no graphical session") || !strings.Contains(r.stderr, "qr decode") {
		t.Errorf("add --screen without a display: exit %d, %q", r.code, r.stderr)
	}
}

// TestNoForeignStderr: linking Fyne must not make the CLI print anything of
// Fyne's, whatever the locale (C.UTF-8 is the default of containers and CI).
func TestNoForeignStderr(t *testing.T) {
	for _, locale := range []string{"C.UTF-8", "C", "POSIX", "en_US.UTF-8", "de_DE.UTF-8"} {
		r := run(t, t.TempDir(), []string{"LC_ALL=", "LC_MESSAGES=", "LANGUAGE=", "LANG=" + locale}, "", "version")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("LANG=%s countersign version: exit %d, stderr %q; want 0 and nothing", locale, r.code, r.stderr)
		}
	}
}
