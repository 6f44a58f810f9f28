package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"golang.org/x/sys/windows"

	"github.com/countersign/countersign/app/ui"
	"github.com/countersign/countersign/internal/applock"
)

// session is what the window needs from Windows: the notification area,
// which is always there, for the tray, and the workstation lock for the
// app lock. Nothing here looks for a D-Bus session bus: there is none, and
// godbus would try to start one with dbus-launch.
func session(a fyne.App) ui.Session {
	sess := ui.Session{}
	if exe, err := os.Executable(); err == nil {
		sess.Executable = exe
	}
	if tray, ok := a.(desktop.App); ok {
		sess.Tray = tray
	}
	sess.ScreenSaver = func(onLocked func(bool)) func() {
		stop, err := applock.WatchWorkstationLock(onLocked)
		if err != nil {
			fmt.Fprintln(os.Stderr, "countersign: not locking with the workstation:", err)
			return func() {}
		}
		return stop
	}
	return sess
}

// fileChooser is none: Fyne's own file dialog (the portal is Linux's).
func fileChooser() ui.FileChooser { return nil }

// admin says whether Countersign runs as administrator, and restarts it as
// one: release lets go of the window's pipe, reclaim takes it back.
func admin(a fyne.App, release func(), reclaim func() error) *ui.Admin {
	return &ui.Admin{
		Elevated: windows.GetCurrentProcessToken().IsElevated(),
		Restart:  func() error { return restartAsAdmin(release, reclaim, a.Quit) },
	}
}

// restartAsAdmin starts this program again as administrator on the
// Security keys screen (ShellExecute's "runas": Windows asks the person),
// then quits. It lets go of the window first, or the new start would hand
// its screen to this one and exit; when Windows started nothing (the
// question was declined), it takes the window back and says so.
func restartAsAdmin(release func(), reclaim func() error, quit func()) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding Countersign's program to restart: %w", err)
	}
	release()
	err = shellExecute("runas", exe, "--show security-keys")
	if err == nil {
		quit()
		return nil
	}
	if rerr := reclaim(); rerr != nil {
		fmt.Fprintln(os.Stderr, "countersign: taking the window back:", rerr)
	}
	if errors.Is(err, windows.ERROR_CANCELLED) {
		return errors.New("the question to run Countersign as administrator was declined: it keeps running as it is")
	}
	return fmt.Errorf("starting Countersign as administrator: %w", err)
}

// shellExecute runs ShellExecuteW on a thread with COM initialised, as the
// Shell asks of its callers.
func shellExecute(verb, file, args string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := windows.CoInitializeEx(0, windows.COINIT_APARTMENTTHREADED|windows.COINIT_DISABLE_OLE1DDE); err == nil {
		defer windows.CoUninitialize()
	}
	v, err := windows.UTF16PtrFromString(verb)
	if err != nil {
		return err
	}
	f, err := windows.UTF16PtrFromString(file)
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(args)
	if err != nil {
		return err
	}
	return windows.ShellExecute(0, v, f, p, nil, windows.SW_SHOWNORMAL)
}
