// Package ratelimit limits how often something may happen per key (an IP
// address, an account) with token buckets, and says how long an account stays
// locked after repeated failures.
//
// The clock is injected, so tests move time instead of sleeping. State lives
// in memory, per process: behind a load balancer each instance counts on its
// own, which is fine for slowing attackers down but is not a global quota.
package ratelimit

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxKeys is how many keys a Limiter remembers; beyond that it forgets the
// least recently used one.
const MaxKeys = 100_000

// Limiter allows each key perMinute events on average, with bursts of up to
// burst events. It is safe for concurrent use and its memory is bounded:
// a key idle long enough for its bucket to be full again is forgotten
// (remembering it would change nothing), and at most MaxKeys are kept.
type Limiter struct {
	limit   rate.Limit
	burst   int
	now     func() time.Time
	idle    time.Duration // time for an empty bucket to fill up
	maxKeys int
	mu      sync.Mutex
	keys    map[string]*list.Element // of *entry
	lru     list.List                // most recently used at the front
}

type entry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a Limiter allowing perMinute events per key on average and
// bursts of burst events. now is the clock (time.Now when nil). It panics
// when perMinute is not positive or burst is less than 1: a limiter that
// allows nothing is a configuration mistake.
func New(perMinute float64, burst int, now func() time.Time) *Limiter {
	if !(perMinute > 0) || math.IsInf(perMinute, 0) || burst < 1 {
		panic(fmt.Sprintf("ratelimit: New(%v, %d): want a positive finite rate and a burst of at least 1", perMinute, burst))
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		limit:   rate.Limit(perMinute / 60),
		burst:   burst,
		now:     now,
		idle:    time.Duration(float64(burst) / perMinute * float64(time.Minute)),
		maxKeys: MaxKeys,
		keys:    make(map[string]*list.Element),
	}
}

// Allow reports whether one more event for key may happen now, and counts it
// if so.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now() // under the lock, so that last times are in order
	l.forgetIdle(now)
	var e *entry
	if el, ok := l.keys[key]; ok {
		e = el.Value.(*entry)
		l.lru.MoveToFront(el)
	} else {
		if len(l.keys) >= l.maxKeys {
			l.remove(l.lru.Back())
		}
		e = &entry{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = l.lru.PushFront(e)
	}
	e.last = now
	return e.lim.AllowN(now, 1)
}

// Reset forgets key, giving it a full bucket (after a successful sign-in,
// say).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.keys[key]; ok {
		l.remove(el)
	}
}

// Len is the number of keys remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// forgetIdle drops, least recently used first, the keys whose buckets have
// filled up again.
func (l *Limiter) forgetIdle(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*entry).last) < l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.keys, el.Value.(*entry).key)
	l.lru.Remove(el)
}

// Lockout policy for Backoff.
const (
	FreeFailures = 5 // failures allowed before the first lock
	firstLock    = time.Minute
	maxLock      = time.Hour
)

// Backoff is how long an account stays locked after failures consecutive
// failures: 0 below 5, then 1 minute, doubling with every further failure,
// capped at 1 hour (5 → 1m, 6 → 2m, 7 → 4m … 11 and more → 1h).
func Backoff(failures int) time.Duration {
	if failures < FreeFailures {
		return 0
	}
	d := firstLock
	for range failures - FreeFailures {
		d *= 2
		if d >= maxLock {
			return maxLock
		}
	}
	return d
}
