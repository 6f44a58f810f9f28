package applock

import "time"

// Limiter slows down guessing: the first Free wrong attempts cost nothing,
// then each one makes the next attempt wait, Base at first and twice as long
// after every further failure, up to Max. Its state lives in memory only:
// the lock guards a window, and restarting the app needs the same access
// that reading the vault does.
type Limiter struct {
	Free int
	Base time.Duration
	Max  time.Duration

	failures int
	until    time.Time
}

// NewLimiter is the limiter the lock screen uses: five free attempts, then
// 30 s, doubling, at most an hour.
func NewLimiter() *Limiter {
	return &Limiter{Free: 5, Base: 30 * time.Second, Max: time.Hour}
}

// Wait is how long from now until the next attempt is allowed; zero when it
// is allowed now.
func (l *Limiter) Wait(now time.Time) time.Duration {
	if d := l.until.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Fail records a wrong attempt at now and returns the wait it imposes.
func (l *Limiter) Fail(now time.Time) time.Duration {
	l.failures++
	if l.failures < l.Free {
		return 0
	}
	d := l.Base
	for i := l.Free; i < l.failures && d < l.Max; i++ {
		d *= 2
	}
	d = min(d, l.Max)
	l.until = now.Add(d)
	return d
}

// Failures is the number of wrong attempts since the last success.
func (l *Limiter) Failures() int { return l.failures }

// Reset forgets the wrong attempts, after a right one.
func (l *Limiter) Reset() {
	l.failures = 0
	l.until = time.Time{}
}
