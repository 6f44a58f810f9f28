//go:build !windows

package atomicfile

// retry runs op once: elsewhere than on Windows, a file others have open is
// read and replaced as any other.
func retry(op func() error) error { return op() }
