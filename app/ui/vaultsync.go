package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/vaultsync/syncer"
)

// Vault sync in the window: Settings → Sync, one row per paired account,
// and the rounds `countersign sync watch` runs — at every "vault" event of
// the account's stream, syncDebounce after the last change to the
// accounts, and every syncEvery — each off the UI goroutine. Rounds need
// nothing of the person (the sync key is sealed to the desktop's key), so
// they go on while the window is locked, as backups do.

// SyncService is the desktop's side of vault sync (*approver.Manager). The
// window syncs when Deps.Approvals is one and Deps.DataDir is set.
type SyncService interface {
	syncer.Server
	SyncStart(ctx context.Context, accountID string) (approver.SyncKey, error)
	SyncStop(ctx context.Context, accountID string) error
	SyncJoin(ctx context.Context, accountID string) (api.SyncJoin, string, error)
	SyncJoins(ctx context.Context, accountID string) ([]approver.JoinRequest, error)
	SyncApprove(ctx context.Context, accountID, code string) (approver.JoinRequest, error)
}

const (
	// syncDebounce is how long after the last change to the accounts the
	// round that sends it runs, so that a burst of edits makes one.
	syncDebounce = 2 * time.Second
	// syncEvery is how often a round runs without being told, as
	// `countersign sync watch` does.
	syncEvery = time.Minute
)

// syncAccount is what the window knows of one paired account's sync.
type syncAccount struct {
	acc     approver.Account
	known   bool // status was read at least once
	status  api.SyncStatus
	holds   bool // this desktop holds the key
	joins   []approver.JoinRequest
	asked   string    // the code this desktop shows after asking to join
	askedTo time.Time // when that request expires
	last    time.Time // the last round that went through
	running bool      // a round is under way
	err     error     // the last failure, until something succeeds

	stop func()        // ends the rounds; nil when none run
	wake chan struct{} // asks the rounds for one more
}

// syncView is the Sync part of Settings and the rounds behind it.
type syncView struct {
	m     *Main
	svc   SyncService
	store Store // the vault as the rounds write it: backups hear of it
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui     func(f func())
	busy   sync.WaitGroup // calls to the server under way, for tests
	rounds sync.WaitGroup // the rounds' goroutines, until stopped

	accounts map[string]*syncAccount
	order    []string                        // account ids as the approvals list them
	ignored  map[string]bool                 // join requests the person ignored
	notified map[string]bool                 // join requests already announced
	pending  func() bool                     // cancels the round waiting for changes to settle
	tick     func() bool                     // cancels the next periodic round
	dialog   dialog.Dialog                   // the last dialog shown
	joinDlg  map[string]*dialog.CustomDialog // "compare this code" while waiting, by account

	list *fyne.Container
	root fyne.CanvasObject
}

func newSyncView(m *Main, raw Store) *syncView {
	v := &syncView{m: m, ui: fyne.Do, accounts: map[string]*syncAccount{}, ignored: map[string]bool{},
		notified: map[string]bool{}, joinDlg: map[string]*dialog.CustomDialog{}}
	v.svc, _ = m.deps.Approvals.(SyncService)
	// The rounds' writes reach the backups from the UI goroutine.
	v.store = &watchedStore{Store: raw, changed: func() { v.ui(m.backups.changed) }}
	v.list = container.NewVBox()
	v.root = container.NewVBox(
		heading("Sync"),
		&widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText,
			Text: "Keeps your accounts the same on your desktops paired with the same account. " +
				"They are encrypted on this desktop: the server passes them on and cannot read them."},
		v.list,
		widget.NewSeparator(),
	)
	if !v.available() {
		v.root.Hide()
	}
	return v
}

func (v *syncView) available() bool { return v.svc != nil && v.m.deps.DataDir != "" }

// begin reads each account's sync and starts the rounds where this
// desktop holds the key, then ticks every syncEvery.
func (v *syncView) begin() {
	if !v.available() {
		return
	}
	v.look()
	var tick func()
	tick = func() {
		// A round where this desktop syncs; elsewhere a look, as a
		// desktop starting to sync tells the others nothing.
		for _, a := range v.accounts {
			if a.stop != nil {
				v.wakeRounds(a)
			} else {
				v.lookAt(a.acc)
			}
		}
		v.tick = v.m.deps.After(syncEvery, tick)
	}
	v.tick = v.m.deps.After(syncEvery, tick)
}

// shutdown stops the rounds, when the window closes for good.
func (v *syncView) shutdown() {
	for _, a := range v.accounts {
		v.stopRounds(a)
	}
	if v.tick != nil {
		v.tick()
	}
	if v.pending != nil {
		v.pending()
	}
}

// look reads the sync of every paired account off the UI goroutine.
func (v *syncView) look() {
	if !v.available() {
		return
	}
	accs := v.m.deps.Approvals.Accounts()
	v.order = v.order[:0]
	for _, acc := range accs {
		v.order = append(v.order, acc.ID)
		a := v.accounts[acc.ID]
		if a == nil {
			a = &syncAccount{}
			v.accounts[acc.ID] = a
		}
		a.acc = acc
		v.lookAt(acc)
	}
	for id, a := range v.accounts {
		if !slices.Contains(v.order, id) {
			v.stopRounds(a)
			delete(v.accounts, id)
		}
	}
	v.update()
}

// lookAt reads one account's sync: the status, and the join requests
// when this desktop holds the key.
func (v *syncView) lookAt(acc approver.Account) {
	if acc.Unpaired {
		return
	}
	id := acc.ID
	v.busy.Add(1)
	go func() {
		defer v.busy.Done()
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		st, _, err := v.svc.SyncKey(ctx, id)
		holds := err == nil
		if errors.Is(err, approver.ErrNotSyncing) {
			err = nil
		}
		var joins []approver.JoinRequest
		if holds {
			joins, err = v.svc.SyncJoins(ctx, id)
		}
		v.ui(func() { v.looked(id, st, holds, joins, err) })
	}()
}

// looked takes in what lookAt read.
func (v *syncView) looked(id string, st api.SyncStatus, holds bool, joins []approver.JoinRequest, err error) {
	a := v.accounts[id]
	if a == nil {
		return
	}
	if err != nil {
		a.err = err
		v.update()
		return
	}
	a.known, a.status, a.holds, a.joins = true, st, holds, joins
	if holds {
		a.asked = ""
		if d := v.joinDlg[id]; d != nil {
			delete(v.joinDlg, id)
			d.Hide()
			v.m.toast.show("This desktop now syncs " + accountLabel(a.acc))
		}
		v.startRounds(a)
	} else {
		v.stopRounds(a)
	}
	for _, j := range joins {
		if v.notified[j.ID] || v.ignored[j.ID] {
			continue
		}
		v.notified[j.ID] = true
		v.m.app.SendNotification(fyne.NewNotification("A desktop asks to sync",
			fmt.Sprintf("%q asks to join the sync of %s, with code %s. Compare it in Settings → Sync.",
				j.DeviceName, accountLabel(a.acc), showSyncCode(j.Code))))
	}
	v.update()
}

// handle takes in an event of the paired accounts: a "vault" event wakes
// the account's rounds, or reads its sync again when it is about joining;
// a connection reads it again.
func (v *syncView) handle(ev approver.Event) {
	if !v.available() {
		return
	}
	switch ev.Kind {
	case approver.EventVault:
		a := v.accounts[ev.Account.ID]
		if a == nil {
			v.look()
			return
		}
		if ev.Vault != nil && (ev.Vault.Join || ev.Vault.Rotated) || a.stop == nil {
			v.lookAt(a.acc)
		}
		v.wakeRounds(a)
	case approver.EventConnection:
		if a := v.accounts[ev.Account.ID]; a != nil && ev.Account.Online {
			a.acc = ev.Account
			v.lookAt(ev.Account)
		}
	case approver.EventUnpaired:
		v.look()
	}
}

// changed runs a round syncDebounce after the last change to the
// accounts. It may be called on any goroutine.
func (v *syncView) changed() {
	if !v.available() {
		return
	}
	fyne.Do(func() {
		if v.pending != nil {
			v.pending()
		}
		v.pending = v.m.deps.After(syncDebounce, func() {
			v.pending = nil
			v.wakeAll()
		})
	})
}

func (v *syncView) wakeAll() {
	for _, a := range v.accounts {
		v.wakeRounds(a)
	}
}

func (v *syncView) wakeRounds(a *syncAccount) {
	if a.wake == nil {
		return
	}
	select {
	case a.wake <- struct{}{}:
	default: // one is asked for already
	}
}

// startRounds runs the account's rounds off the UI goroutine: one now,
// then one each time they are woken.
func (v *syncView) startRounds(a *syncAccount) {
	if a.stop != nil {
		return
	}
	s, err := syncer.New(syncer.Options{Server: v.svc, Vault: v.store, AccountID: a.acc.ID, Dir: v.m.deps.DataDir})
	if err != nil {
		a.err = err
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	a.stop, a.wake, a.running = cancel, wake, true
	id := a.acc.ID
	v.rounds.Add(1)
	go func() {
		defer v.rounds.Done()
		s.Run(ctx, wake, nil, func(res syncer.Result, err error) {
			v.ui(func() {
				if ctx.Err() == nil {
					v.roundDone(id, res, err)
				}
			})
		})
	}()
}

func (v *syncView) stopRounds(a *syncAccount) {
	if a.stop != nil {
		a.stop()
		a.stop, a.wake, a.running = nil, nil, false
	}
}

// roundDone shows what a round did: the accounts it changed here, the
// time, or why it failed.
func (v *syncView) roundDone(id string, res syncer.Result, err error) {
	a := v.accounts[id]
	if a == nil {
		return
	}
	a.running = false
	if res.Applied > 0 {
		v.m.auth.load() // the rounds wrote into the vault the window reads
	}
	switch {
	case err == nil || errors.Is(err, syncer.ErrRefused):
		a.last, a.err = v.m.deps.Now(), err
	case errors.Is(err, approver.ErrNotSyncing), errors.Is(err, approver.ErrUnpaired):
		v.stopRounds(a)
		a.err = nil
		v.lookAt(a.acc)
	default:
		a.err = err
	}
	if res.Rotated {
		v.lookAt(a.acc)
	}
	v.update()
}

// call runs op off the UI goroutine and done with its error on it.
func (v *syncView) call(op func(ctx context.Context) error, done func(error)) {
	v.busy.Add(1)
	go func() {
		defer v.busy.Done()
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		err := op(ctx)
		v.ui(func() { done(err) })
	}()
}

// turnOn starts the account's sync with a new key on this desktop.
func (v *syncView) turnOn(a *syncAccount) {
	v.m.lock.activity()
	id := a.acc.ID
	v.call(func(ctx context.Context) error {
		_, err := v.svc.SyncStart(ctx, id)
		return err
	}, func(err error) {
		if err != nil {
			v.showError("Sync was not turned on", err)
			return
		}
		v.m.toast.show("Sync is on")
		v.lookAt(a.acc)
	})
}

// join asks to join the account's sync and shows the code to compare.
func (v *syncView) join(a *syncAccount) {
	v.m.lock.activity()
	id := a.acc.ID
	var code string
	var j api.SyncJoin
	v.call(func(ctx context.Context) (err error) {
		j, code, err = v.svc.SyncJoin(ctx, id)
		return err
	}, func(err error) {
		if err != nil {
			v.showError("This desktop could not ask to join", err)
			return
		}
		a.asked, a.askedTo = code, j.ExpiresAt
		v.update()
		v.showJoinCode(a)
	})
}

// showJoinCode says what to compare on the syncing desktop while this one
// waits for its approval.
func (v *syncView) showJoinCode(a *syncAccount) {
	code := &widget.Label{Text: showSyncCode(a.asked), TextStyle: fyne.TextStyle{Bold: true},
		SizeName: theme.SizeNameHeadingText, Alignment: fyne.TextAlignCenter}
	text := &widget.Label{Wrapping: fyne.TextWrapWord, Text: fmt.Sprintf(
		"On a desktop that syncs %s, open Settings → Sync: it shows %q asking to join. "+
			"Approve there only if it shows this code. This desktop syncs as soon as it is approved; "+
			"the request lasts 10 minutes.", accountLabel(a.acc), a.acc.DeviceName)}
	turning := widget.NewActivity()
	waiting := container.NewHBox(turning, widget.NewLabel("Waiting for the approval…"))
	d := dialog.NewCustom("Compare this code", "Close", container.NewVBox(text, code, waiting), v.m.win)
	d.Resize(fyne.NewSize(440, d.MinSize().Height))
	id := a.acc.ID
	d.SetOnClosed(func() {
		if v.joinDlg[id] == d {
			delete(v.joinDlg, id)
		}
	})
	v.joinDlg[id], v.dialog = d, d
	v.m.showDialog(d)
	turning.Start()
}

// approve gives the key to the desktop whose request shows code here.
func (v *syncView) approve(a *syncAccount, j approver.JoinRequest) {
	v.m.lock.activity()
	id := a.acc.ID
	v.call(func(ctx context.Context) error {
		_, err := v.svc.SyncApprove(ctx, id, j.Code)
		return err
	}, func(err error) {
		if err != nil {
			v.showError("The desktop was not approved", err)
		} else {
			v.m.toast.show(fmt.Sprintf("%q syncs too", j.DeviceName))
		}
		v.lookAt(a.acc)
	})
}

// ignore hides a join request; it lapses on the server by itself.
func (v *syncView) ignore(a *syncAccount, j approver.JoinRequest) {
	v.m.lock.activity()
	v.ignored[j.ID] = true
	v.update()
}

// confirmOff asks before this desktop stops syncing.
func (v *syncView) confirmOff(a *syncAccount) {
	v.m.lock.activity()
	msg := fmt.Sprintf("Stop syncing %s on this desktop?\n\nIts accounts stay here, but changes no longer "+
		"come and go. Your other desktops carry on with a new key.", accountLabel(a.acc))
	d := newDangerConfirm("Turn off sync", msg, "Turn off", "Keep syncing", func(ok bool) {
		if ok {
			v.turnOff(a)
		}
	}, v.m.win)
	v.dialog = d
	v.m.showDialog(d)
}

func (v *syncView) turnOff(a *syncAccount) {
	id := a.acc.ID
	v.stopRounds(a)
	s, err := syncer.New(syncer.Options{Server: v.svc, Vault: v.store, AccountID: id, Dir: v.m.deps.DataDir})
	if err != nil {
		v.showError("Sync was not turned off", err)
		return
	}
	v.call(func(ctx context.Context) error {
		if err := v.svc.SyncStop(ctx, id); err != nil {
			return err
		}
		return s.Forget()
	}, func(err error) {
		if err != nil {
			v.showError("Sync was not turned off", err)
		} else {
			a.last, a.err = time.Time{}, nil
			v.m.toast.show("This desktop no longer syncs")
		}
		v.lookAt(a.acc)
	})
}

// update shows every account's sync.
func (v *syncView) update() {
	if !v.available() {
		return
	}
	v.list.RemoveAll()
	if len(v.order) == 0 {
		v.list.Add(&widget.Label{Wrapping: fyne.TextWrapWord,
			Text: "Pair this desktop with an account (Approvals) to sync with your other desktops."})
	}
	for _, id := range v.order {
		if a := v.accounts[id]; a != nil {
			v.list.Add(v.row(a))
		}
	}
	v.list.Refresh()
	v.root.Refresh()
}

// row is one account's sync: its state, the join requests, the actions.
func (v *syncView) row(a *syncAccount) fyne.CanvasObject {
	box := container.NewVBox(&widget.Label{Text: accountLabel(a.acc), TextStyle: fyne.TextStyle{Bold: true},
		Truncation: fyne.TextTruncateEllipsis})
	say := func(text string, imp widget.Importance) {
		box.Add(&widget.Label{Text: text, Wrapping: fyne.TextWrapWord, Importance: imp})
	}
	var buttons []fyne.CanvasObject
	now := v.m.deps.Now()
	switch {
	case a.acc.Unpaired:
		say("This desktop was removed from the account: it cannot sync.", widget.WarningImportance)
	case !a.known:
		say("Reading the sync…", widget.MediumImportance)
	case a.holds:
		say(syncingWith(a), widget.SuccessImportance)
		switch {
		case a.running:
			say("Syncing…", widget.MediumImportance)
		case a.last.IsZero():
			say("Not synced yet.", widget.MediumImportance)
		default:
			say("Last synced at "+a.last.Local().Format("15:04")+".", widget.MediumImportance)
		}
		if a.status.RotateFirst {
			say("A desktop that had the key was removed: the next sync gives the others a new one.", widget.MediumImportance)
		}
		buttons = append(buttons,
			widget.NewButtonWithIcon("Sync now", theme.ViewRefreshIcon(), func() { v.m.lock.activity(); v.wakeRounds(a) }),
			widget.NewButtonWithIcon("Turn off on this desktop…", theme.CancelIcon(), func() { v.confirmOff(a) }))
	case a.asked != "" && now.Before(a.askedTo):
		say(fmt.Sprintf("Waiting for approval. A desktop that syncs must show the code %s.", showSyncCode(a.asked)),
			widget.MediumImportance)
		buttons = append(buttons, widget.NewButton("Show the code", func() { v.showJoinCode(a) }))
	case a.status.Syncing:
		others, verb := "Your desktops "+deviceList(a.status.Devices, a.acc.ID), "sync"
		if n := slices.IndexFunc(a.status.Devices, func(d api.SyncDevice) bool { return d.Live }); n >= 0 &&
			!slices.ContainsFunc(a.status.Devices[n+1:], func(d api.SyncDevice) bool { return d.Live }) {
			others, verb = "Your desktop "+deviceList(a.status.Devices, a.acc.ID), "syncs"
		}
		say(fmt.Sprintf("Off on this desktop. %s %s: ask to join.", others, verb), widget.MediumImportance)
		j := widget.NewButtonWithIcon("Join…", theme.LoginIcon(), func() { v.join(a) })
		j.Importance = widget.HighImportance
		buttons = append(buttons, j)
	default:
		say("Off. Turn it on here, then join from your other desktops paired with this account.", widget.MediumImportance)
		on := widget.NewButtonWithIcon("Turn on sync", theme.ConfirmIcon(), func() { v.turnOn(a) })
		on.Importance = widget.HighImportance
		buttons = append(buttons, on)
	}
	if a.err != nil {
		say(syncErrorText(a.err), widget.DangerImportance)
	}
	if len(buttons) > 0 && !a.acc.Unpaired {
		box.Add(container.NewHBox(buttons...))
	}
	for _, j := range a.joins {
		if v.ignored[j.ID] || !a.holds {
			continue
		}
		say(fmt.Sprintf("%q asks to join, with the code %s. Approve only if that desktop shows the same code: "+
			"it then gets every synced account.", j.DeviceName, showSyncCode(j.Code)), widget.WarningImportance)
		ok := widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { v.approve(a, j) })
		ok.Importance = widget.HighImportance
		box.Add(container.NewHBox(ok, widget.NewButtonWithIcon("Ignore", theme.CancelIcon(), func() { v.ignore(a, j) })))
	}
	return box
}

// syncingWith says which desktops hold the key.
func syncingWith(a *syncAccount) string {
	n := 0
	for _, d := range a.status.Devices {
		if d.Live {
			n++
		}
	}
	if n <= 1 {
		return "On, on this desktop only: join from your other desktops."
	}
	return fmt.Sprintf("On, with %d desktops: %s.", n, deviceList(a.status.Devices, a.acc.ID))
}

// deviceList names the live desktops holding the key, this one (here)
// marked.
func deviceList(ds []api.SyncDevice, here string) string {
	var names []string
	for _, d := range ds {
		switch {
		case !d.Live:
		case d.ID == here:
			names = append(names, fmt.Sprintf("%q (this one)", d.Name))
		default:
			names = append(names, fmt.Sprintf("%q", d.Name))
		}
	}
	return strings.Join(names, ", ")
}

// syncErrorText words a failed round or call.
func syncErrorText(err error) string {
	if errors.Is(err, syncer.ErrRefused) {
		return "Some changes from another desktop were refused: they did not open with the key. The next change there replaces them."
	}
	return "The last sync failed. " + plainError(err.Error())
}

// showSyncCode groups a join code as "482 915".
func showSyncCode(c string) string {
	if len(c) != 6 {
		return c
	}
	return c[:3] + " " + c[3:]
}

func (v *syncView) showError(what string, err error) {
	d := dialog.NewError(errors.New(failureText(what, err, "")), v.m.win)
	v.dialog = d
	v.m.showDialog(d)
}
