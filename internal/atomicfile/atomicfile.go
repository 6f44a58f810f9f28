// Package atomicfile writes files so that a reader sees the old contents or
// the new, never a mix, and a crash leaves one or the other: a temporary
// file in the same directory, fsync, rename over the target, fsync of the
// directory. It does not lock; callers that need mutual exclusion take a lock.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, created with mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}
