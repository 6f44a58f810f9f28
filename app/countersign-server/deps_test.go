package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDesktopDependencies fails the build when the server starts linking
// the GUI, OpenGL, the clipboard or libfido2: it must run on a headless host.
func TestNoDesktopDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages; want the whole dependency list", len(deps))
	}
	for _, dep := range deps {
		for _, forbidden := range []string{"fyne.io/", "github.com/go-gl/", "github.com/keys-pub/go-libfido2", "golang.design/x/clipboard", "github.com/countersign/countersign/app/ui"} {
			if strings.HasPrefix(dep, forbidden) {
				t.Errorf("countersign-server depends on %s", dep)
			}
		}
	}
}
