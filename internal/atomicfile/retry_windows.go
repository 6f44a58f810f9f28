package atomicfile

import (
	"errors"
	"time"

	"golang.org/x/sys/windows"
)

// retryFor is how long an operation is tried again while another process
// has the file in the way: Windows refuses to replace a file that any
// handle holds without delete sharing (Go's os.ReadFile in another
// Countersign reading the vault opens it so, for the moment a read takes),
// and refuses to open a file while it is being replaced. Longer means
// something holds the file for good (an antivirus, an editor): the error
// then says so.
const retryFor = 2 * time.Second

// retry runs op, and again while Windows says the file is in use
// (ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION), as Go's own tools do.
func retry(op func() error) error {
	deadline := time.Now().Add(retryFor)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := op()
		if err == nil || !inUse(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func inUse(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
