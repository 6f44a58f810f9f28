//go:build !windows

package atomicfile

import "os"

// rename is os.Rename: elsewhere than on Windows, a file others have open
// is replaced as any other.
func rename(from, to string) error { return os.Rename(from, to) }
