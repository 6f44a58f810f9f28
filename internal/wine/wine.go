// Package wine runs Countersign's Windows build under Wine for tests: a
// throwaway Wine prefix per test binary (never ~/.wine), with the
// ProcessPrng shim that Go programs need on Wine 8 built by mingw-w64 and
// copied into its system32, commands run with a timeout, a private X server
// for windows, and Go test binaries cross-built to run there.
//
// It is only for tests, and what it puts into a prefix is never shipped.
// It is not a Windows: what only a real Windows shows (the WebAuthn API,
// administrator rights, Windows Hello, Credential Manager's own screens) is
// out of its reach.
package wine

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The shim's source: bcryptprimitives.dll with ProcessPrng, which Go ≥ 1.22
// loads at start and Wine 8 lacks.
var (
	//go:embed testdata/shim.c
	shimC []byte
	//go:embed testdata/shim.def
	shimDef []byte
)

// Required reports whether a missing Wine or mingw-w64 fails the tests
// rather than skipping them: make test sets COUNTERSIGN_TEST_WINE=1 after
// installing them.
func Required() bool { return os.Getenv("COUNTERSIGN_TEST_WINE") == "1" }

// mingw is the C compiler that builds the shim (and the companion's cgo).
const mingw = "x86_64-w64-mingw32-gcc"

// tools are the programs a prefix needs and the Debian package of each.
var tools = []struct{ name, pkg string }{
	{"wine", "wine wine64"},
	{"wineserver", "wine wine64"},
	{"wineboot", "wine wine64"},
	{mingw, "gcc-mingw-w64-x86-64"},
}

// missing names the tools that are not installed and what installs them,
// or "" when all are there.
func missing(lookPath func(string) (string, error)) string {
	var names, pkgs []string
	for _, t := range tools {
		if _, err := lookPath(t.name); err != nil {
			names = append(names, t.name)
			if !contains(pkgs, t.pkg) {
				pkgs = append(pkgs, t.pkg)
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%s not found (apt-get install %s; make deps installs them)", strings.Join(names, ", "), strings.Join(pkgs, " "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Need skips the test when Wine or mingw-w64 is missing, saying what to
// install, or fails it under COUNTERSIGN_TEST_WINE=1.
func Need(tb testing.TB) {
	tb.Helper()
	need(tb, missing(exec.LookPath), Required())
}

func need(tb testing.TB, why string, required bool) {
	tb.Helper()
	switch msg, fail := verdict(why, required); {
	case msg == "":
	case fail:
		tb.Fatal(msg)
	default:
		tb.Skip(msg)
	}
}

// verdict is what becomes of a test when why names what is missing: fail
// with msg under COUNTERSIGN_TEST_WINE=1 (required), skip with msg
// otherwise; nothing is missing when why is "".
func verdict(why string, required bool) (msg string, fail bool) {
	switch {
	case why == "":
		return "", false
	case required:
		return why + "; COUNTERSIGN_TEST_WINE=1 says this machine must run the Windows tests", true
	}
	return why + "; set COUNTERSIGN_TEST_WINE=1 to fail instead", false
}

// Prefix is a Wine prefix of its own, with a wineserver that stays up
// until Kill or Close so that each command does not pay for starting one.
type Prefix struct {
	Dir     string // WINEPREFIX
	display string // DISPLAY of every command, while a test has set one
}

// New makes a prefix in dir (which must not exist or be empty): wineboot
// -i, and the ProcessPrng shim built with mingw-w64 into its system32.
func New(ctx context.Context, dir string) (*Prefix, error) {
	if why := missing(exec.LookPath); why != "" {
		return nil, errors.New(why)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &Prefix{Dir: dir}
	shim, err := buildShim(ctx, filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-shim"))
	if err != nil {
		return nil, err
	}
	// A persistent wineserver first: wineboot and every later command use it.
	if r, err := p.run(ctx, time.Minute, "", nil, "wineserver", "-p"); err != nil || r.Code != 0 {
		return nil, fmt.Errorf("starting wineserver: %v, exit %d\n%s", err, r.Code, r.Stderr)
	}
	if r, err := p.run(ctx, 3*time.Minute, dir, nil, "wineboot", "-i"); err != nil || r.Code != 0 {
		p.Close()
		return nil, fmt.Errorf("wineboot -i: %v, exit %d\n%s", err, r.Code, r.Stderr)
	}
	sys32 := filepath.Join(dir, "drive_c", "windows", "system32")
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), shim, 0o644); err != nil {
		p.Close()
		return nil, fmt.Errorf("copying the ProcessPrng shim into the prefix: %w", err)
	}
	return p, nil
}

// buildShim compiles the shim in dir and returns the DLL.
func buildShim(ctx context.Context, dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, src := range map[string][]byte{"shim.c": shimC, "shim.def": shimDef} {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, mingw, "-shared", "-o", "bcryptprimitives.dll", "shim.c", "shim.def", "-ladvapi32")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the ProcessPrng shim with %s: %w\n%s", mingw, err, out)
	}
	return os.ReadFile(filepath.Join(dir, "bcryptprimitives.dll"))
}

// Env is the environment of a command in the prefix: the user's PATH,
// HOME, locale and time zone, the prefix, no Wine debug output, no
// Mono/Gecko or menu builder, the display of Prefix.Display while a test has one, and
// extra (NAME=value). Nothing else of the test's environment reaches the
// Windows program, so that variables meant for the Linux tests (a Secret
// Service, their display, COUNTERSIGN_TEST_*) do not steer it.
func (p *Prefix) Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH", name == "HOME", name == "USER", name == "LOGNAME", name == "TZ",
			name == "LANG", strings.HasPrefix(name, "LC_"):
			env = append(env, kv)
		}
	}
	// No Mono or Gecko (no installer asks for them), and no
	// winemenubuilder, which would copy the prefix's Start-menu shortcuts
	// and icons into the user's own menus under ~/.local.
	env = append(env, "WINEPREFIX="+p.Dir, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d")
	if p.display != "" {
		env = append(env, "DISPLAY="+p.display)
	}
	return append(env, extra...)
}

// Command is exe (a Linux path to a Windows program, or a program of the
// prefix such as msiexec or reg) with args, run by wine in the prefix; its
// environment is Env(), and the caller sets Dir, Stdin and the rest.
func (p *Prefix) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	cmd.Env = p.Env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Result is what a finished command printed and its exit status.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// ErrTimeout means a command ran longer than it was given and was killed.
var ErrTimeout = errors.New("timed out")

// Run runs exe with args in the prefix and waits at most timeout. Its
// exit status is in Result.Code; the error is for a command that could not
// start or ran out of time (ErrTimeout, with what it printed so far).
func (p *Prefix) Run(ctx context.Context, timeout time.Duration, opts Options, exe string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := p.Command(ctx, exe, args...)
	cmd.Env = append(cmd.Env, opts.Env...)
	cmd.Dir = opts.Dir
	if opts.Stdin != "" {
		cmd.Stdin = strings.NewReader(opts.Stdin)
	}
	return wait(ctx, cmd, timeout)
}

// Options are the optional parts of a Run: extra environment, the working
// directory (a Linux path; wine starts the program in the matching Z:
// folder) and standard input.
type Options struct {
	Env   []string
	Dir   string
	Stdin string
}

// run runs a Wine tool (wineserver, wineboot) of the prefix.
func (p *Prefix) run(ctx context.Context, timeout time.Duration, dir string, extra []string, name string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = p.Env(extra...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	return wait(ctx, cmd, timeout)
}

// wait runs cmd with its output going to files rather than pipes: a Wine
// program may leave a process behind (wineserver, a service of the prefix)
// that holds on to what it inherited, and a pipe would keep the command
// from ending until that process does.
func wait(ctx context.Context, cmd *exec.Cmd, timeout time.Duration) (Result, error) {
	var files [2]*os.File
	for i := range files {
		f, err := os.CreateTemp("", "countersign-wine-out-")
		if err != nil {
			return Result{}, err
		}
		os.Remove(f.Name())
		defer f.Close()
		files[i] = f
	}
	cmd.Stdout, cmd.Stderr = files[0], files[1]
	err := cmd.Run()
	var out [2][]byte
	for i, f := range files {
		f.Seek(0, io.SeekStart)
		out[i], _ = io.ReadAll(f)
	}
	r := Result{Stdout: string(out[0]), Stderr: string(out[1])}
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return r, fmt.Errorf("%s: %w after %v", strings.Join(cmd.Args, " "), ErrTimeout, timeout)
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
		return r, nil
	case err != nil:
		return r, err
	}
	return r, nil
}

// Kill ends every process of the prefix and its wineserver (wineserver
// -k) and waits until they are gone. A later command starts a new one.
func (p *Prefix) Kill() error {
	ctx := context.Background()
	r, err := p.run(ctx, 30*time.Second, "", nil, "wineserver", "-k")
	if err != nil {
		return fmt.Errorf("wineserver -k: %w\n%s", err, r.Stderr)
	}
	// -k signals; -w returns once the server has exited. A server already
	// gone (nothing to kill) is fine.
	if _, err := p.run(ctx, 30*time.Second, "", nil, "wineserver", "-w"); err != nil {
		return fmt.Errorf("wineserver -w: %w", err)
	}
	return nil
}

// Close kills the prefix's processes and deletes the prefix.
func (p *Prefix) Close() error {
	err := p.Kill()
	return errors.Join(err, os.RemoveAll(p.Dir))
}

// DriveC is the Linux path of the prefix's C: drive.
func (p *Prefix) DriveC() string { return filepath.Join(p.Dir, "drive_c") }

// Path is the Windows path of a Linux path: Wine maps / to drive Z:.
func Path(linux string) string {
	abs, err := filepath.Abs(linux)
	if err != nil {
		abs = linux
	}
	return `Z:` + strings.ReplaceAll(abs, "/", `\`)
}

// Path is the Windows path of a Linux path: C:\… inside the prefix's
// drive_c, Z:\… elsewhere.
func (p *Prefix) Path(linux string) string {
	if rel, err := filepath.Rel(p.DriveC(), linux); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			rel = ""
		}
		return `C:\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return Path(linux)
}

// shared is the one prefix of a test binary.
var shared struct {
	once sync.Once
	dir  string
	p    *Prefix
	err  error
	took time.Duration
}

// Shared returns the test binary's prefix, made on first use (about 5 s)
// and removed by Main when the tests end. It skips or fails as Need does.
func Shared(tb testing.TB) *Prefix {
	tb.Helper()
	Need(tb)
	shared.once.Do(func() {
		start := time.Now()
		shared.dir, shared.err = os.MkdirTemp("", "countersign-wine-")
		if shared.err == nil {
			shared.p, shared.err = New(context.Background(), filepath.Join(shared.dir, "prefix"))
		}
		shared.took = time.Since(start)
	})
	if shared.err != nil {
		tb.Fatalf("making the Wine prefix: %v", shared.err)
	}
	tb.Logf("Wine prefix %s (made in %v)", shared.p.Dir, shared.took.Round(time.Millisecond))
	return shared.p
}

// Main runs a test binary's tests and then ends its shared prefix: call it
// from TestMain as os.Exit(wine.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.p != nil {
		if err := shared.p.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "wine:", err)
			code = max(code, 1)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if overlay.path != "" {
		os.RemoveAll(filepath.Dir(overlay.path))
	}
	return code
}
