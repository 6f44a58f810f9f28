package ui

import (
	"strings"
	"testing"
)

// The pairing dialog takes the server as a URL, a host and port or a
// host alone, as the household invitation and people write it, and pairs
// with it as a URL: http for this machine, https for any other.
func TestPairTakesServerAddressForms(t *testing.T) {
	for _, tt := range []struct{ typed, want string }{
		{"https://accounts.example.com", "https://accounts.example.com"},
		{"http://localhost:18084/", "http://localhost:18084"},
		{"localhost:18084", "http://localhost:18084"},
		{"127.0.0.1:18084", "http://127.0.0.1:18084"},
		{"accounts.example.com:8443", "https://accounts.example.com:8443"},
		{"localhost", "http://localhost"},
		{"accounts.example.com", "https://accounts.example.com"},
	} {
		t.Run(tt.typed, func(t *testing.T) {
			svc := newFakeApprovals()
			svc.pairAccount = adaAccount
			h := newApprovalsHarness(t, svc)
			h.s.showPair()
			f := h.s.pair
			f.server.SetText(tt.typed)
			f.code.SetText("k7q9-m2xd")
			f.name.SetText("Sam's laptop")
			tapIn(t, h.win.Canvas(), "Pair")
			h.runOne(t)
			if len(svc.paired) != 1 || svc.paired[0].server != tt.want {
				t.Fatalf("typed %q, paired with %+v; want %s", tt.typed, svc.paired, tt.want)
			}
			if h.s.pair != nil {
				t.Errorf("the dialog stays open: %q", f.note.Text)
			}
		})
	}
}

// An address that is none of those is refused in the dialog, saying how
// to type one, and nothing is sent.
func TestPairRefusesGarbageServer(t *testing.T) {
	for _, typed := range []string{"not a server!", "ftp://files.example.com", "localhost:99999", "https://"} {
		t.Run(typed, func(t *testing.T) {
			svc := newFakeApprovals()
			h := newApprovalsHarness(t, svc)
			h.s.showPair()
			f := h.s.pair
			f.server.SetText(typed)
			f.code.SetText("k7q9-m2xd")
			tapIn(t, h.win.Canvas(), "Pair")
			if len(svc.paired) != 0 {
				t.Fatalf("paired with %+v", svc.paired)
			}
			if !strings.Contains(f.note.Text, "is not a server address") ||
				!strings.Contains(f.note.Text, "type it like accounts.example.com, localhost:18084 or https://accounts.example.com") ||
				!f.note.Visible() {
				t.Errorf("typed %q, the dialog says %q", typed, f.note.Text)
			}
			if f.server.Text != typed {
				t.Errorf("the server field was changed to %q", f.server.Text)
			}
		})
	}
}
