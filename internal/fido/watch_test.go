//go:build cgo

package fido

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// noEvents is a system without inotify: Watch only polls.
func noEvents([]string) (<-chan struct{}, func()) { return nil, func() {} }

func TestWatchSeesKeysComeAndGo(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		events   func([]string) (<-chan struct{}, func())
		// unlink removes the configured path on Close, as udev removes a
		// hidraw node; otherwise it dangles, as a pty's does.
		unlink bool
	}{
		{"inotify", time.Hour, deviceEvents, true},
		{"polling", 100 * time.Millisecond, noEvents, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk := softkeytest.Start(t, softkey.Options{})
			if err := sk.Close(); err != nil {
				t.Fatal(err)
			}
			// The configured path is a link to wherever the key's pty is.
			path := filepath.Join(t.TempDir(), "key")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ch, err := watch(ctx, tt.interval, []string{path}, tt.events)
			if err != nil {
				t.Fatal(err)
			}
			next := func(want bool) {
				t.Helper()
				timeout := time.After(3 * time.Second)
				for {
					select {
					case locs := <-ch:
						if got := hasUsable(locs, path); got == want {
							return
						}
					case <-timeout:
						t.Fatalf("got no list with %s usable=%v within 3 s", path, want)
					}
				}
			}
			next(false)
			if err := sk.Start(); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(sk.Path(), path); err != nil {
				t.Fatal(err)
			}
			next(true)
			if err := sk.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.unlink {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			next(false)
			cancel()
			for range ch { // drains, then ends: the channel is closed
			}
		})
	}
}

func hasUsable(locs []Location, path string) bool {
	for _, l := range locs {
		if l.Path == path && l.Err == nil {
			return true
		}
	}
	return false
}

func TestWatchRejectsBadInterval(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := Watch(t.Context(), d, nil); err == nil {
			t.Errorf("Watch with interval %v: got no error, want one", d)
		}
	}
}
