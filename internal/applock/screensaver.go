package applock

import (
	"fmt"

	"github.com/godbus/dbus/v5"
)

// The screen savers whose ActiveChanged(bool) signal means the screen was
// locked (true) or unlocked (false): the freedesktop.org interface (KDE,
// Xfce, Cinnamon, MATE …) and GNOME's own.
var screenSaverIfaces = []string{"org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"}

// WatchScreenSaver calls onActive(true) whenever a screen saver on conn (the
// session bus) says it became active, and onActive(false) when it stops
// being. onActive runs on a goroutine of its own, one call at a time. The
// returned stop ends the watch; it does not close conn.
func WatchScreenSaver(conn *dbus.Conn, onActive func(active bool)) (stop func(), err error) {
	var opts [][]dbus.MatchOption
	for _, iface := range screenSaverIfaces {
		o := []dbus.MatchOption{dbus.WithMatchInterface(iface), dbus.WithMatchMember("ActiveChanged")}
		if err := conn.AddMatchSignal(o...); err != nil {
			for _, done := range opts {
				conn.RemoveMatchSignal(done...)
			}
			return nil, fmt.Errorf("failed to watch %s: %w", iface, err)
		}
		opts = append(opts, o)
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case s, ok := <-signals:
				if !ok {
					return
				}
				if active, ok := screenSaverActive(s); ok {
					onActive(active)
				}
			}
		}
	}()
	return func() {
		conn.RemoveSignal(signals)
		for _, o := range opts {
			conn.RemoveMatchSignal(o...)
		}
		close(quit)
		<-done
	}, nil
}

// screenSaverActive reads an ActiveChanged signal of a screen saver.
func screenSaverActive(s *dbus.Signal) (active, ok bool) {
	for _, iface := range screenSaverIfaces {
		if s.Name == iface+".ActiveChanged" && len(s.Body) == 1 {
			active, ok = s.Body[0].(bool)
			return active, ok
		}
	}
	return false, false
}
