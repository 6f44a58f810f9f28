package backup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

var at = time.Date(2026, 12, 7, 8, 15, 0, 0, time.UTC)

func accounts() []vault.Account {
	return []vault.Account{
		{Key: otp.Key{Type: otp.TOTP, Issuer: "GitHub", Name: "ada", Secret: []byte("12345678901234567890"), Digits: 6, Period: 30},
			Tags: []string{"work"}, Pinned: true, Notes: "the laptop", Created: at.Add(-time.Hour), Modified: at},
		{Key: otp.Key{Type: otp.HOTP, Issuer: "Bank", Name: "ada", Secret: []byte("12345678901234567890"), Digits: 8, Counter: 7, Algorithm: otp.SHA256},
			Created: at, Modified: at},
		{Key: otp.Key{Type: otp.TOTP, Issuer: "Steam", Name: "ada", Secret: []byte("steam-secret-bytes!!"), Encoder: otp.EncoderSteam},
			Created: at, Modified: at},
	}
}

// The standard age tool opens a backup with the recovery key, and the
// plaintext is the documented JSON with every account and its URI.
func TestAgeToolOpensABackup(t *testing.T) {
	ageTool := testkit.Tool(t, "age", "age")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := Write(filepath.Join(dir, "backups"), id.Recipient().String(), accounts(), at)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "countersign-20261207T081500Z.age" {
		t.Errorf("file name %s", filepath.Base(path))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, %v; want 0600", fi.Mode(), err)
	}
	keyFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ageTool, "-d", "-i", keyFile, path).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	want, _ := Marshal(accounts(), at)
	if !bytes.Equal(out, want) {
		t.Errorf("age -d gave:\n%s\nwant:\n%s", out, want)
	}
	for _, s := range []string{`"format": "countersign-accounts"`, `"uri": "otpauth://totp/GitHub:ada?`, `"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"`, `"counter": 7`, `"encoder": "steam"`} {
		if !strings.Contains(string(out), s) {
			t.Errorf("the plaintext lacks %s", s)
		}
	}
}

// Read gives back every account as it was, and the codes are the same.
func TestReadRoundTrip(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	path, err := Write(t.TempDir(), id.Recipient().String(), accounts(), at)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	got, err := Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	want := accounts()
	if len(got) != len(want) {
		t.Fatalf("%d accounts, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i].Key.Normalize()
		if !got[i].SameAs(want[i]) || got[i].Counter != w.Counter || got[i].Digits != w.Digits || got[i].Algorithm != w.Algorithm ||
			got[i].Encoder != w.Encoder || got[i].Notes != want[i].Notes || got[i].Pinned != want[i].Pinned || !got[i].Created.Equal(want[i].Created) {
			t.Errorf("account %d: got %+v, want %+v", i, got[i], want[i])
		}
		if w.Type == otp.TOTP {
			a, _ := otp.Code(w, at)
			b, _ := otp.Code(got[i].Key, at)
			if a != b {
				t.Errorf("account %d: code %s, want %s", i, b, a)
			}
		}
	}
	other, _ := age.GenerateX25519Identity()
	f2, _ := os.Open(path)
	defer f2.Close()
	if _, err := Read(f2, other); err == nil || !strings.Contains(err.Error(), "another recovery key") {
		t.Errorf("another key: %v", err)
	}
	if _, err := Read(strings.NewReader("not age at all"), id); err == nil || !strings.Contains(err.Error(), "not an age-encrypted backup") {
		t.Errorf("not a backup: %v", err)
	}
}

// A bad entry refuses the whole file.
func TestUnmarshalRefusesBadEntries(t *testing.T) {
	for _, bad := range []string{
		`{"format":"countersign-accounts","version":2,"accounts":[]}`,
		`{"format":"aegis","version":1,"accounts":[]}`,
		`{"format":"countersign-accounts","version":1,"accounts":[{"type":"totp","name":"a","secret":"!!"}]}`,
		`{"format":"countersign-accounts","version":1,"accounts":[{"type":"totp","name":"a","secret":"GEZDGNBV","digits":3}]}`,
	} {
		if got, err := Unmarshal([]byte(bad)); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, got)
		}
	}
}

// Prune keeps the newest backups and touches nothing else.
func TestPruneKeepsTheNewest(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	for i := range 5 {
		if _, err := Write(dir, id.Recipient().String(), accounts(), at.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "countersign-notes.txt")
	os.WriteFile(other, []byte("mine"), 0o600)
	gone, err := Prune(dir, 2)
	if err != nil || len(gone) != 3 {
		t.Fatalf("Prune: %v, %v", gone, err)
	}
	left, _ := List(dir)
	if len(left) != 2 || !left[0].At.Equal(at.Add(4*time.Hour)) || !left[1].At.Equal(at.Add(3*time.Hour)) {
		t.Errorf("left %+v", left)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Prune removed a file that is not a backup: %v", err)
	}
	if _, err := Prune(dir, 0); err == nil {
		t.Error("Prune(0) accepted")
	}
}
