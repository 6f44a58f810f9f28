package windows_test

import (
	"context"
	"image"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/wine"
)

// windowsTestPackages are the packages whose own tests also run built for
// Windows (GOOS=windows, cgo off) under Wine: the portable ones, and those
// with Windows code of their own. Add a package here when it gains Windows
// code or its tests are worth running there; its tests that need a Linux
// part skip by themselves, as they decide on Linux: the Secret Service,
// Xvfb, PostgreSQL, a browser are asked for through COUNTERSIGN_TEST_*
// variables, which do not reach the Windows program (wine.Prefix.Env), or
// found with exec.LookPath, which finds no Linux tool there.
var windowsTestPackages = []string{
	// Portable, and the heart of not losing codes: the codes themselves,
	// the vault and its file writes, the recovery key and backups. The
	// command line's own packages (cli, transfer) are covered through the
	// real countersign.exe instead (cli_test.go): building and running
	// their tests here cost a third of this package's time.
	"internal/otp",
	"internal/atomicfile",
	"internal/vault",
	"internal/recovery",
	"internal/backup",
	// With Windows code of their own.
	"internal/single",
	"internal/autostart",
	"internal/applock",
	"internal/keyring",
	"internal/console", // needs a display: Wine's console has no screen buffer without one
}

// TestPackagesBuiltForWindows cross-compiles the tests of
// windowsTestPackages and runs each binary under Wine in its package's
// folder, as go test would; a failure shows the failing tests' output.
func TestPackagesBuiltForWindows(t *testing.T) {
	p := wine.Shared(t)
	p.Display(t, image.Pt(640, 480))
	ctx := context.Background()
	start := time.Now()
	exes, err := wine.BuildTests(ctx, repo, t.TempDir(), windowsTestPackages...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d test binaries for Windows in %v", len(exes), time.Since(start).Round(time.Millisecond))
	for _, pkg := range windowsTestPackages {
		t.Run(strings.ReplaceAll(pkg, "/", "_"), func(t *testing.T) {
			start := time.Now()
			r, err := p.Run(ctx, 4*time.Minute, wine.Options{Dir: filepath.Join(repo, pkg)}, exes[pkg], "-test.v", "-test.count=1")
			if err != nil {
				t.Fatalf("%v\n%s", err, tail(r.Stdout+r.Stderr, 60))
			}
			o := readTestOutput(r.Stdout)
			for _, s := range o.skipped {
				t.Logf("skipped under Windows: %s", s)
			}
			if r.Code != 0 || len(o.failed) > 0 || o.passed == 0 {
				t.Errorf("%s's tests under Wine: exit %d, %d passed, failed %q\n%s%s", pkg, r.Code, o.passed, o.failed, o.report, tail(r.Stderr, 30))
			}
			t.Logf("%s: %d passed, %d skipped in %v", pkg, o.passed, len(o.skipped), time.Since(start).Round(time.Millisecond))
		})
	}
}

var (
	running = regexp.MustCompile(`^=== (RUN|CONT|PAUSE|NAME)\s+(\S+)`)
	result  = regexp.MustCompile(`^\s*--- (PASS|SKIP|FAIL): (\S+)`)
)

// testOutput is go test -v output read test by test.
type testOutput struct {
	passed  int
	skipped []string // name: the reason it gave
	failed  []string // names
	report  string   // what the failed tests printed, and their "--- FAIL" lines
}

// readTestOutput reads go test -v output: each test's lines lie between
// its "=== RUN" (or "=== CONT") and the next test's, and its result line
// follows them.
func readTestOutput(out string) testOutput {
	var o testOutput
	printed := map[string][]string{}
	current := ""
	var report strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if m := running.FindStringSubmatch(line); m != nil {
			current = m[2]
			continue
		}
		m := result.FindStringSubmatch(line)
		if m == nil {
			printed[current] = append(printed[current], line)
			continue
		}
		switch name := m[2]; m[1] {
		case "PASS":
			o.passed++
		case "SKIP":
			o.skipped = append(o.skipped, name+": "+strings.TrimSpace(strings.Join(printed[name], " ")))
		case "FAIL":
			o.failed = append(o.failed, name)
			for _, l := range printed[name] {
				report.WriteString(l + "\n")
			}
			report.WriteString(line + "\n")
		}
	}
	o.report = report.String()
	return o
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
