// Package recovery is the vault's recovery key and its emergency kit.
//
// The recovery key is an age X25519 identity (AGE-SECRET-KEY-1…, see
// filippo.io/age). Its public half wraps the vault's data key in a key slot
// (vault.SetRecovery) and encrypts the automatic backups (package backup);
// the key itself exists only where the person keeps it: printed in the
// emergency kit, a one-page PDF with the key as text and as a QR code.
package recovery

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"filippo.io/age"

	"github.com/countersign/countersign/internal/qr"
)

// New makes a recovery key (from the system's randomness: age takes no
// other source).
func New() (*age.X25519Identity, error) {
	return age.GenerateX25519Identity()
}

const keyPrefix = "AGE-SECRET-KEY-1"

// keyLen is the length of a recovery key in text.
const keyLen = 74

// ErrNotAKey means the text given is not a recovery key.
var ErrNotAKey = errors.New("that is not a recovery key")

// Parse reads a recovery key as people give it: typed from the kit in any
// case, with spaces, dashes or line breaks where the eye grouped it, pasted
// from a key file (age-keygen's, with its "# created" comments), or scanned
// from the kit's QR code.
func Parse(text string) (*age.X25519Identity, error) {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var b strings.Builder
	for _, r := range strings.Join(lines, "") {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	s := b.String()
	// The key's own dashes: AGE-SECRET-KEY-1 then bech32 data, which has none.
	data, ok := strings.CutPrefix(strings.ReplaceAll(s, "-", ""), "AGESECRETKEY1")
	if !ok {
		return nil, fmt.Errorf("%w: a recovery key starts with %s (it is on your emergency kit)", ErrNotAKey, keyPrefix)
	}
	s = keyPrefix + data
	if len(s) != keyLen {
		return nil, fmt.Errorf("%w: it has %d characters, a recovery key has %d; check none is missing or doubled", ErrNotAKey, len(s), keyLen)
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		return nil, fmt.Errorf("%w: a character is wrong (its checksum does not match); compare it with the kit again", ErrNotAKey)
	}
	return id, nil
}

// Groups writes a key in groups of four after its prefix, as the kit
// prints it, for eyes and typing.
func Groups(id *age.X25519Identity) string {
	s := id.String()
	data := strings.TrimPrefix(s, keyPrefix)
	var b strings.Builder
	b.WriteString(keyPrefix)
	for i, r := range data {
		if i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Check is the person showing they kept the key: the four characters at
// the places Ask names, typed back from the kit.
type Check struct {
	At []int // 1-based places in the key's text
}

// Ask picks four places of the key to type back, from the key's own bytes
// (stable for one key, different between keys).
func Ask(id *age.X25519Identity) Check {
	data := strings.TrimPrefix(id.String(), keyPrefix)
	var c Check
	seen := map[int]bool{}
	for i := 0; len(c.At) < 4 && i < len(data); i++ {
		p := len(keyPrefix) + 1 + (int(data[i])*7+i*13)%len(data)
		if !seen[p] {
			seen[p] = true
			c.At = append(c.At, p)
		}
	}
	return c
}

// Matches says whether typed is the key's characters at c's places (case
// and spaces do not matter).
func (c Check) Matches(id *age.X25519Identity, typed string) bool {
	s := id.String()
	typed = strings.ToUpper(strings.Join(strings.Fields(typed), ""))
	if len(typed) != len(c.At) {
		return false
	}
	for i, p := range c.At {
		if p < 1 || p > len(s) || s[p-1] != typed[i] {
			return false
		}
	}
	return true
}

// Kit is what the emergency kit says besides the key.
type Kit struct {
	Created time.Time
	Machine string // the computer's name
	Vault   string // where the vault is on it
}

// WriteKit writes the emergency kit of id: one A4 page with the key as
// text and as a QR code, the date, the machine, and what to do on a new
// machine.
func WriteKit(w io.Writer, id *age.X25519Identity, k Kit) error {
	png, err := qr.Encode(id.String(), 400)
	if err != nil {
		return fmt.Errorf("draw the kit's QR code: %w", err)
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Countersign emergency kit", true)
	pdf.SetCreator("Countersign", true)
	pdf.SetCreationDate(k.Created)
	pdf.SetModificationDate(k.Created)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(false, 10)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("")

	pdf.SetFont("Helvetica", "B", 22)
	pdf.CellFormat(0, 12, "Countersign emergency kit", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	pdf.MultiCell(0, 6, tr(fmt.Sprintf("Made %s on %s. Keep this page somewhere safe and private, away from the computer: "+
		"with it, anyone can open your authenticator codes and your backups.", k.Created.UTC().Format("2 January 2006, 15:04 UTC"), k.Machine)), "", "L", false)
	pdf.Ln(4)

	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(0, 8, "Your recovery key", "", 1, "L", false, 0, "")
	pdf.SetFont("Courier", "B", 13)
	pdf.MultiCell(0, 7, Groups(id), "1", "L", false)
	pdf.Ln(3)
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("key", opt, bytes.NewReader(png))
	if pdf.Err() {
		return pdf.Error()
	}
	y := pdf.GetY()
	pdf.ImageOptions("key", 20, y, 60, 60, false, opt, 0, "")
	pdf.SetXY(85, y)
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, tr("The same key as a QR code: Countersign reads it from a photo or scan of this page "+
		"(\"Scan the kit from a picture...\") or from this page open on the screen (\"Scan the kit on the screen\"), "+
		"so there is nothing to type."), "", "L", false)
	pdf.SetXY(20, y+64)

	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(0, 8, "On a new computer", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	steps := []string{
		"Install Countersign and copy your accounts' folder back (" + k.Vault + " on this computer), or keep the folder your backups go to at hand.",
		"Start Countersign. When it says the key of your accounts is not in this computer's keyring, choose \"Use the recovery key\" and type the key above or scan the QR code. " +
			"On the command line: countersign recovery unlock.",
		"Countersign puts the key into the new keyring: the next start opens as usual.",
		"No accounts' folder? Restore the newest backup: \"Restore from backup...\" in Settings, or countersign restore --key-file KEY.txt countersign-....age. " +
			"The standard age tool opens a backup too: age -d -i KEY.txt FILE.age shows every account as JSON, with its otpauth:// link.",
	}
	for i, s := range steps {
		pdf.MultiCell(0, 6, tr(fmt.Sprintf("%d. %s", i+1, s)), "", "L", false)
		pdf.Ln(1)
	}
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "I", 9)
	pdf.MultiCell(0, 5, tr("Made a new kit? Only the newest one opens your accounts; destroy the older ones. "+
		"Backups keep opening with the key they were made for."), "", "L", false)
	if pdf.Err() {
		return pdf.Error()
	}
	return pdf.Output(w)
}
