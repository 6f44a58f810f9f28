//go:build cgo

package fido

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// touchTestRegistration is a registration that needs no PIN.
func touchTestRegistration(challenge string) RegistrationOptions {
	return RegistrationOptions{Origin: testOrigin, RPID: testRPID, Challenge: []byte(challenge),
		UserID: []byte("u-touch"), UserName: "touch", UserVerification: UVDiscouraged}
}

func TestTouchWaitsEnd(t *testing.T) {
	// The key answers whatever is on touches; nothing there means no touch.
	touches := make(chan bool, 1)
	sk := softkeytest.Start(t, softkey.Options{Presence: softkey.ManualPresence(touches), PresenceTimeout: 5 * time.Second})
	k := openSoftkey(t, sk)
	touches <- true
	reg, err := k.Register(t.Context(), touchTestRegistration("setup"))
	if err != nil {
		t.Fatal(err)
	}
	allow := [][]byte{reg.CredentialID}

	ops := []struct {
		name string
		run  func(ctx context.Context, onTouch func()) error
	}{
		{"register", func(ctx context.Context, f func()) error {
			_, err := k.Register(ctx, touchTestRegistration("cancelled"), OnTouch(f))
			return err
		}},
		{"assert", func(ctx context.Context, f func()) error {
			_, err := k.Assert(ctx, AssertionOptions{Origin: testOrigin, RPID: testRPID, Challenge: []byte("c"), AllowCredentials: allow}, OnTouch(f))
			return err
		}},
		{"reset", func(ctx context.Context, f func()) error {
			if err := sk.Replug(); err != nil {
				return err
			}
			return k.Reset(ctx, OnTouch(f))
		}},
	}
	ends := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		want    error
		message string
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, "context canceled"},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(t.Context(), 200*time.Millisecond)
		}, context.DeadlineExceeded, "no touch within 0 s"},
	}
	for _, op := range ops {
		for _, end := range ends {
			t.Run(op.name+"/"+end.name, func(t *testing.T) {
				ctx, cancel := end.ctx()
				defer cancel()
				var asked atomic.Int32
				start := time.Now()
				err := op.run(ctx, func() { asked.Add(1) })
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("took %v after the context ended, want < 2 s", took)
				}
				if !errors.Is(err, end.want) || !strings.Contains(err.Error(), end.message) {
					t.Errorf("got %v, want an error wrapping %v saying %q", err, end.want, end.message)
				}
				if end.want == context.DeadlineExceeded && !errors.Is(err, ErrTimeout) {
					t.Errorf("got %v, want it to match ErrTimeout too", err)
				}
				if got := asked.Load(); got != 1 {
					t.Errorf("got %d calls of the touch callback, want 1", got)
				}
				// The key is usable afterwards: the same operation with a touch.
				touches <- true
				if err := op.run(t.Context(), func() {}); err != nil {
					t.Errorf("after the cancelled operation: got %v, want the key to work", err)
				}
			})
		}
	}
}

func TestTouchAlreadyCancelled(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{Presence: softkey.NeverPresent})
	k := openSoftkey(t, sk)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	_, err := k.Register(ctx, touchTestRegistration("never sent"), OnTouch(func() { called = true }))
	if !errors.Is(err, context.Canceled) || called {
		t.Errorf("got %v (callback called: %v), want context.Canceled without asking for a touch", err, called)
	}
}

func TestTouchKeyTimeout(t *testing.T) {
	// The key gives up by itself (CTAP2_ERR_USER_ACTION_TIMEOUT).
	sk := softkeytest.Start(t, softkey.Options{Presence: softkey.NeverPresent, PresenceTimeout: 1500 * time.Millisecond})
	k := openSoftkey(t, sk)
	_, err := k.Register(t.Context(), touchTestRegistration("timeout"))
	var te *TouchTimeoutError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &te) {
		t.Fatalf("got %v, want a TouchTimeoutError matching ErrTimeout", err)
	}
	if want := "registering the key: no touch within 2 s"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start %q", err, want)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want no context error: the key timed out, not the caller", err)
	}
}

func TestTouchTimeoutErrorMessage(t *testing.T) {
	tests := []struct {
		waited time.Duration
		want   string
	}{
		{30 * time.Second, "no touch within 30 s: touch the key while it blinks, then try again"},
		{29600 * time.Millisecond, "no touch within 30 s: touch the key while it blinks, then try again"},
		{1200 * time.Millisecond, "no touch within 1 s: touch the key while it blinks, then try again"},
	}
	for _, tt := range tests {
		if got := (&TouchTimeoutError{Waited: tt.waited}).Error(); got != tt.want {
			t.Errorf("waited %v: got %q, want %q", tt.waited, got, tt.want)
		}
	}
}
