package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// Shortcut is one thing the window does from the keyboard.
type Shortcut struct {
	Name string // what it is called, e.g. "Copy the code"
	Keys string // the keys, as written in the README: "Enter, Ctrl+C"
	What string // what happens, in a sentence
}

// Shortcuts are the window's keys, in the order the README's table and a
// help page list them. Ctrl is Cmd on macOS.
func Shortcuts() []Shortcut {
	return []Shortcut{
		{"Go to a screen", "Ctrl+1 … Ctrl+5",
			"Opens the screens of the rail, top to bottom: Authenticator, Settings, Security keys, Approvals, Account."},
		{"Move the focus", "Tab, Shift+Tab",
			"Moves to the next or previous control of the screen or dialog, the accounts list included."},
		{"Search", "Ctrl+F, or type",
			"Searches issuer, name and tags; Esc clears the search."},
		{"Move the selection", "Up, Down, Page Up, Page Down, Home, End",
			"Moves the selection in the accounts list; while you type a search, Home and End move in its text."},
		{"Copy the code", "Enter, Ctrl+C",
			"Copies the selected account's code."},
		{"Account menu", "Menu, Shift+F10",
			"Opens the selected account's menu: copy, next code, edit, QR code, delete."},
		{"Add accounts", "Ctrl+N",
			"Opens the Add menu under the Add button."},
		{"Undo", "Ctrl+Z",
			"Undoes what the message at the bottom offers to undo (in a text field, the typing)."},
		{"Account tabs", "Ctrl+Tab, Ctrl+Shift+Tab",
			"On the Account screen, goes to the next or previous tab: Overview, Devices, Apps, Sessions, Activity, Household."},
		{"Read the keys again", "F5",
			"On Security keys, reads the keys plugged in again (a PIN set elsewhere, a key swapped)."},
		{"Lock", "Ctrl+L",
			"Locks the window when an app passphrase is set."},
		{"Confirm", "Enter",
			"Presses a dialog's default button (Save, Add, Pair …) from its text fields or with nothing focused; on a question that cannot be taken back (Delete, Remove, Unpair) the default keeps things as they are."},
		{"Close", "Esc",
			"Closes the dialog or menu on top, as its Cancel or Close button would."},
		{"Press", "Space",
			"Presses the focused button, ticks the focused box, opens the focused list of choices."},
		{"Quit", "Ctrl+Q",
			"Quits Countersign (closing the window keeps it in the tray): a code it copied leaves the clipboard."},
	}
}

// ShortcutsMarkdown is Shortcuts as the Markdown table the README shows.
func ShortcutsMarkdown() string {
	var b strings.Builder
	b.WriteString("| | Keys | What they do |\n|---|---|---|\n")
	for _, s := range Shortcuts() {
		b.WriteString("| " + s.Name + " | " + s.Keys + " | " + s.What + " |\n")
	}
	return b.String()
}

// screenKeys are the keys of Ctrl+1 … Ctrl+5, one a screen of the rail.
var screenKeys = []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5,
	fyne.Key6, fyne.Key7, fyne.Key8, fyne.Key9}

// bindShortcuts adds the window-wide shortcuts that work from every screen
// while no dialog is open: Ctrl+1 … (a screen of the rail), Ctrl+N (the Add
// menu) and Ctrl+Z (the toast's Undo). The search entry, which takes
// shortcuts itself, passes them on (windowShortcut).
func (m *Main) bindShortcuts() {
	c := m.win.Canvas()
	for i := range min(len(m.screens), len(screenKeys)) {
		c.AddShortcut(screenShortcut(i), func(fyne.Shortcut) {
			if m.windowKeys() {
				m.showIndex(i)
			}
		})
	}
	c.AddShortcut(newShortcut, func(fyne.Shortcut) {
		if m.windowKeys() {
			m.add.showMenu()
		}
	})
	c.AddShortcut(undoShortcut, func(fyne.Shortcut) {
		if m.windowKeys() {
			m.toast.undo()
		}
	})
	// Ctrl+Q quits from anywhere, a dialog open or the window locked.
	c.AddShortcut(quitShortcut, func(fyne.Shortcut) { m.quit() })
}

// quit ends Countersign, as the tray's Quit does: the code it copied
// leaves the clipboard and the window's size is kept.
func (m *Main) quit() {
	m.auth.clearCopied(m.auth.copied)
	m.saveSize()
	m.app.Quit()
}

// screenShortcut is Ctrl+(i+1).
func screenShortcut(i int) *desktop.CustomShortcut {
	return &desktop.CustomShortcut{KeyName: screenKeys[i], Modifier: fyne.KeyModifierShortcutDefault}
}

var (
	// newShortcut is Ctrl+N (Cmd+N on macOS): the Add menu.
	newShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	// undoShortcut is Ctrl+Z as the window has it while no text field has
	// the focus (Fyne turns Ctrl+Z into ShortcutUndo).
	undoShortcut = &fyne.ShortcutUndo{}
	// quitShortcut is Ctrl+Q (Cmd+Q on macOS).
	quitShortcut = &desktop.CustomShortcut{KeyName: fyne.KeyQ, Modifier: fyne.KeyModifierShortcutDefault}
)

// showIndex shows the screen at index i of the rail.
func (m *Main) showIndex(i int) {
	if i >= 0 && i < len(m.screens) {
		m.nav.SelectIndex(i)
	}
}

// windowShortcut runs s as the window would if it is one of the window's
// shortcuts, and reports whether it was. The search field, which takes
// every shortcut while it has the focus, hands these on.
func (m *Main) windowShortcut(s fyne.Shortcut) bool {
	for i := range min(len(m.screens), len(screenKeys)) {
		if sameShortcut(s, screenShortcut(i)) {
			m.showIndex(i)
			return true
		}
	}
	switch {
	case sameShortcut(s, newShortcut):
		m.add.showMenu()
	case sameShortcut(s, lockShortcut):
		m.lock.lockNow()
	case sameShortcut(s, quitShortcut):
		m.quit()
	default:
		return false
	}
	return true
}

// sameShortcut reports whether a and b are the same keys.
func sameShortcut(a, b fyne.Shortcut) bool { return a.ShortcutName() == b.ShortcutName() }

// keyDown and keyUp follow the Shift keys, for Shift+F10: Fyne hands a
// typed key over without its modifiers.
func (m *Main) keyDown(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		m.shift = true
	}
}

func (m *Main) keyUp(ev *fyne.KeyEvent) {
	if ev.Name == desktop.KeyShiftLeft || ev.Name == desktop.KeyShiftRight {
		m.shift = false
	}
}

// isMenuKey reports whether ev opens a context menu: the Menu key, or F10
// with Shift held.
func (m *Main) isMenuKey(ev *fyne.KeyEvent) bool {
	return ev.Name == desktop.KeyMenu || ev.Name == fyne.KeyF10 && m.shift
}
