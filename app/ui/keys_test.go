package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/fido"
)

func TestKeysEmpty(t *testing.T) {
	h := newKeysHarness(t, &fakeKeys{})
	h.waitFor(t, "the empty state", h.shows("No security key found. Plug one in"))
	h.win.Resize(fyne.NewSize(600, 400))
	test.AssertRendersToMarkup(t, "keys/empty.xml", h.win.Canvas())
}

func TestKeysUnusable(t *testing.T) {
	path := "/dev/hidraw7"
	err := fmt.Errorf("%w: cannot open the security key at %s: install the udev rules for FIDO2 keys", fido.ErrPermission, path)
	h := newKeysHarness(t, &fakeKeys{locs: []fido.Location{{Path: path, Err: err}}})
	h.waitFor(t, "the unusable key", h.shows("cannot be used"))
	if got := h.shown(); !strings.Contains(got, "Permission denied: cannot open the security key at /dev/hidraw7: install the udev rules") {
		t.Errorf("the window shows\n%s\nwant the permission hint", got)
	}
	if h.keys.body.Visible() {
		t.Error("the info card shows for a key that cannot be opened")
	}
}

func TestKeysInfoCardFake(t *testing.T) {
	path := "/dev/hidraw0"
	info := &fido.Info{Path: path, AAGUID: "ee882879-721c-4913-9775-3dfcce97072a", Model: "YubiKey 5 Series (5, 5C, 5 Nano, 5C Nano)",
		Versions:   []string{"FIDO_2_0", "FIDO_2_1", "U2F_V2"},
		Options:    map[string]bool{"rk": true, "up": true, "clientPin": true, "credMgmt": true, "plat": false},
		PINRetries: 8, MinPINLength: 4, RemainingDiscoverable: 25, Firmware: 0x050403}
	h := newKeysHarness(t, &fakeKeys{
		locs: []fido.Location{{Path: path, Product: "YubiKey OTP+FIDO+CCID", Manufacturer: "Yubico"}},
		info: map[string]*fido.Info{path: info}})
	h.waitFor(t, "the info card", func() bool { return h.keys.body.Visible() })
	h.win.Resize(fyne.NewSize(700, 600))
	test.AssertRendersToMarkup(t, "keys/info.xml", h.win.Canvas())
	for _, want := range []string{"FIDO_2_0, FIDO_2_1, U2F_V2", "Manage passkeys\nPIN set\nPasskeys (resident credentials)\nTouch to confirm\nRemovable key", "set, 8 tries left", "25", "5.4.3"} {
		if !strings.Contains(h.shown(), want) {
			t.Errorf("the info card lacks %q", want)
		}
	}
	if h.keys.setPIN.Visible() || !h.keys.chgPIN.Visible() || !h.keys.showPK.Visible() {
		t.Error("a key with a PIN should offer Change PIN and Passkeys, not Set PIN")
	}
}
