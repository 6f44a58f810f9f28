package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // app logos
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/client"
)

// Limits on an app's logo: it is fetched from wherever the app's developer
// put it.
const (
	logoTimeout  = 5 * time.Second
	logoMaxBytes = 512 << 10
	logoMaxSide  = 1024
	logoSize     = 40 // on screen
)

// appsPane lists the apps allowed to sign in with the account: their logo,
// what they may do in words, when, and a way to take that away.
type appsPane struct {
	d    *dashboard
	apps []api.App
	// getLogo fetches a logo's bytes; httpLogo, replaced in tests.
	getLogo func(ctx context.Context, url string) ([]byte, error)
	logos   map[string]fyne.Resource // by URL; nil when it could not be had
	fetched map[string]bool          // URLs asked for

	heights map[int]float32 // a row's height by its number of scopes
	measure *appRow
	empty   *widget.Label
	list    *widget.List
	root    fyne.CanvasObject
}

func newAppsPane(d *dashboard) *appsPane {
	p := &appsPane{d: d, getLogo: httpLogo, logos: map[string]fyne.Resource{}, fetched: map[string]bool{},
		heights: map[int]float32{}}
	p.measure = newAppRow(p)
	p.empty = &widget.Label{Text: "No app can sign in with this account.", Wrapping: fyne.TextWrapWord}
	p.list = widget.NewList(
		func() int { return len(p.apps) },
		func() fyne.CanvasObject { return newAppRow(p) },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			// set empties the list while it changes row heights, and a
			// changed height updates the row on screen at once.
			if i < len(p.apps) {
				o.(*appRow).set(p.apps[i])
			}
		},
	)
	p.root = container.NewStack(p.list, container.NewVBox(p.empty))
	p.reset()
	return p
}

func (p *appsPane) title() string           { return "Apps" }
func (p *appsPane) view() fyne.CanvasObject { return p.root }

func (p *appsPane) watches(what string) bool { return what == api.ChangedApps }

func (p *appsPane) reset() {
	p.apps = nil
	p.empty.Hide()
	p.list.Refresh()
}

func (p *appsPane) fetch(ctx context.Context, src Dashboard) (func(), error) {
	apps, err := src.Apps(ctx)
	if err != nil {
		return nil, err
	}
	return func() { p.set(apps) }, nil
}

func (p *appsPane) set(apps []api.App) {
	// Each row's height that changes refreshes the whole list, every row
	// on screen: they change while it is empty.
	p.apps = nil
	for i, a := range apps {
		p.list.SetItemHeight(i, p.rowHeight(len(a.Scopes)))
	}
	p.apps = apps
	show(p.empty, len(apps) == 0)
	for _, a := range apps {
		p.loadLogo(a.LogoURL)
	}
	p.list.Refresh()
}

// rowHeight is the height of a row that lists n scopes.
func (p *appsPane) rowHeight(n int) float32 {
	n = max(n, 1)
	if h, ok := p.heights[n]; ok {
		return h
	}
	p.measure.scopes.SetText(strings.Repeat("x\n", n-1) + "x")
	h := p.measure.MinSize().Height
	p.heights[n] = h
	return h
}

// loadLogo fetches a logo off the UI goroutine, once; the rows show it
// when it comes.
func (p *appsPane) loadLogo(url string) {
	if url == "" || p.fetched[url] {
		return
	}
	p.fetched[url] = true
	var res fyne.Resource
	p.d.run(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), logoTimeout)
		defer cancel()
		b, err := p.getLogo(ctx, url)
		if err == nil {
			err = checkLogo(b)
		}
		if err != nil {
			return err
		}
		res = fyne.NewStaticResource("logo:"+url, b)
		return nil
	}, func(err error) {
		p.logos[url] = res // nil when it failed: the placeholder stays
		p.list.Refresh()
	})
}

// checkLogo accepts a PNG, JPEG or GIF image of a sensible size.
func checkLogo(b []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > logoMaxSide || cfg.Height > logoMaxSide {
		return fmt.Errorf("a logo of %d×%d pixels", cfg.Width, cfg.Height)
	}
	return nil
}

// httpLogo fetches a logo over HTTP(S), at most logoMaxBytes of it.
func httpLogo(ctx context.Context, url string) ([]byte, error) {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return nil, errors.New("not a web address")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, logoMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > logoMaxBytes {
		return nil, errors.New("the logo is too large")
	}
	return b, nil
}

func (p *appsPane) revoke(clientID string) {
	var app api.App
	for _, a := range p.apps {
		if a.ClientID == clientID {
			app = a
		}
	}
	if app.ClientID == "" {
		return
	}
	msg := fmt.Sprintf("Remove %s's access?\n\nIt is signed out at once and has to ask again to sign you in.", app.Name)
	p.d.confirm("Remove access", msg, "Remove access", func() {
		p.d.act("The app's access could not be removed", []string{api.ChangedApps},
			func(ctx context.Context, src Dashboard) error { return src.RevokeApp(ctx, app.ClientID) },
			func() { p.d.m.toast.show("Removed " + app.Name + "'s access") })
	})
}

// appRow is one app: logo, name, when it was allowed and last used, what it
// may do, and Remove access.
type appRow struct {
	widget.BaseWidget
	p  *appsPane
	id string

	logo    *canvas.Image
	name    *widget.Label
	when    *widget.Label
	scopes  *widget.Label
	revoke  *widget.Button
	content fyne.CanvasObject
}

func newAppRow(p *appsPane) *appRow {
	r := &appRow{p: p}
	r.logo = canvas.NewImageFromResource(appIcon)
	r.logo.FillMode = canvas.ImageFillContain
	r.logo.SetMinSize(fyne.NewSquareSize(logoSize))
	r.name = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	r.when = &widget.Label{SizeName: theme.SizeNameCaptionText, Truncation: fyne.TextTruncateEllipsis}
	r.scopes = &widget.Label{}
	r.revoke = widget.NewButton("Remove access…", func() { p.revoke(r.id) })
	r.revoke.Importance = widget.LowImportance
	r.content = container.NewBorder(nil, nil, container.NewVBox(container.NewPadded(r.logo)), nil,
		container.New(lines{}, r.name, r.when, r.scopes, container.NewHBox(r.revoke)))
	r.ExtendBaseWidget(r)
	return r
}

func (r *appRow) set(a api.App) {
	r.id = a.ClientID
	now := r.p.d.m.deps.Now()
	if res := r.p.logos[a.LogoURL]; res != nil {
		r.logo.Resource = res
	} else {
		r.logo.Resource = appIcon
	}
	r.logo.Refresh()
	r.name.Text = a.Name
	used := "not used yet"
	if !a.LastUsedAt.IsZero() {
		used = "last used " + client.Ago(a.LastUsedAt, now)
	}
	r.when.Text = "Allowed " + client.Date(a.GrantedAt, now) + ", " + used
	words := make([]string, len(a.Scopes))
	for i, s := range a.Scopes {
		words[i] = "• " + api.ScopeWords(s)
	}
	r.scopes.Text = strings.Join(words, "\n")
	r.content.Refresh() // lay the lines out at their new sizes
}

func (r *appRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.content) }
