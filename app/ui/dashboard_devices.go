package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/client"
)

// devicesPane lists every device of the account: trusted browsers, paired
// desktops and security keys, each with its member, and renames, removes
// and signs them out.
type devicesPane struct {
	d       *dashboard
	devices []api.Device
	members map[string]string // member names by id

	empty *widget.Label
	list  *widget.List
	root  fyne.CanvasObject
}

func newDevicesPane(d *dashboard) *devicesPane {
	p := &devicesPane{d: d}
	p.empty = &widget.Label{Text: "No devices yet.", Wrapping: fyne.TextWrapWord}
	p.list = widget.NewList(
		func() int { return len(p.devices) },
		func() fyne.CanvasObject { return newDeviceRow(p) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*deviceRow).set(p.devices[i]) },
	)
	p.list.HideSeparators = false
	p.root = container.NewStack(p.list, container.NewVBox(p.empty))
	p.reset()
	return p
}

func (p *devicesPane) title() string           { return "Devices" }
func (p *devicesPane) view() fyne.CanvasObject { return p.root }

func (p *devicesPane) watches(what string) bool {
	return what == api.ChangedDevices || what == api.ChangedSessions || what == api.ChangedHousehold
}

func (p *devicesPane) reset() {
	p.devices, p.members = nil, nil
	p.empty.Hide()
	p.list.Refresh()
}

func (p *devicesPane) fetch(ctx context.Context, src Dashboard) (func(), error) {
	devs, err := src.Devices(ctx)
	if err != nil {
		return nil, err
	}
	// Member names are a nicety: the devices show without them.
	members := map[string]string{}
	if h, err := src.Household(ctx); err == nil {
		for _, m := range h.Members {
			members[m.ID] = m.Name
		}
	}
	return func() {
		p.devices, p.members = devs, members
		show(p.empty, len(devs) == 0)
		p.list.UnselectAll()
		p.list.Refresh()
	}, nil
}

func (p *devicesPane) find(id string) (api.Device, bool) {
	for _, dv := range p.devices {
		if dv.ID == id {
			return dv, true
		}
	}
	return api.Device{}, false
}

func (p *devicesPane) rename(id string) {
	dv, ok := p.find(id)
	if !ok {
		return
	}
	p.d.askName("Rename "+client.DeviceName(dv), "Name", "Rename", dv.Name, func(name string) {
		if name == dv.Name {
			return
		}
		p.d.renameDevice(dv, name)
	})
}

func (p *devicesPane) remove(id string) {
	dv, ok := p.find(id)
	if !ok {
		return
	}
	var what string
	switch dv.Type {
	case api.DeviceBrowser:
		what = "It will be asked for 2-step verification again"
		if dv.Sessions > 0 {
			what += ", and " + count(dv.Sessions, "session", "sessions") + " on it end now"
		}
		what += "."
	case api.DeviceApprover:
		what = "It stops getting sign-in requests at once, and has to be paired again to get them."
	case api.DeviceSecurityKey:
		what = "It can no longer be used to sign in."
	}
	if dv.Current {
		what += " This is this desktop: it will no longer be paired with the account."
	}
	p.d.confirm("Remove device", fmt.Sprintf("Remove %s?\n\n%s", client.DeviceName(dv), what), "Remove", func() {
		p.d.act("The device could not be removed", []string{api.ChangedDevices, api.ChangedSessions},
			func(ctx context.Context, src Dashboard) error { return src.RemoveDevice(ctx, dv.ID) },
			func() { p.d.m.toast.show("Removed " + client.DeviceName(dv)) })
	})
}

func (p *devicesPane) signOut(id string) {
	dv, ok := p.find(id)
	if !ok {
		return
	}
	msg := fmt.Sprintf("Sign out %s on %s?\n\nWhoever uses it will have to sign in again.",
		count(dv.Sessions, "session", "sessions"), dv.Name)
	p.d.confirm("Sign out", msg, "Sign out", func() {
		var n int
		p.d.act("The device could not be signed out", []string{api.ChangedDevices, api.ChangedSessions},
			func(ctx context.Context, src Dashboard) (err error) {
				n, err = src.SignOutDevice(ctx, dv.ID)
				return err
			},
			func() { p.d.m.toast.show("Signed out " + count(n, "session", "sessions") + " on " + dv.Name) })
	})
}

// renameDevice renames a device on the server, with an Undo that names it
// back.
func (d *dashboard) renameDevice(dv api.Device, name string) {
	d.act("The device could not be renamed", []string{api.ChangedDevices},
		func(ctx context.Context, src Dashboard) error {
			_, err := src.UpdateDevice(ctx, dv.ID, api.DeviceUpdate{Name: name})
			return err
		},
		func() {
			d.m.toast.showUndo("Renamed to "+name, func() {
				d.act("The device could not be renamed back", []string{api.ChangedDevices},
					func(ctx context.Context, src Dashboard) error {
						_, err := src.UpdateDevice(ctx, dv.ID, api.DeviceUpdate{Name: dv.Name})
						return err
					}, func() { d.m.toast.show("Named " + dv.Name + " again") })
			})
		})
}

// deviceRow is one device in the list: its kind's icon, its name, what it
// is and whose, where and when it was last seen, and what can be done.
type deviceRow struct {
	widget.BaseWidget
	p  *devicesPane
	id string

	kind    *widget.Icon
	name    *widget.Label
	what    *widget.Label
	seen    *widget.Label
	rename  *widget.Button
	signOut *widget.Button
	remove  *widget.Button
	content fyne.CanvasObject
}

func newDeviceRow(p *devicesPane) *deviceRow {
	r := &deviceRow{p: p}
	r.kind = widget.NewIcon(kindIcon("desktop"))
	r.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	r.what = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	r.seen = &widget.Label{Truncation: fyne.TextTruncateEllipsis, SizeName: theme.SizeNameCaptionText}
	// Words without icons, so that a row fits the window's narrowest width.
	r.rename = widget.NewButton("Rename…", func() { p.rename(r.id) })
	r.signOut = widget.NewButton("Sign out…", func() { p.signOut(r.id) })
	r.remove = widget.NewButton("Remove…", func() { p.remove(r.id) })
	for _, b := range []*widget.Button{r.rename, r.signOut, r.remove} {
		b.Importance = widget.LowImportance
	}
	icon := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(32), r.kind))
	buttons := container.NewHBox(r.rename, r.signOut, r.remove, layout.NewSpacer())
	r.content = container.NewBorder(nil, nil, icon, nil,
		container.New(lines{}, r.name, r.what, r.seen, buttons))
	r.ExtendBaseWidget(r)
	return r
}

func (r *deviceRow) set(dv api.Device) {
	r.id = dv.ID
	r.kind.Resource = kindIcon(dv.Kind)
	r.name.Text = client.DeviceName(dv)
	r.what.Text = joinNonEmpty(" · ", deviceWhat(dv), r.p.members[dv.MemberID])
	r.seen.Text = deviceSeen(dv, r.p.d.m.deps.Now())
	show(r.signOut, dv.Type == api.DeviceBrowser && dv.Sessions > 0)
	if dv.Sessions > 0 {
		r.signOut.Text = fmt.Sprintf("Sign out (%d)…", dv.Sessions)
	}
	r.content.Refresh() // lay the lines out at their new sizes
}

func (r *deviceRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }
