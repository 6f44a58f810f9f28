// Package single keeps one window per user and data directory: the first
// start listens on a Unix socket in the user's runtime directory; a later
// start hands its request (which screen to show) to it and exits.
package single

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrRunning means another process holds the window: the request went to
// it.
var ErrRunning = errors.New("countersign is running already: its window was asked to show")

// Request is what a later start asks of the running window.
type Request struct {
	Show string `json:"show"` // the screen to show, "" for the window as it is
}

// Instance is the claim of the process that holds the window.
type Instance struct {
	ln       net.Listener
	path     string
	requests chan Request
	done     chan struct{}
	once     sync.Once
}

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
		in := &Instance{ln: ln, path: path, requests: make(chan Request, 8), done: make(chan struct{})}
		go in.serve()
		return in, nil
	}
	return nil, errors.New("another Countersign is starting at the same moment: try again")
}

// Requests delivers what later starts ask.
func (in *Instance) Requests() <-chan Request { return in.requests }

// Close stops listening and removes the socket.
func (in *Instance) Close() error {
	var err error
	in.once.Do(func() {
		close(in.done)
		err = in.ln.Close()
		_ = os.Remove(in.path)
	})
	return err
}

func (in *Instance) serve() {
	for {
		c, err := in.ln.Accept()
		if err != nil {
			select {
			case <-in.done:
				return
			default:
			}
			time.Sleep(100 * time.Millisecond) // e.g. too many open files: do not spin
			continue
		}
		go in.read(c)
	}
}

// read takes one request (a line of JSON, at most 1 KiB) and says "ok".
func (in *Instance) read(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(&limited{r: c, n: 1024}).ReadBytes('\n')
	var req Request
	if err != nil || json.Unmarshal(line, &req) != nil {
		return
	}
	select {
	case in.requests <- req:
	case <-in.done:
		return
	}
	_, _ = c.Write([]byte("ok\n"))
}

// send hands req to the process listening on path and waits for its "ok".
func send(path string, req Request) error {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return err
	}
	ack, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || ack != "ok\n" {
		return fmt.Errorf("the running window did not answer: %v", err)
	}
	return nil
}

type limited struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request too long")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}
