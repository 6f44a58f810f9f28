// Package portal asks the desktop's xdg-desktop-portal, over D-Bus, for
// what an app should not do by itself: choosing a file in the desktop's own
// dialog (FileChooser) and taking a screenshot (Screenshot). It carries the
// portal's request and response; it draws nothing and keeps no state.
package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// The portal's bus name, object and Request interface.
const (
	Bus             = "org.freedesktop.portal.Desktop"
	Path            = "/org/freedesktop/portal/desktop"
	requestIface    = "org.freedesktop.portal.Request"
	requestResponse = requestIface + ".Response"
)

var (
	// ErrNoPortal means no portal answers the interface on the bus: the
	// caller falls back to doing without.
	ErrNoPortal = errors.New("no xdg-desktop-portal answers")
	// ErrCancelled means the person closed the portal's dialog.
	ErrCancelled = errors.New("cancelled")
	// ErrRefused means the portal ended the request otherwise (a desktop
	// setting forbids it, or the backend failed).
	ErrRefused = errors.New("the desktop refused")
)

// Request calls method (interface.Member) on the portal with args, whose
// last one is the options, and waits for the Response the portal sends on
// the request it opened; it returns the results of a request answered.
// It adds handle_token to the options and subscribes to the response
// before calling, so that no answer can be missed.
func Request(ctx context.Context, conn *dbus.Conn, method string, args ...any) (map[string]dbus.Variant, error) {
	if len(args) == 0 {
		return nil, errors.New("portal request without options")
	}
	options, ok := args[len(args)-1].(map[string]dbus.Variant)
	if !ok {
		return nil, errors.New("portal request: the last argument is not the options")
	}
	tokenBytes := make([]byte, 8)
	if _, err := rand.Read(tokenBytes); err != nil {
		return nil, err
	}
	token := "countersign_" + hex.EncodeToString(tokenBytes)
	options["handle_token"] = dbus.MakeVariant(token)
	sender := strings.ReplaceAll(strings.TrimPrefix(conn.Names()[0], ":"), ".", "_")
	request := dbus.ObjectPath(Path + "/request/" + sender + "/" + token)
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(request),
		dbus.WithMatchInterface(requestIface),
		dbus.WithMatchMember("Response"),
	}
	if err := conn.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("subscribe to the portal's answer: %w", err)
	}
	signals := make(chan *dbus.Signal, 4)
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)

	var handle dbus.ObjectPath
	if err := conn.Object(Bus, Path).CallWithContext(ctx, method, 0, args...).Store(&handle); err != nil {
		var dErr dbus.Error
		if errors.As(err, &dErr) && (strings.HasSuffix(dErr.Name, "ServiceUnknown") || strings.HasSuffix(dErr.Name, "UnknownMethod") ||
			strings.HasSuffix(dErr.Name, "UnknownInterface") || strings.HasSuffix(dErr.Name, "UnknownObject") ||
			strings.HasSuffix(dErr.Name, "NameHasNoOwner")) {
			return nil, ErrNoPortal
		}
		return nil, fmt.Errorf("the portal failed: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no answer from the portal: %w", ctx.Err())
		case sig := <-signals:
			if sig == nil || (sig.Path != request && sig.Path != handle) || sig.Name != requestResponse {
				continue
			}
			return response(sig.Body)
		}
	}
}

// response reads a Request.Response signal: (u response, a{sv} results).
func response(body []any) (map[string]dbus.Variant, error) {
	if len(body) != 2 {
		return nil, errors.New("the portal sent a malformed answer")
	}
	code, _ := body[0].(uint32)
	results, _ := body[1].(map[string]dbus.Variant)
	switch code {
	case 0:
		return results, nil
	case 1:
		return nil, ErrCancelled
	}
	return nil, ErrRefused
}
