// Package atomicfile writes files so that a reader sees the old contents or
// the new, never a mix, and a crash leaves one or the other: a temporary
// file in the same directory, fsync, rename over the target, fsync of the
// directory. It does not lock; callers that need mutual exclusion take a lock.
// On Windows, where a file another process has open cannot be replaced and
// a file being replaced cannot be opened, WriteFile and ReadFile wait a
// moment for the other process.
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
	if err := retry(func() error { return os.Rename(tmp, path) }); err != nil {
		return err
	}
	return syncDir(dir)
}

// ReadFile is os.ReadFile of a file WriteFile replaces: on Windows it waits
// a moment while another process replaces it.
func ReadFile(path string) ([]byte, error) {
	var data []byte
	err := retry(func() error {
		var err error
		data, err = os.ReadFile(path)
		return err
	})
	return data, err
}
