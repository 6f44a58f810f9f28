package testkit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyTestsImportIt fails when a package other than a test helper (one
// named …test, as approvertest) imports testkit, or when a program links it.
func TestOnlyTestsImportIt(t *testing.T) {
	const self = "github.com/countersign/countersign/internal/testkit"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .Imports " "}}`, "github.com/countersign/countersign/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list printed %d packages; want the whole module", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasSuffix(f[1], "test") {
			continue
		}
		for _, imp := range f[2:] {
			if imp == self {
				t.Errorf("%s imports testkit; only tests and test helpers may", f[0])
			}
		}
	}
	out, err = exec.Command("go", "list", "-deps", "github.com/countersign/countersign/app/...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == self {
			t.Errorf("a program links testkit")
		}
	}
}
