package applock

import (
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func TestScreenSaverActive(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sig              *dbus.Signal
		wantActive, want bool
	}{
		{"freedesktop on", &dbus.Signal{Name: "org.freedesktop.ScreenSaver.ActiveChanged", Body: []any{true}}, true, true},
		{"gnome on", &dbus.Signal{Name: "org.gnome.ScreenSaver.ActiveChanged", Body: []any{true}}, true, true},
		{"gnome off", &dbus.Signal{Name: "org.gnome.ScreenSaver.ActiveChanged", Body: []any{false}}, false, true},
		{"other signal", &dbus.Signal{Name: "org.example.Thing.ActiveChanged", Body: []any{true}}, false, false},
		{"wrong body", &dbus.Signal{Name: "org.gnome.ScreenSaver.ActiveChanged", Body: []any{"yes"}}, false, false},
	} {
		active, ok := screenSaverActive(tc.sig)
		if active != tc.wantActive || ok != tc.want {
			t.Errorf("%s: got %v, %v; want %v, %v", tc.name, active, ok, tc.wantActive, tc.want)
		}
	}
}

// TestWatchScreenSaverOnBus emits the screen savers' signals from a second
// connection on the private session bus of .ci/keyring-session, as
// gnome-shell or ksmserver would, and sees them arrive.
func TestWatchScreenSaverOnBus(t *testing.T) {
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs the private D-Bus session of make test (.ci/keyring-session)")
	}
	watcher, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	// A private connection: the shared one would be the watcher's own.
	saver, err := dbus.SessionBusPrivate()
	if err != nil {
		t.Fatal(err)
	}
	defer saver.Close()
	if err := saver.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := saver.Hello(); err != nil {
		t.Fatal(err)
	}

	got := make(chan bool, 4)
	stop, err := WatchScreenSaver(watcher, func(active bool) { got <- active })
	if err != nil {
		t.Fatal(err)
	}
	emit := func(path dbus.ObjectPath, iface string, active bool) {
		t.Helper()
		if err := saver.Emit(path, iface+".ActiveChanged", active); err != nil {
			t.Fatal(err)
		}
	}
	want := func(w bool) {
		t.Helper()
		select {
		case a := <-got:
			if a != w {
				t.Errorf("got active=%v, want %v", a, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no ActiveChanged(%v) within 10 s", w)
		}
	}
	emit("/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver", true)
	want(true)
	emit("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", false)
	want(false)
	emit("/org/example", "org.example.Other", true) // not a screen saver
	emit("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", true)
	want(true)

	stop()
	emit("/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", true)
	select {
	case a := <-got:
		t.Errorf("got active=%v after stop", a)
	case <-time.After(300 * time.Millisecond):
	}
}
