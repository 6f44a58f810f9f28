package capture

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/internal/portal"
)

// fakePortal serves org.freedesktop.portal.Screenshot on a private session
// bus the way xdg-desktop-portal does: it answers the call with a request
// handle, then emits Response on that request with the screenshot's URI.
// (No portal backend can run here: it needs a compositor.)
type fakePortal struct {
	conn     *dbus.Conn
	response uint32
	file     string
}

func (p *fakePortal) Screenshot(sender dbus.Sender, parent string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	token, _ := options["handle_token"].Value().(string)
	if interactive, _ := options["interactive"].Value().(bool); interactive {
		return "", dbus.MakeFailedError(errors.New("test portal: expected a non-interactive request"))
	}
	name := strings.ReplaceAll(strings.TrimPrefix(string(sender), ":"), ".", "_")
	request := dbus.ObjectPath(portal.Path + "/request/" + name + "/" + token)
	go func() {
		time.Sleep(50 * time.Millisecond)
		results := map[string]dbus.Variant{}
		if p.response == 0 {
			results["uri"] = dbus.MakeVariant("file://" + p.file)
		}
		p.conn.Emit(request, "org.freedesktop.portal.Request.Response", p.response, results)
	}()
	return request, nil
}

// startPortal claims the portal's name on the test's private bus. It runs
// only inside .ci/keyring-session, never on a desktop's own bus.
func startPortal(t *testing.T, response uint32) *fakePortal {
	t.Helper()
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs the private D-Bus session of make test (.ci/keyring-session)")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := &fakePortal{conn: conn, response: response, file: filepath.Join(t.TempDir(), "Screenshot.png")}
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(5, 5, color.RGBA{9, 8, 7, 255})
	f, _ := os.Create(p.file)
	png.Encode(f, img)
	f.Close()
	if err := conn.Export(p, portal.Path, "org.freedesktop.portal.Screenshot"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName(portal.Bus, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("claim %s: %v (reply %d)", portal.Bus, err, reply)
	}
	t.Cleanup(func() { conn.ReleaseName(portal.Bus) })
	return p
}

func wayland(k string) string { return map[string]string{"WAYLAND_DISPLAY": "wayland-0"}[k] }

func TestPortalScreenshot(t *testing.T) {
	p := startPortal(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	screens, err := Screens(ctx, Options{Getenv: wayland})
	if err != nil {
		t.Fatalf("Screens: %v", err)
	}
	if len(screens) != 1 || screens[0].Bounds != image.Rect(0, 0, 64, 48) {
		t.Fatalf("got %d screens %v, want one 64×48 desktop", len(screens), screens)
	}
	if got := screens[0].Image.At(5, 5); !sameColor(got, color.RGBA{9, 8, 7, 255}) {
		t.Errorf("pixel = %v, want rgb(9,8,7)", got)
	}
	if _, err := os.Stat(p.file); !os.IsNotExist(err) {
		t.Errorf("the portal's screenshot file was left behind (it may show a secret): %v", err)
	}
}

func TestPortalCancelled(t *testing.T) {
	startPortal(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Screens(ctx, Options{Getenv: wayland})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("got %v, want a cancelled screenshot", err)
	}
}

func TestNoPortal(t *testing.T) {
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs the private D-Bus session of make test (.ci/keyring-session)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Screens(ctx, Options{Getenv: wayland})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "xdg-desktop-portal") {
		t.Errorf("got %v, want advice to install a portal backend", err)
	}
}
