//go:build !windows

package single

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// SocketPath is where the window of dataDir listens: in runtimeDir
// ($XDG_RUNTIME_DIR), else in a private folder of the temporary directory,
// named after dataDir so that two data directories are two windows.
func SocketPath(runtimeDir, dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	name := "countersign-" + hex.EncodeToString(sum[:6]) + ".sock"
	if runtimeDir == "" {
		runtimeDir = filepath.Join(os.TempDir(), fmt.Sprintf("countersign-%d", os.Getuid()))
		if err := os.MkdirAll(runtimeDir, 0o700); err != nil {
			return "", err
		}
		if fi, err := os.Lstat(runtimeDir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ownedByMe(fi) {
			return "", fmt.Errorf("%s is not a private folder of this user: remove it", runtimeDir)
		}
	}
	return filepath.Join(runtimeDir, name), nil
}

// Claim makes this process the window of path, or hands req to the process
// that is (ErrRunning). A socket left by a process that died is taken over.
func Claim(path string, req Request) (*Instance, error) {
	unlock, err := lock(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("taking the start lock: %w", err)
	}
	defer unlock()
	for attempt := 0; attempt < 3; attempt++ {
		if err := send(path, req); err == nil {
			return nil, ErrRunning
		} else if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("asking the running window: %w", err)
		}
		_ = os.Remove(path) // nobody listens: a socket of a process that died
		ln, err := net.Listen("unix", path)
		if errors.Is(err, syscall.EADDRINUSE) {
			continue // another start was quicker: ask it
		}
		if err != nil {
			return nil, fmt.Errorf("listening for later starts: %w", err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			ln.Close()
			return nil, err
		}
		in := &Instance{ln: unixListener{ln}, cleanup: func() { _ = os.Remove(path) }, requests: make(chan Request, 8), done: make(chan struct{})}
		go in.serve()
		return in, nil
	}
	return nil, errors.New("another Countersign is starting at the same moment: try again")
}

func dial(path string, timeout time.Duration) (conn, error) {
	return net.DialTimeout("unix", path, timeout)
}

type unixListener struct{ net.Listener }

func (l unixListener) Accept() (conn, error) { return l.Listener.Accept() }
