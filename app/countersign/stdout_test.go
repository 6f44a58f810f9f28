package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runToDevFull runs the binary with stdout on /dev/full, which refuses every
// write with ENOSPC, and returns its exit status and stderr.
func runToDevFull(t *testing.T, home string, args ...string) (int, string) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "COUNTERSIGN_HOME="+home)
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = full, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), errOut.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, errOut.String()
}

func TestCLIStdoutFull(t *testing.T) {
	code, stderr := runToDevFull(t, t.TempDir(), "version")
	if code != 1 || !strings.HasPrefix(stderr, "countersign: writing to stdout: ") || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("countersign version > /dev/full: exit %d, stderr %q; want exit 1 and countersign: writing to stdout: … no space left on device", code, stderr)
	}
}

// TestCLIHOTPCodeKeptWhenStdoutFull: a HOTP code that could not be written
// is not spent; the next code command shows it.
func TestCLIHOTPCodeKeptWhenStdoutFull(t *testing.T) {
	needKeyring(t)
	home := t.TempDir()
	id, _, _ := strings.Cut(ok(t, home, "add", "otpauth://hotp/RFC:4226?secret="+rfcBase32+"&counter=0"), "\t")
	if code, stderr := runToDevFull(t, home, "code", id); code != 1 || !strings.Contains(stderr, "writing to stdout") {
		t.Errorf("countersign code %s > /dev/full: exit %d, stderr %q; want exit 1, writing to stdout", id, code, stderr)
	}
	// RFC 4226 Appendix D: counter 0 → 755224.
	if got := ok(t, home, "code", id); got != "755224\n" {
		t.Errorf("code %s after a write to /dev/full = %q, want 755224, the code that was not shown", id, got)
	}
}
