package fido

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestModelName(t *testing.T) {
	tests := []struct{ aaguid, want string }{
		{SoftkeyAAGUID, "Countersign software key"},
		{"CB69481E-8FF7-4039-93EC-0A2729A154A8", "YubiKey 5 Series (5, 5C, 5 Nano, 5C Nano; firmware 5.1)"},
		{"42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3", "Google Titan Security Key v2"},
		{"00000000-0000-0000-0000-000000000000", UnknownModel},
	}
	for _, tt := range tests {
		if got := ModelName(tt.aaguid); got != tt.want {
			t.Errorf("ModelName(%s) = %q, want %q", tt.aaguid, got, tt.want)
		}
	}
	if got := FormatAAGUID([]byte{0x61, 0x29, 0x94, 0xa4, 0x8f, 0x8e, 0x42, 0x0b, 0x99, 0xf8, 0x8d, 0x49, 0x4e, 0x08, 0x36, 0xcd}); got != SoftkeyAAGUID {
		t.Errorf("FormatAAGUID = %s, want %s", got, SoftkeyAAGUID)
	}
}

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		name, pin string
		min       int
		ok        bool
	}{
		{"four digits", "1234", 0, true},
		{"too short", "123", 0, false},
		{"key's own minimum", "12345", 6, false},
		{"code points count, not bytes", "äöü€", 4, true},
		{"63 bytes", string(make([]byte, 63)), 4, true},
		{"64 bytes", string(make([]byte, 64)), 4, false},
		{"invalid UTF-8", "\xff\xfe\xfd\xfc", 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPIN(tt.pin, tt.min)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrPINPolicy)) {
				t.Errorf("CheckPIN(%q, %d) = %v, want ok=%v", tt.pin, tt.min, err, tt.ok)
			}
		})
	}
}

func TestPathsFromEnv(t *testing.T) {
	got := PathsFromEnv(func(k string) string {
		return map[string]string{EnvDevices: "/dev/pts/7::/dev/hidraw3 "}[k]
	})
	if want := []string{"/dev/pts/7", "/dev/hidraw3"}; !slices.Equal(got, want) {
		t.Errorf("PathsFromEnv = %q, want %q", got, want)
	}
}

func TestPermissionErrorText(t *testing.T) {
	err := permissionError("/dev/hidraw4")
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "udev") || !strings.Contains(err.Error(), "/dev/hidraw4") {
		t.Errorf("permissionError = %v", err)
	}
}

func TestSameLocations(t *testing.T) {
	key := Location{Path: "/dev/hidraw1", Product: "YubiKey", VendorID: 0x1050}
	denied := Location{Path: "/dev/hidraw1", Err: ErrPermission}
	tests := []struct {
		name string
		a, b []Location
		want bool
	}{
		{"both empty", nil, []Location{}, true},
		{"same", []Location{key}, []Location{key}, true},
		{"plugged in", nil, []Location{key}, false},
		{"now unusable", []Location{key}, []Location{denied}, false},
		{"same error", []Location{denied}, []Location{{Path: "/dev/hidraw1", Err: errors.New("permission denied")}}, true},
		{"order", []Location{key, denied}, []Location{denied, key}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameLocations(tt.a, tt.b); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPresentOnly(t *testing.T) {
	locs := []Location{
		{Path: "/dev/hidraw0"},
		{Path: "/dev/pts/9", Configured: true, Err: fmt.Errorf("/dev/pts/9: %w", ErrNoDevice)},
		{Path: "/dev/pts/8", Configured: true, Err: ErrPermission},
	}
	got := presentOnly(locs)
	if len(got) != 2 || got[0].Path != "/dev/hidraw0" || got[1].Path != "/dev/pts/8" {
		t.Errorf("got %+v, want hidraw0 and the unreadable pts/8", got)
	}
}

func TestSampleStatusString(t *testing.T) {
	tests := []struct {
		s    SampleStatus
		want string
	}{
		{SampleGood, "good"},
		{1, "too high: place the finger lower"},
		{0x0b, "this finger is enrolled already"},
		{0x0c, "sample status 0x0c: touch again"},
		{0x0d, "no touch: touch the sensor"},
		{0x42, "sample status 0x42: touch again"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("SampleStatus(%d): got %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestFeaturesInPlainWords(t *testing.T) {
	in := &Info{Options: map[string]bool{"rk": true, "up": true, "clientPin": true, "credMgmt": true, "credentialMgmtPreview": true,
		"plat": false, "alwaysUv": false, "bioEnroll": false, "largeBlobs": false, "futureOption": true}}
	want := []string{
		"Manage passkeys", "PIN set", "Passkeys (resident credentials)", "Touch to confirm", "futureOption on",
		"Asks for the PIN only when a site wants it", "Fingerprint sensor, no fingerprints yet", "Removable key",
		"Stores data with passkeys (large blobs) (off)",
	}
	if got := in.Features(); !slices.Equal(got, want) {
		t.Errorf("Features() =\n%q\nwant\n%q", got, want)
	}
}
