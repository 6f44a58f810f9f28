package portal

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/godbus/dbus/v5"
)

// The FileChooser interface of the portal.
const fileChooser = "org.freedesktop.portal.FileChooser"

// Filter is one choice in a file dialog's list of file types: a name
// ("Images") and the glob patterns ("*.png") of the files it shows.
type Filter struct {
	Name     string
	Patterns []string
}

// FileChooser opens the desktop's own file dialog through the portal on the
// bus Connect opens (the session bus when nil). Parent is the window the
// dialog belongs to in the portal's terms ("x11:2a00007"), or "".
type FileChooser struct {
	Connect func() (*dbus.Conn, error)
	Parent  string
}

// OpenFile asks for one file to open among those filters describe, and
// returns its path. ErrNoPortal: no portal answers; ErrCancelled: the
// person closed the dialog.
func (c FileChooser) OpenFile(ctx context.Context, title string, filters []Filter) (string, error) {
	return c.choose(ctx, fileChooser+".OpenFile", title, c.options(filters, map[string]dbus.Variant{
		"accept_label": dbus.MakeVariant("Open"),
	}))
}

// SaveFile asks where to save a file, suggesting name, and returns the
// path chosen (the caller writes it).
func (c FileChooser) SaveFile(ctx context.Context, title, name string, filters []Filter) (string, error) {
	return c.choose(ctx, fileChooser+".SaveFile", title, c.options(filters, map[string]dbus.Variant{
		"accept_label": dbus.MakeVariant("Save"),
		"current_name": dbus.MakeVariant(name),
	}))
}

// rule is one pattern of a filter on the wire: (u kind, s pattern), kind 0
// for a glob.
type rule struct {
	Kind    uint32
	Pattern string
}

type wireFilter struct {
	Name  string
	Rules []rule
}

func (c FileChooser) options(filters []Filter, options map[string]dbus.Variant) map[string]dbus.Variant {
	options["modal"] = dbus.MakeVariant(true)
	var wire []wireFilter
	for _, f := range filters {
		w := wireFilter{Name: f.Name}
		for _, p := range f.Patterns {
			w.Rules = append(w.Rules, rule{0, p})
		}
		wire = append(wire, w)
	}
	if len(wire) > 0 {
		options["filters"] = dbus.MakeVariant(wire)
		options["current_filter"] = dbus.MakeVariant(wire[0])
	}
	return options
}

func (c FileChooser) choose(ctx context.Context, method, title string, options map[string]dbus.Variant) (string, error) {
	connect := c.Connect
	if connect == nil {
		connect = func() (*dbus.Conn, error) { return dbus.ConnectSessionBus() }
	}
	conn, err := connect()
	if err != nil {
		return "", fmt.Errorf("%w: no D-Bus session bus: %v", ErrNoPortal, err)
	}
	defer conn.Close()
	results, err := Request(ctx, conn, method, c.Parent, title, options)
	if err != nil {
		return "", err
	}
	var uris []string
	if v, ok := results["uris"]; ok {
		uris, _ = v.Value().([]string)
	}
	if len(uris) == 0 {
		return "", errors.New("the desktop's file dialog answered without a file")
	}
	u, err := url.Parse(uris[0])
	if err != nil || u.Scheme != "file" || u.Path == "" {
		return "", fmt.Errorf("the desktop's file dialog gave a location Countersign cannot open: %q", uris[0])
	}
	return u.Path, nil
}
