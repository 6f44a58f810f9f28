//go:build !windows

package vault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// userDataDir is countersign/ under $XDG_DATA_HOME, or
// ~/.local/share/countersign.
func userDataDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "countersign"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		home, err = os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the data directory: %w (set COUNTERSIGN_HOME)", err)
		}
	}
	if home == "" {
		return "", errors.New("find the data directory: no home directory (set COUNTERSIGN_HOME)")
	}
	return filepath.Join(home, ".local", "share", "countersign"), nil
}

// diskFull reports whether err says the disk (or the user's quota) is full.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
