package windows_test

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
	"github.com/countersign/countersign/internal/qr"
)

// TestAddFromScreen shows a QR code on the X server Wine draws on, as a web
// page would, and enrolls it with the Windows build's add --screen, which
// reads the screen through Windows' own calls.
func TestAddFromScreen(t *testing.T) {
	c := newCS(t)
	display := c.p.Display(t, image.Pt(1024, 768))
	uri := "otpauth://totp/ACME%20Co:jane@acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co"
	b, err := qr.Encode(uri, 180)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	xvfbtest.Show(t, display, img, image.Pt(400, 300))
	if out := c.ok("add", "--screen"); !strings.Contains(out, "ACME Co (jane@acme.example)") {
		t.Fatalf("add --screen under Wine printed %q, want the account it enrolled", out)
	}
	// RFC 6238's SHA-1 secret at 59 s.
	if got := c.ok("code", "--at", "59", "ACME"); strings.TrimSpace(got) != "287082" {
		t.Errorf("the code of the account enrolled from the screen = %q, want 287082", got)
	}
}
