package testkit

import (
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), t0.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: Now = %v, want %v", got, want)
	}
	c.Advance(-time.Minute)
	if got, want := c.Now(), t0.Add(30*time.Second); !got.Equal(want) {
		t.Errorf("after Advance back: Now = %v, want %v", got, want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: Now = %v, want %v", got, t0)
	}
}

func TestTimersRunInOrderAtTheirTimes(t *testing.T) {
	c := NewClock(t0)
	var ran []string
	at := func(name string) func() {
		return func() { ran = append(ran, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.After(3*time.Second, at("c"))
	c.After(time.Second, func() {
		at("a")()
		c.After(time.Second, at("b")) // a timer made by a timer
	})
	stop := c.After(2500*time.Millisecond, at("stopped"))
	c.After(time.Minute, at("later"))
	if !stop() {
		t.Error("stop of a pending timer reported it had run")
	}
	if stop() {
		t.Error("a second stop reported the timer pending")
	}
	if got := c.Pending(); got != 3 {
		t.Errorf("Pending = %d, want 3", got)
	}

	c.Advance(5 * time.Second)
	if want := []string{"a@1s", "b@2s", "c@3s"}; !slices.Equal(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	if got, want := c.Now(), t0.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("Now after the timers = %v, want %v", got, want)
	}
	if got := c.Pending(); got != 1 {
		t.Errorf("Pending = %d, want 1 (later)", got)
	}
	c.Set(t0.Add(time.Minute))
	if len(ran) != 4 || ran[3] != "later@1m0s" {
		t.Errorf("Set did not run the timer due: ran %v", ran)
	}
}

func TestTimerMayMoveTheClock(t *testing.T) {
	c := NewClock(t0)
	var at []time.Duration
	c.After(time.Second, func() { c.Advance(10 * time.Second) })
	c.After(5*time.Second, func() { at = append(at, c.Now().Sub(t0)) })
	c.Advance(2 * time.Second)
	if want := []time.Duration{5 * time.Second}; !slices.Equal(at, want) {
		t.Errorf("the later timer ran at %v, want %v", at, want)
	}
	if got, want := c.Now(), t0.Add(12*time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v: the timer's move adds to the outer one", got, want)
	}
}

func TestStepMovesNowNotElapsedNorTimers(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := NewClock(start)
	ran := 0
	c.After(time.Minute, func() { ran++ })
	c.Advance(10 * time.Second)
	c.Step(20 * time.Minute)
	if ran != 0 {
		t.Error("a step forward ran a timer; timers count elapsed time")
	}
	if got := c.Now(); !got.Equal(start.Add(20*time.Minute + 10*time.Second)) {
		t.Errorf("Now after the step = %v", got)
	}
	if got := c.Elapsed(); got != 10*time.Second {
		t.Errorf("Elapsed after the step = %v, want 10s", got)
	}
	c.Step(-30 * time.Minute)
	c.Advance(49 * time.Second)
	if ran != 0 {
		t.Error("the timer ran before its minute had elapsed")
	}
	c.Advance(time.Second)
	if ran != 1 || c.Elapsed() != time.Minute {
		t.Errorf("after a minute elapsed: ran %d, Elapsed %v", ran, c.Elapsed())
	}
}

func TestRunningClockFollowsRealTime(t *testing.T) {
	c := NewRunningClock()
	before := time.Now()
	if got := c.Now(); got.Before(before) || got.Sub(before) > time.Minute {
		t.Errorf("Now = %v, want about %v", got, before)
	}
	c.Advance(time.Hour)
	if got := time.Until(c.Now()); got < 59*time.Minute || got > time.Hour {
		t.Errorf("after Advance(1h) the clock leads the real time by %v", got)
	}
	fired := false
	c.After(time.Hour, func() { fired = true })
	time.Sleep(10 * time.Millisecond)
	if fired {
		t.Error("a running clock's timer ran without Advance")
	}
	c.Advance(time.Hour)
	if !fired {
		t.Error("the timer did not run in Advance")
	}
}

// TestClockConcurrentUse is for the race detector.
func TestClockConcurrentUse(t *testing.T) {
	c := NewClock(t0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.After(time.Second, func() { c.Now() })()
				c.After(time.Millisecond, func() {})
				c.Advance(time.Millisecond)
				c.Now()
				c.Pending()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(400*time.Millisecond); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
}
