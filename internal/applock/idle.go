package applock

import "time"

// Idle decides when the app has been idle long enough to lock. It is a pure
// state machine: the caller reports activity and asks whether the lock is
// due, each time with the current time, and schedules its own timer from
// Deadline.
type Idle struct {
	timeout time.Duration
	last    time.Time
}

// NewIdle starts an idle timer with the given timeout (0: never due), as if
// there had been activity at now.
func NewIdle(timeout time.Duration, now time.Time) *Idle {
	return &Idle{timeout: timeout, last: now}
}

// SetTimeout changes the timeout; 0 turns auto-lock off. Changing it counts
// as activity at now.
func (i *Idle) SetTimeout(d time.Duration, now time.Time) {
	i.timeout = d
	i.last = now
}

// Timeout is the idle time after which the lock is due; 0 means never.
func (i *Idle) Timeout() time.Duration { return i.timeout }

// Activity records activity at now.
func (i *Idle) Activity(now time.Time) { i.last = now }

// Deadline is when the lock falls due if nothing happens, and false when
// auto-lock is off.
func (i *Idle) Deadline() (time.Time, bool) {
	if i.timeout <= 0 {
		return time.Time{}, false
	}
	return i.last.Add(i.timeout), true
}

// Due reports whether the app has been idle for the timeout at now.
func (i *Idle) Due(now time.Time) bool {
	d, ok := i.Deadline()
	return ok && !now.Before(d)
}
