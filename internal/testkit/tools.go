package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// Tool finds a program a test checks its output with (the age tool,
// poppler's pdftotext). Without it the test skips, saying what to install,
// unless COUNTERSIGN_TEST_TOOLS=1 (make test) says the machine must have it.
func Tool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("COUNTERSIGN_TEST_TOOLS") == "1" {
		tb.Fatalf("%s not found and COUNTERSIGN_TEST_TOOLS=1: apt-get install %s", name, pkg)
	}
	tb.Skipf("%s not installed (apt-get install %s); set COUNTERSIGN_TEST_TOOLS=1 to fail instead", name, pkg)
	return ""
}
