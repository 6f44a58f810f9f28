package ui

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestKeysAdminNotice(t *testing.T) {
	for _, tc := range []struct {
		elevated  bool
		goos      string
		wantText  bool
		wantOffer bool
	}{
		{false, "windows", true, true},
		{true, "windows", false, false},
		{false, "linux", false, false},
		{false, "darwin", false, false},
	} {
		text, offer := keysAdminNotice(tc.elevated, tc.goos)
		if (text != "") != tc.wantText || offer != tc.wantOffer {
			t.Errorf("elevated %v on %s: %q, offer %v; want text %v, offer %v", tc.elevated, tc.goos, text, offer, tc.wantText, tc.wantOffer)
		}
		if text == "" {
			continue
		}
		// What needs an administrator: everything (the Windows build's
		// libfido2 reaches keys over HID only).
		for _, want := range []string{"administrator", "PIN", "passkeys", "fingerprints", "reset", "registering", "signing in", "unlocking"} {
			if !strings.Contains(text, want) {
				t.Errorf("the notice does not mention %q: %s", want, text)
			}
		}
	}
}

func TestAdminNoticeRestarts(t *testing.T) {
	test.NewTempApp(t)
	restarts := 0
	var fail error
	admin := &Admin{Restart: func() error { restarts++; return fail }}

	n := newAdminNotice(admin, "windows")
	if !n.root.Visible() || !n.restart.Visible() {
		t.Fatal("not elevated on Windows: no notice or no Restart as administrator")
	}
	test.Tap(n.restart)
	if restarts != 1 || n.problem.Visible() {
		t.Errorf("after a tap: %d restarts, problem %q", restarts, n.problem.Text)
	}
	fail = errors.New("the question to run Countersign as administrator was declined: it keeps running as it is")
	test.Tap(n.restart)
	if !n.problem.Visible() || !strings.Contains(n.problem.Text, "declined") {
		t.Errorf("a restart that failed: problem shown %v, %q", n.problem.Visible(), n.problem.Text)
	}

	for _, tc := range []struct {
		admin *Admin
		goos  string
	}{
		{nil, "linux"},
		{nil, "windows"},
		{&Admin{Elevated: true, Restart: admin.Restart}, "windows"},
		{&Admin{Restart: admin.Restart}, "linux"},
	} {
		if n := newAdminNotice(tc.admin, tc.goos); n.root.Visible() {
			t.Errorf("%+v on %s: the notice shows: %q", tc.admin, tc.goos, n.text.Text)
		}
	}
}
