package ui

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/autostart"
)

// prefStartHidden is the "Start hidden in the tray" setting; StartsHidden
// reads it for app/countersign.
const prefStartHidden = "tray.startHidden"

// StartsHidden reports whether the person chose to start Countersign hidden
// in the tray.
func StartsHidden(a fyne.App) bool { return a.Preferences().Bool(prefStartHidden) }

// autoLockChoice is an auto-lock time offered, in minutes (0: never).
type autoLockChoice struct {
	label   string
	minutes int
}

var autoLockChoices = []autoLockChoice{
	{"Never", 0},
	{"After 1 minute", 1},
	{"After 5 minutes", 5},
	{"After 15 minutes", 15},
	{"After 1 hour", 60},
}

// settings is the Settings screen: the app passphrase and auto-lock, and
// how Countersign starts.
type settings struct {
	m *Main

	passStatus   *widget.Label
	setPass      *widget.Button
	changePass   *widget.Button
	removePass   *widget.Button
	lockNow      *widget.Button
	autoLock     *widget.Select
	needsPass    *widget.Label // why Lock now and the auto-lock are disabled
	startHidden  *widget.Check
	trayHint     *widget.Label
	startOnLogin *widget.Check
	problem      *widget.Label
	root         fyne.CanvasObject

	updating bool // the widgets are being set from the state, not by the person

	dialog dialog.Dialog // the last dialog shown
	form   *passForm     // the passphrase dialog's fields while it is open
	export *exportForm   // the Export dialog's fields while it is open
	about  *about        // the About dialog while it is open
}

// passForm holds the fields of a passphrase dialog; current is nil when
// setting a first passphrase, next and repeat are nil when removing it.
type passForm struct {
	current, next, repeat *dialogEntry
}

func newSettings(m *Main) *settings {
	s := &settings{m: m}

	s.passStatus = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.setPass = widget.NewButton("Set passphrase…", func() { s.showPassphrase(false, true) })
	s.setPass.Importance = widget.HighImportance
	s.changePass = widget.NewButton("Change passphrase…", func() { s.showPassphrase(true, true) })
	s.removePass = widget.NewButton("Remove passphrase…", func() { s.showPassphrase(true, false) })
	s.lockNow = widget.NewButtonWithIcon("Lock now", lockIcon, m.lock.lockNow)
	honest := &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
		Text: "The lock hides your codes in this window and the tray. It does not encrypt your accounts " +
			"any further: their key stays in the system keyring, and the countersign command can still read them."}

	labels := make([]string, len(autoLockChoices))
	for i, c := range autoLockChoices {
		labels[i] = c.label
	}
	s.autoLock = widget.NewSelect(labels, s.onAutoLock)
	s.needsPass = &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
		Text: "Lock now and the automatic lock need an app passphrase: set one above first."}
	autoLockHint := &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
		Text: "Counted from the last key typed or code copied. Countersign also locks when the screen does."}

	s.startHidden = widget.NewCheck("Start hidden in the tray", s.onStartHidden)
	s.trayHint = &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
		Text: "Your desktop shows no system tray, so Countersign opens its window."}
	s.startOnLogin = widget.NewCheck("Start when I log in", s.onStartOnLogin)
	s.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	s.problem.Hide()

	s.root = container.NewVScroll(container.NewPadded(container.NewVBox(
		heading("App passphrase"),
		s.passStatus,
		container.NewHBox(s.setPass, s.changePass, s.removePass, s.lockNow),
		honest,
		widget.NewSeparator(),
		heading("Lock automatically"),
		container.NewHBox(container.NewGridWrap(fyne.NewSize(220, s.autoLock.MinSize().Height), s.autoLock)),
		autoLockHint,
		s.needsPass,
		widget.NewSeparator(),
		heading("Starting"),
		s.startOnLogin,
		s.startHidden,
		s.trayHint,
		s.problem,
		widget.NewSeparator(),
		m.recovery.root, // each ends with its separator, and hides with it
		m.keySlots.root,
		m.backups.root,
		m.sync.root,
		heading("Your accounts"),
		container.NewHBox(widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), s.showExport)),
		&widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
			Text: "An encrypted backup, or a file another authenticator app imports."},
		widget.NewSeparator(),
		container.NewHBox(widget.NewButtonWithIcon("About Countersign…", theme.InfoIcon(), s.showAbout)),
	)))
	return s
}

func heading(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
}

func (s *settings) title() string              { return "Settings" }
func (s *settings) icon() fyne.Resource        { return theme.SettingsIcon() }
func (s *settings) content() fyne.CanvasObject { return s.root }
func (s *settings) shown()                     { s.update(); s.m.sync.look(); s.m.backups.start(backupLook) }
func (s *settings) hidden()                    {}

// update sets the widgets from the stored state.
func (s *settings) update() {
	s.updating = true
	defer func() { s.updating = false }()

	_, verr := s.m.lock.verifier()
	on := s.m.lock.enabled()
	switch {
	case verr != nil:
		s.passStatus.SetText("The stored passphrase cannot be read, so the window cannot be locked. Set a new one.")
	case on:
		s.passStatus.SetText("A passphrase is set: Countersign starts locked, and Ctrl+L locks it.")
	default:
		s.passStatus.SetText("No passphrase is set: anyone at this computer can see your codes while Countersign runs.")
	}
	show(s.setPass, !on)
	show(s.changePass, on)
	show(s.removePass, on)
	enable(s.lockNow, on)

	minutes := s.m.app.Preferences().Int(prefLockMinutes)
	i := slices.IndexFunc(autoLockChoices, func(c autoLockChoice) bool { return c.minutes == minutes })
	s.autoLock.SetSelectedIndex(max(i, 0))
	enable(s.autoLock, on)
	show(s.needsPass, !on)

	s.startOnLogin.SetChecked(autostart.Enabled(s.getenv()))
	s.startHidden.SetChecked(StartsHidden(s.m.app))
	enable(s.startHidden, s.m.tray != nil)
	show(s.trayHint, s.m.tray == nil)
	s.m.recovery.update()
	s.m.keySlots.update()
	s.m.backups.update()
	s.root.Refresh() // lay out what was shown or hidden
}

func show(o fyne.CanvasObject, visible bool) {
	if visible {
		o.Show()
	} else {
		o.Hide()
	}
}

func enable(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

func (s *settings) getenv() func(string) string {
	if g := s.m.deps.Session.Getenv; g != nil {
		return g
	}
	return os.Getenv
}

func (s *settings) onAutoLock(string) {
	if s.updating {
		return
	}
	if i := s.autoLock.SelectedIndex(); i >= 0 {
		s.m.lock.setIdleMinutes(autoLockChoices[i].minutes)
	}
}

func (s *settings) onStartHidden(on bool) {
	if s.updating {
		return
	}
	s.m.lock.activity()
	s.m.app.Preferences().SetBool(prefStartHidden, on)
}

func (s *settings) onStartOnLogin(on bool) {
	if s.updating {
		return
	}
	s.m.lock.activity()
	exe := s.m.deps.Session.Executable
	if exe == "" {
		exe = "countersign"
	}
	if err := autostart.Set(s.getenv(), exe, on); err != nil {
		s.problem.SetText(sentence(err))
		s.problem.Show()
		s.update()
		return
	}
	s.problem.Hide()
}

// showPassphrase asks for the passphrases to set (needCurrent false, set
// true), change (both true) or remove (set false) the app passphrase.
func (s *settings) showPassphrase(needCurrent, set bool) {
	s.m.lock.activity()
	f := &passForm{}
	var items []*widget.FormItem
	if needCurrent {
		f.current = s.m.newDialogPasswordEntry()
		items = append(items, widget.NewFormItem("Current passphrase", f.current))
	}
	if set {
		f.next, f.repeat = s.m.newDialogPasswordEntry(), s.m.newDialogPasswordEntry()
		f.next.Validator = checkNewPassphrase
		f.repeat.Validator = func(p string) error {
			if p != f.next.Text {
				return errors.New("the two passphrases differ")
			}
			return nil
		}
		f.next.OnChanged = func(string) {
			if f.repeat.Text != "" {
				f.repeat.Validate() // the two may differ now
			}
		}
		items = append(items,
			&widget.FormItem{Text: "New passphrase", Widget: f.next,
				HintText: fmt.Sprintf("At least %d characters", minPassphrase)},
			&widget.FormItem{Text: "Repeat it", Widget: f.repeat, HintText: "Type the new passphrase again"})
	}
	title, confirm := "Set the app passphrase", "Set"
	switch {
	case needCurrent && set:
		title, confirm = "Change the app passphrase", "Change"
	case !set:
		title, confirm = "Remove the app passphrase", "Remove"
	}
	d := dialog.NewForm(title, confirm, "Cancel", items, func(ok bool) {
		s.form = nil
		if ok {
			s.savePassphrase(f)
		}
	}, s.m.win)
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	s.form, s.dialog = f, d
	s.m.showDialog(d)
	if f.current != nil {
		s.m.win.Canvas().Focus(f.current)
	} else {
		s.m.win.Canvas().Focus(f.next)
	}
}

// savePassphrase checks the current passphrase (within the limit on wrong
// attempts) and stores the new one, or removes it.
func (s *settings) savePassphrase(f *passForm) {
	if f.current != nil {
		if err := s.m.lock.check(f.current.Text); err != nil {
			s.showError("The passphrase was not changed", err)
			return
		}
	}
	var next, done string
	switch {
	case f.next == nil:
		done = "Passphrase removed"
	case f.next.Text == "" || f.next.Text != f.repeat.Text:
		s.showError("The passphrase was not changed", errors.New("the two passphrases differ"))
		return
	default:
		next, done = f.next.Text, "Passphrase set"
	}
	if err := s.m.lock.setPassphrase(next); err != nil {
		s.showError("The passphrase was not changed", err)
		return
	}
	s.update()
	s.m.refreshTray()
	s.m.toast.show(done)
}

func (s *settings) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, "")), s.m.win)
	s.dialog = d
	s.m.showDialog(d)
}
