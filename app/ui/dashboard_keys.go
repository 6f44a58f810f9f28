package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
)

// The Account screen's shortcuts: Ctrl+Tab shows the next tab, and
// Ctrl+Shift+Tab the one before, round from the last to the first.
var (
	nextTab     = &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl}
	previousTab = &desktop.CustomShortcut{KeyName: fyne.KeyTab, Modifier: fyne.KeyModifierControl | fyne.KeyModifierShift}
)

// bindKeys adds the screen's shortcuts to the window. They act only while
// the screen is on display with its tabs, and no dialog or menu is open.
func (d *dashboard) bindKeys() {
	c := d.m.win.Canvas()
	for s, step := range map[*desktop.CustomShortcut]int{nextTab: 1, previousTab: -1} {
		c.AddShortcut(s, func(fyne.Shortcut) {
			d.m.lock.activity()
			if d.m.current == screen(d) && c.Overlays().Top() == nil && !d.m.lock.locked {
				d.cycleTab(step)
			}
		})
	}
}

// cycleTab shows the tab step tabs away from the one on display.
func (d *dashboard) cycleTab(step int) {
	if d.tabs == nil || !d.tabs.Visible() || len(d.tabs.Items) == 0 {
		return
	}
	n := len(d.tabs.Items)
	d.tabs.SelectIndex(((d.tabs.SelectedIndex()+step)%n + n) % n)
}
