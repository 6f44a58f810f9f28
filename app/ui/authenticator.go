package ui

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	// expiringSoon is the number of seconds left below which a TOTP row shows
	// the next code beside the current one, and its ring turns amber.
	expiringSoon = 5
	// clipboardTTL is how long a copied code stays in the clipboard.
	clipboardTTL = 30 * time.Second
	// ringStep is the granularity, in seconds, of the countdown ring before
	// the last expiringSoon seconds: the whole window is redrawn whenever
	// anything in it changes (about 10 ms of CPU a frame under Xvfb), so a
	// ring that moved every second would cost a full redraw a second while
	// the app sits idle. In thirds of a 30-second period, with the last
	// seconds one step of their own, a period draws 4 frames: the new code,
	// the steps at 20 and 10 seconds left, and the next code (see make
	// bench-ui; 5-second steps and the last seconds counted one by one drew
	// 10).
	ringStep = 10
	// reloadTicks is how many seconds pass between looks at the vault file
	// for changes made by another process (countersign add in a terminal).
	reloadTicks = 5
	// allTags is the tag filter's choice that filters nothing.
	allTags = "All tags"
)

// authenticator is the screen of authenticator codes: the accounts, each
// with its current code and a countdown, searchable and filterable by tag.
//
// The keyboard belongs to the search field and the list: typing searches,
// Up, Down, Page Up, Page Down, Home and End move the selection in the list,
// Enter or Ctrl+C copy the selected code, the Menu key or Shift+F10 open its
// menu and Esc clears the search. One timer, aligned to the second,
// refreshes the rows on screen while the screen is shown.
type authenticator struct {
	m     *Main
	store Store
	now   func() time.Time
	after func(time.Duration, func()) func() bool
	codes otp.CodeCache

	all        []vault.Account // pinned first, then by issuer and name
	view       []vault.Account // all, filtered by the search and the tag
	selectedID string
	hotpCodes  map[string]string // HOTP codes asked for since the window opened, by account id

	search     *searchEntry
	tags       *widget.Select
	list       *accountList
	emptyTitle *widget.Label
	emptyHint  *widget.Label
	emptyAdd   fyne.CanvasObject // the ways to add accounts, while there are none
	empty      *fyne.Container
	problem    *widget.Label // a reload that failed, until one succeeds
	root       fyne.CanvasObject

	cancelTick func() bool
	tickGen    int // ticks scheduled before the last stop belong to an older generation
	ticks      int
	shownSig   uint64 // viewSignature of what the list last drew

	copied string // the code last copied, until it is cleared from the clipboard

	dialog dialog.Dialog // the last dialog shown
	form   *editForm     // the edit dialog's fields while it is open
}

func newAuthenticator(m *Main) *authenticator {
	s := &authenticator{
		m:         m,
		store:     m.deps.Vault,
		now:       m.deps.Now,
		after:     m.deps.After,
		hotpCodes: map[string]string{},
	}

	s.search = newSearchEntry(s)
	s.search.SetPlaceHolder("Search issuer, name or tag")
	s.search.OnChanged = func(string) {
		s.m.lock.activity()
		s.applyFilter(false)
	}
	s.search.ActionItem = widget.NewIcon(theme.SearchIcon())

	s.tags = widget.NewSelect(nil, s.onTagChosen)
	s.tags.PlaceHolder = allTags

	s.list = newAccountList(s)

	s.emptyTitle = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText, Alignment: fyne.TextAlignCenter}
	s.emptyHint = &widget.Label{Wrapping: fyne.TextWrapWord, Alignment: fyne.TextAlignCenter}
	s.emptyAdd = m.add.emptyActions()
	s.empty = container.NewPadded(container.NewVBox(layout.NewSpacer(), s.emptyTitle, s.emptyHint, s.emptyAdd, layout.NewSpacer()))

	s.problem = &widget.Label{Importance: widget.DangerImportance, Wrapping: fyne.TextWrapWord}
	s.problem.Hide()

	header := container.NewBorder(nil, s.problem, nil, container.NewHBox(s.tags, m.add.button), s.search)
	// The header comes first among the objects, so that Tab goes from the
	// search field to the list (container.NewBorder puts the list first).
	s.root = container.New(layout.NewBorderLayout(header, nil, nil, nil), header, container.NewStack(s.list, s.empty))

	s.load()
	return s
}

func (s *authenticator) title() string              { return "Authenticator" }
func (s *authenticator) icon() fyne.Resource        { return theme.AccountIcon() }
func (s *authenticator) content() fyne.CanvasObject { return s.root }

// shown leaves the search field unfocused: a focused entry's blinking
// cursor redraws the window continuously (7 points of idle CPU under Xvfb,
// see make bench-ui). Typing anywhere in the window focuses it.
func (s *authenticator) shown() {
	s.list.Refresh()
	s.startTicking()
	s.unfocus()
}

func (s *authenticator) hidden() { s.stopTicking() }

// load reads the accounts from the store and shows them.
func (s *authenticator) load() {
	s.all = s.store.Accounts()
	vault.SortAccounts(s.all)
	s.updateTagChoices()
	s.applyFilter(true)
}

// reload picks up changes another process made to the vault.
func (s *authenticator) reload() {
	changed, err := s.store.Reload()
	if err != nil {
		s.problem.SetText("Your accounts could not be re-read: " + err.Error())
		s.problem.Show()
		return
	}
	s.problem.Hide()
	if !changed {
		return // the common case, every few seconds: no copy, no sort
	}
	accounts := s.store.Accounts()
	vault.SortAccounts(accounts)
	if !sameAccounts(accounts, s.all) {
		s.all = accounts
		s.updateTagChoices()
		s.applyFilter(true)
	}
}

// sameAccounts reports whether two sorted lists hold the same versions of
// the same accounts.
func sameAccounts(a, b []vault.Account) bool {
	return slices.EqualFunc(a, b, func(x, y vault.Account) bool {
		return x.ID == y.ID && x.Modified.Equal(y.Modified) && x.Counter == y.Counter
	})
}

// updateTagChoices offers every tag in use, and hides the filter when there
// are none.
func (s *authenticator) updateTagChoices() {
	var tags []string
	for _, a := range s.all {
		for _, t := range a.Tags {
			if !slices.ContainsFunc(tags, func(u string) bool { return strings.EqualFold(t, u) }) {
				tags = append(tags, t)
			}
		}
	}
	slices.SortFunc(tags, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	s.tags.SetOptions(append([]string{allTags}, tags...))
	if cur := s.tags.Selected; cur != "" && cur != allTags && !slices.Contains(tags, cur) {
		s.tags.ClearSelected() // the last account with that tag is gone
	}
	if len(tags) == 0 {
		s.tags.Hide()
	} else {
		s.tags.Show()
	}
}

func (s *authenticator) onTagChosen(string) { s.applyFilter(false) }

// tag is the tag the list is filtered by, or "".
func (s *authenticator) tag() string {
	if t := s.tags.Selected; t != allTags {
		return t
	}
	return ""
}

// applyFilter recomputes the accounts on view and selects the first, so
// that typing a search and Enter copies the best match. With keep (the
// accounts changed, not the filter) the selection stays on the same account
// while it is on view. The list is redrawn once (a keystroke's frame is
// timed by make bench-ui).
func (s *authenticator) applyFilter(keep bool) {
	s.view = filterAccounts(s.all, s.search.Text, s.tag())
	s.updateEmptyState()
	clear(s.list.rows) // the refresh binds the rows on screen again
	i := -1
	if keep {
		i = slices.IndexFunc(s.view, func(a vault.Account) bool { return a.ID == s.selectedID })
	}
	if i < 0 && len(s.view) > 0 {
		i = 0
	}
	s.selectedID = ""
	if i >= 0 {
		s.selectedID = s.view[i].ID
	}
	s.list.show(i)
}

// filterAccounts keeps the accounts that carry tag (any tag when "") and
// match every word of query in their issuer, name or tags, ignoring case.
func filterAccounts(all []vault.Account, query, tag string) []vault.Account {
	words := strings.Fields(strings.ToLower(query))
	var out []vault.Account
	for _, a := range all {
		if tag != "" && !slices.ContainsFunc(a.Tags, func(t string) bool { return strings.EqualFold(t, tag) }) {
			continue
		}
		if matchesAll(a, words) {
			out = append(out, a)
		}
	}
	return out
}

func matchesAll(a vault.Account, words []string) bool {
	fields := append([]string{strings.ToLower(a.Issuer), strings.ToLower(a.Name)}, a.Tags...)
	for i := 2; i < len(fields); i++ {
		fields[i] = strings.ToLower(fields[i])
	}
	for _, w := range words {
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(f, w) }) {
			return false
		}
	}
	return true
}

func (s *authenticator) updateEmptyState() {
	switch {
	case len(s.view) > 0:
		s.empty.Hide()
		return
	case len(s.all) == 0:
		s.emptyTitle.SetText("No accounts yet")
		s.emptyHint.SetText("Scan the QR code a site shows when you turn on two-factor authentication, " +
			"type its secret, or import the accounts of another authenticator app.")
		s.emptyAdd.Show()
	default:
		s.emptyTitle.SetText("No accounts match")
		s.emptyHint.SetText("Press Esc to clear the search, or choose " + allTags + ".")
		s.emptyAdd.Hide()
	}
	s.empty.Show()
}

// rowState computes what the row of account a shows at now.
func (s *authenticator) rowState(a vault.Account, now time.Time) rowState {
	st := rowState{id: a.ID, issuer: a.Issuer, name: a.Name, pinned: a.Pinned, tags: a.Tags}
	if a.Type == otp.HOTP {
		st.hotp = true
		st.code = groupCode(s.hotpCodes[a.ID])
		return st
	}
	code, err := s.codes.Code(a.Key, now)
	if err != nil {
		st.code = "—" // a vault only holds valid keys; this is a clock before 1970
		return st
	}
	st.code = groupCode(code)
	left := a.Remaining(now)
	st.period = a.Period
	st.remaining = ringSeconds(a, now)
	if st.remaining < expiringSoon {
		if next, err := s.codes.Code(a.Key, now.Add(left)); err == nil {
			st.next = groupCode(next)
		}
	}
	return st
}

// account is the account with id among those loaded.
func (s *authenticator) account(id string) (vault.Account, bool) {
	i := slices.IndexFunc(s.all, func(a vault.Account) bool { return a.ID == id })
	if i < 0 {
		return vault.Account{}, false
	}
	return s.all[i], true
}

// Ticking: one timer for the whole screen, fired just after each second
// begins. It updates only the rows on screen.

func (s *authenticator) startTicking() {
	if s.cancelTick == nil {
		s.scheduleTick()
	}
}

func (s *authenticator) stopTicking() {
	if s.cancelTick != nil {
		s.cancelTick()
		s.cancelTick = nil
	}
	s.tickGen++
}

func (s *authenticator) scheduleTick() {
	now := s.now()
	wait := time.Second - time.Duration(now.Nanosecond()) + 5*time.Millisecond
	gen := s.tickGen
	s.cancelTick = s.after(wait, func() { s.tick(gen) })
}

// viewSignature sums up what the time-dependent parts of the listed rows
// show at now: each TOTP account's time step and countdown.
func (s *authenticator) viewSignature(now time.Time) uint64 {
	h := fnv.New64a()
	var buf [16]byte
	for _, a := range s.view {
		if a.Type != otp.TOTP {
			continue
		}
		binary.LittleEndian.PutUint64(buf[:8], a.CounterAt(now))
		binary.LittleEndian.PutUint64(buf[8:], uint64(ringSeconds(a, now)))
		h.Write(buf[:])
	}
	return h.Sum64()
}

// ringSeconds is the value a TOTP row's ring shows at now, in seconds: the
// whole seconds left (30 at the start of a period) rounded up to ringStep;
// in the last expiringSoon seconds, when the next code shows, one value,
// expiringSoon-1, for all of them.
func ringSeconds(a vault.Account, now time.Time) int {
	left := int((a.Remaining(now) + time.Second - 1) / time.Second)
	if left < expiringSoon {
		return expiringSoon - 1
	}
	return min(a.Period, (left+ringStep-1)/ringStep*ringStep)
}

func (s *authenticator) tick(gen int) {
	if gen != s.tickGen {
		return // stopped after this tick was already on its way
	}
	s.ticks++
	if s.ticks%reloadTicks == 0 {
		s.reload()
	}
	// Update the rows only when some row would show something new: most
	// seconds nothing changes (the ring moves in steps), and an idle window
	// then costs nothing.
	if sig := s.viewSignature(s.now()); sig != s.shownSig {
		s.shownSig = sig
		s.list.tick()
	}
	s.scheduleTick()
}

// Selection and copying.

func (s *authenticator) onSelected(i widget.ListItemID) {
	if i >= 0 && i < len(s.view) {
		s.selectedID = s.view[i].ID
		if s.list.focused {
			s.list.Refresh() // the focus ring moves with the selection
		}
	}
}

func (s *authenticator) moveSelection(delta int) {
	if len(s.view) == 0 {
		return
	}
	i := slices.IndexFunc(s.view, func(a vault.Account) bool { return a.ID == s.selectedID })
	s.list.Select(max(0, min(len(s.view)-1, i+delta)))
}

// selectionMove is how far a key moves the selection: a row, a page of the
// rows on screen, or to either end; ok is false for other keys.
func (s *authenticator) selectionMove(key fyne.KeyName) (delta int, ok bool) {
	switch key {
	case fyne.KeyUp:
		return -1, true
	case fyne.KeyDown:
		return 1, true
	case fyne.KeyPageUp:
		return -s.list.page(), true
	case fyne.KeyPageDown:
		return s.list.page(), true
	case fyne.KeyHome:
		return -len(s.view), true
	case fyne.KeyEnd:
		return len(s.view), true
	}
	return 0, false
}

func (s *authenticator) onRowTapped(id string) {
	if i := slices.IndexFunc(s.view, func(a vault.Account) bool { return a.ID == id }); i >= 0 {
		s.list.Select(i)
	}
	s.copyCode(id)
}

// copyCode puts the account's current code in the clipboard and takes it out
// again after clipboardTTL, unless something else was copied meanwhile.
// A HOTP account has a code to copy only once one was asked for.
func (s *authenticator) copyCode(id string) {
	a, ok := s.account(id)
	if !ok {
		return
	}
	var code string
	if a.Type == otp.HOTP {
		if code = s.hotpCodes[id]; code == "" {
			s.m.toast.show("Press Next code to get a code")
			return
		}
	} else {
		var err error
		if code, err = s.codes.Code(a.Key, s.now()); err != nil {
			s.showError("The code could not be made", err) // a clock before 1970
			return
		}
	}
	s.m.lock.activity()
	s.m.app.Clipboard().SetContent(code)
	s.copied = code
	s.m.toast.show("Code copied")
	s.after(clipboardTTL, func() { s.clearCopied(code) })
}

// clearCopied empties the clipboard if it still holds code.
func (s *authenticator) clearCopied(code string) {
	if code == "" || code != s.copied {
		return
	}
	s.copied = ""
	if clip := s.m.app.Clipboard(); clip.Content() == code {
		clip.SetContent("")
	}
}

func (s *authenticator) copySelected() {
	if s.selectedID != "" {
		s.copyCode(s.selectedID)
	}
}

func (s *authenticator) onNextHOTP(id string) {
	code, a, err := s.store.NextHOTP(id)
	if err != nil {
		s.showError("The next code could not be made", err)
		return
	}
	s.hotpCodes[id] = code
	if i := slices.IndexFunc(s.all, func(b vault.Account) bool { return b.ID == id }); i >= 0 {
		s.all[i] = a
	}
	if i := slices.IndexFunc(s.view, func(b vault.Account) bool { return b.ID == id }); i >= 0 {
		s.view[i] = a
		s.list.Select(i)
		s.list.RefreshItem(i)
	}
}

// Keyboard.

func (s *authenticator) focusSearch() {
	if c := s.m.win.Canvas(); c != nil {
		c.Focus(s.search)
	}
}

// unfocus gives the keys back to the window, which routes them to the screen.
func (s *authenticator) unfocus() {
	if c := s.m.win.Canvas(); c != nil {
		c.Unfocus()
	}
}

func (s *authenticator) typedKey(ev *fyne.KeyEvent) {
	if delta, ok := s.selectionMove(ev.Name); ok {
		s.moveSelection(delta)
		return
	}
	if s.m.isMenuKey(ev) {
		s.menuSelected()
		return
	}
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		s.copySelected()
	case fyne.KeyEscape:
		s.search.SetText("")
		if s.m.win.Canvas().Focused() == s.search {
			s.unfocus()
		}
	}
}

func (s *authenticator) typedRune(r rune) {
	s.focusSearch()
	s.search.TypedRune(r)
}

func (s *authenticator) typedShortcut(sc fyne.Shortcut) {
	switch sc.(type) {
	case *desktop.CustomShortcut:
		if isFind(sc) {
			s.focusSearch()
			s.search.TypedShortcut(&fyne.ShortcutSelectAll{})
		}
	case *fyne.ShortcutCopy:
		s.copySelected()
	}
}

// Per-account menu.

func (s *authenticator) onMenu(id string, at fyne.Position) {
	if i := slices.IndexFunc(s.view, func(a vault.Account) bool { return a.ID == id }); i >= 0 {
		s.list.Select(i)
	}
	widget.ShowPopUpMenuAtPosition(s.menuFor(id), s.m.win.Canvas(), at)
}

// menuSelected opens the selected account's menu under its row's menu
// button, as a click on the button would.
func (s *authenticator) menuSelected() {
	if s.selectedID == "" {
		return
	}
	if r := s.list.row(s.selectedID); r != nil {
		r.openMenu()
	}
}

// menuFor is the menu of the account with id, for the mouse and the
// keyboard alike: a counter-based account's has Next code too.
func (s *authenticator) menuFor(id string) *fyne.Menu {
	items := []*fyne.MenuItem{fyne.NewMenuItem("Copy code", func() { s.copyCode(id) })}
	if a, ok := s.account(id); ok && a.Type == otp.HOTP {
		items = append(items, fyne.NewMenuItem("Next code", func() { s.onNextHOTP(id) }))
	}
	items = append(items,
		fyne.NewMenuItem("Edit…", func() { s.showEdit(id) }),
		fyne.NewMenuItem("Show as QR code…", func() { s.showQR(id) }),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Delete…", func() { s.confirmDelete(id) }),
	)
	return fyne.NewMenu("", items...)
}

// searchEntry is the search field; it hands the list's keys to the screen.
type searchEntry struct {
	widget.Entry
	s *authenticator
}

func newSearchEntry(s *authenticator) *searchEntry {
	e := &searchEntry{s: s}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey hands the list's keys to the screen. Home and End move the
// cursor in the search text while there is some.
func (e *searchEntry) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyHome, fyne.KeyEnd:
		if e.Text != "" {
			e.Entry.TypedKey(ev)
			return
		}
	case fyne.KeyUp, fyne.KeyDown, fyne.KeyPageUp, fyne.KeyPageDown,
		fyne.KeyReturn, fyne.KeyEnter, fyne.KeyEscape, desktop.KeyMenu, fyne.KeyF10:
	default:
		e.Entry.TypedKey(ev)
		return
	}
	e.s.typedKey(ev)
}

func (e *searchEntry) KeyDown(ev *fyne.KeyEvent) {
	e.s.m.keyDown(ev)
	e.Entry.KeyDown(ev)
}

func (e *searchEntry) KeyUp(ev *fyne.KeyEvent) {
	e.s.m.keyUp(ev)
	e.Entry.KeyUp(ev)
}

// TypedShortcut copies the selected code on Ctrl+C unless text in the field
// is selected, which is then copied as usual.
func (e *searchEntry) TypedShortcut(sc fyne.Shortcut) {
	if _, ok := sc.(*fyne.ShortcutCopy); ok && e.SelectedText() == "" {
		e.s.copySelected()
		return
	}
	if isFind(sc) {
		e.Entry.TypedShortcut(&fyne.ShortcutSelectAll{})
		return
	}
	if e.s.m.windowShortcut(sc) {
		return
	}
	e.Entry.TypedShortcut(sc)
}

// accountList is the virtualised list of accounts. With the keyboard focus
// it takes the keys the search field takes (the screen's typedKey), draws a
// focus ring around the selected row, and hands typed text to the search.
// Fyne's own focus highlight (a row apart from the selection) stays off:
// the selection is the one row keys act on.
type accountList struct {
	widget.List
	s         *authenticator
	selected  widget.ListItemID // the selected row, -1 for none (List does not tell)
	rowHeight float32           // a row's height with its separator, once known, for the wheel
	focused   bool
	rows      map[string]*accountRow // the row that last showed each account
	rowSize   fyne.Size              // a row's size, for a page of them
}

func newAccountList(s *authenticator) *accountList {
	l := &accountList{s: s, selected: -1, rows: map[string]*accountRow{}}
	l.Length = func() int { return len(s.view) }
	l.CreateItem = func() fyne.CanvasObject {
		r := newAccountRow()
		r.onTapped, r.onMenu, r.onNextHOTP, r.onScrolled = s.onRowTapped, s.onMenu, s.onNextHOTP, l.scrollBy
		return r
	}
	l.UpdateItem = func(i widget.ListItemID, o fyne.CanvasObject) {
		if i < len(s.view) {
			l.fill(o.(*accountRow), s.view[i], s.now())
		}
	}
	l.OnSelected = func(i widget.ListItemID) {
		l.selected = i
		s.onSelected(i)
	}
	l.OnUnselected = func(i widget.ListItemID) {
		if l.selected == i {
			l.selected = -1
		}
	}
	l.ExtendBaseWidget(l)
	l.rowSize = newAccountRow().MinSize()
	return l
}

// fill shows account a in row r as at now.
func (l *accountList) fill(r *accountRow, a vault.Account, now time.Time) {
	st := l.s.rowState(a, now)
	st.focused = l.focused && a.ID == l.s.selectedID
	r.set(st)
	l.rows[a.ID] = r
}

// tick brings the rows the list shows up to now. Each row refreshes only
// what changed on it (the ring, a new code), where refreshing the list
// would make Fyne draw every text on screen anew: it frees the textures of
// everything a refreshed widget holds (see make bench-ui).
func (l *accountList) tick() {
	now := l.s.now()
	for id, r := range l.rows {
		if r.state.id != id {
			continue // the row shows another account now
		}
		if a, ok := l.s.account(id); ok {
			l.fill(r, a, now)
		}
	}
}

// wheelNotch is how far Fyne's desktop driver says one notch of a mouse
// wheel moves (its scroll speed on Linux and Windows).
const wheelNotch = 25

// scrollBy moves the list by a wheel's ev: a row for each notch, as other
// apps' lists do. Fyne's own scrolling moves 25 units a notch, under half
// a row here, so that ten notches went four rows.
func (l *accountList) scrollBy(ev *fyne.ScrollEvent) {
	if l.rowHeight == 0 {
		l.rowHeight = newAccountRow().MinSize().Height + theme.Padding() // the row and the separator
	}
	y := l.GetScrollOffset() - ev.Scrolled.DY/wheelNotch*l.rowHeight
	l.ScrollToOffset(max(0, y))
}

func (l *accountList) FocusGained() {
	l.focused = true
	l.Refresh()
}

func (l *accountList) FocusLost() {
	l.focused = false
	l.Refresh()
}

func (l *accountList) TypedKey(ev *fyne.KeyEvent) { l.s.typedKey(ev) }
func (l *accountList) TypedRune(r rune)           { l.s.typedRune(r) }
func (l *accountList) KeyDown(ev *fyne.KeyEvent)  { l.s.m.keyDown(ev) }
func (l *accountList) KeyUp(ev *fyne.KeyEvent)    { l.s.m.keyUp(ev) }

// page is how many rows Page Up and Page Down move: those that fit on
// screen, less one to keep in view.
func (l *accountList) page() int {
	step := l.rowSize.Height + l.Theme().Size(theme.SizeNamePadding) // rows and the separators between
	return max(1, int(l.Size().Height/step)-1)
}

// row scrolls the account id into view and returns its row, or nil when
// the list does not show it.
func (l *accountList) row(id string) *accountRow {
	i := slices.IndexFunc(l.s.view, func(a vault.Account) bool { return a.ID == id })
	if i < 0 {
		return nil
	}
	l.ScrollTo(i) // binds the row, if it was off screen
	if r := l.rows[id]; r != nil && r.state.id == id {
		return r
	}
	return nil
}

// show redraws the rows on screen once, with row i selected and scrolled to
// (none when i < 0). Unselecting, refreshing and selecting one after the
// other would fill in every row on screen three times.
func (l *accountList) show(i widget.ListItemID) {
	switch {
	case i < 0 && l.selected >= 0:
		l.UnselectAll() // refreshes
	case i < 0:
		l.Refresh()
	case i == l.selected:
		l.ScrollTo(i) // refreshes
	default:
		l.Select(i) // scrolls to it and refreshes
	}
	if i >= 0 && l.Size().Height <= 0 {
		// Not laid out yet (the window opening, or behind the lock): Fyne
		// would scroll down by a row to "show" it, hiding the first.
		l.ScrollToTop()
	}
}
