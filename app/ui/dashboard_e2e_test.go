package ui

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/client"
)

// TestDashboardEndToEnd runs the Account screen on a real countersign-server
// in-process, through a real approver.Manager paired with it and the typed
// client: the Devices and Household tabs show the server's data, a card
// dragged on the board moves the device on the server, and when the server
// goes away the tabs keep what they showed and say so.
func TestDashboardEndToEnd(t *testing.T) {
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada Lovelace")
	// The desktop reaches the server through a relay the test can cut.
	relay := newRelay(t, strings.TrimPrefix(srv.URL, "http://localhost"))
	pair := func(name string) (*approver.Manager, approver.Account) {
		m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &memKeyring{items: map[string]string{}},
			Now: srv.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		code, _ := srv.PairingCode(u)
		a, err := m.Pair(context.Background(), relay.url, code, name)
		if err != nil {
			t.Fatalf("pairing %s: %v", name, err)
		}
		return m, a
	}
	m, acc := pair("Ada's desktop")
	_, _ = pair("Kitchen laptop")
	ctx := context.Background()
	c := client.New(client.ForAccount(m, acc.ID))
	sam, err := c.AddMember(ctx, "Sam")
	if err != nil {
		t.Fatalf("adding Sam: %v", err)
	}

	var h dashHarness
	h.start(t, m, func(id string) Dashboard { return client.New(client.ForAccount(m, id)) }, srv.Clock.Now())
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	h.tab(t, "Devices")
	h.assertShows(t, "Ada's desktop", "This device", "Kitchen laptop", "Updated ")
	h.capture(t, "e2e-devices")

	h.tab(t, "Household")
	h.assertShows(t, "Ada Lovelace", "Owner · You · 2 devices", "Sam", "0 devices")
	if got := h.columnOf(t, "Kitchen laptop"); got != "Ada Lovelace" {
		t.Fatalf("Kitchen laptop is in %q's column", got)
	}
	h.dragTo(t, "Kitchen laptop", "Sam")
	devs, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Name == "Kitchen laptop" && d.MemberID != sam.ID {
			t.Errorf("on the server Kitchen laptop belongs to %q, want Sam (%s)", d.MemberID, sam.ID)
		}
	}
	if got := h.columnOf(t, "Kitchen laptop"); got != "Sam" {
		t.Errorf("after the drop Kitchen laptop is in %q's column", got)
	}
	h.capture(t, "e2e-household")

	relay.cut()
	h.tap(t, "Refresh")
	want := "Can't reach " + strings.TrimPrefix(relay.url, "http://") + ": showing what was loaded at"
	if got := h.d.tabOf(h.d.household).banner.text(); !strings.HasPrefix(got, want) {
		t.Errorf("banner %q, want it to start %q", got, want)
	}
	if got := h.columnOf(t, "Kitchen laptop"); got != "Sam" {
		t.Errorf("offline, the board lost what it showed: Kitchen laptop is in %q's column", got)
	}
	h.capture(t, "e2e-offline")
}

// relay forwards TCP connections to a server until cut, when it closes
// them all and refuses new ones, as a server gone away would.
type relay struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newRelay(t *testing.T, port string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{url: "http://" + ln.Addr().String(), ln: ln}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", "127.0.0.1"+port, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, in, out)
			r.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(r.cut)
	return r
}

func (r *relay) cut() {
	if err := r.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
