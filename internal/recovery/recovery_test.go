package recovery

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/testkit"
)

func TestParseAsPeopleGiveIt(t *testing.T) {
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s := id.String()
	for name, text := range map[string]string{
		"as is":         s,
		"lower case":    strings.ToLower(s),
		"grouped":       Groups(id),
		"broken lines":  Groups(id)[:30] + "\n" + Groups(id)[30:],
		"key file":      "# created: 2026-12-07T08:00:00Z\n# public key: " + id.Recipient().String() + "\n" + s + "\n",
		"dashes inside": strings.ReplaceAll(Groups(id), " ", "-"),
	} {
		got, err := Parse(text)
		if err != nil || got.String() != s {
			t.Errorf("%s: %v, %v", name, got, err)
		}
	}
	wrong := []byte(s)
	wrong[40] ^= 1 // a character changed: the checksum says so
	if wrong[40] == '1' || wrong[40] == 'B' || wrong[40] == 'I' || wrong[40] == 'O' {
		wrong[40] = 'Q'
	}
	for name, text := range map[string]string{
		"empty":        "",
		"public key":   id.Recipient().String(),
		"one short":    s[:len(s)-1],
		"one changed":  string(wrong),
		"another text": "correct horse battery staple",
	} {
		if got, err := Parse(text); !errors.Is(err, ErrNotAKey) {
			t.Errorf("%s: %v, %v; want ErrNotAKey", name, got, err)
		}
	}
}

func TestCheckTypedBack(t *testing.T) {
	id, _ := New()
	c := Ask(id)
	if len(c.At) != 4 {
		t.Fatalf("asks %d places, want 4", len(c.At))
	}
	s := id.String()
	var right strings.Builder
	for _, p := range c.At {
		right.WriteByte(s[p-1])
	}
	if !c.Matches(id, strings.ToLower(right.String())) || !c.Matches(id, " "+right.String()[:2]+" "+right.String()[2:]) {
		t.Errorf("the right characters %q do not match", right.String())
	}
	bad := []byte(right.String())
	bad[3] = map[bool]byte{true: 'Q', false: 'P'}[bad[3] != 'Q']
	if c.Matches(id, string(bad)) || c.Matches(id, right.String()[:3]) {
		t.Error("wrong characters match")
	}
}

// The kit is a one-page PDF whose text has the key and the steps, and whose
// QR code reads back as the key.
func TestKitHasTheKeyAsTextAndQR(t *testing.T) {
	pdftotext := testkit.Tool(t, "pdftotext", "poppler-utils")
	pdftoppm := testkit.Tool(t, "pdftoppm", "poppler-utils")
	id, _ := New()
	var buf bytes.Buffer
	if err := WriteKit(&buf, id, Kit{Created: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC), Machine: "ada-laptop", Vault: "/home/ada/.local/share/countersign"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "kit.pdf")
	if err := os.WriteFile(pdf, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Join(strings.Fields(string(text)), " ")
	for _, want := range []string{"Countersign emergency kit", Groups(id), "ada-laptop", "7 December 2026", "countersign recovery unlock", "age -d -i KEY.txt"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the kit's text lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(string(text), "\f"); n > 1 {
		t.Errorf("the kit has %d pages, want 1", n)
	}
	if out, err := exec.Command(pdftoppm, "-r", "150", "-png", "-singlefile", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	codes, err := qr.DecodeFile(filepath.Join(dir, "page.png"))
	if err != nil || len(codes) != 1 || codes[0].Text != id.String() {
		t.Fatalf("the kit's QR code reads %+v, %v; want the key", codes, err)
	}
	if got, err := Parse(codes[0].Text); err != nil || got.String() != id.String() {
		t.Errorf("the scanned key parses to %v, %v", got, err)
	}
}
