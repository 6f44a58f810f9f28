//go:build windows

package atomicfile

// syncDir is a no-op: Windows cannot fsync a directory, and MoveFileEx with
// write-through (used by os.Rename) is already durable.
func syncDir(string) error { return nil }
