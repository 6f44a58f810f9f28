package single

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/windows"
)

// SocketPath is, on Windows, the named pipe the window of dataDir listens
// on: \\.\pipe\countersign-<the user's SID>-<a hash of dataDir>, so that
// each user, and each data folder, is a window of its own. runtimeDir is
// not used (pipes live in the pipe file system, not in a folder).
func SocketPath(_, dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	// Windows paths are case-insensitive: C:\Users\Ada and c:\users\ada are
	// one folder, and one window.
	sum := sha256.Sum256([]byte(strings.ToLower(abs)))
	return `\\.\pipe\countersign-` + sid.String() + "-" + hex.EncodeToString(sum[:6]), nil
}

// pipeSDDL admits the user alone (a protected DACL with one entry, so
// nothing is inherited), and names the user as the owner even when an
// elevated token would make the Administrators group the default owner:
// dial checks that owner.
func pipeSDDL(sid *windows.SID) string {
	return "O:" + sid.String() + "D:P(A;;GA;;;" + sid.String() + ")"
}

// Claim makes this process the window of path, or hands req to the process
// that is (ErrRunning). A pipe goes with the last process holding it, so no
// dead window's pipe is ever left to take over.
func Claim(path string, req Request) (*Instance, error) {
	sid, err := userSID()
	if err != nil {
		return nil, err
	}
	// Starts take turns, as on Unix: two starts at one moment must not
	// both find no pipe and both listen.
	lock := flock.New(filepath.Join(os.TempDir(), strings.TrimPrefix(path, `\\.\pipe\`)+".lock"))
	if err := lock.Lock(); err != nil {
		return nil, fmt.Errorf("taking the start lock: %w", err)
	}
	defer lock.Close()
	for attempt := 0; attempt < 3; attempt++ {
		if err := send(path, req); err == nil {
			return nil, ErrRunning
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("asking the running window: %w", err)
		}
		ln, err := listenPipe(path, pipeSDDL(sid))
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			continue // another start was quicker: ask it
		}
		if err != nil {
			return nil, fmt.Errorf("listening for later starts: %w", err)
		}
		in := &Instance{ln: ln, cleanup: func() {}, requests: make(chan Request, 8), done: make(chan struct{})}
		go in.serve()
		return in, nil
	}
	return nil, errors.New("another Countersign is starting at the same moment: try again")
}

// errNotMine means the pipe was made by someone else: pipe names are one
// namespace for every user of the machine.
var errNotMine = errors.New("is held by another user")

// dial opens the window's pipe and checks that this user made it, so that
// a pipe another user made first under the name gets no request and does
// not stop this window opening silently.
func dial(path string, timeout time.Duration) (conn, error) {
	c, err := dialPipe(path, timeout)
	if err != nil {
		return nil, err
	}
	if err := ownedByUser(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s %w: sign out the other users or restart Windows, then try again", path, err)
	}
	return c, nil
}

// ownedByUser reports errNotMine unless the owner of the pipe f is this
// process's user.
func ownedByUser(f *os.File) error {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_KERNEL_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("reading the owner of the pipe: %w", err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("reading the owner of the pipe: %w", err)
	}
	me, err := userSID()
	if err != nil {
		return err
	}
	if owner == nil || !owner.Equals(me) {
		return errNotMine
	}
	return nil
}

// userSID is the SID of the user this process runs as.
func userSID() (*windows.SID, error) {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("finding who this process runs as: %w", err)
	}
	return u.User.Sid, nil
}
