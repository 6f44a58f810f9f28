package approver

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	// randN returning its maximum shows the ceiling; 0 the floor.
	top := func(n int64) int64 { return n - 1 }
	b := newBackoff(top)
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := b.Next(5 * time.Second); got != w {
			t.Errorf("attempt %d: got %v, want %v", i+1, got, w)
		}
	}
	if got := b.Next(time.Minute); got != 500*time.Millisecond {
		t.Errorf("after a healthy minute: got %v, want the base again", got)
	}
	if got := b.Next(0); got != time.Second {
		t.Errorf("failing again: got %v, want 1s", got)
	}

	zero := newBackoff(func(int64) int64 { return 0 })
	if got := zero.Next(0); got != 0 {
		t.Errorf("full jitter may wait 0: got %v", got)
	}

	// With a real source, delays stay within [0, ceiling].
	m := &Manager{}
	var seed [32]byte
	m.jitter = newJitter(seed)
	real := newBackoff(m.randN)
	ceil := 500 * time.Millisecond
	for i := range 20 {
		d := real.Next(0)
		if d < 0 || d > ceil {
			t.Errorf("attempt %d: %v outside [0, %v]", i+1, d, ceil)
		}
		ceil = min(2*ceil, 30*time.Second)
	}
}
