package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/capture/xvfbtest"
)

// fakeWatcher is org.kde.StatusNotifierWatcher as a desktop's tray host
// runs it: tray icons register with it, and the host then reads their menus
// over D-Bus (com.canonical.dbusmenu).
type fakeWatcher struct{ registered chan string }

func (w *fakeWatcher) RegisterStatusNotifierItem(sender dbus.Sender, _ string) *dbus.Error {
	w.registered <- string(sender)
	return nil
}

// trayItem is one entry of a dbusmenu layout.
type trayItem struct {
	id    int32
	label string
}

// trayMenu reads the top level of the tray menu that service exports.
func trayMenu(conn *dbus.Conn, service string) ([]trayItem, error) {
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	err := conn.Object(service, "/StatusNotifierMenu").
		Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(1), []string{}).Store(&rev, &layout)
	if err != nil {
		return nil, err
	}
	var items []trayItem
	for _, c := range layout.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) < 2 {
			continue
		}
		id, _ := fields[0].(int32)
		props, _ := fields[1].(map[string]dbus.Variant)
		label, _ := props["label"].Value().(string)
		items = append(items, trayItem{id, label})
	}
	return items, nil
}

// TestTrayOnTheBus starts the real binary with --hidden beside a fake tray
// host on the private session bus: the window stays hidden, the tray menu
// lists the pinned account's code, Show Countersign shows the window and
// Quit ends the program.
func TestTrayOnTheBus(t *testing.T) {
	needKeyring(t)
	display := xvfbtest.Start(t, image.Pt(1024, 768))
	home := t.TempDir()
	ok(t, home, "import", "../../testdata/transfer/aegis-plain.json") // GitHub is a favourite: pinned

	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	watcher := &fakeWatcher{registered: make(chan string, 4)}
	if err := conn.Export(watcher, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil ||
		reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claim the watcher's name: %v (reply %d)", err, reply)
	}
	t.Cleanup(func() { conn.ReleaseName("org.kde.StatusNotifierWatcher") })

	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")
	cmd := exec.Command(binary, "--hidden")
	cmd.Env = append(os.Environ(), "COUNTERSIGN_HOME="+home, "XDG_CONFIG_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	var service string
	select {
	case service = <-watcher.registered:
	case err := <-exited:
		t.Fatalf("countersign --hidden exited: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no tray icon registered within 30 s\n%s", stderr.String())
	}

	// The menu fills in once the vault is open.
	var items []trayItem
	find := func(prefix string) (trayItem, bool) {
		for _, it := range items {
			if strings.HasPrefix(it.label, prefix) {
				return it, true
			}
		}
		return trayItem{}, false
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		items, err = trayMenu(conn, service)
		if _, found := find("GitHub · "); found && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no GitHub code in the tray menu after 30 s: %v, %v\n%s", items, err, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("tray menu after %s: %v", time.Since(started).Round(time.Millisecond), items)
	gh, _ := find("GitHub · ")
	if code := strings.TrimPrefix(gh.label, "GitHub · "); len(code) != 7 || code[3] != ' ' {
		t.Errorf("tray shows GitHub's code as %q, want six digits grouped by three", code)
	}
	show, found := find("Show Countersign")
	if !found {
		t.Fatalf("started hidden, the tray offers no Show Countersign: %v", items)
	}
	if _, found := find("Quit"); !found {
		t.Fatalf("the tray has no Quit: %v", items)
	}
	click := func(it trayItem) {
		t.Helper()
		call := conn.Object(service, "/StatusNotifierMenu").
			Call("com.canonical.dbusmenu.Event", 0, it.id, "clicked", dbus.MakeVariant(""), uint32(0))
		if call.Err != nil {
			t.Fatalf("click %q: %v", it.label, call.Err)
		}
	}

	githubOnScreen := func() bool {
		t.Helper()
		screens, err := capture.Screens(context.Background(), capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return contains(screens[0].Image, color.RGBA{0xC6, 0x28, 0x28, 0xff}) // GitHub's avatar
	}
	if githubOnScreen() {
		t.Error("started with --hidden, the window is on the screen")
	}

	click(show)
	deadline = time.Now().Add(10 * time.Second)
	for {
		items, err = trayMenu(conn, service)
		if _, found := find("Hide Countersign"); found && githubOnScreen() {
			break
		}
		// The menu is made anew when the codes turn (every 30 s): a click
		// on the item of the menu before is lost, so the new one is clicked.
		if again, found := find("Show Countersign"); found && again.id != show.id {
			show = again
			click(show)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Show Countersign: no window on the screen, the tray offers %v (%v)", items, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	t.Logf("window shown after %s", time.Since(started).Round(time.Millisecond))
	quit, _ := find("Quit")
	click(quit)
	select {
	case err := <-exited:
		t.Logf("quit after %s", time.Since(started).Round(time.Millisecond))
		if err != nil {
			t.Errorf("Quit: exit %v\n%s", err, stderr.String())
		}
		exited <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Errorf("still running 10 s after Quit\n%s", stderr.String())
	}
}
