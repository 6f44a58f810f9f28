package fido

import (
	"fmt"
	"math"
	"time"
)

// TouchOption configures one operation that may wait for a touch
// (Register, Assert, Reset).
type TouchOption func(*touchConfig)

type touchConfig struct {
	onTouch func()
}

// OnTouch calls f when the request goes to the key, which is when a key
// starts waiting for a touch (say "touch your key" there). libfido2 does not
// pass the key's keepalive messages (UPNEEDED) on, so f is called for every
// request sent, also one the key answers without a touch (it refuses at
// once, or the credential is excluded). f runs on the caller's goroutine
// before the request is sent; it must not block.
func OnTouch(f func()) TouchOption {
	return func(c *touchConfig) { c.onTouch = f }
}

func touchOptions(opts []TouchOption) touchConfig {
	var c touchConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// TouchTimeoutError is a key that was not touched in time, because the key
// gave up (keys wait about 30 seconds) or the caller's context deadline
// passed. It matches ErrTimeout; Cause is context.DeadlineExceeded when the
// deadline was the caller's.
type TouchTimeoutError struct {
	Waited time.Duration
	Cause  error
}

func (e *TouchTimeoutError) Error() string {
	return fmt.Sprintf("no touch within %d s: touch the key while it blinks, then try again", int(math.Round(e.Waited.Seconds())))
}

func (e *TouchTimeoutError) Is(target error) bool { return target == ErrTimeout }

func (e *TouchTimeoutError) Unwrap() error { return e.Cause }
