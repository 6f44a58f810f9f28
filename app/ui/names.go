package ui

import (
	"context"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/names"
)

// shownNames is a Dashboard whose answers are fit to show: every name and
// word the server sends — devices, members, apps, sessions, the activity —
// goes through names.Show once, here, so that the rows, dialogs and toasts
// built from them never show a right-to-left override or a line break
// that makes one name read as another (an older or hostile server may
// send what this one refuses).
type shownNames struct{ Dashboard }

func showDevice(d *api.Device) {
	d.Name, d.Browser, d.OS, d.IP, d.Place = names.Show(d.Name), names.Show(d.Browser), names.Show(d.OS), names.Show(d.IP), names.Show(d.Place)
}

func showMember(m *api.Member) { m.Name = names.Show(m.Name) }

func (s shownNames) Account(ctx context.Context) (api.Account, error) {
	a, err := s.Dashboard.Account(ctx)
	a.Name, a.Email = names.Show(a.Name), names.Show(a.Email)
	return a, err
}

func (s shownNames) Devices(ctx context.Context) ([]api.Device, error) {
	ds, err := s.Dashboard.Devices(ctx)
	for i := range ds {
		showDevice(&ds[i])
	}
	return ds, err
}

func (s shownNames) UpdateDevice(ctx context.Context, id string, u api.DeviceUpdate) (api.Device, error) {
	d, err := s.Dashboard.UpdateDevice(ctx, id, u)
	showDevice(&d)
	return d, err
}

func (s shownNames) Sessions(ctx context.Context) ([]api.Session, error) {
	ss, err := s.Dashboard.Sessions(ctx)
	for i := range ss {
		ss[i].Browser, ss[i].OS, ss[i].IP = names.Show(ss[i].Browser), names.Show(ss[i].OS), names.Show(ss[i].IP)
	}
	return ss, err
}

func (s shownNames) Apps(ctx context.Context) ([]api.App, error) {
	as, err := s.Dashboard.Apps(ctx)
	for i := range as {
		as[i].Name = names.Show(as[i].Name)
	}
	return as, err
}

func (s shownNames) Activity(ctx context.Context, category, before string, limit int) (api.ActivityPage, error) {
	p, err := s.Dashboard.Activity(ctx, category, before, limit)
	for i := range p.Events {
		e := &p.Events[i]
		e.Member, e.Detail, e.Browser, e.OS, e.IP = names.Show(e.Member), names.Show(e.Detail), names.Show(e.Browser), names.Show(e.OS), names.Show(e.IP)
	}
	return p, err
}

func (s shownNames) Household(ctx context.Context) (api.Household, error) {
	h, err := s.Dashboard.Household(ctx)
	for i := range h.Members {
		showMember(&h.Members[i])
	}
	for i := range h.Devices {
		showDevice(&h.Devices[i])
	}
	return h, err
}

func (s shownNames) AddMember(ctx context.Context, name string) (api.Member, error) {
	m, err := s.Dashboard.AddMember(ctx, name)
	showMember(&m)
	return m, err
}

func (s shownNames) RenameMember(ctx context.Context, id, name string) (api.Member, error) {
	m, err := s.Dashboard.RenameMember(ctx, id, name)
	showMember(&m)
	return m, err
}
