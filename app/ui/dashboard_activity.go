package ui

import (
	"context"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
)

// activityPageSize is how many events a page of the timeline asks for.
const activityPageSize = 50

// activityFilters are the filter's choices and the category each asks for.
var activityFilters = []struct{ label, category string }{
	{"All", ""},
	{"Sign-ins", api.ActivitySignIns},
	{"Approvals", api.ActivityApprovals},
	{"Changes", api.ActivityChanges},
}

// activityPane is the account's security timeline, newest first, a page
// at a time, filtered by category. Failures and denials stand out.
type activityPane struct {
	d        *dashboard
	category string
	events   []api.Event
	next     string // the cursor of the older page, "" at the end

	filter *widget.Select
	older  *widget.Button
	empty  *widget.Label
	list   *widget.List
	root   fyne.CanvasObject
}

func newActivityPane(d *dashboard) *activityPane {
	p := &activityPane{d: d}
	labels := make([]string, len(activityFilters))
	for i, f := range activityFilters {
		labels[i] = f.label
	}
	p.filter = widget.NewSelect(labels, p.onFilter)
	p.filter.SetSelected(labels[0])
	p.older = widget.NewButtonWithIcon("Load older", theme.MoveDownIcon(), p.loadOlder)
	p.empty = &widget.Label{Text: "Nothing happened yet.", Wrapping: fyne.TextWrapWord}
	p.list = widget.NewList(
		func() int { return len(p.events) },
		func() fyne.CanvasObject { return newEventRow(p) },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*eventRow).set(p.events[i]) },
	)
	show := container.NewBorder(nil, nil, &widget.Label{Text: "Show"}, nil, p.filter)
	p.root = container.NewBorder(container.NewVBox(show, p.empty), container.NewCenter(p.older), nil, nil, p.list)
	p.reset()
	return p
}

func (p *activityPane) title() string           { return "Activity" }
func (p *activityPane) view() fyne.CanvasObject { return p.root }

// watches every change: each one is written to the activity.
func (p *activityPane) watches(string) bool { return true }

func (p *activityPane) reset() {
	p.events, p.next = nil, ""
	p.empty.Hide()
	p.older.Hide()
	p.list.Refresh()
}

func (p *activityPane) onFilter(label string) {
	for _, f := range activityFilters {
		if f.label == label && f.category != p.category {
			p.category = f.category
			if t := p.d.tabOf(p); t != nil && p.d.src != nil {
				p.reset()
				t.load()
			}
		}
	}
}

// fetch reads the newest page again, or as many pages as are shown (up to
// the API's limit) so that a reload does not lose the place.
func (p *activityPane) fetch(ctx context.Context, src Dashboard) (func(), error) {
	category := p.category
	limit := min(max(activityPageSize, len(p.events)), 200)
	page, err := src.Activity(ctx, category, "", limit)
	if err != nil {
		return nil, err
	}
	return func() {
		if category != p.category {
			return // the filter changed meanwhile; its own load follows
		}
		p.events, p.next = page.Events, page.Next
		p.update()
		p.list.ScrollToTop()
	}, nil
}

func (p *activityPane) update() {
	show(p.empty, len(p.events) == 0)
	show(p.older, p.next != "")
	p.list.Refresh()
}

// loadOlder appends the next page.
func (p *activityPane) loadOlder() {
	src, category, before := p.d.src, p.category, p.next
	if src == nil || before == "" {
		return
	}
	p.older.Disable()
	var page api.ActivityPage
	p.d.run(func() (err error) {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		page, err = src.Activity(ctx, category, before, activityPageSize)
		return err
	}, func(err error) {
		p.older.Enable()
		if category != p.category || before != p.next || src != p.d.src {
			return
		}
		if err != nil {
			p.d.showError("Older activity could not be loaded", err)
			return
		}
		// Events that came in between may repeat at the page's edge.
		seen := map[int64]bool{}
		for _, e := range p.events {
			seen[e.ID] = true
		}
		for _, e := range page.Events {
			if !seen[e.ID] {
				p.events = append(p.events, e)
			}
		}
		p.next = page.Next
		p.update()
	})
}

// tabOf is the tab that frames pane p.
func (d *dashboard) tabOf(p pane) *tab {
	i := slices.IndexFunc(d.panes, func(t *tab) bool { return t.p == p })
	if i < 0 {
		return nil
	}
	return d.panes[i]
}

// eventRow is one event of the timeline.
type eventRow struct {
	widget.BaseWidget
	p *activityPane

	icon    *widget.Icon
	title   *widget.Label
	when    *widget.Label
	detail  *widget.Label
	who     *widget.Label
	content fyne.CanvasObject
}

func newEventRow(p *activityPane) *eventRow {
	r := &eventRow{p: p}
	r.icon = widget.NewIcon(theme.InfoIcon())
	r.title = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	r.when = &widget.Label{SizeName: theme.SizeNameCaptionText}
	r.detail = &widget.Label{Truncation: fyne.TextTruncateEllipsis}
	r.who = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	r.content = container.NewBorder(nil, nil, container.NewCenter(r.icon), nil,
		container.New(lines{}, container.NewBorder(nil, nil, nil, r.when, r.title), r.detail, r.who))
	r.ExtendBaseWidget(r)
	return r
}

// categoryIcon marks an event's category. (Theme icons are looked up when
// drawn: at package level they would ask for the Fyne app before there is
// one, which every CLI run would report.)
func categoryIcon(category string) fyne.Resource {
	switch category {
	case api.ActivitySignIns:
		return theme.LoginIcon()
	case api.ActivityApprovals:
		return theme.ConfirmIcon()
	case api.ActivityChanges:
		return theme.DocumentCreateIcon()
	}
	return nil
}

func (r *eventRow) set(e api.Event) {
	now := r.p.d.m.deps.Now()
	if e.OK {
		ic := categoryIcon(e.Category)
		if ic == nil {
			ic = theme.InfoIcon()
		}
		r.icon.Resource = ic
		r.title.Importance = widget.MediumImportance
	} else {
		r.icon.Resource = theme.NewErrorThemedResource(theme.ErrorIcon())
		r.title.Importance = widget.DangerImportance
	}
	r.title.Text = activityTitle(e)
	r.when.Text = dateTime(e.At, now)
	r.detail.Text = orUnknown(e.Detail, " ")
	where := joinNonEmpty(" on ", e.Browser, e.OS)
	r.who.Text = orUnknown(joinNonEmpty(" · ", e.Member, where, e.IP), " ")
	r.content.Refresh() // lay the lines out at their new sizes
}

func (r *eventRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }
