package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"net/url"
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
	"github.com/countersign/countersign/internal/names"
)

// Dashboard is a paired account as the Account screen shows and changes
// it: one API v1 call a method, made as this desktop. *client.Client is the
// real one. Every method talks to the server, so the screen calls them off
// the UI goroutine.
type Dashboard interface {
	Account(ctx context.Context) (api.Account, error)
	Devices(ctx context.Context) ([]api.Device, error)
	UpdateDevice(ctx context.Context, id string, u api.DeviceUpdate) (api.Device, error)
	RemoveDevice(ctx context.Context, id string) error
	SignOutDevice(ctx context.Context, id string) (int, error)
	Sessions(ctx context.Context) ([]api.Session, error)
	EndSession(ctx context.Context, id string) error
	EndAllSessions(ctx context.Context) (int, error)
	Apps(ctx context.Context) ([]api.App, error)
	RevokeApp(ctx context.Context, clientID string) error
	Activity(ctx context.Context, category, before string, limit int) (api.ActivityPage, error)
	Household(ctx context.Context) (api.Household, error)
	AddMember(ctx context.Context, name string) (api.Member, error)
	RenameMember(ctx context.Context, id, name string) (api.Member, error)
	RemoveMember(ctx context.Context, id string) error
	Invite(ctx context.Context, memberID string) (api.Invitation, error)
	ShareAuthenticator(ctx context.Context, memberID string) (int, error)
	StopSharing(ctx context.Context, memberID string) error
	// StepUp and StepUpWithKey confirm that the account's person is here
	// (the password, a security key's touch), for the changes the server
	// asks it of (approver.NeedsStepUp).
	StepUp(ctx context.Context, password string) error
	StepUpWithKey(ctx context.Context) error
}

// pane is one tab of the Account screen.
type pane interface {
	title() string
	view() fyne.CanvasObject
	// fetch runs off the UI goroutine and reads what the pane shows; show,
	// run on the UI goroutine, puts it on the screen.
	fetch(ctx context.Context, src Dashboard) (show func(), err error)
	// reset forgets what was shown, when another account is chosen.
	reset()
	// watches reports whether a change of what (api.Changed…) is shown.
	watches(what string) bool
}

// dashboard is the Account screen: the devices, apps, sessions, activity
// and household of a paired account, read from its server as this desktop.
// A change the server announces (approver.EventChanged) reloads the tabs
// that show it; when the server cannot be reached, each tab keeps what it
// last loaded and says so.
type dashboard struct {
	m    *Main
	open func(accountID string) Dashboard
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui   func(f func())
	busy sync.WaitGroup // calls to the server under way

	accounts []approver.Account // paired and not removed
	account  approver.Account   // the one on display
	src      Dashboard          // nil until an account is chosen
	visible  bool

	heading *widget.Label // when there are no tabs to show
	status  *widget.Label
	pair    *widget.Button // when no account is paired
	picker  *widget.Select
	picking bool // update is setting the picker: its OnChanged is ours
	tabs    *container.AppTabs
	panes   []*tab
	layer   *fyne.Container // floats the card dragged on the household board
	root    fyne.CanvasObject

	overview  *overview
	devices   *devicesPane
	apps      *appsPane
	sessions  *sessionsPane
	activity  *activityPane
	household *board

	dialog     dialog.Dialog // the last dialog shown
	stepUpOpen *stepUpDialog // the last "Confirm it's you" dialog
}

func newDashboard(m *Main) *dashboard {
	d := &dashboard{m: m, open: m.deps.Dashboards, ui: fyne.Do}
	d.bindKeys()
	return d
}

// build makes the screen's widgets the first time it is asked for them:
// the six tabs cost more to lay out than the rest of the window, and a
// person who never opens the Account screen should not pay for them.
func (d *dashboard) build() {
	if d.root != nil {
		return
	}
	d.heading = heading("Account")
	d.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	d.pair = widget.NewButtonWithIcon("Pair with an account…", theme.ContentAddIcon(), d.m.approvals.showPair)
	d.pair.Importance = widget.HighImportance
	d.picker = widget.NewSelect(nil, d.onPick)
	d.overview = newOverview(d)
	d.devices = newDevicesPane(d)
	d.apps = newAppsPane(d)
	d.sessions = newSessionsPane(d)
	d.activity = newActivityPane(d)
	d.household = newBoard(d)
	var items []*container.TabItem
	for _, p := range []pane{d.overview, d.devices, d.apps, d.sessions, d.activity, d.household} {
		t := newTab(d, p)
		d.panes = append(d.panes, t)
		items = append(items, t.item)
	}
	d.tabs = container.NewAppTabs(items...)
	d.tabs.OnSelected = func(*container.TabItem) { d.showTab() }
	d.layer = container.NewWithoutLayout()
	top := container.NewVBox(d.heading, d.status, container.NewHBox(d.pair), d.picker)
	tabs := container.NewThemeOverride(d.tabs, compactTabs{})
	d.root = container.NewStack(container.NewBorder(top, nil, nil, nil, tabs), d.layer)
	d.update()
}

func (d *dashboard) title() string       { return "Account" }
func (d *dashboard) icon() fyne.Resource { return shieldIcon }
func (d *dashboard) content() fyne.CanvasObject {
	d.build()
	return d.root
}

func (d *dashboard) shown() {
	d.visible = true
	d.reloadAccounts()
	d.showTab()
}

func (d *dashboard) hidden() {
	d.visible = false
	if d.household != nil {
		d.household.cancelDrag()
	}
}

// current is the tab on display.
func (d *dashboard) current() *tab {
	i := d.tabs.SelectedIndex()
	if i < 0 || i >= len(d.panes) {
		return nil
	}
	return d.panes[i]
}

// showTab loads the tab on display when it has not been, or is out of date.
func (d *dashboard) showTab() {
	if t := d.current(); t != nil && d.visible && d.src != nil && (!t.loaded || t.stale) && t.cancel == nil {
		t.load()
	}
}

// reloadAccounts reads the paired accounts again, keeping the one on
// display when it is still there.
func (d *dashboard) reloadAccounts() {
	d.accounts = nil
	if d.m.deps.Approvals != nil {
		for _, a := range d.m.deps.Approvals.Accounts() {
			if !a.Unpaired {
				d.accounts = append(d.accounts, a)
			}
		}
	}
	i := slices.IndexFunc(d.accounts, func(a approver.Account) bool { return a.ID == d.account.ID })
	switch {
	case i >= 0:
		d.account = d.accounts[i] // its Online may have changed
	case len(d.accounts) > 0:
		d.choose(d.accounts[0])
	default:
		d.choose(approver.Account{})
	}
	d.update()
}

// choose puts account on display, forgetting what the other showed.
func (d *dashboard) choose(a approver.Account) {
	d.account = a
	d.src = nil
	if a.ID != "" && d.open != nil {
		if src := d.open(a.ID); src != nil {
			d.src = shownNames{src}
		}
	}
	d.household.cancelDrag()
	for _, t := range d.panes {
		t.forget()
	}
}

// onPick shows the account picked. It goes by the picker's index, never by
// label, and ignores what update's own selection triggers: two entries with
// one label once made update and onPick call each other without end.
func (d *dashboard) onPick(string) {
	if d.picking {
		return
	}
	i := d.picker.SelectedIndex()
	if i < 0 || i >= len(d.accounts) || d.accounts[i].ID == d.account.ID {
		return
	}
	d.choose(d.accounts[i])
	d.update()
	d.showTab()
}

// pickerLabel names an account in the account picker.
func pickerLabel(a approver.Account) string {
	return accountLabel(a) + " on " + serverName(a.Server)
}

// pickerLabels names the accounts in the picker, each differently: one that
// would read like another gets its desktop's name, then a number.
func pickerLabels(as []approver.Account) []string {
	labels := make([]string, len(as))
	seen := map[string]int{}
	for i, a := range as {
		labels[i] = pickerLabel(a)
		seen[labels[i]]++
	}
	used := map[string]bool{}
	for i, a := range as {
		if seen[labels[i]] > 1 && a.DeviceName != "" {
			labels[i] += " (" + names.Show(a.DeviceName) + ")"
		}
		base := labels[i]
		for n := 2; used[labels[i]]; n++ {
			labels[i] = fmt.Sprintf("%s #%d", base, n)
		}
		used[labels[i]] = true
	}
	return labels
}

// serverName is a server's host name, for sentences: "accounts.example.com".
func serverName(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return server
}

// update shows why nothing can be shown, or the account picker and tabs.
func (d *dashboard) update() {
	switch {
	case d.open == nil:
		d.status.SetText("The account dashboard is not available in this build of Countersign.")
	case d.m.deps.Approvals == nil:
		d.status.SetText("The account dashboard needs a paired account, and sign-in approvals are not " +
			"available here.")
	case len(d.accounts) == 0:
		d.status.SetText("The account dashboard needs a paired account. Pair this desktop with your " +
			"account to see its devices, apps, activity and household here.")
	case d.src == nil:
		d.status.SetText("The dashboard of " + accountLabel(d.account) + " cannot be opened.")
	default:
		d.status.SetText("")
	}
	show(d.status, d.status.Text != "")
	show(d.heading, d.src == nil)
	show(d.pair, d.open != nil && d.m.deps.Approvals != nil && len(d.accounts) == 0)
	show(d.tabs, d.src != nil)

	d.picking = true
	d.picker.SetOptions(pickerLabels(d.accounts))
	if i := slices.IndexFunc(d.accounts, func(a approver.Account) bool { return a.ID == d.account.ID }); i >= 0 && d.picker.SelectedIndex() != i {
		d.picker.SetSelectedIndex(i)
	}
	d.picking = false
	show(d.picker, len(d.accounts) > 1)
	d.root.Refresh()
}

// accountsChanged shows the accounts again once one was paired here.
func (d *dashboard) accountsChanged() {
	if d.root == nil {
		return // not built: it reads them when first shown
	}
	d.reloadAccounts()
	d.showTab()
}

// handle takes in an event of the paired accounts (approvals.go reads
// them): a change on the server reloads what shows it.
func (d *dashboard) handle(ev approver.Event) {
	if d.root == nil {
		return // not built: it reads everything afresh when first shown
	}
	switch ev.Kind {
	case approver.EventChanged:
		if ev.Changed != nil && ev.Account.ID == d.account.ID {
			d.changed(ev.Changed.What)
		}
	case approver.EventShare:
		if ev.Account.ID == d.account.ID {
			d.changed(api.ChangedHousehold)
		}
	case approver.EventUnpaired, approver.EventConnection:
		wasOffline := !d.account.Online
		d.reloadAccounts()
		// Back online: what failed to load loads now.
		if t := d.current(); wasOffline && d.account.Online && t != nil && t.failed {
			t.stale = true
			d.showTab()
		}
	}
}

// changed marks the tabs that show what as out of date, and reloads the
// one on display.
func (d *dashboard) changed(what ...string) {
	for _, t := range d.panes {
		if slices.ContainsFunc(what, t.p.watches) {
			t.stale = true
		}
	}
	if t := d.current(); t != nil && t.stale && t.cancel != nil {
		t.load() // the load under way may have started before the change
		return
	}
	d.showTab()
}

// run calls op off the UI goroutine and done with its error on it.
func (d *dashboard) run(op func() error, done func(error)) {
	d.busy.Add(1)
	go func() {
		defer d.busy.Done()
		err := op()
		d.ui(func() { done(err) })
	}()
}

// act makes a change on the server: op runs off the UI goroutine with the
// account's Dashboard; done runs on the UI goroutine when it worked, and a
// dialog says why when it did not ("The device could not be renamed. This
// device belongs to Alex: …"). The tabs that show what changed reload.
func (d *dashboard) act(failed string, what []string, op func(ctx context.Context, src Dashboard) error, done func()) {
	d.try(failed, what, op, done, nil)
}

// try is act with undone, which runs on the UI goroutine before the dialog
// when op failed: it takes back what the screen showed ahead of the server.
func (d *dashboard) try(failed string, what []string, op func(ctx context.Context, src Dashboard) error, done, undone func()) {
	src, account := d.src, d.account.ID
	if src == nil {
		return
	}
	d.run(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		return op(ctx, src)
	}, func(err error) {
		if account != d.account.ID {
			return // another account was chosen meanwhile
		}
		if approver.NeedsStepUp(err) {
			// Asked to confirm it is the account's person: once confirmed,
			// the same change again; not confirmed, taken back.
			d.stepUp(src, func() { d.try(failed, what, op, done, undone) }, undone)
			return
		}
		if err != nil {
			if undone != nil {
				undone()
			}
			d.showError(failed, err)
		} else if done != nil {
			done()
		}
		d.changed(what...)
	})
}

// showError says why a change could not be made, in the server's words.
func (d *dashboard) showError(failed string, err error) {
	dl := dialog.NewError(errors.New(failed+". "+d.explain(err)), d.m.win)
	d.dialog = dl
	d.m.showDialog(dl)
}

// confirm asks before a change that cannot be taken back.
func (d *dashboard) confirm(title, msg, verb string, ok func()) {
	dl := newDangerConfirm(title, msg, verb, "Cancel", func(yes bool) {
		if yes {
			ok()
		}
	}, d.m.win)
	d.dialog = dl
	d.m.showDialog(dl)
}

// askName asks for a name: a member's or a device's.
func (d *dashboard) askName(title, label, verb, name string, save func(string)) {
	e := d.m.newDialogEntry()
	e.SetText(name)
	e.Validator = func(s string) error {
		switch n := len([]rune(strings.TrimSpace(s))); {
		case n == 0:
			return errors.New("a name is needed")
		case n > 64:
			return errors.New("at most 64 characters")
		}
		return nil
	}
	dl := dialog.NewForm(title, verb, "Cancel", []*widget.FormItem{widget.NewFormItem(label, e)}, func(ok bool) {
		if ok {
			save(strings.TrimSpace(e.Text))
		}
	}, d.m.win)
	dl.Resize(fyne.NewSize(400, dl.MinSize().Height))
	d.dialog = dl
	d.m.showDialog(dl)
	d.m.win.Canvas().Focus(e)
}

// isOffline reports whether err means the server could not be reached.
func isOffline(err error) bool { return errors.Is(err, approver.ErrOffline) }

// explain words an error of the server for people: its own sentence when
// it answered, else what kept it from answering.
func (d *dashboard) explain(err error) string {
	var apiErr *approver.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Message != "":
		return stop(apiErr.Message)
	case isOffline(err):
		return "Can't reach " + serverName(d.account.Server) + ". Check the network connection and try again."
	case errors.Is(err, context.DeadlineExceeded):
		return serverName(d.account.Server) + " takes too long to answer."
	}
	return sentence(err)
}

// tab frames a pane: when it was last updated, a Refresh button, and a
// banner when the last load failed. It keeps what it last loaded.
type tab struct {
	d    *dashboard
	p    pane
	item *container.TabItem

	updated *widget.Label
	refresh *widget.Button
	banner  *banner
	top     *fyne.Container // when it was updated, and the banner
	frame   *fyne.Container // top above the pane

	loaded bool      // the pane shows data
	at     time.Time // when it was loaded
	stale  bool      // the server said it changed since
	failed bool      // the last load failed
	gen    int       // counts loads: an older one's answer is dropped
	cancel context.CancelFunc
}

func newTab(d *dashboard, p pane) *tab {
	t := &tab{d: d, p: p}
	t.updated = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	t.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), t.load)
	t.refresh.Importance = widget.LowImportance
	t.banner = newBanner()
	head := container.NewBorder(nil, nil, nil, t.refresh, t.updated)
	t.top = container.NewVBox(head, t.banner.root)
	t.frame = container.NewBorder(t.top, nil, nil, nil, p.view())
	// Titles without icons: the six fit the window's narrowest width.
	t.item = container.NewTabItem(p.title(), newTabContent(container.NewThemeOverride(t.frame, appTheme{})))
	t.forget()
	return t
}

// forget drops what was loaded, when another account is chosen.
func (t *tab) forget() {
	t.gen++
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
	t.loaded, t.stale, t.failed = false, false, false
	t.p.reset()
	t.banner.hide()
	t.updated.SetText("Not loaded yet")
	enable(t.refresh, true)
}

// load reads the pane's data from the server, off the UI goroutine.
func (t *tab) load() {
	src := t.d.src
	if src == nil {
		return
	}
	if t.cancel != nil {
		t.cancel()
	}
	t.gen++
	gen := t.gen
	ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
	t.cancel = cancel
	t.stale = false
	t.updated.SetText("Loading…")
	enable(t.refresh, false)
	var show func()
	t.d.run(func() (err error) {
		show, err = t.p.fetch(ctx, src)
		return err
	}, func(err error) {
		cancel()
		if gen != t.gen {
			return
		}
		t.cancel = nil
		enable(t.refresh, true)
		t.finish(show, err)
	})
}

// finish shows the result of a load.
func (t *tab) finish(show func(), err error) {
	defer func() {
		// Lay out the banner shown or hidden, and the pane below it; twice,
		// as its wrapped text knows its height only once laid out at its
		// width. Not the pane's content, which show refreshed: hundreds of
		// rows and cards take tens of milliseconds each time.
		for range 2 {
			t.top.Refresh()
			t.frame.Layout.Layout(t.frame.Objects, t.frame.Size())
		}
	}()
	t.failed = err != nil
	if err == nil {
		show()
		t.loaded, t.at = true, t.d.m.deps.Now()
		t.banner.hide()
		t.updated.SetText("Updated " + t.at.Local().Format("15:04"))
		return
	}
	t.updated.SetText(t.lastText())
	var kept string
	if t.loaded {
		kept = "showing what was loaded at " + t.at.Local().Format("15:04")
	}
	if isOffline(err) {
		if kept == "" {
			t.banner.set("Can't reach "+serverName(t.d.account.Server)+". Check the network connection, then "+
				"Refresh.", widget.WarningImportance)
		} else {
			t.banner.set("Can't reach "+serverName(t.d.account.Server)+": "+kept+".", widget.WarningImportance)
		}
		return
	}
	msg := t.d.explain(err)
	if kept != "" {
		msg += " Showing what was loaded at " + t.at.Local().Format("15:04") + "."
	}
	t.banner.set(msg, widget.DangerImportance)
}

func (t *tab) lastText() string {
	if !t.loaded {
		return "Not loaded"
	}
	return "Updated " + t.at.Local().Format("15:04")
}

// tabContent is what a tab shows. AppTabs refreshes every tab's content
// each time a tab is selected, and refreshing the wrapped text of one with
// hundreds of rows takes tens of milliseconds: hidden, it puts a refresh
// off until it is shown.
type tabContent struct {
	widget.BaseWidget
	content fyne.CanvasObject
}

func newTabContent(content fyne.CanvasObject) *tabContent {
	c := &tabContent{content: content}
	c.ExtendBaseWidget(c)
	return c
}

// Refresh refreshes the content if it is shown; if not, showing it will,
// as showing a widget refreshes it.
func (c *tabContent) Refresh() {
	if c.Visible() {
		c.BaseWidget.Refresh()
	}
}

func (c *tabContent) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(c.content) }

// compactTabs is the app's theme with less room around the tabs' titles,
// so that all six fit beside the navigation at the window's default width.
// The tabs' content is in appTheme again.
type compactTabs struct{ appTheme }

func (t compactTabs) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameInnerPadding {
		return t.appTheme.Size(n) / 2
	}
	return t.appTheme.Size(n)
}

// appTheme is whatever theme the app has now.
type appTheme struct{}

func (appTheme) th() fyne.Theme { return fyne.CurrentApp().Settings().Theme() }
func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	return t.th().Color(n, v)
}
func (t appTheme) Font(s fyne.TextStyle) fyne.Resource     { return t.th().Font(s) }
func (t appTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.th().Icon(n) }
func (t appTheme) Size(n fyne.ThemeSizeName) float32       { return t.th().Size(n) }

// banner is a line across a tab that says what is wrong: a warning (the
// server cannot be reached) or an error.
type banner struct {
	icon  *widget.Icon
	label *widget.Label
	root  *widget.Card
}

func newBanner() *banner {
	b := &banner{icon: widget.NewIcon(theme.WarningIcon()), label: &widget.Label{Wrapping: fyne.TextWrapWord}}
	b.root = widget.NewCard("", "", container.NewBorder(nil, nil, container.NewCenter(b.icon), nil, b.label))
	return b
}

func (b *banner) set(text string, imp widget.Importance) {
	b.label.Text = text
	b.label.Importance = imp
	b.label.Refresh()
	if imp == widget.DangerImportance {
		b.icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
	} else {
		b.icon.SetResource(theme.NewWarningThemedResource(theme.WarningIcon()))
	}
	b.root.Show()
}

func (b *banner) hide() { b.root.Hide() }

// text is the banner on display, "" when hidden.
func (b *banner) text() string {
	if !b.root.Visible() {
		return ""
	}
	return b.label.Text
}
