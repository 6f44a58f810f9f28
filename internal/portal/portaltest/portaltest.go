// Package portaltest serves a stand-in for xdg-desktop-portal's
// FileChooser on a private D-Bus daemon, for tests of the portal path end
// to end over a real bus. It is imported only by tests.
package portaltest

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/internal/portal"
)

// Bus starts a private session bus (dbus-daemon) for the test, stopped when
// it ends, and returns a function that connects to it. Without dbus-daemon
// the test skips, unless COUNTERSIGN_TEST_KEYRING=secret-service (make
// test) says this machine must have it.
func Bus(t testing.TB) func() (*dbus.Conn, error) {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		if os.Getenv("COUNTERSIGN_TEST_KEYRING") == "secret-service" {
			t.Fatal("dbus-daemon not found (make deps installs it)")
		}
		t.Skip("no dbus-daemon")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address within 10 s")
	}
	if a == "" {
		t.Fatal("dbus-daemon printed no address")
	}
	return func() (*dbus.Conn, error) { return dbus.Connect(a) }
}

// Call is one request the fake portal received.
type Call struct {
	Method string // OpenFile or SaveFile
	Title  string
	// Options are the request's options; Filters is the "filters" option
	// read back as the portal reads it, a(sa(us)) with glob rules (kind 0).
	Options map[string]dbus.Variant
	Filters []portal.Filter
	// Err says why the filters could not be read, nil when they could.
	Err error
}

// FileChooser is a fake org.freedesktop.portal.FileChooser. Answer says
// how each request ends: the portal's response code (0 chosen, 1
// cancelled, 2 other) and the file chosen.
type FileChooser struct {
	Answer func(Call) (code uint32, path string)

	conn  *dbus.Conn
	mu    sync.Mutex
	calls []Call
}

// ServeFileChooser claims the portal's name on the bus connect reaches and
// serves f there until the test ends.
func ServeFileChooser(t testing.TB, connect func() (*dbus.Conn, error), f *FileChooser) {
	t.Helper()
	conn, err := connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.conn = conn
	if err := conn.Export(f, portal.Path, "org.freedesktop.portal.FileChooser"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(portal.Bus, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claim %s: %v (reply %d)", portal.Bus, err, reply)
	}
}

// Calls are the requests received so far.
func (f *FileChooser) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *FileChooser) OpenFile(sender dbus.Sender, parent, title string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return f.answer("OpenFile", sender, title, options)
}

func (f *FileChooser) SaveFile(sender dbus.Sender, parent, title string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return f.answer("SaveFile", sender, title, options)
}

// answer opens the request at the path the caller expects, as the portal
// does, and emits its Response a moment later, as a dialog would.
func (f *FileChooser) answer(method string, sender dbus.Sender, title string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	c := Call{Method: method, Title: title, Options: options}
	if v, ok := options["filters"]; ok {
		c.Filters, c.Err = readFilters(v)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	token, _ := options["handle_token"].Value().(string)
	name := strings.ReplaceAll(strings.TrimPrefix(string(sender), ":"), ".", "_")
	request := dbus.ObjectPath(portal.Path + "/request/" + name + "/" + token)
	code, path := f.Answer(c)
	go func() {
		time.Sleep(20 * time.Millisecond)
		results := map[string]dbus.Variant{}
		if code == 0 {
			results["uris"] = dbus.MakeVariant([]string{(&url.URL{Scheme: "file", Path: path}).String()})
		}
		f.conn.Emit(request, "org.freedesktop.portal.Request.Response", code, results)
	}()
	return request, nil
}

// readFilters reads the filters option: a list of (name, [(kind, pattern)]).
func readFilters(v dbus.Variant) ([]portal.Filter, error) {
	var wire []struct {
		Name  string
		Rules []struct {
			Kind    uint32
			Pattern string
		}
	}
	if err := dbus.Store([]any{v.Value()}, &wire); err != nil {
		return nil, fmt.Errorf("filters are not a(sa(us)): %w", err)
	}
	var fs []portal.Filter
	for _, w := range wire {
		f := portal.Filter{Name: w.Name}
		for _, r := range w.Rules {
			if r.Kind != 0 {
				return nil, fmt.Errorf("filter %q: rule kind %d, want 0 (glob)", w.Name, r.Kind)
			}
			f.Patterns = append(f.Patterns, r.Pattern)
		}
		fs = append(fs, f)
	}
	return fs, nil
}
