package keyring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRealSecretService(t *testing.T) {
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs a real Secret Service: run through make test (.ci/keyring-session)")
	}
	k := New("countersign-keyring-test")
	if _, err := k.Get("item"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing item: got %v, want ErrNotFound", err)
	}
	for _, v := range []string{"first", "second"} {
		if err := k.Set("item", v); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if got, err := k.Get("item"); err != nil || got != v {
			t.Fatalf("Get = %q, %v; want %q", got, err, v)
		}
	}
	if err := k.Delete("item"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get("item"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantNot string // advice that does not fit
	}{
		{"dial unix /run/user/0/bus: connect: no such file or directory", "no D-Bus session bus", ""},
		{"The name org.freedesktop.secrets was not provided by any .service files", "no Secret Service provider", ""},
		// A locked keyring is installed and running: it wants unlocking, not installing.
		{"failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'", "locked and was not unlocked; unlock it", "install"},
		{"org.freedesktop.DBus.Error.AccessDenied: nope", "denied", ""},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := classifyOn("read", errors.New(tc.in), "linux")
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrUnavailable saying %q", err, tc.want)
			}
			if tc.wantNot != "" && err != nil && strings.Contains(err.Error(), tc.wantNot) {
				t.Errorf("got %v, which should not say %q", err, tc.wantNot)
			}
		})
	}
	if err := classify("read", nil); err != nil {
		t.Errorf("classify(nil) = %v", err)
	}
}

func TestCallTimesOut(t *testing.T) {
	k := New("countersign-test-" + t.Name()).WithTimeout(20 * time.Millisecond)
	release := make(chan struct{})
	defer close(release)
	err := k.call("read", "slow", func(backend) error { <-release; return nil })
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("got %v, want a timeout wrapped in ErrUnavailable", err)
	}
	if err := k.call("read", "other", func(backend) error { return fmt.Errorf("x: %w", ErrNotFound) }); err == nil {
		t.Error("an unknown error was swallowed")
	}
}
