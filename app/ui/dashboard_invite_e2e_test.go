package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/testkit"
)

// TestDashboardEndToEndInvitationPairs: the invitation made for a new
// member on a real server shows the server as a URL and the code; typed
// as shown into another desktop's pairing dialog, they pair it as the
// member's.
func TestDashboardEndToEndInvitationPairs(t *testing.T) {
	l := startLive(t)
	l.open(t, "", "Ada's desktop")
	l.h.tab(t, "Household")
	l.h.tap(t, "Add member…")
	entryIn(t, l.h.win.Canvas()).SetText("Robin")
	l.h.tap(t, "Add")
	// An invitation hands out access: the server asks to confirm it is you.
	l.h.assertShows(t, "Confirm it's you")
	l.h.d.stepUpOpen.password.SetText(livePassword)
	l.h.tap(t, "Confirm")
	l.h.assertShows(t, "Invitation for Robin", "type the server and the code below")
	var server, code string
	for _, o := range laidOut(l.h.win.Canvas().Overlays().Top()) {
		if lb, ok := o.(*widget.Label); ok {
			switch {
			case strings.Contains(lb.Text, "://"):
				server = lb.Text
			case lb.SizeName == theme.SizeNameHeadingText:
				code = lb.Text
			}
		}
	}
	if server != l.srv.URL {
		t.Fatalf("the invitation shows the server %q, want its public URL %q", server, l.srv.URL)
	}

	l.h.tap(t, "Done")

	// Robin's desktop, pairing through the dialog: this window's, given
	// a desktop of its own.
	robin, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: l.srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := l.h.main.approvals
	s.svc = robin
	s.showPair()
	f := s.pair
	f.server.SetText(server)
	f.code.SetText(code)
	f.name.SetText("Robin's desktop")
	f.onPair()
	s.busy.Wait()
	l.h.settle(t)
	if s.pair != nil {
		t.Fatalf("Robin's desktop was not paired: %s", f.note.Text)
	}
	hh, err := l.owner.Household(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var robinID string
	for _, mb := range hh.Members {
		if mb.Name == "Robin" {
			robinID = mb.ID
		}
	}
	paired := false
	for _, d := range hh.Devices {
		paired = paired || (d.Name == "Robin's desktop" && d.MemberID == robinID && robinID != "")
	}
	if !paired {
		t.Errorf("the server's household has no Robin's desktop of Robin's: %+v", hh.Devices)
	}
}
