package ui

import (
	"fmt"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// prefToldTray remembers that the person was told, once, that closing the
// window leaves Countersign running in the tray.
const prefToldTray = "tray.toldHidden"

// trayRecheck is how often the tray looks for changes when no pinned code
// rolls over sooner (an account pinned or added meanwhile).
const trayRecheck = 30 * time.Second

// tray is the system tray's menu: show or hide the window, the codes of the
// pinned accounts (a click copies one, and it is cleared from the clipboard
// as from the window), Lock and Quit. One timer, set for the next moment a
// pinned code changes, keeps the menu current.
type tray struct {
	m      *Main
	app    desktop.App
	hidden bool // the window is hidden in the tray

	cancel func() bool
	menu   *fyne.Menu // one menu, its items replaced on each change
	labels []string   // of the items last set, to set them again only on a change

	icon   fyne.Resource         // the app's, with no request waiting
	counts map[int]fyne.Resource // the icon marked with each count shown, made once
	shown  int                   // the count the icon shows, 0 for none
}

func newTray(m *Main, app desktop.App) *tray {
	menu := m.deps.Session.TrayMenu
	if menu == nil {
		menu = fyne.NewMenu("Countersign")
	}
	return &tray{m: m, app: app, hidden: m.deps.Session.Hidden, menu: menu}
}

// start sets the menu and has closing the window hide it instead.
func (t *tray) start() {
	if t.icon = t.m.app.Icon(); t.icon != nil {
		t.app.SetSystemTrayIcon(t.icon)
	}
	t.m.win.SetCloseIntercept(t.hideWindow)
	t.refresh()
}

// setCount shows on the icon how many sign-in requests wait, nothing for
// none.
func (t *tray) setCount(n int) {
	n = min(n, 10) // "9+"
	if n == t.shown || t.icon == nil {
		return
	}
	t.shown = n
	if n == 0 {
		t.app.SetSystemTrayIcon(t.icon)
		return
	}
	if t.counts == nil {
		t.counts = map[int]fyne.Resource{}
	}
	if t.counts[n] == nil {
		t.counts[n] = markIcon(t.icon, n)
	}
	t.app.SetSystemTrayIcon(t.counts[n])
}

func (t *tray) stop() {
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
}

// refresh sets the menu if it changed and sets the timer for the next change.
func (t *tray) refresh() {
	if t.cancel != nil {
		t.cancel()
	}
	t.setCount(t.m.approvals.waitingCount())
	items := t.items()
	labels := make([]string, len(items))
	for i, it := range items {
		labels[i] = it.Label
		if it.Disabled {
			labels[i] += " (disabled)"
		}
	}
	if !slices.Equal(labels, t.labels) {
		t.labels = labels
		t.menu.Items = items
		t.app.SetSystemTrayMenu(t.menu)
	}
	now := t.m.deps.Now()
	wait := trayRecheck
	if !t.m.lock.locked {
		for _, a := range t.pinned() {
			wait = min(wait, a.Remaining(now))
		}
	}
	t.cancel = t.m.deps.After(wait+5*time.Millisecond, t.refresh)
}

// pinned are the pinned time-based accounts, whose codes the tray shows. A
// counter-based account is left out: showing its code would use it up.
func (t *tray) pinned() []vault.Account {
	var out []vault.Account
	for _, a := range t.m.auth.all {
		if a.Pinned && a.Type == otp.TOTP {
			out = append(out, a)
		}
	}
	return out
}

// items are the tray menu's items for the current state.
func (t *tray) items() []*fyne.MenuItem {
	show := fyne.NewMenuItem("Hide Countersign", t.hideWindow)
	if t.hidden {
		show = fyne.NewMenuItem("Show Countersign", t.showWindow)
	}
	items := []*fyne.MenuItem{show, fyne.NewMenuItemSeparator()}
	if n := t.m.approvals.waitingCount(); n > 0 {
		label := fmt.Sprintf("%d sign-in requests waiting", n)
		if n == 1 {
			label = "1 sign-in request waiting"
		}
		items = append(items, fyne.NewMenuItem(label, t.m.approvals.showPrompts), fyne.NewMenuItemSeparator())
	}

	pinned := t.pinned()
	switch {
	case t.m.lock.locked:
		items = append(items, &fyne.MenuItem{Label: "Locked: show Countersign to unlock", Disabled: true})
	case len(pinned) == 0:
		items = append(items, &fyne.MenuItem{Label: "Pin accounts to see their codes here", Disabled: true})
	default:
		now := t.m.deps.Now()
		for _, a := range pinned {
			st := t.m.auth.rowState(a, now)
			id := a.ID
			items = append(items, fyne.NewMenuItem(trayLabel(a, pinned)+" · "+st.code, func() { t.m.auth.copyCode(id) }))
		}
	}

	items = append(items, fyne.NewMenuItemSeparator())
	if t.m.lock.enabled() {
		lock := fyne.NewMenuItem("Lock", t.m.lock.lockNow)
		lock.Disabled = t.m.lock.locked
		items = append(items, lock)
	}
	// About opens in the window, which shows nothing over its lock.
	about := fyne.NewMenuItem("About Countersign", t.about)
	about.Disabled = t.m.lock.locked
	quit := fyne.NewMenuItem("Quit", t.quit)
	quit.IsQuit = true
	return append(items, about, quit)
}

// trayLabel names a in the menu: its issuer, with the account name too when
// another pinned account has the same issuer (or there is no issuer).
func trayLabel(a vault.Account, pinned []vault.Account) string {
	if a.Issuer == "" {
		return a.Name
	}
	for _, b := range pinned {
		if b.ID != a.ID && b.Issuer == a.Issuer {
			return a.Issuer + " (" + a.Name + ")"
		}
	}
	return a.Issuer
}

func (t *tray) showWindow() {
	t.hidden = false
	t.m.win.Show()
	t.m.win.RequestFocus()
	t.m.lock.activity()
	t.refresh()
}

// hideWindow hides the window in the tray; the first time ever, a
// notification says that Countersign is still running there.
func (t *tray) hideWindow() {
	t.hidden = true
	t.m.win.Hide()
	t.refresh()
	prefs := t.m.app.Preferences()
	if !prefs.Bool(prefToldTray) {
		prefs.SetBool(prefToldTray, true)
		t.m.app.SendNotification(fyne.NewNotification("Countersign is still running",
			"It stays in the tray with your pinned codes. Choose Quit there to close it."))
	}
}

// about shows the window with About over it.
func (t *tray) about() {
	t.showWindow()
	t.m.showAbout()
}

// quit takes a code we copied out of the clipboard and ends the app.
func (t *tray) quit() { t.m.quit() }
