// Package pgtest gives tests a throwaway PostgreSQL: one server per test
// binary, started on first use from the PostgreSQL binaries installed on the
// machine (Debian's postgresql package), listening only on 127.0.0.1 with
// trust authentication and durability switched off for speed, and a fresh
// empty database for every caller of DSN.
//
// It is for tests only; nothing here is fit for a real server. A package that
// uses it calls Main from its TestMain so the server is stopped and its data
// directory removed when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// When PostgreSQL can't be started (not installed, no postgres user when
// running as root …) DSN skips the test with the reason, unless the
// environment sets COUNTERSIGN_TEST_POSTGRES=1, in which case it fails it.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvRequire is the environment variable that turns "PostgreSQL can't be
// started" from a skip into a failure (set it to 1 in CI).
const EnvRequire = "COUNTERSIGN_TEST_POSTGRES"

const startTimeout = 60 * time.Second

// dirPrefix names the servers' temp dirs.
const dirPrefix = "countersign-pgtest-"

var (
	mainActive bool // set by Main before the tests run

	startOnce sync.Once
	srv       *server
	startErr  error

	createMu sync.Mutex // serialises CREATE DATABASE
)

// Main runs the tests and stops the server (and deletes its data dir)
// afterwards; use it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain with more to do: it runs the
// tests, stops the server and returns the tests' exit code.
func Run(m *testing.M) int {
	mainActive = true
	code := m.Run()
	if srv != nil {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// DSN returns the URL of a fresh, empty database (one CREATE DATABASE per
// call, random name) on a PostgreSQL server started once per test binary. It
// skips the test when PostgreSQL can't be started, unless
// COUNTERSIGN_TEST_POSTGRES=1, in which case it fails the test with the
// reason. The database is dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	if !mainActive {
		t.Fatal("pgtest: call pgtest.Main(m) (or pgtest.Run) from TestMain in this package so the PostgreSQL server is stopped after the tests")
	}
	startOnce.Do(func() { srv, startErr = start(false) })
	if startErr != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: %v", startErr)
		}
		t.Skipf("pgtest: %v (set %s=1 to fail instead of skipping)", startErr, EnvRequire)
	}

	name := "t_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

// Server is a PostgreSQL server of one test's own, for a test that stops the
// database under the code it tests (DSN's server is shared by the whole test
// binary). Start gives one.
type Server struct {
	s     *server
	bin   string  // the directory of initdb and postgres
	owner *osUser // who the server runs as
}

// Start starts a PostgreSQL server for t alone and returns it; it is stopped
// and its data directory removed when t ends. Unlike DSN's, it loses no
// commit when it crashes (synchronous_commit on), so Crash and Restart
// behave as a real server's would. It skips or fails t as DSN
// does when PostgreSQL can't be started. Its one database, postgres, is
// empty.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(true)
	var bin string
	var owner *osUser
	if err == nil {
		bin, err = findBinDir()
	}
	if err == nil {
		owner, err = serverOwner()
	}
	if err != nil {
		if s != nil {
			s.stop()
		}
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: %v", err)
		}
		t.Skipf("pgtest: %v (set %s=1 to fail instead of skipping)", err, EnvRequire)
	}
	srv := &Server{s: s, bin: bin, owner: owner}
	t.Cleanup(func() {
		if err := srv.s.stop(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return srv
}

// DSN returns the URL of the server's database.
func (s *Server) DSN() string { return s.s.url("postgres") }

// Crash stops the server at once, as pg_ctl stop -m immediate does: its
// processes quit without a goodbye to their clients, and new connections are
// refused. It returns when the server has exited.
func (s *Server) Crash() {
	if err := s.s.cmd.Process.Signal(immediateSignal); err != nil {
		s.s.kill()
	}
	<-s.s.done
}

// Restart starts the server again after Crash, on the same data directory
// and port, as a supervisor would: PostgreSQL recovers from its write-ahead
// log and the DSN works again. It returns when the server accepts
// connections.
func (s *Server) Restart() error {
	select {
	case <-s.s.done:
	default:
		return errors.New("pgtest: Restart of a server that is running: Crash it first")
	}
	var err error
	for range 50 { // the port may linger for a moment
		var ns *server
		if ns, err = launchOn(s.bin, s.s.dir, s.owner, s.s.port, true); err == nil {
			s.s = ns
			return nil
		}
		if !strings.Contains(err.Error(), "could not bind") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pgtest: restart: %w", err)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

type server struct {
	dir  string // temp dir: data/, the unix socket, postgres.log
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited
	werr error         // its exit status, valid after done is closed
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

func (s *server) exec(ctx context.Context, sql string) error {
	createMu.Lock()
	defer createMu.Unlock()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// start finds the binaries, initialises a data directory and starts the
// server, retrying with another port if the chosen one was taken meanwhile.
// A durable server keeps every commit through a crash of its processes
// (synchronous_commit on); the shared one does not, for speed. Neither
// flushes to the disk (fsync off): the machine is not expected to crash.
func start(durable bool) (*server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}
	base := tempBase(owner != nil)
	removeStale(base)
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	if err := owner.chown(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = pgEnv()
	initdb.Stdout, initdb.Stderr = &out, &out
	initdb.SysProcAttr = owner.sysProcAttr()
	if err := initdb.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb failed: %w\n%s", err, strings.TrimSpace(out.String()))
	}

	for attempt := 0; ; attempt++ {
		s, err := launch(bin, dir, owner, durable)
		if err == nil {
			return s, nil
		}
		if attempt < 3 && strings.Contains(err.Error(), "could not bind") {
			continue
		}
		os.RemoveAll(dir)
		return nil, err
	}
}

func launch(bin, dir string, owner *osUser, durable bool) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return launchOn(bin, dir, owner, port, durable)
}

// launchOn starts postgres on dir's data directory and port.
func launchOn(bin, dir string, owner *osUser, port int, durable bool) (*server, error) {
	syncCommit := "off"
	if durable {
		syncCommit = "on"
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-h", "127.0.0.1",
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit="+syncCommit,
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "unix_socket_permissions=0700",
	)
	cmd.Dir = dir
	cmd.Env = pgEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = owner.sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &server{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}
	go func() { s.werr = cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("postgres exited during start (%v):\n%s", s.werr, logTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("postgres not ready after %v (last error: %v):\n%s", startTimeout, err, logTail(logPath))
		}
	}
}

// stop shuts the server down (fast shutdown, then a kill after 10 s) and
// removes its directory.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(interruptSignal); err != nil {
		s.kill()
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.kill()
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove %s: %w", s.dir, err)
	}
	return nil
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// findBinDir returns the directory holding initdb and postgres: the one
// pg_config names, else the newest /usr/lib/postgresql/*/bin.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	candidates = append(candidates, dirs...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("PostgreSQL server binaries not found (no pg_config, no /usr/lib/postgresql/*/bin, no initdb in PATH); install the postgresql package: apt-get install postgresql")
	}
	return "", fmt.Errorf("initdb or postgres missing in %s; install the postgresql package: apt-get install postgresql", strings.Join(candidates, ", "))
}

// versionOf reads the major version from /usr/lib/postgresql/NN/bin.
func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pgEnv is the environment of the PostgreSQL processes: a C locale and no
// PG* variables of the caller that could point them elsewhere.
func pgEnv() []string {
	env := []string{"LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return env
}

// tempBase is where the server's directory goes. When the server runs as
// another user, every parent directory must let that user through; /tmp does.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	if !otherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// removeStale deletes what killed test binaries left behind: server
// directories without a running server (no postmaster.pid) that are over an
// hour old. Younger ones may belong to a test binary still starting its server.
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "data", "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(d)
		}
	}
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
