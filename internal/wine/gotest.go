package wine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// deleteFix is where Go's Windows Deleteat decides to fall back to the
// older way of deleting a file. Wine 8 answers the newer way
// (FileDispositionInformationEx) with STATUS_NOT_IMPLEMENTED, which Go
// does not expect, so os.RemoveAll (and with it every t.TempDir's cleanup)
// fails under Wine with "Invalid function". What BuildTests and
// BuildProgram build takes that status as one more reason to fall back;
// the programs Countersign ships do not call os.RemoveAll and are built as
// they are.
const (
	deleteFixFile = "src/internal/syscall/windows/at_windows.go"
	deleteFixFrom = "\t\tSTATUS_NOT_SUPPORTED:"
	deleteFixTo   = "\t\tSTATUS_NOT_SUPPORTED, NTStatus(0xC0000002) /* STATUS_NOT_IMPLEMENTED: Wine 8 */ :"
)

var overlay struct {
	once sync.Once
	path string
	err  error
}

// goOverlay writes, once per test binary, a go build -overlay file that
// applies deleteFix to the standard library.
func goOverlay(ctx context.Context) (string, error) {
	overlay.once.Do(func() {
		overlay.path, overlay.err = writeOverlay(ctx)
	})
	return overlay.path, overlay.err
}

func writeOverlay(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	orig := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(deleteFixFile))
	src, err := os.ReadFile(orig)
	if err != nil {
		return "", err
	}
	if strings.Count(string(src), deleteFixFrom) != 1 {
		return "", fmt.Errorf("%s no longer has %q once: this Go's Deleteat changed; look again at what wine.deleteFix works around (os.RemoveAll under Wine 8)", orig, strings.TrimSpace(deleteFixFrom))
	}
	dir, err := os.MkdirTemp("", "countersign-wine-overlay-")
	if err != nil {
		return "", err
	}
	fixed := filepath.Join(dir, "at_windows.go")
	if err := os.WriteFile(fixed, []byte(strings.Replace(string(src), deleteFixFrom, deleteFixTo, 1)), 0o644); err != nil {
		return "", err
	}
	j, _ := json.Marshal(map[string]map[string]string{"Replace": {orig: fixed}})
	path := filepath.Join(dir, "overlay.json")
	return path, os.WriteFile(path, j, 0o644)
}

// BuildTests cross-compiles the tests of the Go packages pkgs (paths
// relative to moduleDir, such as "internal/otp") for 64-bit Windows with
// cgo off, in one go build run, into outDir. It returns each package's test
// binary, to run under Wine with the package's directory as its working
// directory, as go test would.
func BuildTests(ctx context.Context, moduleDir, outDir string, pkgs ...string) (map[string]string, error) {
	exes := map[string]string{}
	args := []string{"-c", "-o", outDir + string(filepath.Separator)}
	byName := map[string]string{}
	for _, pkg := range pkgs {
		name := filepath.Base(pkg)
		if other, ok := byName[name]; ok {
			return nil, fmt.Errorf("%s and %s would both build %s.test.exe: build them apart", other, pkg, name)
		}
		byName[name] = pkg
		exes[pkg] = filepath.Join(outDir, name+".test.exe")
		args = append(args, "./"+filepath.ToSlash(pkg))
	}
	if err := goWindows(ctx, moduleDir, "test", args...); err != nil {
		return nil, err
	}
	return exes, nil
}

// BuildProgram cross-compiles the Go command in pkgDir for 64-bit Windows
// with cgo off, into out.
func BuildProgram(ctx context.Context, pkgDir, out string) error {
	return goWindows(ctx, pkgDir, "build", "-o", out, ".")
}

// goWindows runs go build or go test -c for Windows with the overlay.
func goWindows(ctx context.Context, pkgDir, verb string, args ...string) error {
	ov, err := goOverlay(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{verb, "-overlay", ov}, args...)...)
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (GOOS=windows) in %s: %w\n%s", verb, pkgDir, err, b)
	}
	return nil
}
