//go:build !windows

package single

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func socket(t *testing.T) string {
	t.Helper()
	p, err := SocketPath(t.TempDir(), "/home/ada/.local/share/countersign")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSocketIsTheUsersOnly: the socket a window listens on is readable and
// writable by its user alone.
func TestSocketIsTheUsersOnly(t *testing.T) {
	path := socket(t)
	in, err := Claim(path, Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the socket: %v, %v; want mode 0600", fi, err)
	}
}

func TestDeadWindowsSocketIsTakenOver(t *testing.T) {
	path := socket(t)
	// A socket file nobody listens on, as a killed window leaves it.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the dead socket should still be there: %v", err)
	}
	in, err := Claim(path, Request{})
	if err != nil {
		t.Fatalf("claiming over a dead socket: %v", err)
	}
	in.Close()
}

func TestNoRuntimeDirUsesAPrivateFolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p, err := SocketPath("", "/data")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the folder of %s: %v, %v; want 0700", p, fi, err)
	}
	other, _ := SocketPath("", "/other")
	if other == p {
		t.Error("two data directories share one socket")
	}
}
