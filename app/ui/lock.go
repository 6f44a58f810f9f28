package ui

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/applock"
)

// Session is what the lock, the tray and the settings need from the desktop
// session. Every field is optional.
type Session struct {
	// Tray is the system tray to show the pinned codes in, or nil when the
	// desktop has none. Closing the window only hides it when there is one.
	Tray desktop.App
	// TrayMenu is the menu already set on Tray before the app ran (Fyne
	// starts the tray with its run loop, and a later first menu may be
	// replaced by that one); the tray fills it in. A new one when nil.
	TrayMenu *fyne.Menu
	// Hidden says the window starts hidden in the tray.
	Hidden bool
	// ScreenSaver, when not nil, starts watching the desktop's screen
	// saver: it calls onActive(true) when the screen locks (from any
	// goroutine) until stop is called.
	ScreenSaver func(onActive func(active bool)) (stop func())
	// Getenv reads XDG_CONFIG_HOME and HOME for the autostart entry;
	// os.Getenv when nil.
	Getenv func(string) string
	// Executable is the program the autostart entry starts; "countersign"
	// (looked up in PATH) when empty.
	Executable string
	// Admin, on Windows, says whether Countersign runs as administrator
	// and restarts it as one (the Security keys screen); nil elsewhere.
	Admin *Admin
	// Rand salts new passphrases; crypto/rand when nil.
	Rand io.Reader
	// LockParams are the Argon2id parameters for new passphrases;
	// applock.DefaultParams when zero.
	LockParams applock.Params
}

// Preference keys of the lock. The verifier is an Argon2id hash with its
// salt and parameters, never the passphrase; see package applock for why it
// may live among the preferences.
const (
	prefLockVerifier = "lock.verifier"
	prefLockMinutes  = "lock.idleMinutes"
)

// appLock hides the window's codes behind the app passphrase: on demand
// (Ctrl+L, the tray, Settings), after the idle time chosen in Settings, when
// the screen locks, and at start. It is a privacy screen for the window, not
// encryption: see package applock.
type appLock struct {
	m       *Main
	limiter *applock.Limiter
	idle    *applock.Idle
	locked  bool

	cancelIdle  func() bool
	cancelRetry func() bool
	stopSaver   func()

	view     *fyne.Container
	entry    *widget.Entry
	unlock   *widget.Button
	checking *widget.Activity // turns while a passphrase is checked
	problem  *widget.Label

	// background runs a check off the UI goroutine (go f(), replaced in
	// tests); busy counts the checks under way, inCheck says one is.
	background func(f func())
	busy       sync.WaitGroup
	inCheck    bool
}

func newAppLock(m *Main) *appLock {
	l := &appLock{m: m, limiter: applock.NewLimiter(), background: func(f func()) { go f() }}
	l.idle = applock.NewIdle(time.Duration(m.app.Preferences().Int(prefLockMinutes))*time.Minute, m.deps.Now())

	l.entry = widget.NewPasswordEntry()
	l.entry.SetPlaceHolder("Passphrase")
	l.entry.OnSubmitted = func(string) { l.onUnlock() }
	l.unlock = widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), l.onUnlock)
	l.unlock.Importance = widget.HighImportance
	l.checking = widget.NewActivity()
	l.checking.Hide()
	l.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord, Alignment: fyne.TextAlignCenter}
	l.problem.Hide()

	title := &widget.Label{Text: "Countersign is locked", TextStyle: fyne.TextStyle{Bold: true},
		SizeName: theme.SizeNameSubHeadingText, Alignment: fyne.TextAlignCenter}
	hint := &widget.Label{Text: "Enter your app passphrase to see your codes.", Alignment: fyne.TextAlignCenter}
	var icon fyne.CanvasObject = widget.NewIcon(lockIcon)
	if res := m.app.Icon(); res != nil {
		icon = canvas.NewImageFromResource(res) // the app's own, as on a lock screen
		icon.(*canvas.Image).FillMode = canvas.ImageFillContain
	}
	iconBox := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(64), icon))
	form := container.NewGridWrap(fyne.NewSize(320, l.entry.MinSize().Height), l.entry)
	l.view = container.NewVBox(layout.NewSpacer(), iconBox, title, hint,
		container.NewCenter(form), container.NewCenter(container.NewHBox(l.unlock, l.checking)), l.problem, layout.NewSpacer())
	l.view.Hide()
	return l
}

// start locks at once when a passphrase is set (so that restarting the app
// does not open it), starts the idle timer and watches the screen saver.
func (l *appLock) start() {
	if l.enabled() {
		l.lock()
	}
	l.scheduleIdle()
	if saver := l.m.deps.Session.ScreenSaver; saver != nil {
		l.stopSaver = saver(func(active bool) {
			if active {
				fyne.Do(func() {
					if !l.locked && l.enabled() {
						l.lock()
					}
				})
			}
		})
	}
}

// stop ends the timers and the screen-saver watch, when the window closes.
func (l *appLock) stop() {
	for _, c := range []func() bool{l.cancelIdle, l.cancelRetry} {
		if c != nil {
			c()
		}
	}
	l.cancelIdle, l.cancelRetry = nil, nil
	if l.stopSaver != nil {
		l.stopSaver()
		l.stopSaver = nil
	}
}

// verifier is the stored passphrase verifier; the zero Verifier when no
// passphrase is set (or the stored one is unreadable, which Settings says).
func (l *appLock) verifier() (applock.Verifier, error) {
	s := l.m.app.Preferences().String(prefLockVerifier)
	if s == "" {
		return applock.Verifier{}, nil
	}
	return applock.Parse(s)
}

// enabled reports whether an app passphrase is set.
func (l *appLock) enabled() bool {
	v, err := l.verifier()
	return err == nil && !v.IsZero()
}

// minPassphrase is the fewest characters an app passphrase may have. The
// lock's wait after wrong guesses slows guessing at the window, not at the
// verifier, which sits in a readable preferences file: 8 characters is the
// least that holds out there for a while under Argon2id.
const minPassphrase = 8

// checkNewPassphrase says what is wrong with p as a new app passphrase.
func checkNewPassphrase(p string) error {
	if n := utf8.RuneCountInString(p); n < minPassphrase {
		return fmt.Errorf("use at least %d characters (this one has %d)", minPassphrase, n)
	}
	return nil
}

// setPassphrase stores the verifier of a new passphrase; "" removes it.
func (l *appLock) setPassphrase(p string) error {
	prefs := l.m.app.Preferences()
	if p == "" {
		prefs.RemoveValue(prefLockVerifier)
		l.scheduleIdle()
		return nil
	}
	if err := checkNewPassphrase(p); err != nil {
		return err
	}
	params := l.m.deps.Session.LockParams
	if params == (applock.Params{}) {
		params = applock.DefaultParams
	}
	random := l.m.deps.Session.Rand
	if random == nil {
		random = rand.Reader
	}
	v, err := applock.New(p, params, random)
	if err != nil {
		return err
	}
	prefs.SetString(prefLockVerifier, v.String())
	l.activity()
	return nil
}

// check verifies p, within the limit on wrong attempts. It returns nil for
// the right passphrase, and otherwise an error that says what to do.
func (l *appLock) check(p string) error {
	v, err := l.admit()
	if err != nil {
		return err
	}
	return l.judge(v.Check(p))
}

// admit returns the verifier to check an attempt against, or why no
// attempt may be made now. Checking (Argon2id, a second or two) may run
// off the UI goroutine; admit and judge run on it.
func (l *appLock) admit() (applock.Verifier, error) {
	if wait := l.limiter.Wait(l.m.deps.Now()); wait > 0 {
		return applock.Verifier{}, fmt.Errorf("too many wrong passphrases: try again in %s", waitText(wait))
	}
	v, err := l.verifier()
	if err != nil {
		return applock.Verifier{}, fmt.Errorf("the stored passphrase cannot be read: %w", err)
	}
	return v, nil
}

// judge counts an attempt that was right (ok) or wrong, and says what to
// do after a wrong one.
func (l *appLock) judge(ok bool) error {
	if ok {
		l.limiter.Reset()
		return nil
	}
	if wait := l.limiter.Fail(l.m.deps.Now()); wait > 0 {
		return fmt.Errorf("wrong passphrase: try again in %s", waitText(wait))
	}
	return fmt.Errorf("wrong passphrase")
}

// waitText says a wait in whole seconds or minutes, rounded up.
func waitText(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 120 {
		return fmt.Sprintf("%d s", s)
	}
	return fmt.Sprintf("%d min", (s+59)/60)
}

// lockNow locks if a passphrase is set, and otherwise says where to set one.
func (l *appLock) lockNow() {
	if !l.enabled() {
		l.m.toast.show("Set a passphrase in Settings to lock")
		return
	}
	if !l.locked {
		l.lock()
	}
}

// lock hides every code: the screens, any dialog or menu over them (the QR
// dialog shows a secret), and a code we copied to the clipboard.
func (l *appLock) lock() {
	l.locked = true
	c := l.m.win.Canvas()
	for o := c.Overlays().Top(); o != nil; o = c.Overlays().Top() {
		c.Overlays().Remove(o)
	}
	if l.m.current != nil {
		l.m.current.hidden()
	}
	l.m.auth.clearCopied(l.m.auth.copied)
	l.m.nav.Hide()
	l.entry.SetText("")
	l.problem.Hide()
	l.view.Show()
	l.showRetry(true)
	c.Focus(l.entry)
	if l.cancelIdle != nil {
		l.cancelIdle()
		l.cancelIdle = nil
	}
	l.m.refreshTray()
	l.m.approvals.lockChanged()
	// Whoever unlocks next confirms again before a sensitive change.
	if l.m.deps.Approvals != nil {
		l.m.deps.Approvals.ForgetStepUps()
	}
}

// onUnlock checks the passphrase typed off the UI goroutine, the button
// disabled and the activity turning meanwhile, and unlocks if it is right.
func (l *appLock) onUnlock() {
	if !l.locked || l.inCheck {
		return
	}
	p := l.entry.Text
	l.entry.SetText("")
	v, err := l.admit()
	if err != nil {
		l.refused(err)
		return
	}
	l.setChecking(true)
	l.busy.Add(1)
	l.background(func() {
		defer l.busy.Done()
		ok := v.Check(p)
		fyne.Do(func() {
			l.setChecking(false)
			if !l.locked {
				return
			}
			if err := l.judge(ok); err != nil {
				l.refused(err)
				return
			}
			l.unlockNow()
		})
	})
}

// setChecking shows that a passphrase is being checked.
func (l *appLock) setChecking(on bool) {
	l.inCheck = on
	if on {
		l.problem.Hide()
		l.unlock.SetText("Checking…")
		l.unlock.Disable()
		l.entry.Disable()
		l.checking.Show()
		l.checking.Start()
		return
	}
	l.checking.Stop()
	l.checking.Hide()
	l.unlock.SetText("Unlock")
	l.unlock.Enable()
	l.entry.Enable()
	if l.locked {
		l.m.win.Canvas().Focus(l.entry)
	}
}

// refused says why the passphrase did not unlock.
func (l *appLock) refused(err error) {
	l.problem.SetText(sentence(err))
	l.problem.Show()
	l.view.Refresh() // lay the message out
	l.showRetry(false)
}

// unlockNow shows the codes again.
func (l *appLock) unlockNow() {
	l.locked = false
	l.problem.Hide()
	l.view.Hide()
	l.m.nav.Show()
	if l.m.current != nil {
		l.m.current.shown()
	}
	l.activity()
	l.m.refreshTray()
	l.m.approvals.lockChanged()
}

// bringForward shows the window, hidden in the tray or behind others, with
// the passphrase field focused when locked.
func (l *appLock) bringForward() {
	if t := l.m.tray; t != nil {
		t.showWindow()
	} else {
		l.m.win.Show()
		l.m.win.RequestFocus()
	}
	if l.locked {
		l.m.win.Canvas().Focus(l.entry)
	}
}

// showRetry disables Unlock while wrong attempts make the next one wait,
// and counts the wait down each second (from now when say, else from the
// next second, leaving the message on display until then).
func (l *appLock) showRetry(say bool) {
	if l.cancelRetry != nil {
		l.cancelRetry()
		l.cancelRetry = nil
	}
	wait := l.limiter.Wait(l.m.deps.Now())
	if wait <= 0 || !l.locked {
		l.unlock.Enable()
		return
	}
	l.unlock.Disable()
	if say {
		l.problem.SetText("Too many wrong passphrases. Try again in " + waitText(wait) + ".")
		l.problem.Show()
		l.view.Refresh()
	}
	l.cancelRetry = l.m.deps.After(min(wait, time.Second), func() {
		l.cancelRetry = nil
		if l.limiter.Wait(l.m.deps.Now()) <= 0 {
			l.unlock.Enable()
			l.problem.Hide()
			return
		}
		l.showRetry(true)
	})
}

// activity restarts the idle time. Keys typed in the window, copying a
// code, changing a setting and bringing the window to the front count;
// moving the mouse or scrolling does not (Fyne has no window-wide hook for
// them).
func (l *appLock) activity() {
	if l.locked {
		return
	}
	l.idle.Activity(l.m.deps.Now())
	l.scheduleIdle()
}

// setIdleMinutes changes the auto-lock time; 0 turns it off.
func (l *appLock) setIdleMinutes(n int) {
	l.m.app.Preferences().SetInt(prefLockMinutes, n)
	l.idle.SetTimeout(time.Duration(n)*time.Minute, l.m.deps.Now())
	l.scheduleIdle()
}

// scheduleIdle sets one timer for when the lock falls due. When it fires
// after later activity it sets itself again for the new deadline.
func (l *appLock) scheduleIdle() {
	if l.cancelIdle != nil {
		l.cancelIdle()
		l.cancelIdle = nil
	}
	deadline, ok := l.idle.Deadline()
	if !ok || l.locked || !l.enabled() {
		return
	}
	l.cancelIdle = l.m.deps.After(deadline.Sub(l.m.deps.Now()), func() {
		l.cancelIdle = nil
		if l.idle.Due(l.m.deps.Now()) {
			l.lock()
			return
		}
		l.scheduleIdle()
	})
}

// sentence makes an error message into a sentence to show.
func sentence(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return stop(strings.ToUpper(s[:1]) + s[1:])
}

// lockShortcut is Ctrl+L (Cmd+L on macOS): lock now.
var lockShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}

// startSession hooks the lock and the tray into the window: Ctrl+L, the
// window coming to the front as activity, the tray when there is one, and
// the lock itself (locked at once when a passphrase is set).
func (m *Main) startSession() {
	m.win.Canvas().AddShortcut(lockShortcut, func(fyne.Shortcut) { m.lock.lockNow() })
	m.app.Lifecycle().SetOnEnteredForeground(m.lock.activity)
	if t := m.deps.Session.Tray; t != nil {
		m.tray = newTray(m, t)
		m.tray.start()
	}
	m.lock.start()
}

// stopSession ends the lock's timers and watches and the tray's timer.
func (m *Main) stopSession() {
	m.lock.stop()
	if m.tray != nil {
		m.tray.stop()
	}
}

// refreshTray updates the tray's menu, when there is a tray.
func (m *Main) refreshTray() {
	if m.tray != nil {
		m.tray.refresh()
	}
}
