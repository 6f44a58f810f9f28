package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/qr"
)

func qrSample(name string) string { return filepath.Join("..", "..", "testdata", "qr", name) }

func TestQRDecodeFiles(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("qr", "decode", qrSample("clean.png"), qrSample("multi-3.png"))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 {
		t.Errorf("got %d texts from clean.png and multi-3.png, want 4:\n%s", len(lines), out)
	}
	var codes []found
	if err := json.Unmarshal([]byte(h.mustRun("qr", "decode", "--json", qrSample("other-url.png"), qrSample("migration.png"))), &codes); err != nil {
		t.Fatal(err)
	}
	if len(codes) != 2 || codes[0].Kind != qr.KindOther || codes[1].Kind != qr.KindMigration || codes[0].Source != qrSample("other-url.png") {
		t.Errorf("qr decode --json = %+v, want an other and a migration code with their files", codes)
	}
	_, stderr, err := h.run("", "qr", "decode", qrSample("no-code-photo.png"))
	if err == nil || !strings.Contains(stderr, "tried:") {
		t.Errorf("image with no code: err %v, stderr %q; want a failure naming what was tried", err, stderr)
	}
}

func TestAddFromQRImages(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("add", "--qr", qrSample("migration-10.png"))
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 10 {
		t.Errorf("add --qr migration-10.png added %d accounts, want 10:\n%s", n, out)
	}
	if _, _, err := h.run("", "add", "--qr", qrSample("other-url.png")); err == nil || !strings.Contains(err.Error(), "no authenticator QR code") {
		t.Errorf("add --qr of a web link: got %v", err)
	}
	if _, _, err := h.run("", "add", "--qr", qrSample("clean.png"), "otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQ"); err == nil {
		t.Error("add with a URI and --qr succeeded; want a usage error")
	}
}

func TestQREncodeRoundTrip(t *testing.T) {
	h := newHarness(t)
	id1, _, _ := strings.Cut(h.mustRun("add", rfcURI), "\t")
	id2, _, _ := strings.Cut(h.mustRun("add", "otpauth://hotp/Bank:me?secret="+rfcBase32+"&counter=7"), "\t")

	dir := t.TempDir()
	one := filepath.Join(dir, "one.png")
	h.mustRun("qr", "encode", "--out", one, id1)
	if got := strings.TrimSpace(h.mustRun("qr", "decode", one)); !strings.HasPrefix(got, "otpauth://totp/Example:alice@example.com?secret="+rfcBase32) {
		t.Errorf("decoded %q, want the account's otpauth URI", got)
	}
	fi, _ := os.Stat(one)
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 { // Windows has no Unix modes
		t.Errorf("QR file mode %o, want 600", fi.Mode().Perm())
	}

	both := filepath.Join(dir, "both.png")
	h.mustRun("qr", "encode", "--out", both, id1, id2)
	other := newHarness(t)
	if out := other.mustRun("add", "--qr", both); len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Errorf("the batch QR enrolled %q, want 2 accounts", out)
	}
	if got := other.mustRun("code", "--at", "59", "Example"); got != "287082\n" {
		t.Errorf("code from the re-enrolled account = %q, want 287082", got)
	}

	// Stdout is a buffer here, not a terminal: the PNG goes there.
	out, _, err := h.run("", "qr", "encode", id1)
	if err != nil || !bytes.HasPrefix([]byte(out), []byte("\x89PNG")) {
		t.Errorf("qr encode to stdout: err %v, %d bytes", err, len(out))
	}
	if _, _, err := h.run("", "qr", "encode", "--out", one, id1); err == nil {
		t.Error("qr encode over an existing file succeeded without --force")
	}
}
