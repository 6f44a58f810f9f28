package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/countersign/countersign/internal/api"
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
	svc   *flakySync // the window's Approvals: mgr, with pulls that can fail
	win   fyne.Window
	main  *Main
}

// syncHarness is a real server and two desktops of one person. What the
// windows hand back to the UI goroutine waits in queue until pump runs it
// on the test's goroutine.
type syncHarness struct {
	srv     *approvertest.Server
	clock   *testkit.Clock
	queue   chan func()
	a, b    *syncDesktop
	allowed []color.NRGBA // the text colours of the theme's variant
	notes   *notifyApp
}

// notifyApp is the test app keeping the notifications sent.
type notifyApp struct {
	fyne.App
	sent []*fyne.Notification
}

func (a *notifyApp) SendNotification(n *fyne.Notification) { a.sent = append(a.sent, n) }

// drain runs what waits to be run on the UI goroutine.
func (h *syncHarness) drain() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

// newSyncHarness is two desktops drawn in the theme's variant v.
func newSyncHarness(t *testing.T, v fyne.ThemeVariant) *syncHarness {
	t.Helper()
	srv := approvertest.Start(t)
	u := srv.User("ada@example.com", "Ada Lovelace")
	h := &syncHarness{srv: srv, clock: testkit.NewClock(srv.Clock.Now()), queue: make(chan func(), 256)}
	app := newTestApp(t)
	th := variantTheme{Theme(), v}
	old := app.Settings().Theme()
	app.Settings().SetTheme(th)
	t.Cleanup(func() { app.Settings().SetTheme(old) })
	h.allowed = allowedTextColors(th, v)
	h.notes = &notifyApp{App: app}
	open := func(name string) *syncDesktop {
		d := &syncDesktop{name: name, dir: t.TempDir()}
		var err error
		if d.vault, err = vault.Open(d.dir, vault.Options{Keys: &testkit.FakeKeyring{}}); err != nil {
			t.Fatal(err)
		}
		if d.mgr, err = approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: srv.Clock.Now}); err != nil {
			t.Fatal(err)
		}
		d.svc = &flakySync{Manager: d.mgr}
		d.win = test.NewWindow(nil)
		d.main = NewMain(h.notes, d.win, Deps{Vault: d.vault, Now: h.clock.Now, After: h.clock.After,
			Session: Session{Tray: &fakeTray{}}, Approvals: d.svc, DataDir: d.dir,
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
			go func() {
				d.main.sync.busy.Wait()
				d.main.sync.rounds.Wait()
				d.main.approvals.busy.Wait()
				close(idle)
			}()
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

// flakySync is a desktop's manager whose pulls fail while fail is set.
type flakySync struct {
	*approver.Manager
	fail atomic.Pointer[error]
}

func (f *flakySync) SyncPull(ctx context.Context, accountID string, after int64, limit int) (api.SyncRecords, error) {
	if err := f.fail.Load(); err != nil {
		return api.SyncRecords{}, *err
	}
	return f.Manager.SyncPull(ctx, accountID, after, limit)
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

// look checks the colours of what d's window shows, and saves a picture
// of it when COUNTERSIGN_SCREENSHOTS is set.
func (h *syncHarness) look(t *testing.T, what string, d *syncDesktop, picture string) {
	t.Helper()
	// Settings scrolled to Sync, or to its end when that is shorter.
	d.main.settings.root.(*container.Scroll).ScrollToOffset(fyne.NewPos(0, d.main.sync.root.Position().Y))
	checkTextColors(t, what, d.win.Canvas(), h.allowed)
	capturePNG(t, d.win, picture)
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
	for _, variant := range variants {
		t.Run(variant.name, func(t *testing.T) { testSyncTwoDesktops(t, variant.v, variant.name) })
	}
}

func testSyncTwoDesktops(t *testing.T, v fyne.ThemeVariant, name string) {
	h := newSyncHarness(t, v)
	a, b := h.a, h.b

	h.pump(t, "the laptop offers to turn sync on", func() bool { return a.shows("Turn on sync") })
	h.look(t, "sync off", a, "/tmp/sync-off-"+name+".png")
	tapIn(t, a.win.Canvas(), "Turn on sync")
	h.pump(t, "the laptop syncs", func() bool { return a.shows("On, on this desktop only") && a.shows("Last synced at") })

	// The desktop learns of it at its next look, every minute.
	h.clock.Advance(syncEvery)
	h.pump(t, "the desktop offers to join", func() bool { return b.shows("Join…") })
	tapIn(t, b.win.Canvas(), "Join…")
	h.pump(t, "the desktop shows its code", func() bool { return b.shows("Compare this code") && b.codeShown() != "" })
	joining := b.codeShown()
	h.look(t, "the code to compare", b, "/tmp/sync-join-"+name+".png")

	// The request is a "vault" event on the laptop's stream.
	h.pump(t, "the laptop shows the request", func() bool { return a.shows("asks to join") })
	if !a.shows(`"Ada's desktop" asks to join`) {
		t.Errorf("the laptop does not name the joining desktop:\n%s", shownText(a.win.Canvas()))
	}
	if got := a.codeShown(); got != joining {
		t.Fatalf("the laptop shows the code %q, the joining desktop %q", got, joining)
	}
	h.look(t, "a join request", a, "/tmp/sync-request-"+name+".png")
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
	h.look(t, "syncing", b, "/tmp/sync-on-"+name+".png")

	// Turning off asks first, keeping by default.
	tapIn(t, b.win.Canvas(), "Turn off on this desktop…")
	if !b.shows("Stop syncing ada@example.com on this desktop?") {
		t.Fatalf("no question before turning off:\n%s", shownText(b.win.Canvas()))
	}
	h.look(t, "the question before turning off", b, "/tmp/sync-off-ask-"+name+".png")
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

// TestSyncFailureAndIgnore shows a failed round in words, clears it at
// the next round that goes through, and hides a join request ignored.
func TestSyncFailureAndIgnore(t *testing.T) {
	h := newSyncHarness(t, theme.VariantLight)
	a, b := h.a, h.b
	refused := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	a.svc.fail.Store(&refused)
	h.pump(t, "the laptop offers to turn sync on", func() bool { return a.shows("Turn on sync") })
	tapIn(t, a.win.Canvas(), "Turn on sync")
	const why = "The last sync failed. The server does not answer. It may be down, or the address may be wrong."
	h.pump(t, "the laptop says why its round failed", func() bool { return a.shows(why) })
	if !a.shows("Not synced yet.") {
		t.Errorf("the laptop does not say it has not synced yet:\n%s", shownText(a.win.Canvas()))
	}
	h.look(t, "a failed round", a, "/tmp/sync-failed.png")
	a.svc.fail.Store(nil)
	tapIn(t, a.win.Canvas(), "Sync now")
	h.pump(t, "the round goes through", func() bool { return a.shows("Last synced at") && !a.shows(why) })

	h.clock.Advance(syncEvery)
	h.pump(t, "the desktop offers to join", func() bool { return b.shows("Join…") })
	tapIn(t, b.win.Canvas(), "Join…")
	h.pump(t, "the laptop shows the request", func() bool { return a.shows("asks to join") })
	want := fmt.Sprintf("%q asks to join the sync of ada@example.com, with code %s. Compare it in Settings → Sync.",
		"Ada's desktop", a.codeShown())
	if n := h.notes.sent; len(n) != 1 || n[0].Title != "A desktop asks to sync" || n[0].Content != want {
		t.Errorf("notifications %v, want one saying %q", n, want)
	}
	tapIn(t, a.win.Canvas(), "Ignore")
	if a.shows("asks to join") {
		t.Errorf("the ignored request still shows:\n%s", shownText(a.win.Canvas()))
	}
	a.main.sync.look() // read again: it stays ignored
	a.main.sync.busy.Wait()
	h.drain()
	if len(h.notes.sent) != 1 {
		t.Errorf("the ignored request was announced again: %v", h.notes.sent)
	}
	if a.shows("asks to join") {
		t.Errorf("the ignored request shows again:\n%s", shownText(a.win.Canvas()))
	}
}
