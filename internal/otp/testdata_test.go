package otp

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata is the repository's testdata directory for this package.
var testdata = filepath.Join("..", "..", "testdata", "otp")

// readJSON decodes testdata/otp/name into v.
func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// readLines returns the lines of testdata/otp/name, leaving out blank lines
// and lines starting with '#'.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// mustSecret decodes a base32 secret written in a test.
func mustSecret(t testing.TB, s string) []byte {
	t.Helper()
	b, err := DecodeSecret(s)
	if err != nil {
		t.Fatalf("DecodeSecret(%q): %v", s, err)
	}
	return b
}
