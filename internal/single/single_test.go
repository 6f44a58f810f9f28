package single

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func socket(t *testing.T) string {
	t.Helper()
	p, err := SocketPath(t.TempDir(), "/home/ada/.local/share/countersign")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func next(t *testing.T, in *Instance) Request {
	t.Helper()
	select {
	case r := <-in.Requests():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request came")
	}
	return Request{}
}

func TestSecondStartHandsOver(t *testing.T) {
	path := socket(t)
	first, err := Claim(path, Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the socket: %v, %v; want mode 0600", fi, err)
	}
	if _, err := Claim(path, Request{Show: "account"}); !errors.Is(err, ErrRunning) {
		t.Fatalf("a second start: %v, want ErrRunning", err)
	}
	if r := next(t, first); r.Show != "account" {
		t.Errorf("the window was asked %+v, want the account screen", r)
	}
	first.Close()
	// Closed: the next start is the window.
	again, err := Claim(path, Request{})
	if err != nil {
		t.Fatalf("a start after the window closed: %v", err)
	}
	again.Close()
}

func TestDeadWindowsSocketIsTakenOver(t *testing.T) {
	path := socket(t)
	// A socket file nobody listens on, as a killed window leaves it.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the dead socket should still be there: %v", err)
	}
	in, err := Claim(path, Request{})
	if err != nil {
		t.Fatalf("claiming over a dead socket: %v", err)
	}
	in.Close()
}

func TestStartsAtOneMomentMakeOneWindow(t *testing.T) {
	path := socket(t)
	var mu sync.Mutex
	var windows []*Instance
	running := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := Claim(path, Request{Show: "codes"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				windows = append(windows, in)
			case errors.Is(err, ErrRunning):
				running++
			default:
				t.Error(err)
			}
		}()
	}
	go func() { // the window takes the requests as they come
		for {
			mu.Lock()
			n := len(windows)
			mu.Unlock()
			if n > 0 {
				for range windows[0].Requests() {
				}
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	if len(windows) != 1 || running != 7 {
		t.Errorf("%d windows and %d handed over, want 1 and 7", len(windows), running)
	}
	for _, w := range windows {
		w.Close()
	}
}

func TestNoRuntimeDirUsesAPrivateFolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	p, err := SocketPath("", "/data")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the folder of %s: %v, %v; want 0700", p, fi, err)
	}
	other, _ := SocketPath("", "/other")
	if other == p {
		t.Error("two data directories share one socket")
	}
}
