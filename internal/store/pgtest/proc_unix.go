//go:build unix

package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

var (
	interruptSignal = syscall.SIGINT  // PostgreSQL's fast shutdown
	immediateSignal = syscall.SIGQUIT // its immediate shutdown
)

// osUser is the account the server runs as when the tests run as root
// (PostgreSQL refuses root); nil means the current user.
type osUser struct{ uid, gid uint32 }

func serverOwner() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, errors.New("running as root and there is no postgres OS user to run PostgreSQL as (it refuses root); install the postgresql package: apt-get install postgresql")
		}
		return nil, fmt.Errorf("look up the postgres OS user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres OS user: %w", err)
	}
	return &osUser{uid: uint32(uid), gid: uint32(gid)}, nil
}

func (u *osUser) chown(path string) error {
	if u == nil {
		return nil
	}
	if err := os.Chown(path, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("give %s to the postgres OS user: %w", path, err)
	}
	return nil
}
