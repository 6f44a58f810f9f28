package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteFileWhileAReaderHasItOpen: Windows refuses to replace a file
// another handle has open (as os.ReadFile in another process holds it for
// a moment); WriteFile waits for the reader instead of failing.
func TestWriteFileWhileAReaderHasItOpen(t *testing.T) {
	dir, err := os.MkdirTemp("", "atomicfile")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir) // not RemoveAll: Wine 8 refuses Go's RemoveAll
	path := filepath.Join(dir, "vault")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		reader.Close()
	}()
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatalf("WriteFile while a reader had the file open: %v", err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Fatalf("after WriteFile: %q, %v", got, err)
	}
}
