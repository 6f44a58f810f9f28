// The tests of the Windows build, run under Wine (package internal/wine):
// the command line's contract, the window, the .msi, and the portable
// packages' own tests built for Windows. They take the build from
// $COUNTERSIGN_WINDOWS_DIST (make test runs make windows into dist/windows
// first): countersign.exe, fido2.dll, cbor.dll, crypto-45.dll and
// Countersign-<version>.msi.
package windows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/wine"
)

func TestMain(m *testing.M) { os.Exit(wine.Main(m)) }

// repo is the repository's root, from this package's directory.
const repo = "../.."

// dllNames are the libfido2 DLLs that go beside countersign.exe.
var dllNames = []string{"fido2.dll", "cbor.dll", "crypto-45.dll"}

// dist is the folder of the Windows build, checked to hold the program
// and its DLLs. Without COUNTERSIGN_WINDOWS_DIST the test skips, or fails
// under COUNTERSIGN_TEST_WINE=1.
func dist(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("COUNTERSIGN_WINDOWS_DIST")
	if dir == "" {
		if wine.Required() {
			t.Fatal("COUNTERSIGN_WINDOWS_DIST is not set: make windows builds dist/windows, and make test sets it")
		}
		t.Skip("COUNTERSIGN_WINDOWS_DIST is not set: run make windows and point it at dist/windows, or run make test")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"countersign.exe"}, dllNames...) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("the Windows build lacks %s (make windows builds it): %v", name, err)
		}
	}
	return dir
}

// exe is countersign.exe of the build, and the shared Wine prefix.
func exe(t *testing.T) (*wine.Prefix, string) {
	t.Helper()
	d := dist(t)
	return wine.Shared(t), filepath.Join(d, "countersign.exe")
}

// cs runs countersign.exe under Wine with its data in home (a Linux
// folder, handed over as Z:\…), with stdin and extra environment.
type cs struct {
	t    *testing.T
	p    *wine.Prefix
	exe  string
	home string
	env  []string
}

func newCS(t *testing.T) *cs {
	p, exe := exe(t)
	return &cs{t: t, p: p, exe: exe, home: t.TempDir()}
}

// run runs the program with args; the exit status is the caller's to check.
func (c *cs) run(args ...string) wine.Result {
	c.t.Helper()
	env := append([]string{"COUNTERSIGN_HOME=" + wine.Path(c.home)}, c.env...)
	r, err := c.p.Run(context.Background(), 2*time.Minute, wine.Options{Env: env}, c.exe, args...)
	if err != nil {
		c.t.Fatalf("countersign %s: %v\n%s", strings.Join(args, " "), err, r.Stderr)
	}
	return r
}

// ok runs the program and fails the test unless it exits 0.
func (c *cs) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.Code != 0 {
		c.t.Fatalf("countersign %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r.Stdout
}
