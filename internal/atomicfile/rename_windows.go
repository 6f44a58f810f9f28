package atomicfile

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// renameFor is how long rename keeps trying while another process has the
// target open: Windows refuses to replace a file that any handle holds
// without delete sharing, and Go's os.ReadFile (another Countersign reading
// the vault while this one writes it) opens it so, for the moment a read
// takes. Longer means something holds the file for good (an antivirus, an
// editor): the error then says so.
const renameFor = 2 * time.Second

// rename is os.Rename, tried again while Windows says the target is in use
// (ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION), as Go's own tools do.
func rename(from, to string) error {
	deadline := time.Now().Add(renameFor)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := os.Rename(from, to)
		if err == nil || !inUse(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func inUse(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
