//go:build !windows

package main

import (
	"fmt"
	"os"
	"runtime"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/app/ui"
	"github.com/countersign/countersign/internal/applock"
	"github.com/countersign/countersign/internal/portal"
)

// session is what the window needs from the desktop session: the system
// tray when one is there to show it, and the screen saver's signals on the
// session bus (none of it when there is no session bus).
func session(a fyne.App) ui.Session {
	sess := ui.Session{}
	if exe, err := os.Executable(); err == nil {
		sess.Executable = exe
	}
	tray, isDesktop := a.(desktop.App)
	conn, err := dbus.ConnectSessionBus()
	switch {
	case !isDesktop:
	case runtime.GOOS == "darwin":
		sess.Tray = tray // it always has one
	case err == nil && hasTray(conn):
		sess.Tray = tray
	}
	if err != nil {
		return sess
	}
	sess.ScreenSaver = func(onActive func(bool)) func() {
		stop, err := applock.WatchScreenSaver(conn, onActive)
		if err != nil {
			fmt.Fprintln(os.Stderr, "countersign: not locking with the screen:", err)
			return func() {}
		}
		return stop
	}
	return sess
}

// hasTray reports whether a StatusNotifier host (KDE, GNOME with the
// AppIndicator extension, Xfce …) has claimed the watcher's name on the
// session bus, so that a tray icon would show. Without one, closing the
// window must quit, or the app would run on with no way back to it.
func hasTray(conn *dbus.Conn) bool {
	var has bool
	err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has)
	return err == nil && has
}

// fileChooser is the desktop's own file dialog, through the portal.
func fileChooser() ui.FileChooser { return portal.FileChooser{} }

// admin is nil: only Windows keeps security keys from programs that are
// not administrator.
func admin(fyne.App, func(), func() error) *ui.Admin { return nil }
