package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/client"
)

// overview is the account at a glance: 2-step verification, its methods and
// backup, how many devices and apps, and what to act on.
type overview struct {
	d *dashboard
	// what to look at, and whether all of it is shown or only the first
	// overviewWarnings
	warned   []client.Warning
	expanded bool

	name     *widget.Label
	twoStep  *widget.Label
	methods  *widget.Label
	backup   *widget.Label
	devices  *widget.Label
	apps     *widget.Label
	warnHead *widget.Label
	warnings *fyne.Container
	root     fyne.CanvasObject
}

func newOverview(d *dashboard) *overview {
	o := &overview{d: d, warnings: container.NewVBox()}
	label := func() *widget.Label { return &widget.Label{Wrapping: fyne.TextWrapWord} }
	o.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText,
		Truncation: fyne.TextTruncateEllipsis}
	o.twoStep, o.methods, o.backup, o.devices, o.apps = label(), label(), label(), label(), label()
	o.warnHead = heading("To look at")
	grid := container.New(layout.NewFormLayout())
	for _, r := range []struct {
		name string
		v    *widget.Label
	}{{"2-step verification", o.twoStep}, {"Ways in", o.methods}, {"Backup", o.backup},
		{"Trusted devices", o.devices}, {"Authorized apps", o.apps}} {
		grid.Add(&widget.Label{Text: r.name, TextStyle: fyne.TextStyle{Bold: true}})
		grid.Add(r.v)
	}
	o.root = container.NewVScroll(container.NewVBox(o.name, widget.NewCard("", "", grid), o.warnHead, o.warnings))
	o.reset()
	return o
}

func (o *overview) title() string           { return "Overview" }
func (o *overview) view() fyne.CanvasObject { return o.root }

func (o *overview) watches(what string) bool {
	return what == api.ChangedAccount || what == api.ChangedDevices || what == api.ChangedApps
}

func (o *overview) reset() {
	o.name.SetText("")
	for _, l := range []*widget.Label{o.twoStep, o.methods, o.backup, o.devices, o.apps} {
		l.SetText("—")
		l.Importance = widget.MediumImportance
	}
	o.warned, o.expanded = nil, false
	o.warnings.RemoveAll()
	o.warnHead.Hide()
}

func (o *overview) fetch(ctx context.Context, src Dashboard) (func(), error) {
	acc, err := src.Account(ctx)
	if err != nil {
		return nil, err
	}
	devs, err := src.Devices(ctx)
	if err != nil {
		return nil, err
	}
	apps, err := src.Apps(ctx)
	if err != nil {
		return nil, err
	}
	return func() { o.set(acc, devs, apps) }, nil
}

// set shows the account's summary.
func (o *overview) set(acc api.Account, devs []api.Device, apps []api.App) {
	s := client.Overview(acc, devs, apps, o.d.m.deps.Now())
	o.name.SetText(joinNonEmpty(" — ", acc.Name, orUnknown(acc.Email, acc.Phone)))
	if s.TwoStep {
		o.twoStep.Text, o.twoStep.Importance = "On", widget.SuccessImportance
	} else {
		o.twoStep.Text, o.twoStep.Importance = "Off", widget.DangerImportance
	}
	o.twoStep.Refresh()
	o.methods.SetText(orUnknown(strings.Join(s.Methods, "\n"), "None"))
	if s.Backup {
		o.backup.Text, o.backup.Importance = "Yes: another way in if you lose one", widget.MediumImportance
	} else {
		o.backup.Text, o.backup.Importance = "None", widget.WarningImportance
	}
	o.backup.Refresh()
	o.devices.SetText(strconv.Itoa(s.TrustedDevices))
	o.apps.SetText(strconv.Itoa(s.Apps))

	o.warned = s.Warnings
	o.showWarnings()
	o.warnHead.Show()
	o.root.Refresh()
}

// overviewWarnings is how many warnings the overview shows until asked for
// all: each is wrapped text, slow to lay out, and an account of hundreds of
// devices and apps unused for months has hundreds of warnings.
const overviewWarnings = 10

// showWarnings lists what to look at: the first overviewWarnings, and a
// button for the rest.
func (o *overview) showWarnings() {
	o.warnings.RemoveAll()
	ws := o.warned
	if !o.expanded && len(ws) > overviewWarnings {
		ws = ws[:overviewWarnings]
	}
	for _, w := range ws {
		o.warnings.Add(warningLine(w))
	}
	if more := len(o.warned) - len(ws); more > 0 {
		b := widget.NewButton(fmt.Sprintf("Show %d more", more), func() {
			o.expanded = true
			o.showWarnings()
			o.root.Refresh()
		})
		b.Importance = widget.LowImportance
		o.warnings.Add(container.NewHBox(b))
	}
	if len(o.warned) == 0 {
		o.warnings.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.NewSuccessThemedResource(theme.ConfirmIcon())), nil,
			&widget.Label{Text: "Nothing: your account is in good shape.", Wrapping: fyne.TextWrapWord}))
	}
}

// warningLine is one warning of the overview, in its level's colour.
func warningLine(w client.Warning) fyne.CanvasObject {
	l := &widget.Label{Text: w.Text, Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance}
	var ic fyne.Resource = theme.NewWarningThemedResource(theme.WarningIcon())
	if w.Level == client.LevelDanger {
		l.Importance = widget.DangerImportance
		ic = theme.NewErrorThemedResource(theme.ErrorIcon())
	}
	return widget.NewCard("", "", container.NewBorder(nil, nil, container.NewCenter(widget.NewIcon(ic)), nil, l))
}
