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

// sessionsPane lists the signed-in browser sessions, and signs them out.
type sessionsPane struct {
	d        *dashboard
	sessions []api.Session

	empty  *widget.Label
	endAll *widget.Button
	list   *widget.List
	root   fyne.CanvasObject
}

func newSessionsPane(d *dashboard) *sessionsPane {
	p := &sessionsPane{d: d}
	p.empty = &widget.Label{Text: "Nobody is signed in on the web.", Wrapping: fyne.TextWrapWord}
	p.endAll = widget.NewButtonWithIcon("Sign out all others…", theme.LogoutIcon(), p.confirmEndAll)
	p.endAll.Importance = widget.DangerImportance
	p.list = widget.NewList(
		func() int { return len(p.sessions) },
		func() fyne.CanvasObject { return newSessionRow(p) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*sessionRow).set(p.sessions[i]) },
	)
	p.root = container.NewBorder(container.NewVBox(container.NewHBox(p.endAll), p.empty), nil, nil, nil, p.list)
	p.reset()
	return p
}

func (p *sessionsPane) title() string           { return "Sessions" }
func (p *sessionsPane) view() fyne.CanvasObject { return p.root }

func (p *sessionsPane) watches(what string) bool { return what == api.ChangedSessions }

func (p *sessionsPane) reset() {
	p.sessions = nil
	p.empty.Hide()
	p.endAll.Disable()
	p.list.Refresh()
}

func (p *sessionsPane) fetch(ctx context.Context, src Dashboard) (func(), error) {
	ss, err := src.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	return func() {
		p.sessions = ss
		show(p.empty, len(ss) == 0)
		others := 0
		for _, s := range ss {
			if !s.Current {
				others++
			}
		}
		enable(p.endAll, others > 0)
		p.list.Refresh()
	}, nil
}

func (p *sessionsPane) end(id string) {
	var s api.Session
	for _, x := range p.sessions {
		if x.ID == id {
			s = x
		}
	}
	if s.ID == "" {
		return
	}
	what := sessionWhat(s)
	p.d.confirm("Sign out", fmt.Sprintf("Sign out %s?\n\nWhoever uses it will have to sign in again.", what), "Sign out", func() {
		p.d.act("The session could not be ended", []string{api.ChangedSessions, api.ChangedDevices},
			func(ctx context.Context, src Dashboard) error { return src.EndSession(ctx, s.ID) },
			func() { p.d.m.toast.show("Signed out " + what) })
	})
}

func (p *sessionsPane) confirmEndAll() {
	msg := "Sign out every browser signed in to the account?\n\nEveryone, you included, will have to sign in again " +
		"on the web."
	p.d.confirm("Sign out all others", msg, "Sign out all", func() {
		var n int
		p.d.act("The sessions could not be ended", []string{api.ChangedSessions, api.ChangedDevices},
			func(ctx context.Context, src Dashboard) (err error) {
				n, err = src.EndAllSessions(ctx)
				return err
			},
			func() { p.d.m.toast.show("Signed out " + count(n, "session", "sessions")) })
	})
}

// sessionWhat names a session: "Firefox 128 on Linux".
func sessionWhat(s api.Session) string {
	return joinNonEmpty(" on ", orUnknown(s.Browser, "A browser"), s.OS)
}

// sessionRow is one session: the browser, where, since when, and Sign out.
type sessionRow struct {
	widget.BaseWidget
	p  *sessionsPane
	id string

	what, where, when *widget.Label
	current           *widget.Label
	end               *widget.Button
	content           fyne.CanvasObject
}

func newSessionRow(p *sessionsPane) *sessionRow {
	r := &sessionRow{p: p}
	r.what = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	r.current = &widget.Label{Text: "This session", Importance: widget.SuccessImportance}
	r.where = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	r.when = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	r.end = widget.NewButtonWithIcon("Sign out…", theme.LogoutIcon(), func() { p.end(r.id) })
	r.end.Importance = widget.LowImportance
	icon := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(32), widget.NewIcon(kindIcon("browser"))))
	r.content = container.NewBorder(nil, nil, icon, container.NewVBox(layout.NewSpacer(), r.end, layout.NewSpacer()),
		container.New(lines{}, container.NewBorder(nil, nil, nil, r.current, r.what), r.where, r.when))
	r.ExtendBaseWidget(r)
	return r
}

func (r *sessionRow) set(s api.Session) {
	now := r.p.d.m.deps.Now()
	r.id = s.ID
	r.what.Text = sessionWhat(s)
	show(r.current, s.Current)
	show(r.end, !s.Current)
	r.where.Text = orUnknown(s.IP, "Unknown address")
	seen := ""
	if !s.LastSeenAt.IsZero() {
		seen = "seen " + client.Ago(s.LastSeenAt, now)
	}
	r.when.Text = joinNonEmpty(", ", "Signed in "+dateTime(s.CreatedAt, now), seen)
	r.content.Refresh() // lay the lines out at their new sizes
}

func (r *sessionRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }
