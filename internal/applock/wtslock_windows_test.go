package applock

import (
	"testing"
	"time"
)

// TestWorkstationLockReachesTheHook posts WM_WTSSESSION_CHANGE to the
// watch's window as Windows does when the session locks and unlocks, and
// sees the hook called on each; after stop, the window is gone.
func TestWorkstationLockReachesTheHook(t *testing.T) {
	got := make(chan bool, 4)
	stop, err := WatchWorkstationLock(func(locked bool) { got <- locked })
	if err != nil {
		t.Fatal(err)
	}
	hwnd := testWindow.Load()
	want := func(w bool) {
		t.Helper()
		select {
		case l := <-got:
			if l != w {
				t.Errorf("got locked=%v, want %v", l, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no locked=%v within 5 s", w)
		}
	}
	post := func(wParam uintptr) {
		t.Helper()
		if r, _, err := procPostMessageW.Call(hwnd, wmWTSSessionChange, wParam, 1); r == 0 {
			t.Fatalf("posting to the watch's window: %v", err)
		}
	}
	post(wtsSessionLock)
	want(true)
	post(0x5) // WTS_SESSION_LOGON: not a lock
	post(wtsSessionUnlock)
	want(false)

	stop()
	if r, _, _ := procPostMessageW.Call(hwnd, wmWTSSessionChange, wtsSessionLock, 1); r != 0 {
		t.Error("the watch's window still takes messages after stop")
	}
	select {
	case l := <-got:
		t.Errorf("got locked=%v after stop", l)
	case <-time.After(200 * time.Millisecond):
	}
	// A second watch after the first (the class is registered once).
	stop2, err := WatchWorkstationLock(func(bool) {})
	if err != nil {
		t.Fatalf("a second watch: %v", err)
	}
	stop2()
}
