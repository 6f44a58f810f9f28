//go:build chaos

package chaos

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// mountTmpfs mounts a tmpfs of size on a directory of the test's and
// returns it; the test's end unmounts it.
func mountTmpfs(t *testing.T, size string) (string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("mount -t tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir, nil
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,%s: %v: %s", opts, err, out)
	}
}

// fill writes a file in dir until the file system is full; it returns its
// path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 512)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// TestCompanionVaultDiskFull: the vault's directory fills up, then turns
// read-only. Adding, editing and removing accounts and taking a HOTP code
// fail with an error that says so; the old vault is intact (reopened and
// compared account by account); no temporary file is left; codes can still
// be read; once there is room again, writing works.
func TestCompanionVaultDiskFull(t *testing.T) {
	needKeyringSession(t)
	row := Begin(t, "C3. companion: vault's disk full, then read-only")
	row.Done = "vault of 12 accounts on a 256 KiB tmpfs; the tmpfs filled up; add, edit, remove and a HOTP code, in-process and with the countersign CLI; room made again; then the tmpfs remounted read-only and the same again"

	home, err := mountTmpfs(t, "256k")
	if err != nil {
		Skip(t, row, err.Error())
	}
	keys := keyring.New(keyring.Service).WithTimeout(20 * time.Second)
	v, err := vault.Open(home, vault.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 11 {
		k := testKey(fmt.Sprintf("Issuer %d", i), fmt.Sprintf("user%d@example.com", i), "JBSWY3DPEHPK3PXP"+strings.Repeat("A", i%4*8))
		if _, _, err := v.Add(vault.Account{Key: k, Tags: []string{"work"}, Notes: "note " + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	hotp := testKey("Bank", "counter", "GEZDGNBVGY3TQOJQ")
	hotp.Type, hotp.Counter = otp.HOTP, 7
	added, _, err := v.Add(vault.Account{Key: hotp})
	if err != nil {
		t.Fatal(err)
	}
	hotpID := added[0].ID
	before := v.Accounts()
	file := snapshot(t, home)[vault.FileName]
	var saw, lost []string

	// tryWrites does every kind of write, each expected to fail saying why.
	tryWrites := func(fault, want string) {
		t.Helper()
		var msgs []string
		check := func(what string, err error) {
			t.Helper()
			switch {
			case err == nil:
				t.Errorf("%s: %s succeeded", fault, what)
				lost = append(lost, fault+": "+what+" did not fail, but where did it write?")
			case !strings.Contains(err.Error(), want):
				t.Errorf("%s: %s: %v, want it to say %q", fault, what, err, want)
				lost = append(lost, fault+": "+what+"'s error does not say why")
			}
			if err != nil {
				msgs = append(msgs, err.Error())
			}
		}
		_, _, err := v.Add(vault.Account{Key: testKey("New", "new", "KRSXG5CTMVRXEZLU")})
		check("add", err)
		_, err = v.Edit(before[0].ID, func(a *vault.Account) error { a.Name = "renamed"; return nil })
		check("edit", err)
		_, err = v.Remove(before[1].ID)
		check("remove", err)
		_, _, err = v.NextHOTP(hotpID)
		check("HOTP code", err)
		cliAdd := runCLI(t, home, "add", "otpauth://totp/Example:cli?secret=KRSXG5CTMVRXEZLU&issuer=Example")
		if cliAdd.code != 1 || !strings.Contains(cliAdd.stderr, want) {
			t.Errorf("%s: countersign add: exit %d, %q", fault, cliAdd.code, cliAdd.stderr)
			lost = append(lost, fault+": countersign add")
		}
		cliRm := runCLI(t, home, "remove", before[2].ID)
		if cliRm.code != 1 || !strings.Contains(cliRm.stderr, want) {
			t.Errorf("%s: countersign remove: exit %d, %q", fault, cliRm.code, cliRm.stderr)
			lost = append(lost, fault+": countersign remove")
		}
		// Codes are still shown: reading needs no room.
		at := time.Unix(1_800_000_000, 0)
		wantCode, _ := otp.Code(before[3].Key, at)
		code := runCLI(t, home, "code", "--at", fmt.Sprint(at.Unix()), before[3].ID)
		if code.code != 0 || strings.TrimSpace(code.stdout) != wantCode {
			t.Errorf("%s: countersign code: exit %d, %q %q, want %s", fault, code.code, code.stdout, code.stderr, wantCode)
			lost = append(lost, fault+": codes could not be read")
		}
		// The old vault, byte for byte, in memory and reopened.
		if snapshot(t, home)[vault.FileName] != file {
			lost = append(lost, fault+": the vault file changed")
		}
		if !reflect.DeepEqual(v.Accounts(), before) {
			lost = append(lost, fault+": the open vault's accounts changed")
		}
		v2, err := vault.Open(home, vault.Options{Keys: keys})
		if err != nil {
			lost = append(lost, fault+": the vault does not open again: "+err.Error())
		} else if !reflect.DeepEqual(v2.Accounts(), before) {
			lost = append(lost, fault+": the reopened vault's accounts differ")
		}
		if tmp := tempFiles(t, home); len(tmp) > 0 {
			lost = append(lost, fault+": temporary files left: "+strings.Join(tmp, ", "))
		}
		saw = append(saw, fmt.Sprintf("%s: every write refused (%q; the CLI: %q), codes still shown", fault, msgs[0], cliAdd.stderr))
	}

	filler := fill(t, home)
	tryWrites("disk full", "no space")
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Add(vault.Account{Key: testKey("New", "after-full", "KRSXG5CTMVRXEZLU")}); err != nil {
		t.Errorf("adding once there is room: %v", err)
		lost = append(lost, "writing once there was room again")
	}
	before = v.Accounts()
	file = snapshot(t, home)[vault.FileName]
	saw = append(saw, "with room again the next add worked")

	remount(t, home, "ro")
	tryWrites("read-only", "read-only")
	remount(t, home, "rw")
	if _, _, err := v.Add(vault.Account{Key: testKey("New", "after-ro", "KRSXG5CTMVRXEZLU")}); err != nil {
		t.Errorf("adding once writable: %v", err)
		lost = append(lost, "writing once writable again")
	}

	row.Saw = strings.Join(saw, "; ")
	if len(lost) > 0 {
		row.Lost = strings.Join(lost, "; ")
		return
	}
	row.Lost = Nothing
}
