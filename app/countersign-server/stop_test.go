package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/store/pgtest"
)

// envRunMain makes the test binary run main instead of the tests, so that a
// test can run the real program as a process of its own and signal it.
const envRunMain = "COUNTERSIGN_SERVER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

// TestSIGTERMWithDatabaseGone stops PostgreSQL under a running server, then
// sends the server SIGTERM: it must stop cleanly, exit status 0, whatever
// the database does.
func TestSIGTERMWithDatabaseGone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own")
	}
	pg := pgtest.Start(t)
	keyFile := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := atrest.CreateKeyFile(keyFile, rand.Reader); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--db", pg.DSN(), "--secrets-key-file", keyFile)
	cmd.Env = append(os.Environ(), envRunMain+"=1", "HOME="+t.TempDir(), "XDG_DATA_HOME=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	var log strings.Builder
	logDone := make(chan struct{})
	listening := make(chan struct{})
	go func() {
		defer close(logDone)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			log.WriteString(lines.Text() + "\n")
			if strings.Contains(lines.Text(), "countersign-server listening") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-logDone:
		cmd.Wait()
		t.Fatalf("the server stopped before listening; log:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not listen within 30 s")
	}

	pg.Crash()
	time.Sleep(time.Second) // a few refused reconnections of the approvals' listener
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { <-logDone; waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("after SIGTERM the server exited with status %d, want 0; log:\n%s", exit.ExitCode(), log.String())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the server did not stop within 30 s of SIGTERM; log:\n%s", log.String())
	}
}
