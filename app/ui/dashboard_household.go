package ui

import (
	"context"
	"fmt"
	"image/color"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/permit"
	"github.com/countersign/countersign/internal/qr"
)

// Sizes of the household board.
const (
	// minColumnWidth is the narrowest a member's column gets: as many as
	// fit at that width share a row of the board.
	minColumnWidth = 180
	// edgeScroll is how near the board's top or bottom a dragged card
	// scrolls it.
	edgeScroll = 40
	// columnCards is how many cards a column shows until asked for all:
	// a household's few, and the board stays quick with hundreds.
	columnCards = 8
)

// board is the household: a column per member, the owner first, with
// their devices as cards, in rows as wide as the window. Dragging a card
// onto another member's column, or choosing them in the card's menu,
// gives the device to that member; this desktop is offered only what
// package permit's table lets it do.
type board struct {
	d    *dashboard
	data api.Household

	add     *widget.Button
	intro   *widget.Label
	columns []*memberColumn
	layout  *columnsLayout
	strip   *fyne.Container // the columns, in rows
	scroll  *container.Scroll
	root    fyne.CanvasObject

	drag    *dragging       // the card being dragged, nil when none
	pending *api.Household  // what loaded during a drag, shown once it ends
	all     map[string]bool // members whose every card shows, by id
}

func newBoard(d *dashboard) *board {
	b := &board{d: d}
	b.add = widget.NewButtonWithIcon("Add member…", theme.ContentAddIcon(), b.askAdd)
	b.add.Importance = widget.HighImportance
	b.intro = &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText}
	b.layout = &columnsLayout{}
	b.strip = container.New(b.layout)
	b.scroll = container.NewVScroll(b.strip)
	b.root = container.NewBorder(container.NewBorder(nil, nil, nil, b.add, b.intro), nil, nil, nil, b.scroll)
	b.reset()
	return b
}

func (b *board) title() string           { return "Household" }
func (b *board) view() fyne.CanvasObject { return b.root }

func (b *board) watches(what string) bool {
	return what == api.ChangedHousehold || what == api.ChangedDevices
}

func (b *board) reset() {
	b.cancelDrag()
	b.pending = nil
	b.all = map[string]bool{}
	b.data = api.Household{}
	b.columns = nil
	b.strip.RemoveAll()
	b.add.Disable()
}

func (b *board) fetch(ctx context.Context, src Dashboard) (func(), error) {
	h, err := src.Household(ctx)
	if err != nil {
		return nil, err
	}
	return func() { b.set(h) }, nil
}

// set shows the household: a column per member, made anew; during a drag,
// once the card is dropped.
func (b *board) set(h api.Household) {
	if b.drag != nil {
		b.pending = &h
		return
	}
	b.data = h
	byMember := map[string][]api.Device{}
	for _, dv := range h.Devices {
		byMember[dv.MemberID] = append(byMember[dv.MemberID], dv)
	}
	members := slices.Clone(h.Members)
	// The owner first, then as the server lists them (oldest first).
	slices.SortStableFunc(members, func(a, c api.Member) int {
		return boolRank(a.Role == api.RoleOwner) - boolRank(c.Role == api.RoleOwner)
	})
	b.columns = b.columns[:0]
	b.strip.Objects = b.strip.Objects[:0]
	for _, m := range members {
		c := newMemberColumn(b, m, byMember[m.ID])
		b.columns = append(b.columns, c)
		b.strip.Objects = append(b.strip.Objects, c.root)
	}
	// With every column made, each card knows where its device may go.
	for _, c := range b.columns {
		for _, k := range c.cards {
			show(k.menu, len(k.moves()) > 0)
		}
	}
	enable(b.add, b.may(permit.AddMember, ""))
	b.intro.SetText("Only the account's owner can " + permit.MoveDevice.Words() + ".")
	if b.may(permit.MoveDevice, "") {
		b.intro.SetText("Drag a device onto another person, or choose them in its menu, to give it to them.")
	}
	b.layout.fit(b.strip.Objects, b.scroll.Size().Width)
	b.scroll.Refresh()
}

func boolRank(first bool) int {
	if first {
		return 0
	}
	return 1
}

func (b *board) ownerID() string {
	for _, m := range b.data.Members {
		if m.Role == api.RoleOwner {
			return m.ID
		}
	}
	return ""
}

// may reports whether this desktop may do a to what is the member
// target's ("" for nobody's), as package permit's table says: it acts as
// its member, the owner's desktop or a member's.
func (b *board) may(a permit.Action, target string) bool {
	caller := permit.MemberDesktop
	if b.data.You != "" && b.data.You == b.ownerID() {
		caller = permit.OwnerDesktop
	}
	return permit.Permits(caller, a, b.data.You, target)
}

func (b *board) member(id string) (api.Member, bool) {
	i := slices.IndexFunc(b.data.Members, func(m api.Member) bool { return m.ID == id })
	if i < 0 {
		return api.Member{}, false
	}
	return b.data.Members[i], true
}

func (b *board) column(memberID string) *memberColumn {
	for _, c := range b.columns {
		if c.member.ID == memberID {
			return c
		}
	}
	return nil
}

// move gives a device to another member on the server. The card moves at
// once and goes back if the server refuses; when it worked, an Undo moves
// it back.
func (b *board) move(dv api.Device, to string, undo bool) {
	from := dv.MemberID
	target, ok := b.member(to)
	src, ok2 := b.column(from), b.column(to)
	if !ok || src == nil || ok2 == nil || from == to {
		return
	}
	b.place(dv.ID, to)
	b.d.try("The device could not be moved", []string{api.ChangedDevices, api.ChangedHousehold},
		func(ctx context.Context, s Dashboard) error {
			_, err := s.UpdateDevice(ctx, dv.ID, api.DeviceUpdate{MemberID: to})
			return err
		},
		func() {
			if !undo {
				b.d.m.toast.show("Gave " + client.DeviceName(dv) + " back to " + target.Name)
				return
			}
			moved := dv
			moved.MemberID = to
			b.d.m.toast.showUndo("Gave "+client.DeviceName(dv)+" to "+target.Name, func() { b.move(moved, from, false) })
		},
		// Refused, or the server could not be reached: the card goes back.
		func() { b.place(dv.ID, from) })
}

// place shows a device in a member's column.
func (b *board) place(deviceID, memberID string) {
	for i, dv := range b.data.Devices {
		if dv.ID == deviceID {
			b.data.Devices[i].MemberID = memberID
		}
	}
	b.set(b.data)
}

// memberColumn is one member: their name and role, what can be done to
// them, and their devices.
type memberColumn struct {
	b       *board
	member  api.Member
	devices []api.Device

	bg    *canvas.Rectangle // lit while a card is dragged over it
	menu  *widget.Button
	share *widget.Button
	cards []*boardCard
	root  fyne.CanvasObject
}

func newMemberColumn(b *board, m api.Member, devs []api.Device) *memberColumn {
	c := &memberColumn{b: b, member: m, devices: devs}
	c.bg = canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	c.bg.CornerRadius = theme.InputRadiusSize()

	name := &widget.Label{Text: m.Name, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	var role []string
	if m.Role == api.RoleOwner {
		role = append(role, "Owner")
	}
	if m.ID == b.data.You {
		role = append(role, "You")
	}
	role = append(role, count(len(devs), "device", "devices"))
	sub := &widget.Label{Text: joinNonEmpty(" · ", role...), SizeName: theme.SizeNameCaptionText,
		Truncation: fyne.TextTruncateEllipsis}
	c.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), c.showMenu)
	c.menu.Importance = widget.LowImportance

	head := []fyne.CanvasObject{container.NewBorder(nil, nil, nil, c.menu, container.New(lines{}, name, sub))}
	if m.Role != api.RoleOwner {
		if m.SharesAuthenticator {
			c.share = widget.NewButtonWithIcon("Stop sharing", theme.VisibilityOffIcon(), c.stopSharing)
			head = append(head, &widget.Label{Text: "Shares the authenticator", SizeName: theme.SizeNameCaptionText,
				Importance: widget.SuccessImportance})
		} else {
			c.share = widget.NewButtonWithIcon("Share authenticator", theme.VisibilityIcon(), func() { b.confirmShare(m) })
		}
		// The authenticator is sealed to the member's paired desktops: with
		// none there is nothing to share it with yet (stopping still works).
		hasDesktop := slices.ContainsFunc(devs, func(d api.Device) bool { return d.Type == api.DeviceApprover })
		enable(c.share, b.may(permit.Share, m.ID) && (m.SharesAuthenticator || hasDesktop))
		head = append(head, c.share)
	}
	body := head
	for i, dv := range devs {
		if i == columnCards && !b.all[m.ID] {
			more := widget.NewButton(fmt.Sprintf("Show %d more", len(devs)-i), func() {
				b.all[m.ID] = true
				b.set(b.data)
			})
			more.Importance = widget.LowImportance
			body = append(body, more)
			break
		}
		k := newBoardCard(c)
		k.set(dv)
		c.cards = append(c.cards, k)
		body = append(body, k)
	}
	if len(devs) == 0 {
		empty := "No devices."
		if b.may(permit.MoveDevice, "") && b.may(permit.Invite, m.ID) {
			empty = "No devices. Drag one here, or invite " + possessive(m.Name) + " desktop."
		}
		body = append(body, &widget.Label{Text: empty, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText})
	}
	c.root = container.NewStack(c.bg, container.NewPadded(container.NewVBox(body...)))
	return c
}

// highlight lights the column while a card is held over it.
func (c *memberColumn) highlight(on bool) {
	if on {
		c.bg.FillColor = theme.Color(theme.ColorNameHover)
		c.bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
		c.bg.StrokeWidth = 2
	} else {
		c.bg.FillColor = theme.Color(theme.ColorNameInputBackground)
		c.bg.StrokeColor = color.Transparent
		c.bg.StrokeWidth = 0
	}
	c.bg.Refresh()
}

// contains reports whether the absolute position pos falls on the column.
func (c *memberColumn) contains(pos fyne.Position) bool {
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.root)
	size := c.root.Size()
	return pos.X >= at.X && pos.X < at.X+size.Width && pos.Y >= at.Y && pos.Y < at.Y+size.Height
}

// menuItems are what the column's menu offers: the owner's actions are
// there for the owner only, renaming for the member too.
func (c *memberColumn) menuItems() []*fyne.MenuItem {
	b, m := c.b, c.member
	rename := fyne.NewMenuItem("Rename…", func() { b.askRename(m) })
	rename.Disabled = !b.may(permit.RenameMember, m.ID)
	invite := fyne.NewMenuItem("Invite a desktop…", func() { b.invite(m) })
	items := []*fyne.MenuItem{rename, invite}
	invite.Disabled = !b.may(permit.Invite, m.ID)
	if m.Role != api.RoleOwner {
		remove := fyne.NewMenuItem("Remove…", func() { b.confirmRemove(m) })
		remove.Disabled = !b.may(permit.RemoveMember, m.ID)
		items = append(items, fyne.NewMenuItemSeparator(), remove)
	}
	return items
}

func (c *memberColumn) showMenu() {
	cv := fyne.CurrentApp().Driver().CanvasForObject(c.menu)
	if cv == nil {
		return
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.menu)
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", c.menuItems()...), cv, pos.AddXY(0, c.menu.Size().Height))
}

// confirmShare says what sharing the authenticator with m gives them,
// and shares it once confirmed.
func (b *board) confirmShare(m api.Member) {
	var desktops []string
	for _, dv := range b.data.Devices {
		if dv.MemberID == m.ID && dv.Type == api.DeviceApprover {
			desktops = append(desktops, client.DeviceName(dv))
		}
	}
	on := possessive(m.Name) + " desktop (" + strings.Join(desktops, ", ") + ")"
	if len(desktops) > 1 {
		on = possessive(m.Name) + " desktops (" + strings.Join(desktops, ", ") + ")"
	}
	msg := fmt.Sprintf("Share the authenticator of %s with %s?\n\n%s gets the codes of this account on %s, "+
		"and on the desktops they pair later, and can sign in with them as you do. Stopping later withdraws "+
		"the offer only: codes %s already added keep working until the account's authenticator is changed.",
		accountLabel(b.d.account), m.Name, m.Name, on, m.Name)
	b.d.confirm("Share the authenticator", msg, "Share", func() { b.share(m) })
}

// share shares the authenticator with m: the server offers it to each of
// their desktops.
func (b *board) share(m api.Member) {
	var n int
	b.d.act("The authenticator could not be shared", []string{api.ChangedHousehold},
		func(ctx context.Context, src Dashboard) (err error) {
			n, err = src.ShareAuthenticator(ctx, m.ID)
			return err
		},
		func() {
			b.d.m.toast.show("Offered the authenticator to " + possessive(m.Name) + " " +
				count(n, "desktop", "desktops"))
		})
}

func (c *memberColumn) stopSharing() {
	m := c.member
	c.b.d.act("The authenticator could not be unshared", []string{api.ChangedHousehold},
		func(ctx context.Context, src Dashboard) error { return src.StopSharing(ctx, m.ID) },
		func() { c.b.d.m.toast.show("Stopped sharing the authenticator with " + m.Name) })
}

// boardCard is a device on the household board, dragged or moved with
// its menu to give it to another member.
type boardCard struct {
	widget.BaseWidget
	c  *memberColumn
	dv api.Device

	bg      *canvas.Rectangle
	kind    *widget.Icon
	name    *widget.Label
	what    *widget.Label
	seen    *widget.Label
	menu    *widget.Button // Move to…, when this desktop may move it
	content fyne.CanvasObject
}

func newBoardCard(c *memberColumn) *boardCard {
	k := &boardCard{c: c}
	k.bg = canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
	k.bg.CornerRadius = theme.InputRadiusSize()
	k.kind = widget.NewIcon(kindIcon("desktop"))
	// The name wraps rather than lose its end: "(this desktop)".
	k.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
	k.what = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	k.seen = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	k.menu = widget.NewButtonWithIcon("", theme.MoreVerticalIcon(), func() { k.showMenu(k.menu, fyne.Position{}) })
	k.menu.Importance = widget.LowImportance
	k.content = container.NewStack(k.bg, container.NewBorder(nil, nil, container.NewCenter(k.kind),
		container.NewVBox(k.menu), container.New(lines{}, k.name, k.what, k.seen)))
	k.ExtendBaseWidget(k)
	return k
}

func (k *boardCard) set(dv api.Device) {
	k.dv = dv
	k.kind.Resource = kindIcon(dv.Kind)
	k.name.Text = client.DeviceName(dv)
	k.what.Text = deviceWhat(dv)
	seen := "Never seen"
	if !dv.LastSeenAt.IsZero() {
		seen = "Seen " + client.Ago(dv.LastSeenAt, k.c.b.d.m.deps.Now())
	}
	k.seen.Text = seen
	k.dim(k.c.b.drag != nil && k.c.b.drag.dv.ID == dv.ID)
}

// moves are the card's menu: "Move to Sam" for each other member, in the
// board's order, when this desktop may move the device; none otherwise.
// Each gives the device as dropping the card on their column does.
func (k *boardCard) moves() []*fyne.MenuItem {
	b, dv := k.c.b, k.dv
	if !b.may(permit.MoveDevice, dv.MemberID) {
		return nil
	}
	var items []*fyne.MenuItem
	for _, c := range b.columns {
		if to := c.member; to.ID != dv.MemberID {
			items = append(items, fyne.NewMenuItem("Move to "+to.Name, func() { b.move(dv, to.ID, true) }))
		}
	}
	return items
}

// showMenu shows the card's menu below the button, or at pos on the card
// for a right click.
func (k *boardCard) showMenu(from fyne.CanvasObject, pos fyne.Position) {
	items := k.moves()
	drv := fyne.CurrentApp().Driver()
	cv := drv.CanvasForObject(k)
	if len(items) == 0 || cv == nil {
		return
	}
	at := drv.AbsolutePositionForObject(from).Add(pos)
	if from == k.menu {
		at = at.AddXY(0, k.menu.Size().Height)
	}
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), cv, at)
}

// TappedSecondary shows the card's menu where it was right-clicked.
func (k *boardCard) TappedSecondary(ev *fyne.PointEvent) { k.showMenu(k, ev.Position) }

// dim shows the card faded while its copy is dragged.
func (k *boardCard) dim(on bool) {
	if on {
		k.bg.FillColor = theme.Color(theme.ColorNameDisabledButton)
	} else {
		k.bg.FillColor = theme.Color(theme.ColorNameBackground)
	}
	k.bg.Refresh()
}

func (k *boardCard) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(k.content) }

// Dragged moves a floating copy of the card with the pointer.
func (k *boardCard) Dragged(ev *fyne.DragEvent) { k.c.b.dragged(k, ev.Dragged) }

// DragEnd drops the card on the column under it.
func (k *boardCard) DragEnd() { k.c.b.dropped() }

// columnsLayout lays the members' columns out in rows as wide as the
// board: as many a row as fit at minColumnWidth (or the widest column's
// least width) share its width, and each row is as tall as its tallest
// column. The board scrolls down, never sideways.
type columnsLayout struct {
	width float32 // the width last laid out at, for MinSize
}

// grid is how many columns a row holds at width, and how wide each is.
func (l *columnsLayout) grid(objects []fyne.CanvasObject, width float32) (perRow int, colWidth float32) {
	least := float32(minColumnWidth)
	for _, o := range objects {
		least = max(least, o.MinSize().Width)
	}
	gap := theme.Padding()
	perRow = max(1, min(len(objects), int((width+gap)/(least+gap))))
	return perRow, max(least, (width-gap*float32(perRow-1))/float32(perRow))
}

// rows is the height of each row of perRow columns, as laid out now.
func (l *columnsLayout) rows(objects []fyne.CanvasObject, perRow int) []float32 {
	var heights []float32
	for i, o := range objects {
		if i%perRow == 0 {
			heights = append(heights, 0)
		}
		heights[len(heights)-1] = max(heights[len(heights)-1], o.MinSize().Height)
	}
	return heights
}

func (l *columnsLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	if len(objects) == 0 {
		return fyne.Size{}
	}
	_, least := l.grid(objects, 0)
	perRow, _ := l.grid(objects, l.width)
	var h float32
	for _, rh := range l.rows(objects, perRow) {
		h += rh
	}
	gap := theme.Padding()
	rows := (len(objects) + perRow - 1) / perRow
	return fyne.NewSize(least, h+gap*float32(rows-1))
}

// fit lays the columns out at the width they get in a board as wide as
// width, so that their names wrapped at that width make them as tall as
// they are: MinSize is right from then on.
func (l *columnsLayout) fit(objects []fyne.CanvasObject, width float32) int {
	l.width = width
	if len(objects) == 0 {
		return 0
	}
	perRow, colWidth := l.grid(objects, width)
	for _, o := range objects {
		if o.Size().Width != colWidth {
			o.Resize(fyne.NewSize(colWidth, o.MinSize().Height))
		}
	}
	return perRow
}

func (l *columnsLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	perRow := l.fit(objects, size.Width)
	if perRow == 0 {
		return
	}
	_, colWidth := l.grid(objects, size.Width)
	gap := theme.Padding()
	var y float32
	for r, rh := range l.rows(objects, perRow) {
		for i := r * perRow; i < min(len(objects), (r+1)*perRow); i++ {
			objects[i].Move(fyne.NewPos(float32(i-r*perRow)*(colWidth+gap), y))
			objects[i].Resize(fyne.NewSize(colWidth, rh))
		}
		y += rh + gap
	}
}

// dragging is a card on its way to another column.
type dragging struct {
	dv    api.Device
	from  string        // the member it is dragged from
	start fyne.Position // the card's absolute position when the drag began
	moved fyne.Delta    // how far it has been dragged
	size  fyne.Size     // the card's
	ghost fyne.CanvasObject
	over  *memberColumn // the column under it
}

// centre is where the dragged copy's middle is now, in absolute
// coordinates: the column under it is where it goes.
func (g *dragging) centre() fyne.Position {
	return g.start.AddXY(g.moved.DX+g.size.Width/2, g.moved.DY+g.size.Height/2)
}

func (b *board) dragged(k *boardCard, delta fyne.Delta) {
	drv := fyne.CurrentApp().Driver()
	if b.drag == nil {
		if !slices.Contains(b.columns, k.c) {
			return // a card of a board shown before
		}
		if !b.may(permit.MoveDevice, k.dv.MemberID) {
			return // the server would refuse it
		}
		b.drag = &dragging{dv: k.dv, from: k.dv.MemberID, start: drv.AbsolutePositionForObject(k), size: k.Size()}
		b.drag.ghost = newGhost(k)
		b.d.layer.Add(b.drag.ghost)
		k.dim(true)
	}
	g := b.drag
	g.moved.DX += delta.DX
	g.moved.DY += delta.DY
	layer := drv.AbsolutePositionForObject(b.d.layer)
	g.ghost.Move(g.start.Subtract(layer).AddXY(g.moved.DX, g.moved.DY))
	g.ghost.Resize(g.size)
	b.d.layer.Refresh()
	b.scrollNear(g.centre())
	over := b.columnAt(g.centre())
	if over != g.over {
		if g.over != nil {
			g.over.highlight(false)
		}
		if over != nil && over.member.ID != g.from {
			over.highlight(true)
		} else {
			over = nil
		}
		g.over = over
	}
}

// columnAt is the column at an absolute position inside the board's
// visible part, nil for none.
func (b *board) columnAt(pos fyne.Position) *memberColumn {
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(b.scroll)
	size := b.scroll.Size()
	if pos.X < at.X || pos.X >= at.X+size.Width || pos.Y < at.Y || pos.Y >= at.Y+size.Height {
		return nil
	}
	for _, c := range b.columns {
		if c.contains(pos) {
			return c
		}
	}
	return nil
}

// scrollNear scrolls the board when a dragged card nears its top or
// bottom.
func (b *board) scrollNear(pos fyne.Position) {
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(b.scroll)
	height := b.scroll.Size().Height
	maxY := max(b.strip.Size().Height-height, 0)
	switch {
	case pos.Y < at.Y+edgeScroll && b.scroll.Offset.Y > 0:
		b.scroll.Offset.Y = max(b.scroll.Offset.Y-edgeScroll/2, 0)
	case pos.Y > at.Y+height-edgeScroll && b.scroll.Offset.Y < maxY:
		b.scroll.Offset.Y = min(b.scroll.Offset.Y+edgeScroll/2, maxY)
	default:
		return
	}
	b.scroll.Refresh()
}

func (b *board) dropped() {
	g := b.drag
	if g == nil {
		return
	}
	var to string
	if target := b.columnAt(g.centre()); target != nil {
		to = target.member.ID
	}
	b.cancelDrag()
	if to != "" && to != g.from {
		b.move(g.dv, to, true)
	}
}

// cancelDrag takes the dragged copy away; the card stays where it was.
// What loaded meanwhile shows now.
func (b *board) cancelDrag() {
	g := b.drag
	if g == nil {
		return
	}
	b.drag = nil
	if g.over != nil {
		g.over.highlight(false)
	}
	b.d.layer.Remove(g.ghost)
	b.d.layer.Refresh()
	if p := b.pending; p != nil {
		b.pending = nil
		b.set(*p)
		return
	}
	for _, c := range b.columns {
		for _, k := range c.cards {
			k.dim(false)
		}
	}
}

// newGhost is the floating copy of a card: drawn, not a widget, so that
// it takes no input.
func newGhost(k *boardCard) fyne.CanvasObject {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	bg.StrokeColor = theme.Color(theme.ColorNamePrimary)
	bg.StrokeWidth = 2
	name := canvas.NewText(k.name.Text, theme.Color(theme.ColorNameForeground))
	name.TextStyle.Bold = true
	what := canvas.NewText(k.what.Text, theme.Color(theme.ColorNameForeground))
	what.TextSize = theme.CaptionTextSize()
	ic := canvas.NewImageFromResource(kindIcon(k.dv.Kind))
	ic.SetMinSize(fyne.NewSquareSize(theme.IconInlineSize()))
	return container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil, container.NewCenter(ic), nil,
		container.NewVBox(layout.NewSpacer(), name, what, layout.NewSpacer()))))
}

// askAdd asks for a new member's name, adds them and shows an invitation
// for their desktop.
func (b *board) askAdd() {
	b.d.askName("Add a member", "Name", "Add", "", func(name string) {
		var m api.Member
		var inv api.Invitation
		var inviteErr error
		b.d.act(fmt.Sprintf("%s could not be added", name), []string{api.ChangedHousehold},
			func(ctx context.Context, src Dashboard) (err error) {
				if m, err = src.AddMember(ctx, name); err != nil {
					return err
				}
				inv, inviteErr = src.Invite(ctx, m.ID)
				return nil
			},
			func() {
				if approver.NeedsStepUp(inviteErr) {
					b.invite(m) // asks to confirm it is you first
					return
				}
				if inviteErr != nil {
					b.d.showError(m.Name+" was added, but no invitation could be made", inviteErr)
					return
				}
				b.d.showInvitation(m, inv)
			})
	})
}

// invite makes a new invitation for a member's desktop.
func (b *board) invite(m api.Member) {
	var inv api.Invitation
	b.d.act("No invitation could be made", nil,
		func(ctx context.Context, src Dashboard) (err error) {
			inv, err = src.Invite(ctx, m.ID)
			return err
		},
		func() { b.d.showInvitation(m, inv) })
}

func (b *board) askRename(m api.Member) {
	b.d.askName("Rename "+m.Name, "Name", "Rename", m.Name, func(name string) {
		if name != m.Name {
			b.rename(m, name, true)
		}
	})
}

// rename renames a member; when undo, the toast offers the old name back.
func (b *board) rename(m api.Member, name string, undo bool) {
	b.d.act("The member could not be renamed", []string{api.ChangedHousehold, api.ChangedDevices},
		func(ctx context.Context, src Dashboard) error {
			_, err := src.RenameMember(ctx, m.ID, name)
			return err
		},
		func() {
			if !undo {
				b.d.m.toast.show("Named " + name + " again")
				return
			}
			renamed := m
			renamed.Name = name
			b.d.m.toast.showUndo("Renamed "+m.Name+" to "+name, func() { b.rename(renamed, m.Name, false) })
		})
}

func (b *board) confirmRemove(m api.Member) {
	n := 0
	for _, dv := range b.data.Devices {
		if dv.MemberID == m.ID {
			n++
		}
	}
	title := fmt.Sprintf("Remove %s?", m.Name)
	if n > 0 {
		title = fmt.Sprintf("Remove %s and sign out %s %s?", m.Name, possessive(m.Name), count(n, "device", "devices"))
	}
	msg := title + "\n\n" + possessive(m.Name) + " desktops stop getting sign-in requests, their browsers are " +
		"signed out and their security keys removed, at once."
	b.d.confirm("Remove member", msg, "Remove", func() {
		b.d.act(m.Name+" could not be removed", []string{api.ChangedHousehold, api.ChangedDevices, api.ChangedSessions},
			func(ctx context.Context, src Dashboard) error { return src.RemoveMember(ctx, m.ID) },
			func() { b.d.m.toast.show("Removed " + m.Name) })
	})
}

// invitationQRSize is the side, in pixels, of an invitation's QR image.
const invitationQRSize = 320

// showInvitation shows the code a member's desktop pairs with: as a QR
// code for a camera, as text to type, and until when it works.
func (d *dashboard) showInvitation(m api.Member, inv api.Invitation) {
	now := d.m.deps.Now()
	var img fyne.CanvasObject
	if png, err := qr.Encode(inv.URI, invitationQRSize); err == nil {
		qrImg := canvas.NewImageFromResource(fyne.NewStaticResource("invitation-"+inv.Code+".png", png))
		qrImg.FillMode = canvas.ImageFillContain
		qrImg.ScaleMode = canvas.ImageScalePixels
		qrImg.SetMinSize(fyne.NewSquareSize(220))
		img = qrImg
	} else {
		img = &widget.Label{Text: "The QR code could not be made: type the code.", Wrapping: fyne.TextWrapWord}
	}
	code := &widget.Label{Text: inv.Code, TextStyle: fyne.TextStyle{Bold: true},
		SizeName: theme.SizeNameHeadingText, Alignment: fyne.TextAlignCenter, Selectable: true}
	left := inv.ExpiresAt.Sub(now).Round(time.Minute)
	expiry := &widget.Label{Alignment: fyne.TextAlignCenter, Wrapping: fyne.TextWrapWord,
		Text: fmt.Sprintf("Works once, until %s (%s).", inv.ExpiresAt.In(now.Location()).Format("15:04"),
			"in "+count(int(left/time.Minute), "minute", "minutes"))}
	how := &widget.Label{Wrapping: fyne.TextWrapWord, Text: "On " + possessive(m.Name) + " desktop, open Countersign, " +
		"choose Approvals, then Pair with an account: scan this code, or type the server and the code below."}
	server := &widget.Label{Text: invitationServer(inv, d.account.Server), Alignment: fyne.TextAlignCenter,
		Selectable: true, Truncation: fyne.TextTruncateEllipsis}
	copyLink := widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), func() {
		d.m.app.Clipboard().SetContent(inv.URI)
		d.m.toast.show("Copied the invitation link")
	})
	content := container.NewVBox(how, container.NewCenter(img), server, code, expiry, container.NewCenter(copyLink))
	dl := dialog.NewCustom("Invitation for "+m.Name, "Done", content, d.m.win)
	dl.Resize(fyne.NewSize(440, dl.MinSize().Height))
	d.dialog = dl
	d.m.showDialog(dl)
}

// invitationServer is the server an invitation is redeemed on, as a URL
// to type in the pairing dialog: the server's public URL, which the
// invitation's link holds; the one this desktop pairs with otherwise.
func invitationServer(inv api.Invitation, paired string) string {
	if server, _, err := api.ParsePairURI(inv.URI); err == nil {
		return server
	}
	return paired
}
