package keyring

import (
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// slowBackend is a keyring that answers nothing until release is closed, as
// one waiting on an unlock prompt nobody sees.
type slowBackend struct {
	calls   atomic.Int32
	release chan struct{}
}

func (b *slowBackend) wait() { b.calls.Add(1); <-b.release }

func (b *slowBackend) Get(_, _ string) (string, error) { b.wait(); return "secret", nil }
func (b *slowBackend) Set(_, _, _ string) error        { b.wait(); return nil }
func (b *slowBackend) Delete(_, _ string) error        { b.wait(); return nil }

// callsRunning counts the goroutines of calls still waiting for the keyring.
func callsRunning() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "keyring.Keyring.call.func")
}

// TestTimedOutCallIsNotRepeated: while a call the caller gave up on still
// waits for the keyring, later calls of the same item give up too without
// starting another; once the keyring answers, the abandoned call's goroutine
// exits and the item can be reached again.
func TestTimedOutCallIsNotRepeated(t *testing.T) {
	b := &slowBackend{release: make(chan struct{})}
	k := New("countersign-test-" + t.Name()).WithTimeout(20 * time.Millisecond)
	k.backend = b
	for range 3 {
		if _, err := k.Get("item"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("Get with the keyring hung: %v, want a timeout wrapped in ErrUnavailable", err)
		}
	}
	if err := k.Set("item", "x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set with the keyring hung: %v, want ErrUnavailable", err)
	}
	if n := b.calls.Load(); n != 1 {
		t.Errorf("%d calls reached the keyring while the first one hung, want 1", n)
	}
	if n := callsRunning(); n != 1 {
		t.Errorf("%d abandoned calls wait for the keyring, want 1", n)
	}

	close(b.release)
	deadline := time.Now().Add(5 * time.Second)
	for callsRunning() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned call's goroutine did not exit within 5 s of the keyring answering")
		}
		time.Sleep(time.Millisecond)
	}
	if got, err := k.WithTimeout(5 * time.Second).Get("item"); err != nil || got != "secret" {
		t.Errorf("Get once the keyring answers = %q, %v; want secret", got, err)
	}
	if n := b.calls.Load(); n != 2 {
		t.Errorf("%d calls reached the keyring, want 2", n)
	}

	// Another item is not held up by this one.
	stuck := &slowBackend{release: make(chan struct{})}
	defer close(stuck.release)
	k.backend = stuck
	k.Get("one")
	k.Get("two")
	if n := stuck.calls.Load(); n != 2 {
		t.Errorf("%d calls reached the keyring for two items, want 2", n)
	}
}
