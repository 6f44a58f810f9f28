package portal_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/portal/portaltest"
)

func TestFileChooser(t *testing.T) {
	connect := portaltest.Bus(t)
	fake := &portaltest.FileChooser{Answer: func(c portaltest.Call) (uint32, string) {
		switch {
		case strings.Contains(c.Title, "cancel"):
			return 1, ""
		case c.Method == "SaveFile":
			name, _ := c.Options["current_name"].Value().(string)
			return 0, "/home/me/Documents/" + name
		}
		return 0, "/home/me/My Pictures/qr code.png"
	}}
	portaltest.ServeFileChooser(t, connect, fake)
	chooser := portal.FileChooser{Connect: connect}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	images := []portal.Filter{{Name: "Images (PNG, JPEG)", Patterns: []string{"*.png", "*.jpg"}}}

	got, err := chooser.OpenFile(ctx, "Open an image", images)
	if err != nil || got != "/home/me/My Pictures/qr code.png" {
		t.Errorf("OpenFile = %q, %v; want the path chosen, unescaped", got, err)
	}
	got, err = chooser.SaveFile(ctx, "Export", "accounts.json", nil)
	if err != nil || got != "/home/me/Documents/accounts.json" {
		t.Errorf("SaveFile = %q, %v; want the suggested name in the folder chosen", got, err)
	}
	if _, err := chooser.OpenFile(ctx, "cancel me", images); !errors.Is(err, portal.ErrCancelled) {
		t.Errorf("a closed dialog: %v, want ErrCancelled", err)
	}
	calls := fake.Calls()
	if len(calls) != 3 || calls[0].Method != "OpenFile" || calls[1].Method != "SaveFile" {
		t.Fatalf("the portal got %+v, want OpenFile, SaveFile, OpenFile", calls)
	}
	if calls[0].Err != nil || !reflect.DeepEqual(calls[0].Filters, images) {
		t.Errorf("filters sent %+v (%v), want %+v", calls[0].Filters, calls[0].Err, images)
	}
}

func TestFileChooserWithoutPortal(t *testing.T) {
	chooser := portal.FileChooser{Connect: portaltest.Bus(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := chooser.OpenFile(ctx, "Open", nil); !errors.Is(err, portal.ErrNoPortal) {
		t.Errorf("OpenFile on a bus without a portal: %v, want ErrNoPortal", err)
	}
}
