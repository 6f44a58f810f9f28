package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

func newClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC))
}

// allowN calls Allow n times and returns how many were allowed.
func allowN(l *Limiter, key string, n int) int {
	ok := 0
	for range n {
		if l.Allow(key) {
			ok++
		}
	}
	return ok
}

func TestBurstThenRate(t *testing.T) {
	clock := newClock()
	l := New(6, 3, clock.Now) // one token every 10 s, 3 at once

	if got := allowN(l, "a", 5); got != 3 {
		t.Fatalf("first burst: %d allowed, want 3", got)
	}
	clock.Advance(9 * time.Second)
	if l.Allow("a") {
		t.Fatal("allowed 9 s after the burst, want refused until 10 s")
	}
	clock.Advance(time.Second)
	if !l.Allow("a") {
		t.Fatal("refused 10 s after the burst, want one token back")
	}
	if l.Allow("a") {
		t.Fatal("allowed twice at 10 s, want only one token back")
	}
	clock.Advance(time.Hour)
	if got := allowN(l, "a", 5); got != 3 {
		t.Errorf("after an hour: %d allowed, want the full burst of 3", got)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	clock := newClock()
	l := New(1, 2, clock.Now)
	if got := allowN(l, "203.0.113.1", 3); got != 2 {
		t.Fatalf("key 1: %d allowed, want 2", got)
	}
	if got := allowN(l, "203.0.113.2", 3); got != 2 {
		t.Errorf("key 2 after key 1 ran out: %d allowed, want 2", got)
	}
}

func TestReset(t *testing.T) {
	clock := newClock()
	l := New(1, 2, clock.Now)
	allowN(l, "ada", 2)
	if l.Allow("ada") {
		t.Fatal("allowed after the burst")
	}
	l.Reset("ada")
	if got := allowN(l, "ada", 3); got != 2 {
		t.Errorf("after Reset: %d allowed, want a full burst of 2", got)
	}
	l.Reset("never seen") // no effect, no panic
}

func TestIdleKeysForgotten(t *testing.T) {
	clock := newClock()
	l := New(60, 10, clock.Now) // full again 10 s after emptying
	for i := range 100 {
		l.Allow(fmt.Sprint("k", i))
	}
	if got := l.Len(); got != 100 {
		t.Fatalf("Len = %d, want 100", got)
	}
	clock.Advance(9 * time.Second)
	l.Allow("fresh")
	if got := l.Len(); got != 101 {
		t.Fatalf("after 9 s: Len = %d, want 101 (buckets not full yet)", got)
	}
	clock.Advance(time.Second)
	l.Allow("fresh")
	if got := l.Len(); got != 1 {
		t.Errorf("after 10 s: Len = %d, want 1 (idle full buckets forgotten)", got)
	}
}

func TestForgettingChangesNothing(t *testing.T) {
	// A key that is forgotten must behave exactly as if remembered: its
	// bucket is full either way.
	clock := newClock()
	l := New(60, 3, clock.Now)
	allowN(l, "a", 3)
	clock.Advance(3 * time.Second)
	l.Allow("b") // triggers forgetting "a"
	if got := allowN(l, "a", 5); got != 3 {
		t.Errorf("after refilling: %d allowed, want 3", got)
	}
}

func TestMaxKeys(t *testing.T) {
	clock := newClock()
	l := New(1, 1, clock.Now)
	l.maxKeys = 3
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	l.Allow("a") // a is now the most recently used; b the least
	l.Allow("d") // evicts b
	if got := l.Len(); got != 3 {
		t.Fatalf("Len = %d, want 3", got)
	}
	if l.Allow("a") {
		t.Error("a was allowed again: it should have been kept (recently used) with an empty bucket")
	}
	if !l.Allow("b") {
		t.Error("b was refused: it should have been evicted and start full")
	}
}

func TestNewPanicsOnNonsense(t *testing.T) {
	for _, tt := range []struct {
		perMinute float64
		burst     int
	}{{0, 1}, {-1, 1}, {1, 0}, {math.NaN(), 1}, {math.Inf(1), 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v, %d) did not panic", tt.perMinute, tt.burst)
				}
			}()
			New(tt.perMinute, tt.burst, nil)
		}()
	}
}

func TestConcurrent(t *testing.T) {
	clock := newClock()
	l := New(60, 100, clock.Now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if l.Allow("shared") {
					allowed.Add(1)
				}
				l.Allow(fmt.Sprint("own", g, i%50))
				if i%100 == 0 {
					l.Reset(fmt.Sprint("own", g, 0))
					clock.Advance(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	// 100 at once plus at most one per second of the 40 ms that passed.
	if got := allowed.Load(); got < 100 || got > 101 {
		t.Errorf("shared key: %d allowed, want 100 or 101", got)
	}
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{-1, 0}, {0, 0}, {4, 0},
		{5, time.Minute}, {6, 2 * time.Minute}, {7, 4 * time.Minute},
		{10, 32 * time.Minute}, {11, time.Hour}, {12, time.Hour}, {1 << 40, time.Hour},
	} {
		if got := Backoff(tt.failures); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}
