package single

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func next(t *testing.T, in *Instance) Request {
	t.Helper()
	select {
	case r := <-in.Requests():
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request came")
	}
	return Request{}
}

func TestSecondStartHandsOver(t *testing.T) {
	path := socket(t)
	first, err := Claim(path, Request{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := Claim(path, Request{Show: "account"}); !errors.Is(err, ErrRunning) {
		t.Fatalf("a second start: %v, want ErrRunning", err)
	}
	if r := next(t, first); r.Show != "account" {
		t.Errorf("the window was asked %+v, want the account screen", r)
	}
	first.Close()
	// Closed: the socket or pipe went with it, and the next start is the window.
	again, err := Claim(path, Request{})
	if err != nil {
		t.Fatalf("a start after the window closed: %v", err)
	}
	again.Close()
}

func TestStartsAtOneMomentMakeOneWindow(t *testing.T) {
	path := socket(t)
	var mu sync.Mutex
	var windows []*Instance
	running := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := Claim(path, Request{Show: "codes"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				windows = append(windows, in)
			case errors.Is(err, ErrRunning):
				running++
			default:
				t.Error(err)
			}
		}()
	}
	go func() { // the window takes the requests as they come
		for {
			mu.Lock()
			n := len(windows)
			mu.Unlock()
			if n > 0 {
				for range windows[0].Requests() {
				}
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	if len(windows) != 1 || running != 7 {
		t.Errorf("%d windows and %d handed over, want 1 and 7", len(windows), running)
	}
	for _, w := range windows {
		w.Close()
	}
}
