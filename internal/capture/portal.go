package capture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The xdg-desktop-portal Screenshot interface.
const (
	portalBus       = "org.freedesktop.portal.Desktop"
	portalPath      = "/org/freedesktop/portal/desktop"
	portalMethod    = "org.freedesktop.portal.Screenshot.Screenshot"
	requestIface    = "org.freedesktop.portal.Request"
	requestResponse = "Response"
)

// portalScreenshot asks the portal for a non-interactive screenshot of the
// desktop, reads the PNG it saved and deletes that file.
func portalScreenshot(ctx context.Context) (image.Image, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("no D-Bus session bus: %v", err)
	}
	defer conn.Close()

	// Subscribe to the Response before calling, at the request path the
	// portal will use (sender and handle_token), so no reply can be missed.
	tokenBytes := make([]byte, 8)
	if _, err := rand.Read(tokenBytes); err != nil {
		return nil, err
	}
	token := "countersign_" + hex.EncodeToString(tokenBytes)
	sender := strings.ReplaceAll(strings.TrimPrefix(conn.Names()[0], ":"), ".", "_")
	request := dbus.ObjectPath(portalPath + "/request/" + sender + "/" + token)
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(request),
		dbus.WithMatchInterface(requestIface),
		dbus.WithMatchMember(requestResponse),
	}
	if err := conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("subscribe to the portal's answer: %v", err)
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)

	options := map[string]dbus.Variant{
		"handle_token": dbus.MakeVariant(token),
		"interactive":  dbus.MakeVariant(false),
		"modal":        dbus.MakeVariant(false),
	}
	var handle dbus.ObjectPath
	err = conn.Object(portalBus, portalPath).CallWithContext(ctx, portalMethod, 0, "", options).Store(&handle)
	if err != nil {
		var dErr dbus.Error
		if errors.As(err, &dErr) && (strings.HasSuffix(dErr.Name, "ServiceUnknown") || strings.HasSuffix(dErr.Name, "UnknownMethod") || strings.HasSuffix(dErr.Name, "UnknownInterface")) {
			return nil, errors.New("no xdg-desktop-portal with a Screenshot backend is running (install xdg-desktop-portal-gnome, -kde or -wlr for your desktop)")
		}
		return nil, fmt.Errorf("the screenshot portal failed: %v", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no answer from the screenshot portal: %w", ctx.Err())
		case sig := <-signals:
			if sig == nil || (sig.Path != request && sig.Path != handle) || sig.Name != requestIface+"."+requestResponse {
				continue
			}
			return readPortalResponse(sig.Body)
		}
	}
}

// readPortalResponse reads a Request.Response signal: (u response, a{sv} results).
func readPortalResponse(body []any) (image.Image, error) {
	if len(body) != 2 {
		return nil, errors.New("the screenshot portal sent a malformed answer")
	}
	code, _ := body[0].(uint32)
	switch code {
	case 0:
	case 1:
		return nil, errors.New("the screenshot was cancelled")
	default:
		return nil, errors.New("the desktop refused the screenshot (is screen capture allowed for this app in the desktop's privacy settings?)")
	}
	results, _ := body[1].(map[string]dbus.Variant)
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
