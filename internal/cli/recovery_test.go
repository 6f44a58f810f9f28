package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/testkit"
)

const otherURI = "otpauth://totp/GitHub:ada?secret=JBSWY3DPEHPK3PXP&issuer=GitHub"

// The emergency kit and a backup bring every account to a machine that
// never saw the vault; the recovery key opens the vault when the keyring
// lost its key.
func TestRecoveryKitBackupRestore(t *testing.T) {
	h := newHarness(t)
	h.mustRun("add", rfcURI)
	h.mustRun("add", otherURI)
	if _, _, err := h.run("", "backup", "now"); err == nil || !strings.Contains(err.Error(), "set up a recovery key first") {
		t.Errorf("backup without a recovery key: %v", err)
	}
	kit := filepath.Join(t.TempDir(), "kit.pdf")
	key := strings.TrimSpace(h.mustRun("recovery", "setup", "--kit", kit))
	if !strings.HasPrefix(key, "AGE-SECRET-KEY-1") {
		t.Fatalf("recovery setup printed %q, want the key", key)
	}
	if fi, err := os.Stat(kit); err != nil || fi.Size() < 1000 || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 { // Windows has no Unix modes
		t.Fatalf("the kit: %v, %v", fi, err)
	}
	if _, _, err := h.run("", "recovery", "setup", "--kit", kit); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a kit over a file: %v", err)
	}
	if out := h.mustRun("recovery", "status"); !strings.Contains(out, "recovery key set up") {
		t.Errorf("status: %q", out)
	}
	backupPath := strings.TrimSpace(h.mustRun("backup", "now"))
	if filepath.Dir(backupPath) != filepath.Join(h.home, "backups") {
		t.Errorf("backup written to %s, want the vault folder's backups/", backupPath)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(keyFile, []byte(strings.ToLower(key)+"\n"), 0o600) // typed from the kit in lower case
	codes := h.mustRun("code", "--json", "--at", "59")

	// A new machine: another home, another keyring.
	n := newHarness(t)
	if _, errOut, err := n.run("", "restore", "--key-file", keyFile, backupPath); err != nil || !strings.Contains(errOut, "restored 2 accounts") {
		t.Fatalf("restore: %v %s", err, errOut)
	}
	if got := n.mustRun("code", "--json", "--at", "59"); !sameCodes(got, codes) {
		t.Errorf("codes after restoring:\n%s\nwant:\n%s", got, codes)
	}
	// Again over the same vault: nothing doubled, nothing removed.
	n.mustRun("add", "otpauth://totp/Mine:only?secret=JBSWY3DPEHPK3PXQ")
	if _, errOut, err := n.run("", "restore", "--key-file", keyFile, backupPath); err != nil || !strings.Contains(errOut, "restored 0 accounts; 2 already in the vault") {
		t.Errorf("restore again: %v %s", err, errOut)
	}
	if out := n.mustRun("list"); strings.Count(out, "\n") != 4 { // a heading and 3 accounts
		t.Errorf("after restoring twice: %q, want 3 accounts", out)
	}

	// The same home with an empty keyring: the vault says how to open it,
	// and the recovery key does, putting the key back in the keyring.
	h.keys = testkit.Keyring(t)
	if _, _, err := h.run("", "list"); err == nil || !strings.Contains(err.Error(), "countersign recovery unlock") {
		t.Fatalf("list with the key gone: %v, want the way to unlock", err)
	}
	other := newHarness(t)
	otherKey := strings.TrimSpace(other.mustRun("recovery", "setup"))
	otherFile := filepath.Join(t.TempDir(), "other.txt")
	os.WriteFile(otherFile, []byte(otherKey), 0o600)
	if _, _, err := h.run("", "recovery", "unlock", "--key-file", otherFile); err == nil || !strings.Contains(err.Error(), "not the one of the vault") {
		t.Errorf("unlock with another vault's key: %v", err)
	}
	h.terminal, h.typed = true, key
	if out := h.mustRun("recovery", "unlock"); !strings.Contains(out, "2 accounts") {
		t.Errorf("unlock: %q", out)
	}
	h.terminal = false
	if got := h.mustRun("code", "--json", "--at", "59"); !sameCodes(got, codes) {
		t.Errorf("codes after unlocking: %s", got)
	}
}

// sameCodes compares two code --json outputs, ids aside.
func sameCodes(a, b string) bool {
	strip := func(s string) string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			if !strings.Contains(f, `"id"`) {
				out = append(out, f)
			}
		}
		return strings.Join(out, ",")
	}
	return strip(a) == strip(b)
}

// lockedKeyring is a Secret Service that is there but locked.
type lockedKeyring struct{ testkit.Secrets }

func (lockedKeyring) Get(string) (string, error) {
	return "", fmt.Errorf("%w: the Secret Service is locked", keyring.ErrUnavailable)
}
func (lockedKeyring) Set(string, string) error {
	return fmt.Errorf("%w: the Secret Service is locked", keyring.ErrUnavailable)
}

// A locked keyring points at the recovery key too, which opens the vault
// for that run (the key cannot go back into a locked keyring).
func TestRecoveryUnlockWithALockedKeyring(t *testing.T) {
	h := newHarness(t)
	h.mustRun("add", rfcURI)
	key := strings.TrimSpace(h.mustRun("recovery", "setup"))
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(keyFile, []byte(key), 0o600)
	h.keys = lockedKeyring{h.keys}
	if _, _, err := h.run("", "list"); err == nil || !strings.Contains(err.Error(), "countersign recovery unlock") {
		t.Fatalf("list with the keyring locked: %v, want the way to unlock", err)
	}
	out, errOut, err := h.run("", "recovery", "unlock", "--key-file", keyFile)
	if err != nil || !strings.Contains(out, "opens with the recovery key: 1 account; its key is not in the keyring") ||
		!strings.Contains(errOut, "the next start needs the recovery key again") {
		t.Errorf("unlock with the keyring locked: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
}
