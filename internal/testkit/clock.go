package testkit

import (
	"sync"
	"time"
)

// Clock is a time source for the code under test that moves only when the
// test says: Advance and Set move it, and run the timers that fall due on
// the way, in order of their times, on the caller's goroutine. It is safe
// for concurrent use, and timers run without its lock held: they may read
// the clock, make timers and move it, and what a timer or another goroutine
// moves it by adds to the move under way.
type Clock struct {
	mu      sync.Mutex
	now     time.Time // the time, less the real time run since start on a running clock
	running bool
	start   time.Time // when a running clock was made (real time)
	origin  time.Time // where the clock started
	stepped time.Duration
	timers  []*timer
}

type timer struct {
	at   time.Time
	f    func()
	done bool
}

// NewClock returns a Clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start, origin: start} }

// NewRunningClock returns a Clock that runs with the real time, plus what
// Advance and Set add: for tests whose other side (a browser, a token
// verifier) keeps the real time. Its timers, too, run only in Advance and
// Set.
func NewRunningClock() *Clock {
	now := time.Now()
	return &Clock{now: now, running: true, start: now, origin: now}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now.Add(c.ran(time.Now()))
}

// Advance moves the clock on by d (back, when d is negative), running the
// timers due by then.
func (c *Clock) Advance(d time.Duration) {
	c.move(func(now time.Time) time.Time { return now.Add(d) })
}

// Step sets the clock d on (back, when d is negative) as a person or NTP
// sets a system clock: Now moves, Elapsed does not, and no timer runs: as
// Go's timers, they count elapsed time and keep the time they had left.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stepped += d
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.at = t.at.Add(d)
	}
}

// Elapsed is the time the clock has run since it was made, Advance and Set
// included, Step not: the system's elapsed time (sleep included) beside
// Now's wall clock.
func (c *Clock) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now.Add(c.ran(time.Now())).Sub(c.origin) - c.stepped
}

// Set moves the clock to t, running the timers due by then.
func (c *Clock) Set(t time.Time) {
	c.move(func(time.Time) time.Time { return t })
}

// After arranges for f to run once the clock has moved d on. The returned
// stop cancels it and reports whether it was still to run; its signature
// is that of the companion's ui.Deps.After.
func (c *Clock) After(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(c.ran(time.Now())).Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.done
		t.done = true
		return was
	}
}

// Pending is how many timers are still to run.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// move sets the clock to where(now), stopping at each timer due on the way
// to run it.
func (c *Clock) move(where func(now time.Time) time.Time) {
	// Not deferred: a timer that panics or calls t.Fatal has left it unlocked.
	c.mu.Lock()
	ran := c.ran(time.Now()) // a running clock keeps running while its timers do
	end := where(c.now.Add(ran))
	for {
		var next *timer
		for _, t := range c.timers {
			if !t.done && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.done = true
		c.now = next.at.Add(-ran)
		was := c.now
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
		end = end.Add(c.now.Sub(was)) // moved meanwhile
	}
	c.now = end.Add(-ran)
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.done {
			live = append(live, t)
		}
	}
	clear(c.timers[len(live):])
	c.timers = live
	c.mu.Unlock()
}

// ran is how much real time a running clock has run by real.
func (c *Clock) ran(real time.Time) time.Duration {
	if !c.running {
		return 0
	}
	return real.Sub(c.start)
}
