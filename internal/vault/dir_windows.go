package vault

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"
)

// userDataDir is Countersign\ in the user's roaming application data:
// %APPDATA%, or, when that is unset or not absolute, the folder Windows
// knows as RoamingAppData.
func userDataDir(getenv func(string) string) (string, error) {
	dir := getenv("APPDATA")
	if dir == "" || !filepath.IsAbs(dir) {
		var err error
		dir, err = windows.KnownFolderPath(windows.FOLDERID_RoamingAppData, windows.KF_FLAG_DEFAULT)
		if err != nil {
			return "", fmt.Errorf("find the data folder: APPDATA is not set and Windows does not say where application data goes (%w); set COUNTERSIGN_HOME", err)
		}
	}
	return filepath.Join(dir, "Countersign"), nil
}

// diskFull reports whether err says the disk (or the user's quota) is full:
// Windows' own numbers, and Go's ENOSPC and EDQUOT for what says it in
// POSIX terms.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
