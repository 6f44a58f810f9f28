package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/applock"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// cheapParams keep Argon2id fast in tests; the parameters travel with the
// hash, so the code under test is the same.
var cheapParams = applock.Params{Memory: 64, Time: 1, Threads: 1}

// spyWindow is a test window that remembers its close intercept and whether
// it was hidden, which the test driver's window does not.
type spyWindow struct {
	fyne.Window
	intercept func()
	hidden    bool
}

func (w *spyWindow) SetCloseIntercept(f func()) { w.intercept = f; w.Window.SetCloseIntercept(f) }
func (w *spyWindow) Hide()                      { w.hidden = true; w.Window.Hide() }
func (w *spyWindow) Show()                      { w.hidden = false; w.Window.Show() }

// newSessionHarness is newHarness with a session, and with an app
// passphrase already set when passphrase is not "".
func newSessionHarness(t *testing.T, accounts []vault.Account, sess Session, passphrase string) (*harness, *spyWindow) {
	t.Helper()
	h := &harness{
		app:   newTestApp(t),
		store: &fakeStore{accounts: accounts},
		clock: testkit.NewClock(start),
	}
	if passphrase != "" {
		v, err := applock.New(passphrase, cheapParams, bytes.NewReader(make([]byte, 16)))
		if err != nil {
			t.Fatal(err)
		}
		h.app.Preferences().SetString(prefLockVerifier, v.String())
	}
	spy := &spyWindow{Window: test.NewWindow(nil)}
	h.win = spy
	t.Cleanup(func() {
		if !h.closed {
			h.win.Close()
		}
	})
	sess.LockParams = cheapParams
	sess.Rand = bytes.NewReader(make([]byte, 1024))
	h.main = NewMain(h.app, h.win, Deps{Vault: h.store, Now: h.clock.Now, After: h.clock.After, Session: sess})
	h.main.lock.background = checkNow
	h.auth = h.main.auth
	return h, spy
}

// checkNow checks a passphrase at once, on the test's goroutine: the test
// driver's fyne.Do runs what it is given where it is called, so a check on
// a goroutine of its own would change the widgets under the test's feet.
func checkNow(f func()) { f() }

// unlockWith types p into the lock screen and presses Unlock.
func (h *harness) unlockWith(p string) {
	l := h.main.lock
	l.entry.SetText(p)
	test.Tap(l.unlock)
	l.busy.Wait()
}

// pressLock presses Ctrl+L on the window.
func (h *harness) pressLock() {
	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(lockShortcut)
}

func TestStartsLockedAndHidesCodes(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	if !h.main.lock.locked {
		t.Fatal("a passphrase is set, yet the window starts unlocked")
	}
	test.AssertRendersToMarkup(t, "lock/locked.xml", h.win.Canvas())
	text := visibleText(h.win.Canvas())
	for _, code := range []string{"050 471", "4050 471", "14 050 471", "GitHub"} {
		if strings.Contains(text, code) {
			t.Errorf("the locked window shows %q:\n%s", code, text)
		}
	}
	// Typing goes to the passphrase, not to the search behind the lock.
	h.win.Canvas().(interface{ OnTypedRune() func(rune) }).OnTypedRune()('g')
	if h.auth.search.Text != "" {
		t.Errorf("typing while locked searched for %q", h.auth.search.Text)
	}
	if h.clock.Pending() != 0 && h.auth.cancelTick != nil {
		t.Error("the codes keep ticking behind the lock")
	}
}

func TestUnlockWrongThenRight(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	l := h.main.lock
	h.unlockWith("open sesam")
	if !l.locked {
		t.Fatal("a wrong passphrase unlocked")
	}
	if !l.problem.Visible() || l.problem.Text != "Wrong passphrase." {
		t.Errorf("after a wrong passphrase the lock says %q (shown %v), want Wrong passphrase.", l.problem.Text, l.problem.Visible())
	}
	if l.entry.Text != "" {
		t.Error("the wrong passphrase stays in the field")
	}
	test.AssertRendersToMarkup(t, "lock/wrong.xml", h.win.Canvas())

	l.entry.SetText("open sesame")
	l.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter unlocks too
	l.busy.Wait()
	if l.locked || l.view.Visible() || !h.main.nav.Visible() {
		t.Fatal("the right passphrase did not unlock")
	}
	if got := h.row(t, "gh0000000001").code.Text; got != "050 471" {
		t.Errorf("after unlocking GitHub shows %q, want 050 471", got)
	}
	if h.auth.cancelTick == nil {
		t.Error("the codes do not tick after unlocking")
	}
}

func TestWrongPassphrasesMakeTheNextWait(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	l := h.main.lock
	for range 4 {
		h.unlockWith("guess")
	}
	if l.unlock.Disabled() {
		t.Fatal("Unlock disabled after 4 wrong passphrases; the first 5 are free")
	}
	h.unlockWith("guess")
	if want := "Wrong passphrase: try again in 30 s."; l.problem.Text != want {
		t.Errorf("after 5 wrong passphrases: %q, want %q", l.problem.Text, want)
	}
	if !l.unlock.Disabled() {
		t.Error("Unlock is enabled during the wait")
	}
	h.clock.Advance(time.Second)
	if want := "Too many wrong passphrases. Try again in 29 s."; l.problem.Text != want {
		t.Errorf("1 s later: %q, want %q", l.problem.Text, want)
	}
	l.entry.SetText("open sesame")
	l.onUnlock() // Enter in the field during the wait
	if !l.locked || !strings.Contains(l.problem.Text, "try again in 29 s") {
		t.Errorf("the right passphrase during the wait: locked %v, %q", l.locked, l.problem.Text)
	}
	h.clock.Advance(29 * time.Second)
	if l.unlock.Disabled() || l.problem.Visible() {
		t.Errorf("after the wait Unlock is disabled %v, the problem %q still shown", l.unlock.Disabled(), l.problem.Text)
	}
	h.unlockWith("guess")
	if want := "Wrong passphrase: try again in 60 s."; l.problem.Text != want {
		t.Errorf("the 7th wrong passphrase: %q, want %q (the wait doubles)", l.problem.Text, want)
	}
	h.clock.Advance(time.Minute)
	h.unlockWith("open sesame")
	if l.locked {
		t.Fatal("the right passphrase after the wait did not unlock")
	}
	if l.limiter.Failures() != 0 {
		t.Error("unlocking did not forget the wrong attempts")
	}
}

func TestLockNowHidesDialogsAndClearsClipboard(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	h.unlockWith("open sesame")
	h.app.Clipboard().SetContent("my password")
	h.pressLock()
	if h.clipboard() != "my password" {
		t.Errorf("locking cleared %q, which we did not copy", h.clipboard())
	}
	h.unlockWith("open sesame")

	test.Tap(h.row(t, "gh0000000001"))
	h.menuAction(t, "gh0000000001", "Show as QR code…")
	if h.win.Canvas().Overlays().Top() == nil {
		t.Fatal("no QR dialog")
	}
	h.pressLock()
	if !h.main.lock.locked {
		t.Fatal("Ctrl+L did not lock")
	}
	if h.clipboard() != "" {
		t.Errorf("the clipboard still holds the copied code %q after locking", h.clipboard())
	}
	if o := h.win.Canvas().Overlays().Top(); o != nil {
		t.Error("the QR dialog (it shows the secret) stays over the lock screen")
	}
	// The search entry has the focus and takes Ctrl+L itself.
	h.unlockWith("open sesame")
	h.auth.search.TypedShortcut(lockShortcut)
	if !h.main.lock.locked {
		t.Error("Ctrl+L in the search field did not lock")
	}
}

func TestLockNeedsAPassphrase(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "")
	if h.main.lock.locked {
		t.Fatal("starts locked with no passphrase")
	}
	h.pressLock()
	if h.main.lock.locked {
		t.Error("Ctrl+L locked with no passphrase to unlock with")
	}
	if got := h.main.toast.visibleText(); got != "Set a passphrase in Settings to lock" {
		t.Errorf("toast %q, want advice to set a passphrase", got)
	}
}

func TestAutoLockAfterIdleMinutes(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	h.unlockWith("open sesame")
	h.main.lock.setIdleMinutes(5)
	if got := h.app.Preferences().Int(prefLockMinutes); got != 5 {
		t.Errorf("stored idle minutes %d, want 5", got)
	}
	h.clock.Advance(4 * time.Minute)
	test.Type(h.auth.search, "git") // activity
	h.clock.Advance(4 * time.Minute)
	if h.main.lock.locked {
		t.Fatal("locked 4 minutes after typing, with 5 minutes of auto-lock")
	}
	test.Tap(h.row(t, "gh0000000001")) // copying counts too
	h.clock.Advance(5*time.Minute - time.Second)
	if h.main.lock.locked {
		t.Fatal("locked before 5 idle minutes")
	}
	h.clock.Advance(time.Second)
	if !h.main.lock.locked {
		t.Fatal("not locked after 5 idle minutes")
	}
	if h.clipboard() != "" {
		t.Error("auto-lock left the copied code in the clipboard")
	}

	h.unlockWith("open sesame")
	h.main.lock.setIdleMinutes(0)
	h.main.nav.SelectIndex(1) // Settings: no ticking codes to step through for a day
	h.clock.Advance(24 * time.Hour)
	if h.main.lock.locked {
		t.Error("locked with auto-lock off")
	}
}

// fakeScreenSaver is the screen-saver watch of a test: Set says the screen
// locked or unlocked.
type fakeScreenSaver struct {
	onActive func(bool)
	stopped  bool
}

func (f *fakeScreenSaver) watch(onActive func(bool)) func() {
	f.onActive = onActive
	return func() { f.stopped = true }
}

func TestScreenLockLocks(t *testing.T) {
	saver := &fakeScreenSaver{}
	h, _ := newSessionHarness(t, fixture(), Session{ScreenSaver: saver.watch}, "open sesame")
	h.unlockWith("open sesame")
	saver.onActive(false)
	if h.main.lock.locked {
		t.Fatal("locked when the screen saver went off")
	}
	saver.onActive(true)
	if !h.main.lock.locked {
		t.Fatal("not locked when the screen locked")
	}
	h.close()
	if !saver.stopped {
		t.Error("closing the window did not stop watching the screen saver")
	}

	// Without a passphrase there is nothing to lock with.
	saver2 := &fakeScreenSaver{}
	h2, _ := newSessionHarness(t, fixture(), Session{ScreenSaver: saver2.watch}, "")
	saver2.onActive(true)
	if h2.main.lock.locked {
		t.Error("locked with no passphrase")
	}
}

// visibleText is the text of every visible label and text in the window and
// its overlays, one per line: what a person can read.
func visibleText(c fyne.Canvas) string {
	var b strings.Builder
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch o := o.(type) {
		case *widget.Label:
			b.WriteString(o.Text + "\n")
		case *widget.RichText:
			b.WriteString(o.String() + "\n")
		case *canvas.Text:
			b.WriteString(o.Text + "\n")
		}
		switch o := o.(type) {
		case *fyne.Container:
			for _, child := range o.Objects {
				walk(child)
			}
		case fyne.Widget:
			for _, child := range test.WidgetRenderer(o).Objects() {
				walk(child)
			}
		}
	}
	walk(c.Content())
	for _, o := range c.Overlays().List() {
		walk(o)
	}
	return b.String()
}

// fixturePlus is the fixture and n more, more than the window shows.
func fixturePlus(n int) []vault.Account {
	many := fixture()
	for i := range n {
		a := fixture()[0]
		a.ID = fmt.Sprintf("zz%010d", i)
		a.Issuer = fmt.Sprintf("Zed %02d", i)
		many = append(many, a)
	}
	return many
}

// TestListOpensAtTheTop: the list opens scrolled to the top, the pinned
// first account in sight, at start and after the unlock at start.
func TestListOpensAtTheTop(t *testing.T) {
	check := func(h *harness, when string) {
		t.Helper()
		if off := h.auth.list.GetScrollOffset(); off != 0 {
			t.Errorf("%s the list is scrolled %v down, want it at the top", when, off)
		}
		if r := h.row(t, "gh0000000001"); r.Position().Y+r.Size().Height <= 0 {
			t.Errorf("%s the pinned first account is out of sight", when)
		}
	}
	h := newHarness(t, fixturePlus(30))
	h.win.Resize(defaultWindowSize)
	check(h, "at start")

	h, _ = newSessionHarness(t, fixturePlus(30), Session{}, "open sesame")
	h.win.Resize(defaultWindowSize)
	h.unlockWith("open sesame")
	check(h, "after the unlock")
}

// TestUnlockShowsItIsChecking: while the passphrase is checked (Argon2id
// takes a second or two), off the UI goroutine, Unlock is disabled and
// says so, and an activity turns; then the window unlocks.
func TestUnlockShowsItIsChecking(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "open sesame")
	l := h.main.lock
	var pending func()
	l.background = func(f func()) { pending = f }
	l.entry.SetText("open sesame")
	test.Tap(l.unlock)
	if pending == nil {
		t.Fatal("the passphrase was checked on the UI goroutine")
	}
	if !l.unlock.Disabled() || l.unlock.Text != "Checking…" || !l.checking.Visible() || !l.entry.Disabled() {
		t.Errorf("while checking: Unlock disabled %v, %q; activity shown %v; field disabled %v",
			l.unlock.Disabled(), l.unlock.Text, l.checking.Visible(), l.entry.Disabled())
	}
	l.onUnlock() // Enter again meanwhile: one check is enough
	if !l.locked {
		t.Fatal("unlocked before the check ended")
	}
	pending()
	if l.locked || l.unlock.Disabled() || l.checking.Visible() || l.unlock.Text != "Unlock" {
		t.Errorf("after the check: locked %v, Unlock disabled %v, %q, activity shown %v",
			l.locked, l.unlock.Disabled(), l.unlock.Text, l.checking.Visible())
	}
}
