// Package ui is Countersign's window: the navigation between its screens and
// the screens themselves, built from Fyne widgets.
//
// It does not create the Fyne app or open the vault (app/countersign does
// both and hands them in), and it does not import fyne.io/fyne/v2/app, so its
// tests build and run with Fyne's test driver and without cgo or OpenGL.
// Every function here runs on Fyne's UI goroutine; work started elsewhere
// comes back through fyne.Do.
package ui

import (
	"context"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/vault"
)

// Store is the account store the screens read and change. *vault.Vault is
// the real one.
type Store interface {
	Accounts() []vault.Account
	Add(accounts ...vault.Account) (added, dups []vault.Account, err error)
	Edit(ref string, fn func(*vault.Account) error) (vault.Account, error)
	Remove(ref string) (vault.Account, error)
	NextHOTP(ref string) (code string, a vault.Account, err error)
	// Reload re-reads what another process changed and reports whether
	// anything did.
	Reload() (changed bool, err error)
}

// Deps are what the window needs from outside. Vault is required.
type Deps struct {
	Vault Store
	// Now is the clock codes are computed from; time.Now when nil.
	Now func() time.Time
	// After runs f on the UI goroutine once d has passed, unless the returned
	// cancel is called first (cancel reports whether it stopped f). It drives
	// the countdowns, the toast and the clearing of the clipboard. When nil,
	// a time.AfterFunc that hands f to fyne.Do.
	After func(d time.Duration, f func()) (cancel func() bool)
	// Capture takes a picture of every monitor to look for QR codes in; it
	// runs off the UI goroutine. capture.Screens when nil.
	Capture func(ctx context.Context) ([]capture.Screen, error)
	// Clipboard reads the clipboard's image and text; it runs off the UI
	// goroutine. capture.Clipboard when nil.
	Clipboard func() (capture.Clip, error)
	// Session is the tray, the screen saver and the rest of the desktop
	// session the lock and the settings use (lock.go).
	Session Session
	// Keys are the FIDO2 security keys the Security keys screen manages
	// (FidoKeys); nil shows that none can be used.
	Keys KeyService
	// Approvals are the sign-in approvals of the paired accounts; nil shows
	// that they are not available, and ApprovalsErr why.
	Approvals    Approvals
	ApprovalsErr error
	// Dashboards opens the dashboard of a paired account (an
	// approver.Account's ID) that the Account screen shows; nil shows that
	// it is not available.
	Dashboards func(accountID string) Dashboard
	// NewWindow opens a window of its own, for a sign-in request's prompt;
	// the app's NewWindow when nil.
	NewWindow func(title string) fyne.Window
	// Screen is the size of the screen the window opens on; nil when it is
	// not known. The window opens no larger than it.
	Screen Screen
	// Files is the desktop's own file dialog (portal.FileChooser); nil
	// uses Fyne's.
	Files FileChooser
	// Version and DataDir are what About says: the build, and the folder
	// of the vault and the settings (COUNTERSIGN_HOME).
	Version, DataDir string
}

func (d *Deps) defaults(a fyne.App) {
	if d.NewWindow == nil {
		d.NewWindow = a.NewWindow
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.After == nil {
		d.After = func(d time.Duration, f func()) func() bool {
			return time.AfterFunc(d, func() { fyne.Do(f) }).Stop
		}
	}
	if d.Capture == nil {
		d.Capture = func(ctx context.Context) ([]capture.Screen, error) {
			return capture.Screens(ctx, capture.Options{})
		}
	}
	if d.Clipboard == nil {
		d.Clipboard = func() (capture.Clip, error) { return capture.Clipboard(capture.Options{}) }
	}
}

// Window sizes, in Fyne's device-independent units.
var (
	minWindowSize     = fyne.NewSize(440, 480)
	defaultWindowSize = fyne.NewSize(560, 700)
)

// Preference keys under which the window remembers its size. Fyne does not
// let an app read or set a window's position, so that is left to the
// window manager.
const (
	prefWidth  = "window.width"
	prefHeight = "window.height"
)

// screen is one destination of the navigation. Adding a screen to the window
// is one entry in NewMain's list.
type screen interface {
	title() string
	icon() fyne.Resource
	content() fyne.CanvasObject
	// shown is called when the screen becomes the one on display, hidden
	// when it stops being (another screen is chosen, or the window closes).
	shown()
	hidden()
}

// keyHandler is a screen that handles keys and characters typed while no
// widget has the focus, and window-wide shortcuts, while it is on display.
type keyHandler interface {
	typedKey(ev *fyne.KeyEvent)
	typedRune(r rune)
	typedShortcut(s fyne.Shortcut)
}

// Main is the window's content: a navigation rail and the screen chosen in it.
type Main struct {
	app   fyne.App
	win   fyne.Window
	deps  Deps
	toast *toast

	screens []screen
	current screen
	nav     *container.AppTabs
	// holders hold each screen's content in the navigation, empty until the
	// screen is first shown: a screen nobody opens is never laid out.
	holders []*fyne.Container

	auth      *authenticator
	add       *adder
	lock      *appLock
	settings  *settings
	approvals *approvals
	dashboard *dashboard
	tray      *tray
	backups   *backups     // Settings → Backups, and the automatic ones (backups.go)
	recovery  *recoveryKey // Settings → Recovery key (recovery.go)
	keySlots  *keySlots    // Settings → Security keys that open your accounts (keyslots.go)
	restore   *restore     // Restore from backup, while it runs (restore.go)
	sync      *syncView    // Settings → Sync, and the rounds (vaultsync.go)

	dialogs []shownDialog // the dialogs over the window (dialogkeys.go)
	shift   bool          // whether a Shift key is down, for Shift+F10
	// pending counts the work off the UI goroutine that is not a screen's
	// own (the desktop's file dialogs, exports), for tests to wait on.
	pending sync.WaitGroup
}

// NewMain fills w with Countersign's screens, restores the window size
// remembered in a's preferences and shows the first screen. It panics if
// deps.Vault is nil.
func NewMain(a fyne.App, w fyne.Window, deps Deps) *Main {
	if deps.Vault == nil {
		panic("ui: Deps.Vault is nil")
	}
	deps.defaults(a)
	m := &Main{app: a, win: w, deps: deps}
	slots, _ := deps.Vault.(recoverySlots)
	m.deps.Vault = &watchedStore{Store: deps.Vault, changed: func() { m.backups.changed(); m.sync.changed() }}
	m.toast = newToast(deps.After)
	m.backups = newBackups(m)
	m.recovery = newRecoveryKey(m, slots)
	m.keySlots = newKeySlots(m, deps.Vault)
	m.sync = newSyncView(m, deps.Vault)
	m.add = newAdder(m)
	m.lock = newAppLock(m)
	m.auth = newAuthenticator(m)
	m.settings = newSettings(m)
	m.approvals = newApprovals(m)
	m.dashboard = newDashboard(m)
	m.screens = []screen{
		m.auth,
		m.settings,
		newKeys(m),
		m.approvals,
		m.dashboard,
	}

	tabs := make([]*container.TabItem, len(m.screens))
	for i, s := range m.screens {
		m.holders = append(m.holders, newContentHolder())
		tabs[i] = container.NewTabItemWithIcon(s.title(), s.icon(), m.holders[i])
	}
	// The backup reminder shows above the Authenticator screen.
	m.holders[0].Add(m.backups.around(m.screens[0].content()))
	m.nav = container.NewAppTabs(tabs...)
	m.nav.SetTabLocation(container.TabLocationLeading)
	m.nav.OnSelected = func(*container.TabItem) { m.show(m.screens[m.nav.SelectedIndex()]) }

	w.SetContent(withMinSize(container.NewStack(m.nav, m.lock.view, m.toast.layer)))
	restoreSize(a, w, deps.Screen)
	w.SetOnClosed(m.onClosed)
	// Quitting (Ctrl+C in the terminal, logging out) stops the app without
	// closing the window; the size is kept then too.
	a.Lifecycle().SetOnStopped(m.saveSize)
	m.bindKeys()
	m.show(m.screens[0])
	m.startSession()
	m.approvals.start()
	m.sync.begin()
	m.backups.begin()
	return m
}

func (m *Main) show(s screen) {
	if s == m.current {
		return
	}
	if m.current != nil {
		m.current.hidden()
	}
	if h := m.holders[m.screenIndex(s)]; len(h.Objects) == 0 {
		h.Add(s.content())
	}
	m.current = s
	s.shown()
}

// onClosed takes a copied code out of the clipboard before it outlives the
// window (a clipboard manager would keep it), and saves the size.
func (m *Main) onClosed() {
	if m.current != nil {
		m.current.hidden()
		m.current = nil
	}
	m.stopSession()
	m.approvals.shutdown()
	m.sync.shutdown()
	m.auth.clearCopied(m.auth.copied)
	m.saveSize()
}

// saveSize remembers the window's size for the next start.
func (m *Main) saveSize() {
	size := m.win.Canvas().Size()
	if size.Width >= minWindowSize.Width && size.Height >= minWindowSize.Height {
		p := m.app.Preferences()
		p.SetFloat(prefWidth, float64(size.Width))
		p.SetFloat(prefHeight, float64(size.Height))
	}
}

// bindKeys routes the keys nobody else handles to the dialog on top, or to
// the screen on display when no dialog or menu is open over it, and binds
// the window's shortcuts (keyboard.go). Ctrl+F and Ctrl+C reach the canvas
// when the focused widget does not take shortcuts itself; the search entry,
// which does, handles them the same way.
func (m *Main) bindKeys() {
	c := m.win.Canvas()
	handler := func() (keyHandler, bool) {
		m.lock.activity() // every key routed here counts
		if !m.windowKeys() {
			return nil, false
		}
		k, ok := m.current.(keyHandler)
		return k, ok
	}
	for _, s := range []fyne.Shortcut{
		&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault},
		&fyne.ShortcutCopy{},
	} {
		c.AddShortcut(s, func(s fyne.Shortcut) {
			if k, ok := handler(); ok {
				k.typedShortcut(s)
			}
		})
	}
	m.bindShortcuts()
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if m.dialogKey(ev.Name) {
			return
		}
		if k, ok := handler(); ok {
			k.typedKey(ev)
		}
	})
	c.SetOnTypedRune(func(r rune) {
		if k, ok := handler(); ok {
			k.typedRune(r)
		}
	})
	if dc, ok := c.(desktop.Canvas); ok {
		dc.SetOnKeyDown(m.keyDown)
		dc.SetOnKeyUp(m.keyUp)
	}
}

// windowKeys reports whether the window's own keys and shortcuts apply:
// no dialog or menu is open over it, and it is not locked.
func (m *Main) windowKeys() bool {
	return m.win.Canvas().Overlays().Top() == nil && !m.lock.locked
}

// isFind reports whether s is Ctrl+F (Cmd+F on macOS).
func isFind(s fyne.Shortcut) bool {
	c, ok := s.(*desktop.CustomShortcut)
	return ok && c.KeyName == fyne.KeyF && c.Modifier == fyne.KeyModifierShortcutDefault
}
