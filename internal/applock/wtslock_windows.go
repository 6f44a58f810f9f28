package applock

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows tells a window registered with WTSRegisterSessionNotification
// that the workstation was locked or unlocked (Win+L, the screen saver's
// lock, a remote session's lock) with WM_WTSSESSION_CHANGE.
const (
	wmClose               = 0x0010
	wmDestroy             = 0x0002
	wmWTSSessionChange    = 0x02B1
	wtsSessionLock        = 0x7
	wtsSessionUnlock      = 0x8
	notifyForThisSession  = 0
	hwndMessage           = ^uintptr(2) // (HWND)-3: a message-only window
	errorClassAlreadyUsed = windows.Errno(1410)
)

var (
	user32                   = windows.NewLazySystemDLL("user32.dll")
	wtsapi32                 = windows.NewLazySystemDLL("wtsapi32.dll")
	procRegisterClassExW     = user32.NewProc("RegisterClassExW")
	procCreateWindowExW      = user32.NewProc("CreateWindowExW")
	procDefWindowProcW       = user32.NewProc("DefWindowProcW")
	procDestroyWindow        = user32.NewProc("DestroyWindow")
	procGetMessageW          = user32.NewProc("GetMessageW")
	procDispatchMessageW     = user32.NewProc("DispatchMessageW")
	procPostMessageW         = user32.NewProc("PostMessageW")
	procPostQuitMessage      = user32.NewProc("PostQuitMessage")
	procWTSRegisterSession   = wtsapi32.NewProc("WTSRegisterSessionNotification")
	procWTSUnRegisterSession = wtsapi32.NewProc("WTSUnRegisterSessionNotification")
	lockWindowProc           = windows.NewCallback(wndProc)
	lockClassName            = windows.StringToUTF16Ptr("CountersignWorkstationLock")
	errNoMessageWindow       = errors.New("no window to hear the workstation lock")
)

type wndClassEx struct {
	size, style                   uint32
	wndProc                       uintptr
	clsExtra, wndExtra            int32
	instance, icon, cursor, brush windows.Handle
	menuName, className           *uint16
	iconSm                        windows.Handle
}

type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ x, y int32 }
	private uint32
}

// watchers maps each watch's window to its callback; wndProc looks it up.
var watchers = struct {
	sync.Mutex
	m map[uintptr]func(bool)
}{m: map[uintptr]func(bool){}}

func watcher(hwnd uintptr) func(bool) {
	watchers.Lock()
	defer watchers.Unlock()
	return watchers.m[hwnd]
}

func setWatcher(hwnd uintptr, f func(bool)) {
	watchers.Lock()
	defer watchers.Unlock()
	if f == nil {
		delete(watchers.m, hwnd)
	} else {
		watchers.m[hwnd] = f
	}
}

func wndProc(hwnd, message, wParam, lParam uintptr) uintptr {
	switch message {
	case wmWTSSessionChange:
		if f := watcher(hwnd); f != nil {
			switch wParam {
			case wtsSessionLock:
				f(true)
			case wtsSessionUnlock:
				f(false)
			}
		}
		return 0
	case wmClose:
		procWTSUnRegisterSession.Call(hwnd)
		procDestroyWindow.Call(hwnd)
		return 0
	case wmDestroy:
		procPostQuitMessage.Call(0)
		return 0
	}
	r, _, _ := procDefWindowProcW.Call(hwnd, message, wParam, lParam)
	return r
}

// WatchWorkstationLock calls onLocked(true) whenever Windows locks this
// session (Win+L, the screen saver's lock) and onLocked(false) when it is
// unlocked, as WatchScreenSaver does on a Linux desktop. It listens with a
// message-only window on an OS thread of its own; onLocked runs on that
// thread, one call at a time. stop ends the watch.
func WatchWorkstationLock(onLocked func(locked bool)) (stop func(), err error) {
	type started struct {
		hwnd uintptr
		err  error
	}
	ready := make(chan started, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the window belongs to this thread: its messages come here
		defer runtime.UnlockOSThread()
		hwnd, err := lockWindow()
		if err != nil {
			ready <- started{err: err}
			return
		}
		setWatcher(hwnd, onLocked)
		defer setWatcher(hwnd, nil)
		if r, _, e := procWTSRegisterSession.Call(hwnd, notifyForThisSession); r == 0 {
			procDestroyWindow.Call(hwnd)
			ready <- started{err: fmt.Errorf("asking Windows for the workstation lock: %w", e)}
			return
		}
		ready <- started{hwnd: hwnd}
		var m msg
		for {
			r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
			if int32(r) <= 0 { // WM_QUIT, or an error
				return
			}
			procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
		}
	}()
	s := <-ready
	if s.err != nil {
		<-done
		return nil, s.err
	}
	testWindow.Store(s.hwnd)
	return func() {
		procPostMessageW.Call(s.hwnd, wmClose, 0, 0)
		<-done
	}, nil
}

// testWindow is the last watch's window, for tests to post to.
var testWindow atomic.Uintptr

// lockWindow registers the window class (once per process) and makes a
// message-only window of it on the calling thread.
func lockWindow() (uintptr, error) {
	var instance windows.Handle
	if err := windows.GetModuleHandleEx(0, nil, &instance); err != nil {
		return 0, err
	}
	wc := wndClassEx{wndProc: lockWindowProc, instance: instance, className: lockClassName}
	wc.size = uint32(unsafe.Sizeof(wc))
	if r, _, e := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 && !errors.Is(e, errorClassAlreadyUsed) {
		return 0, fmt.Errorf("%w: registering its class: %v", errNoMessageWindow, e)
	}
	hwnd, _, e := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(lockClassName)), 0, 0, 0, 0, 0, 0,
		hwndMessage, 0, uintptr(instance), 0)
	if hwnd == 0 {
		return 0, fmt.Errorf("%w: %v", errNoMessageWindow, e)
	}
	return hwnd, nil
}
