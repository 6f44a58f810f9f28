package ui

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/backup"
	"github.com/countersign/countersign/internal/vault"
)

// Automatic backups: after every change to the accounts (backupDebounce
// after the last one) and once a day, each off the UI goroutine, into the
// folder of the backup settings (backup.json beside the vault, shared with
// the command line). They need no secret of the person's — they are
// encrypted to the recovery key's public half — so they run while the
// window is locked too.

// backupDebounce is how long after the last change to the accounts the
// backup "after every change" is made, so that a burst of edits makes one.
const backupDebounce = 5 * time.Second

// backupTick is how often the window looks whether today's daily backup
// is due: a new day begins while it runs.
const backupTick = time.Hour

// prefReminderHidden is when the backup reminder was last dismissed (Unix
// seconds); it stays hidden for reminderPause after.
const (
	prefReminderHidden = "backup.reminderHidden"
	reminderPause      = 24 * time.Hour
)

// keepChoices are the numbers of backups offered to keep.
var keepChoices = []int{5, 10, 30, 100}

// watchedStore is the vault as the screens use it, telling the backups
// of every change the window makes or notices (a change another process
// made shows in Reload). changed may run on any goroutine.
type watchedStore struct {
	Store
	changed func()
}

func (w *watchedStore) Add(accounts ...vault.Account) (added, dups []vault.Account, err error) {
	added, dups, err = w.Store.Add(accounts...)
	if len(added) > 0 {
		w.changed()
	}
	return added, dups, err
}

func (w *watchedStore) Edit(ref string, fn func(*vault.Account) error) (vault.Account, error) {
	a, err := w.Store.Edit(ref, fn)
	if err == nil {
		w.changed()
	}
	return a, err
}

func (w *watchedStore) Remove(ref string) (vault.Account, error) {
	a, err := w.Store.Remove(ref)
	if err == nil {
		w.changed()
	}
	return a, err
}

func (w *watchedStore) NextHOTP(ref string) (string, vault.Account, error) {
	code, a, err := w.Store.NextHOTP(ref)
	if err == nil {
		w.changed() // the counter moved: a restore must not hand out old codes
	}
	return code, a, err
}

func (w *watchedStore) Reload() (bool, error) {
	changed, err := w.Store.Reload()
	if changed && err == nil {
		w.changed()
	}
	return changed, err
}

// Path is the vault file's path, when the store has one (export.go asks).
func (w *watchedStore) Path() string {
	if p, ok := w.Store.(interface{ Path() string }); ok {
		return p.Path()
	}
	return ""
}

// backupState is what the backups section and the reminder show.
type backupState struct {
	cfg    backup.Config
	hasKey bool      // the vault has a recovery key to encrypt backups to
	last   time.Time // the newest backup's time; zero when there is none
	count  int       // backups in the folder
	err    error     // why the settings or the folder could not be read
}

// backups is the Backups part of Settings, the automatic backups and the
// reminder on the Authenticator screen.
type backups struct {
	m    *Main
	home string // the vault's folder; "" when not known, and no backups are made

	state   backupState
	failed  error          // the last backup's failure, until one succeeds
	mu      sync.Mutex     // one backup at a time
	busy    sync.WaitGroup // work off the UI goroutine, for tests
	pending func() bool    // cancels the backup waiting for changes to settle

	folder      *widget.Label
	afterChange *widget.Check
	daily       *widget.Check
	keep        *widget.Select
	now         *widget.Button
	status      *widget.Label
	problem     *widget.Label
	root        fyne.CanvasObject
	updating    bool

	banner         *fyne.Container
	bannerText     *widget.Label
	bannerNow      *widget.Button  // when a backup would help
	bannerSettings *widget.Button  // when the settings must change first
	frame          *fyne.Container // the Authenticator screen below the banner

	dialog dialog.Dialog // the last dialog shown
}

func newBackups(m *Main) *backups {
	b := &backups{m: m, home: m.deps.DataDir}
	b.folder = &widget.Label{Wrapping: fyne.TextWrapBreak}
	b.afterChange = widget.NewCheck("After every change", func(on bool) { b.setConfig(func(c *backup.Config) { c.AfterChange = on }) })
	b.daily = widget.NewCheck("Every day", func(on bool) { b.setConfig(func(c *backup.Config) { c.Daily = on }) })
	b.keep = widget.NewSelect(nil, func(s string) {
		n, err := strconv.Atoi(s)
		if err == nil {
			b.setConfig(func(c *backup.Config) { c.Keep = n })
		}
	})
	b.now = widget.NewButtonWithIcon("Back up now", theme.DocumentSaveIcon(), func() { b.start(backupNow) })
	b.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	b.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	b.problem.Hide()
	b.root = container.NewVBox(
		heading("Backups"),
		&widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
			Text: "Backups are encrypted to your recovery key: they are made without asking you for anything, " +
				"and the recovery key (or the age tool) opens them. Choose a folder on another disk, a USB stick or a synced folder."},
		container.NewBorder(nil, nil, widget.NewLabel("Folder"),
			widget.NewButtonWithIcon("Change…", theme.FolderOpenIcon(), b.chooseFolder), b.folder),
		container.NewHBox(b.afterChange, b.daily),
		container.NewHBox(widget.NewLabel("Keep the newest"),
			container.NewGridWrap(fyne.NewSize(90, b.keep.MinSize().Height), b.keep), widget.NewLabel("backups")),
		b.status,
		b.problem,
		container.NewHBox(b.now,
			widget.NewButtonWithIcon("Restore from backup…", theme.HistoryIcon(), b.m.showRestore)),
		widget.NewSeparator(),
	)

	b.bannerText = &widget.Label{Wrapping: fyne.TextWrapWord}
	b.bannerNow = widget.NewButton("Back up now", func() { b.start(backupNow) })
	b.bannerSettings = widget.NewButton("Settings", func() { b.m.nav.SelectIndex(b.m.screenIndex(b.m.settings)) })
	b.banner = container.NewVBox(
		container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()),
			container.NewHBox(b.bannerNow, b.bannerSettings, widget.NewButton("Not today", b.hideReminder)),
			b.bannerText),
		widget.NewSeparator())
	b.banner.Hide()
	b.bannerSettings.Hide()
	if b.home == "" {
		b.root.Hide()
	}
	return b
}

// The kinds of backup work.
const (
	backupLook   = iota // read the settings and the folder, make nothing
	backupDaily         // make today's backup if it is due
	backupChange        // make the backup after a change, if that is on
	backupNow           // make one now, as asked
)

// begin reads the state and makes the daily backup when it is due, then
// looks again every backupTick.
func (b *backups) begin() {
	if b.home == "" {
		return
	}
	b.start(backupDaily)
	var tick func()
	tick = func() {
		b.start(backupDaily)
		b.m.deps.After(backupTick, tick)
	}
	b.m.deps.After(backupTick, tick)
}

// changed schedules the backup after a change, backupDebounce after the
// last one. It may be called on any goroutine.
func (b *backups) changed() {
	if b.home == "" {
		return
	}
	fyne.Do(func() {
		if !b.state.cfg.AfterChange {
			return
		}
		if b.pending != nil {
			b.pending()
		}
		b.pending = b.m.deps.After(backupDebounce, func() {
			b.pending = nil
			b.start(backupChange)
		})
	})
}

// start does the work of kind off the UI goroutine, and shows what came
// of it.
func (b *backups) start(kind int) {
	if b.home == "" {
		return
	}
	now := b.m.deps.Now()
	if kind == backupNow {
		b.now.Disable()
	}
	b.busy.Add(1)
	go func() {
		defer b.busy.Done()
		b.mu.Lock()
		defer b.mu.Unlock()
		st := readBackupState(b.home)
		var made string
		var err error
		due := false
		switch kind {
		case backupDaily:
			due = st.err == nil && st.cfg.Daily && (st.last.IsZero() || !sameDay(st.last, now))
		case backupChange:
			due = st.err == nil && st.cfg.AfterChange
		case backupNow:
			due = true
		}
		if due {
			made, err = backup.Now(b.home, b.m.deps.Vault, now)
			st = readBackupState(b.home)
		}
		fyne.Do(func() {
			b.state = st
			if due {
				b.failed = err
			}
			if kind == backupNow {
				b.now.Enable()
				switch {
				case errors.Is(err, backup.ErrNoRecoveryKey):
					b.showError("No backup was made", errors.New("backups are encrypted to your recovery key, and there is none yet: set one up above first"))
				case err != nil:
					b.showError("No backup was made", err)
				default:
					b.m.toast.show("Backed up to " + made)
				}
			}
			b.update()
		})
	}()
}

// readBackupState reads the backup settings, the recovery key's presence
// and the folder. It runs off the UI goroutine: the folder may be slow.
func readBackupState(home string) backupState {
	var st backupState
	st.cfg, st.err = backup.LoadConfig(home)
	r, err := vault.RecoveryRecipient(home)
	st.hasKey = r != ""
	if st.err == nil {
		st.err = err
	}
	all, err := backup.List(st.cfg.Folder(home))
	if len(all) > 0 {
		st.last, st.count = all[0].At, len(all)
	}
	if st.err == nil {
		st.err = err
	}
	return st
}

// sameDay reports whether a and b are on the same day where the person is.
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Local().Date()
	by, bm, bd := b.Local().Date()
	return ay == by && am == bm && ad == bd
}

// update shows the state in the section and the reminder.
func (b *backups) update() {
	if b.home == "" {
		return
	}
	b.updating = true
	defer func() { b.updating = false }()
	st := b.state
	b.folder.SetText(st.cfg.Folder(b.home))
	b.afterChange.SetChecked(st.cfg.AfterChange)
	b.daily.SetChecked(st.cfg.Daily)
	var keeps []string
	for _, n := range keepChoices {
		keeps = append(keeps, strconv.Itoa(n))
	}
	if k := strconv.Itoa(st.cfg.Kept()); !slices.Contains(keeps, k) {
		keeps = append(keeps, k)
	}
	b.keep.SetOptions(keeps)
	b.keep.SetSelected(strconv.Itoa(st.cfg.Kept()))

	switch {
	case st.last.IsZero():
		b.status.SetText("No backup in this folder yet.")
	default:
		b.status.SetText(fmt.Sprintf("Last backup: %s (%d in the folder).", st.last.Local().Format("2 January 2006, 15:04"), st.count))
	}
	switch {
	case b.failed != nil:
		b.problem.SetText(failureText("The last backup failed", b.failed, "Check the folder, or choose another"))
	case st.err != nil:
		b.problem.SetText(sentence(st.err))
	case !st.hasKey:
		b.problem.SetText("Backups are encrypted to your recovery key: set one up above to make them.")
	}
	show(b.problem, b.failed != nil || st.err != nil || !st.hasKey)
	b.root.Refresh()
	b.updateReminder()
}

// reminder is what the Authenticator screen reminds of: "" for nothing.
func (b *backups) reminder() string {
	st, now := b.state, b.m.deps.Now()
	switch {
	case !st.cfg.Auto():
		return ""
	case !st.hasKey:
		return "Automatic backups are on, but none can be made: set up a recovery key in Settings first."
	case b.failed != nil:
		return "Your last automatic backup failed: " + sentence(b.failed)
	case st.last.IsZero():
		return "Automatic backups are on, but there is no backup yet."
	case now.Sub(st.last) > backup.StaleAfter:
		return fmt.Sprintf("Your last backup is %d days old.", int(now.Sub(st.last).Hours()/24))
	}
	return ""
}

// around puts the reminder above o, the Authenticator screen.
// Without a folder for backups there is nothing to remind of: o as it is.
func (b *backups) around(o fyne.CanvasObject) fyne.CanvasObject {
	if b.home == "" {
		return o
	}
	b.frame = container.NewBorder(b.banner, nil, nil, nil, o)
	return b.frame
}

func (b *backups) updateReminder() {
	text := b.reminder()
	hiddenAt := time.Unix(int64(b.m.app.Preferences().Int(prefReminderHidden)), 0)
	if text == "" || b.m.deps.Now().Before(hiddenAt.Add(reminderPause)) {
		b.showBanner(false)
		return
	}
	b.bannerText.SetText(text)
	show(b.bannerNow, b.state.hasKey)
	show(b.bannerSettings, !b.state.hasKey)
	b.showBanner(true)
}

// showBanner shows or hides the reminder, and lays the screen out again.
func (b *backups) showBanner(on bool) {
	if on == b.banner.Visible() {
		return
	}
	show(b.banner, on)
	if b.frame != nil {
		b.frame.Refresh()
	}
}

// hideReminder hides the reminder for a day.
func (b *backups) hideReminder() {
	b.m.app.Preferences().SetInt(prefReminderHidden, int(b.m.deps.Now().Unix()))
	b.showBanner(false)
}

// setConfig changes the backup settings and saves them.
func (b *backups) setConfig(change func(*backup.Config)) {
	if b.updating || b.home == "" {
		return
	}
	b.m.lock.activity()
	cfg, err := backup.LoadConfig(b.home)
	was := cfg
	if err == nil {
		change(&cfg)
		err = backup.SaveConfig(b.home, cfg)
	}
	if err != nil {
		b.showError("The backup settings were not saved", err)
		return
	}
	b.state.cfg = cfg
	b.update()
	if cfg.Daily && !was.Daily {
		b.start(backupDaily) // turning the daily backup on makes today's
	}
}

// chooseFolder asks for the folder backups go to.
func (b *backups) chooseFolder() {
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		switch {
		case err != nil:
			b.showError("The folder was not changed", err)
		case dir != nil:
			b.setFolder(dir.Path())
		}
	}, b.m.win)
	d.SetTitleText("Choose the folder for your backups")
	b.dialog = d
	b.m.showDialogKeys(d, nil, d.Dismiss)
}

// setFolder makes dir the backups' folder.
func (b *backups) setFolder(dir string) {
	b.setConfig(func(c *backup.Config) { c.Dir = dir })
	b.start(backupLook)
}

func (b *backups) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, "")), b.m.win)
	b.dialog = d
	b.m.showDialog(d)
}
