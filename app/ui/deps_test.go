package ui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDriverDependency keeps package ui free of Fyne's app package and of
// OpenGL, so that its tests run with the test driver, without cgo.
func TestNoDriverDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "fyne.io/fyne/v2/app" || strings.HasPrefix(dep, "github.com/go-gl/") {
			t.Errorf("package ui depends on %s", dep)
		}
	}
}
