package wine

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture/xvfbtest"
)

func TestMain(m *testing.M) {
	code := Main(m)
	if winprogDir != "" {
		os.RemoveAll(winprogDir)
	}
	os.Exit(code)
}

var winprogDir string

// winprog builds testdata/winprog for Windows once (with the overlay of
// BuildProgram) and returns the .exe.
var winprog = sync.OnceValues(func() (string, error) {
	var err error
	if winprogDir, err = os.MkdirTemp("", "countersign-winprog-"); err != nil {
		return "", err
	}
	exe := filepath.Join(winprogDir, "winprog.exe")
	return exe, BuildProgram(context.Background(), "testdata/winprog", exe)
})

func program(t *testing.T) (*Prefix, string) {
	t.Helper()
	p := Shared(t)
	exe, err := winprog()
	if err != nil {
		t.Fatal(err)
	}
	return p, exe
}

func run(t *testing.T, p *Prefix, opts Options, exe string, args ...string) Result {
	t.Helper()
	r, err := p.Run(context.Background(), time.Minute, opts, exe, args...)
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", filepath.Base(exe), args, err, r.Stderr)
	}
	return r
}

func TestMissingNamesToolsAndPackages(t *testing.T) {
	have := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, n := range names {
				if n == name {
					return "/usr/bin/" + n, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	for _, c := range []struct {
		have []string
		want string
	}{
		{[]string{"wine", "wineserver", "wineboot", mingw}, ""},
		{[]string{"wine", "wineserver", "wineboot"}, mingw + " not found (apt-get install gcc-mingw-w64-x86-64; make deps installs them)"},
		{[]string{mingw}, "wine, wineserver, wineboot not found (apt-get install wine wine64; make deps installs them)"},
		{nil, "wine, wineserver, wineboot, " + mingw + " not found (apt-get install wine wine64 gcc-mingw-w64-x86-64; make deps installs them)"},
	} {
		if got := missing(have(c.have...)); got != c.want {
			t.Errorf("with %q: got %q, want %q", c.have, got, c.want)
		}
	}
	// Missing: a skip that says why and how to fail instead, or a failure
	// under COUNTERSIGN_TEST_WINE=1.
	for _, c := range []struct {
		why      string
		required bool
		msg      string
		fail     bool
	}{
		{"", true, "", false},
		{"wine not found", false, "wine not found; set COUNTERSIGN_TEST_WINE=1 to fail instead", false},
		{"wine not found", true, "wine not found; COUNTERSIGN_TEST_WINE=1 says this machine must run the Windows tests", true},
	} {
		if msg, fail := verdict(c.why, c.required); msg != c.msg || fail != c.fail {
			t.Errorf("verdict(%q, %v) = %q, %v; want %q, %v", c.why, c.required, msg, fail, c.msg, c.fail)
		}
	}
}

func TestPath(t *testing.T) {
	for linux, want := range map[string]string{
		"/tmp/a b/c.exe": `Z:\tmp\a b\c.exe`,
		"/":              `Z:\`,
	} {
		if got := Path(linux); got != want {
			t.Errorf("Path(%q) = %q, want %q", linux, got, want)
		}
	}
	p := &Prefix{Dir: "/tmp/pfx"}
	for linux, want := range map[string]string{
		"/tmp/pfx/drive_c/Program Files/Countersign/countersign.exe": `C:\Program Files\Countersign\countersign.exe`,
		"/tmp/pfx/drive_c":          `C:\`,
		"/tmp/pfx/drive_cc/x":       `Z:\tmp\pfx\drive_cc\x`,
		"/tmp/elsewhere/vault.csv1": `Z:\tmp\elsewhere\vault.csv1`,
	} {
		if got := p.Path(linux); got != want {
			t.Errorf("Prefix.Path(%q) = %q, want %q", linux, got, want)
		}
	}
}

// TestRun runs a Go program for Windows in the prefix: its output, exit
// status, environment, working directory and random numbers (which need
// the shim) come back as on Windows.
func TestRun(t *testing.T) {
	p, exe := program(t)

	r := run(t, p, Options{}, exe, "echo", "héllo wörld")
	if r.Stdout != "out: héllo wörld\n" || r.Stderr != "err: héllo wörld\n" || r.Code != 0 {
		t.Errorf("echo: got %+v, want the text on stdout and stderr apart, exit 0", r)
	}
	if r := run(t, p, Options{}, exe, "exit", "3"); r.Code != 3 {
		t.Errorf("exit 3: got exit %d", r.Code)
	}

	// Only what Env lets through reaches the program, and Options.Env.
	t.Setenv("COUNTERSIGN_TEST_KEYRING", "secret-service")
	if r := run(t, p, Options{}, exe, "env", "COUNTERSIGN_TEST_KEYRING"); r.Stdout != "" {
		t.Errorf("the test's COUNTERSIGN_TEST_KEYRING reached the Windows program: %q", r.Stdout)
	}
	if r := run(t, p, Options{Env: []string{"COUNTERSIGN_HOME=C:\\cs"}}, exe, "env", "COUNTERSIGN_HOME"); r.Stdout != `C:\cs` {
		t.Errorf("Options.Env: the program saw COUNTERSIGN_HOME=%q", r.Stdout)
	}

	dir := t.TempDir()
	if r := run(t, p, Options{Dir: dir}, exe, "cwd"); !strings.EqualFold(strings.TrimSuffix(r.Stdout, `\`), Path(dir)) {
		t.Errorf("Options.Dir %s: the program's working directory is %q, want %q", dir, r.Stdout, Path(dir))
	}

	hex := regexp.MustCompile(`^[0-9a-f]{32}$`)
	a, b := run(t, p, Options{}, exe, "random").Stdout, run(t, p, Options{}, exe, "random").Stdout
	if !hex.MatchString(a) || !hex.MatchString(b) || a == b {
		t.Errorf("two runs' 16 random bytes: %q and %q, want two different values", a, b)
	}
}

// TestShimIsWhatGoNeeds: without the prefix's bcryptprimitives.dll a Go
// program does not start under Wine 8; the shim is what makes it run.
func TestShimIsWhatGoNeeds(t *testing.T) {
	p, exe := program(t)
	dll := filepath.Join(p.DriveC(), "windows", "system32", "bcryptprimitives.dll")
	if err := os.Rename(dll, dll+".off"); err != nil {
		t.Fatalf("the prefix has no shim: %v", err)
	}
	r, err := p.Run(context.Background(), time.Minute, Options{}, exe, "random")
	if err := os.Rename(dll+".off", dll); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 0 || !strings.Contains(r.Stderr, "bcryptprimitives.dll not found") {
		t.Errorf("without the shim: exit %d, stderr %q; want Go's runtime to stop on the missing bcryptprimitives.dll", r.Code, r.Stderr)
	}
	if r := run(t, p, Options{}, exe, "random"); r.Code != 0 {
		t.Errorf("with the shim back: exit %d, %s", r.Code, r.Stderr)
	}
}

// TestRemoveAllNeedsTheOverlay: Go's os.RemoveAll fails under Wine 8 as
// built by plain go build; BuildProgram's (and BuildTests') overlay makes it
// fall back to what Wine has.
func TestRemoveAllNeedsTheOverlay(t *testing.T) {
	p, fixed := program(t)
	plain := filepath.Join(t.TempDir(), "winprog-plain.exe")
	build := exec.Command("go", "build", "-o", plain, ".")
	build.Dir, build.Env = "testdata/winprog", append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tree := func() string {
		dir := filepath.Join(t.TempDir(), "tree")
		if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "sub", "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dir := tree()
	if r := run(t, p, Options{}, plain, "removeall", Path(dir)); r.Code == 0 || !strings.Contains(r.Stderr, "Invalid function") {
		t.Errorf("os.RemoveAll of plain Go under Wine: exit %d, %q; want Wine 8's \"Invalid function\" (if Wine now does it, drop the overlay)", r.Code, r.Stderr)
	}
	dir = tree()
	if r := run(t, p, Options{}, fixed, "removeall", Path(dir)); r.Code != 0 {
		t.Errorf("os.RemoveAll with the overlay: exit %d, %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tree is still there after RemoveAll: %v", err)
	}
}

// TestRunTimesOut: a program that runs past its time is killed and
// reported as ErrTimeout, with no wait for it to end on its own.
func TestRunTimesOut(t *testing.T) {
	p, exe := program(t)
	start := time.Now()
	_, err := p.Run(context.Background(), 3*time.Second, Options{}, exe, "sleep", "2m")
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("a 2-minute sleep with 3 s given: %v, want ErrTimeout", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the timeout took %v to end the program", took)
	}
}

// TestKillEndsThePrefixsPrograms: Kill (wineserver -k) ends a program
// still running, and the prefix runs programs again afterwards.
func TestKillEndsThePrefixsPrograms(t *testing.T) {
	p, exe := program(t)
	cmd := p.Command(context.Background(), exe, "sleep", "2m")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(time.Second)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the program still runs 20 s after wineserver -k")
	}
	if r := run(t, p, Options{}, exe, "exit", "0"); r.Code != 0 {
		t.Errorf("after Kill: exit %d, %s", r.Code, r.Stderr)
	}
}

// TestDisplayAndScreenshot: a private X server, and Screenshot reads what
// is painted on it.
func TestDisplayAndScreenshot(t *testing.T) {
	display := Display(t, image.Pt(320, 200))
	red := color.RGBA{0xC6, 0x28, 0x28, 0xff}
	square := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for i := range square.Pix {
		square.Pix[i] = []uint8{red.R, red.G, red.B, red.A}[i%4]
	}
	xvfbtest.Show(t, display, square, image.Pt(100, 50))
	img, err := Screenshot(display)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 320, 200) {
		t.Fatalf("screenshot of %v, want 320×200", img.Bounds())
	}
	for _, pt := range []image.Point{{100, 50}, {119, 59}} {
		if got := img.RGBAAt(pt.X, pt.Y); got != red {
			t.Errorf("pixel %v: %v, want the red painted there", pt, got)
		}
	}
	if got := img.RGBAAt(99, 50); got == red {
		t.Errorf("pixel (99,50), left of the square, is red too")
	}
}

func TestParseRange(t *testing.T) {
	for s, want := range map[string][2]int{"140-149": {140, 149}, ":7": {7, 7}} {
		a, b, err := parseRange(s)
		if err != nil || a != want[0] || b != want[1] {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %v", s, a, b, err, want)
		}
	}
	for _, s := range []string{"", "x-3", "9-3"} {
		if _, _, err := parseRange(s); err == nil {
			t.Errorf("parseRange(%q): no error", s)
		}
	}
}
