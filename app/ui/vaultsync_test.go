package ui

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// syncDesktop is one desktop of the sync test: its vault, its paired
// manager and its window on Settings.
type syncDesktop struct {
	name  string
	dir   string
	vault *vault.Vault
	mgr   *approver.Manager
	win   fyne.Window
	main  *Main
}

// syncHarness is a real server and two desktops of one person. What the
// windows hand back to the UI goroutine waits in queue until pump runs it
// on the test's goroutine.
type syncHarness struct {
	srv   *approvertest.Server
	clock *testkit.Clock
	queue chan func()
	a, b  *syncDesktop
}

func newSyncHarness(t *testing.T) *syncHarness {
	t.Helper()
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada Lovelace")
	h := &syncHarness{srv: srv, clock: testkit.NewClock(srv.Clock.Now()), queue: make(chan func(), 256)}
	app := newTestApp(t)
	open := func(name string) *syncDesktop {
		d := &syncDesktop{name: name, dir: t.TempDir()}
		var err error
		if d.vault, err = vault.Open(d.dir, vault.Options{Keys: &testkit.FakeKeyring{}}); err != nil {
			t.Fatal(err)
		}
		if d.mgr, err = approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: srv.Clock.Now}); err != nil {
			t.Fatal(err)
		}
		d.win = test.NewWindow(nil)
		d.main = NewMain(app, d.win, Deps{Vault: d.vault, Now: h.clock.Now, After: h.clock.After,
			Session: Session{Tray: &fakeTray{}}, Approvals: d.mgr, DataDir: d.dir,
			NewWindow: func(title string) fyne.Window { return app.NewWindow(title) }})
		// Set before the desktop is paired: nothing is under way yet.
		d.main.approvals.ui = func(f func()) { h.queue <- f }
		d.main.sync.ui = func(f func()) { h.queue <- f }
		d.win.Resize(defaultWindowSize)
		d.main.backups.busy.Wait() // the daily look, which hands back with fyne.Do
		return d
	}
	h.a, h.b = open("Ada's laptop"), open("Ada's desktop")
	ctx, cancel := context.WithCancel(context.Background())
	var running []chan struct{}
	for _, d := range []*syncDesktop{h.a, h.b} {
		_, uri := srv.PairingCode(u)
		if _, err := d.mgr.Pair(context.Background(), uri, "", d.name); err != nil {
			t.Fatalf("pairing %s: %v", d.name, err)
		}
		done := make(chan struct{})
		running = append(running, done)
		go func() { defer close(done); d.mgr.Run(ctx) }()
	}
	t.Cleanup(func() {
		for _, d := range []*syncDesktop{h.a, h.b} {
			d.main.sync.shutdown()
		}
		cancel()
		// Drain what comes back meanwhile so that nothing blocks on the queue.
		for _, d := range []*syncDesktop{h.a, h.b} {
			idle := make(chan struct{})
			go func() { d.main.sync.busy.Wait(); d.main.approvals.busy.Wait(); close(idle) }()
		drain:
			for {
				select {
				case <-idle:
					break drain
				case <-h.queue:
				}
			}
		}
		for _, done := range running {
			<-done
		}
		for _, d := range []*syncDesktop{h.a, h.b} {
			d.win.Close()
		}
	})
	for _, d := range []*syncDesktop{h.a, h.b} {
		d.main.nav.SelectIndex(slices.Index(d.main.screens, screen(d.main.settings)))
		d.main.backups.busy.Wait()
	}
	return h
}

// pump runs what comes back to the UI goroutine until ok holds.
func (h *syncHarness) pump(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for !ok() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatalf("timed out waiting until %s; the laptop shows:\n%s\nthe desktop shows:\n%s",
				what, shownText(h.a.win.Canvas()), shownText(h.b.win.Canvas()))
		}
	}
}

// shows reports whether d's window shows text.
func (d *syncDesktop) shows(text string) bool {
	return strings.Contains(shownText(d.win.Canvas()), text)
}

var syncCodeRE = regexp.MustCompile(`\b\d{3} \d{3}\b`)

// codeShown is the join code d's window shows; "" when none.
func (d *syncDesktop) codeShown() string {
	return syncCodeRE.FindString(shownText(d.win.Canvas()))
}

// TestSyncTwoDesktopsInTheWindow turns sync on in one window, joins from
// a second (both show the same code), approves in the first, adds an
// account there and sees it reach the second window's list by the round
// the "vault" event wakes; then turns sync off on the second.
func TestSyncTwoDesktopsInTheWindow(t *testing.T) {
	h := newSyncHarness(t)
	a, b := h.a, h.b

	h.pump(t, "the laptop offers to turn sync on", func() bool { return a.shows("Turn on sync") })
	capturePNG(t, a.win, "/tmp/sync-off.png")
	tapIn(t, a.win.Canvas(), "Turn on sync")
	h.pump(t, "the laptop syncs", func() bool { return a.shows("On, on this desktop only") && a.shows("Last synced at") })

	// The desktop learns of it at its next look, every minute.
	h.clock.Advance(syncEvery)
	h.pump(t, "the desktop offers to join", func() bool { return b.shows("Join…") })
	tapIn(t, b.win.Canvas(), "Join…")
	h.pump(t, "the desktop shows its code", func() bool { return b.shows("Compare this code") && b.codeShown() != "" })
	joining := b.codeShown()
	capturePNG(t, b.win, "/tmp/sync-join.png")

	// The request is a "vault" event on the laptop's stream.
	h.pump(t, "the laptop shows the request", func() bool { return a.shows("asks to join") })
	if !a.shows(`"Ada's desktop" asks to join`) {
		t.Errorf("the laptop does not name the joining desktop:\n%s", shownText(a.win.Canvas()))
	}
	if got := a.codeShown(); got != joining {
		t.Fatalf("the laptop shows the code %q, the joining desktop %q", got, joining)
	}
	capturePNG(t, a.win, "/tmp/sync-request.png")
	tapIn(t, a.win.Canvas(), "Approve")
	h.pump(t, "both sync, with two desktops", func() bool {
		return a.shows("On, with 2 desktops") && b.shows("On, with 2 desktops") && !b.shows("Compare this code")
	})
	h.pump(t, "the desktop's first round", func() bool { return b.shows("Last synced at") })
	if a.shows("asks to join") {
		t.Errorf("the laptop still shows the request once approved:\n%s", shownText(a.win.Canvas()))
	}

	// An account added on the laptop, as its window adds one: the round
	// after the changes settle sends it, and the "vault" event that
	// brings to the desktop wakes its round.
	acc, err := transferAccount("otpauth://totp/Example:ada@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.main.deps.Vault.Add(acc); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(syncDebounce)
	h.pump(t, "the account reaches the desktop's list", func() bool {
		return slices.ContainsFunc(b.main.auth.all, func(x vault.Account) bool { return x.Issuer == "Example" && x.Name == "ada@example.com" })
	})
	if got := b.vault.Accounts(); len(got) != 1 || got[0].Key.SecretBase32() != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("the desktop's vault holds %d accounts, want the one added on the laptop", len(got))
	}
	capturePNG(t, b.win, "/tmp/sync-on.png")

	// Turning off asks first, keeping by default.
	tapIn(t, b.win.Canvas(), "Turn off on this desktop…")
	if !b.shows("Stop syncing ada@example.com on this desktop?") {
		t.Fatalf("no question before turning off:\n%s", shownText(b.win.Canvas()))
	}
	tapIn(t, b.win.Canvas(), "Turn off")
	h.pump(t, "the desktop no longer syncs", func() bool { return b.shows("Off on this desktop") && b.shows("Join…") })
	if p := syncStatePath(b); p != "" {
		t.Errorf("the desktop kept its sync state %s", p)
	}
	if len(b.vault.Accounts()) != 1 {
		t.Errorf("turning off took the desktop's accounts away")
	}
	h.pump(t, "the laptop syncs alone again", func() bool {
		a.main.sync.look() // the leaving desktop's event is not told to the laptop
		return a.shows("On, on this desktop only")
	})
	if syncStatePath(a) == "" {
		t.Errorf("the laptop has no sync state")
	}
}

// syncStatePath is d's sync state file; "" when there is none.
func syncStatePath(d *syncDesktop) string {
	m, _ := filepath.Glob(filepath.Join(d.dir, "sync-*.state"))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}
