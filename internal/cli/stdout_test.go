package cli

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullWriter fails every write as /dev/full does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/full", Err: syscall.ENOSPC}
}

// runTo runs one command of h's vault with stdout going to w, and returns
// stderr and the error.
func runTo(h *harness, w io.Writer, args ...string) (string, error) {
	var errOut strings.Builder
	env := Env{
		Stdin:        strings.NewReader(""),
		Stdout:       w,
		Stderr:       &errOut,
		Getenv:       func(k string) string { return map[string]string{"COUNTERSIGN_HOME": h.home}[k] },
		Now:          func() time.Time { return h.now },
		Keys:         h.keys,
		IsTerminal:   func() bool { return false },
		ReadPassword: func(string) ([]byte, error) { return nil, errors.New("no terminal") },
		Version:      "test",
	}
	err := Run(env, args)
	return errOut.String(), err
}

// wantStdoutError checks that a command whose stdout failed says so.
func wantStdoutError(t *testing.T, args []string, err error) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "writing to stdout: ") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("countersign %s with stdout full: got %v, want writing to stdout: … no space left on device", strings.Join(args, " "), err)
	}
	if errors.Is(err, ErrUsage) || IsHelp(err) {
		t.Errorf("countersign %s with stdout full: %v would exit 2 or 0, want 1", strings.Join(args, " "), err)
	}
}

// TestStdoutFull runs every command that prints a result with a stdout that
// takes nothing: each must fail, saying that stdout failed.
func TestStdoutFull(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("add", rfcURI)
	id, _, _ := strings.Cut(out, "\t")
	exportFile := h.home + "/export.txt"
	for _, args := range [][]string{
		{"help"},
		{"version"},
		{"list"},
		{"list", "--json"},
		{"code", "exam"},
		{"code", "--json", "exam"},
		{"code"},
		{"export", "--format", "uris", "-"},
		{"qr", "encode", id},
		{"qr", "encode", "--out", exportFile, id},
		{"add", "otpauth://totp/Other:bob?secret=" + rfcBase32 + "&issuer=Other"},
		{"remove", id},
	} {
		_, err := runTo(h, fullWriter{}, args...)
		wantStdoutError(t, args, err)
	}
}

// TestHOTPCodeNotSpentWhenStdoutFails: a HOTP counter moves only once its
// code has reached stdout, so the code of a failed write is the next one
// shown.
func TestHOTPCodeNotSpentWhenStdoutFails(t *testing.T) {
	h := newHarness(t)
	out := h.mustRun("add", "otpauth://hotp/RFC:4226?secret="+rfcBase32+"&counter=0")
	id, _, _ := strings.Cut(out, "\t")

	for _, args := range [][]string{{"code", id}, {"code", "--json", id}} {
		_, err := runTo(h, fullWriter{}, args...)
		wantStdoutError(t, args, err)
	}
	// RFC 4226 Appendix D: counter 0 → 755224, counter 1 → 287082.
	if got := h.mustRun("code", id); got != "755224\n" {
		t.Errorf("code %s after two failed writes = %q, want 755224, the code they could not show", id, got)
	}
	var list []struct{ Counter uint64 }
	if err := json.Unmarshal([]byte(h.mustRun("list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if list[0].Counter != 1 {
		t.Errorf("counter after one code shown = %d, want 1", list[0].Counter)
	}
}

// TestDevFull writes to the real /dev/full.
func TestDevFull(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("not on Windows: /dev/full is Linux's (under Wine, drive Z: reaches it)")
	}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close()
	h := newHarness(t)
	out := h.mustRun("add", "otpauth://hotp/RFC:4226?secret="+rfcBase32+"&counter=0")
	id, _, _ := strings.Cut(out, "\t")
	args := []string{"code", id}
	_, err = runTo(h, f, args...)
	wantStdoutError(t, args, err)
	if got := h.mustRun("code", id); got != "755224\n" {
		t.Errorf("code %s after a write to /dev/full = %q, want 755224", id, got)
	}
}
