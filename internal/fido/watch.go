package fido

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long Watch waits after a device node appears or goes
// before listing again: udev sets a new node's permissions just after
// creating it.
const settle = 100 * time.Millisecond

// Watch reports the keys present whenever they change: keys plugged in or
// removed while the program runs. The channel receives the list at once,
// then each time it differs from the last one sent; it holds only the
// newest list, so a slow reader skips intermediate ones. It is closed when
// ctx ends.
//
// The list is List(extra) without the configured paths that do not exist
// (ErrNoDevice); keys present but unusable stay, with their Err. Changes
// are noticed by inotify on /dev and on the configured paths' directories,
// and by listing again every interval, which also catches what inotify
// does not see (permission changes) and is all there is where inotify is
// unavailable. Listing is cheap: libfido2 reads sysfs and opens nothing but
// the configured paths.
func Watch(ctx context.Context, interval time.Duration, extra []string) (<-chan []Location, error) {
	return watch(ctx, interval, extra, deviceEvents)
}

// watch is Watch with the source of device-node events as a parameter.
func watch(ctx context.Context, interval time.Duration, extra []string, deviceEvents func([]string) (<-chan struct{}, func())) (<-chan []Location, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("watching for security keys: interval %v is not positive", interval)
	}
	list := func() ([]Location, error) {
		locs, err := List(extra)
		return presentOnly(locs), err
	}
	first, err := list()
	if err != nil {
		return nil, err
	}
	events, closeEvents := deviceEvents(extra)
	ch := make(chan []Location, 1)
	ch <- first
	go func() {
		defer close(ch)
		defer closeEvents()
		last := first
		poll := time.NewTicker(interval)
		defer poll.Stop()
		settled := time.NewTimer(settle)
		settled.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-events:
				settled.Reset(settle)
				continue
			case <-poll.C:
			case <-settled.C:
			}
			locs, err := list()
			if err != nil || sameLocations(locs, last) {
				continue
			}
			last = locs
			select {
			case <-ch: // the reader has not taken the older list: replace it
			default:
			}
			ch <- locs
		}
	}()
	return ch, nil
}

// presentOnly drops the configured paths with no device behind them.
func presentOnly(locs []Location) []Location {
	return slices.DeleteFunc(locs, func(l Location) bool {
		return l.Configured && errors.Is(l.Err, ErrNoDevice)
	})
}

// sameLocations reports whether two lists name the same keys in the same
// state.
func sameLocations(a, b []Location) bool {
	return slices.EqualFunc(a, b, func(x, y Location) bool {
		xe, ye := "", ""
		if x.Err != nil {
			xe = x.Err.Error()
		}
		if y.Err != nil {
			ye = y.Err.Error()
		}
		x.Err, y.Err = nil, nil
		return x == y && xe == ye
	})
}

// deviceEvents watches /dev and the directories of the configured paths
// for nodes created or removed. Without inotify the channel stays silent.
func deviceEvents(extra []string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return ch, func() {}
	}
	dirs := []string{"/dev"}
	for _, p := range extra {
		if d := filepath.Dir(p); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		_ = w.Add(d) // a directory that is missing or unreadable is left to polling
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Chmod) {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return ch, func() { w.Close(); <-done }
}
