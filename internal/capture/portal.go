package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"

	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/internal/portal"
)

// portalMethod is the xdg-desktop-portal Screenshot call.
const portalMethod = "org.freedesktop.portal.Screenshot.Screenshot"

// portalScreenshot asks the portal for a non-interactive screenshot of the
// desktop, reads the PNG it saved and deletes that file.
func portalScreenshot(ctx context.Context) (image.Image, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("no D-Bus session bus: %v", err)
	}
	defer conn.Close()
	options := map[string]dbus.Variant{
		"interactive": dbus.MakeVariant(false),
		"modal":       dbus.MakeVariant(false),
	}
	results, err := portal.Request(ctx, conn, portalMethod, "", options)
	switch {
	case errors.Is(err, portal.ErrNoPortal):
		return nil, errors.New("no xdg-desktop-portal with a Screenshot backend is running (install xdg-desktop-portal-gnome, -kde or -wlr for your desktop)")
	case errors.Is(err, portal.ErrCancelled):
		return nil, errors.New("the screenshot was cancelled")
	case errors.Is(err, portal.ErrRefused):
		return nil, errors.New("the desktop refused the screenshot (is screen capture allowed for this app in the desktop's privacy settings?)")
	case err != nil:
		return nil, fmt.Errorf("the screenshot portal failed: %v", err)
	}
	return readPortalScreenshot(results)
}

// readPortalScreenshot reads the screenshot a Screenshot request's
// results name.
func readPortalScreenshot(results map[string]dbus.Variant) (image.Image, error) {
	uriVar, ok := results["uri"]
	if !ok {
		return nil, errors.New("the screenshot portal answered without a picture")
	}
	raw, _ := uriVar.Value().(string)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" || u.Path == "" {
		return nil, fmt.Errorf("the screenshot portal gave an unexpected location %q", raw)
	}
	// The file may show a secret (that is why we took it): delete it once read.
	defer os.Remove(u.Path)
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, fmt.Errorf("open the portal's screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("read the portal's screenshot: %v", err)
	}
	return img, nil
}
