package fido

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// EnvDevices names the environment variable with extra device paths,
// colon-separated, opened directly rather than found by enumeration.
const EnvDevices = "COUNTERSIGN_FIDO_DEVICES"

// PathsFromEnv returns the device paths in COUNTERSIGN_FIDO_DEVICES.
func PathsFromEnv(getenv func(string) string) []string {
	var paths []string
	for _, p := range strings.Split(getenv(EnvDevices), ":") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// Location is one key found, by enumeration or from configuration.
type Location struct {
	Path         string `json:"path"`
	Product      string `json:"product,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	VendorID     uint16 `json:"vendor_id,omitempty"`
	ProductID    uint16 `json:"product_id,omitempty"`
	// Configured is true for a path given explicitly rather than enumerated.
	Configured bool `json:"configured,omitempty"`
	// Err says why a key that is present cannot be used (no permission, no
	// such device); nil for a usable one.
	Err error `json:"-"`
}

// fidoUsagePage is the HID report-descriptor item "Usage Page (0xF1D0)"
// that every FIDO HID device declares.
var fidoUsagePage = []byte{0x06, 0xd0, 0xf1}

// unopenableKeys returns the hidraw nodes of FIDO devices that this user may
// not open: libfido2 skips them silently, yet they are the usual reason a
// plugged-in key "is not found". sysfs report descriptors are world-readable.
func unopenableKeys() []string {
	descs, _ := filepath.Glob("/sys/class/hidraw/hidraw*/device/report_descriptor")
	var paths []string
	for _, d := range descs {
		desc, err := os.ReadFile(d)
		if err != nil || !bytes.Contains(desc, fidoUsagePage) {
			continue
		}
		node := "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(d)))
		if errors.Is(checkOpenable(node), ErrPermission) {
			paths = append(paths, node)
		}
	}
	return paths
}

// checkOpenable opens path read-write as libfido2 will, to give a clear
// error before libfido2 gives a vague one. A terminal (a software key's
// pty) must not become the process's controlling terminal.
func checkOpenable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrPermission):
		return permissionError(path)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", path, ErrNoDevice)
	}
	return fmt.Errorf("opening %s: %w", path, err)
}

func permissionError(path string) error {
	return fmt.Errorf("%w: cannot open the security key at %s: install the udev rules for FIDO2 keys "+
		"(Debian and Ubuntu: apt install libfido2-1, which ships 70-u2f.rules; other systems: systemd's 60-fido-id.rules "+
		"or packaging/ in the Countersign sources), then remove and reinsert the key", ErrPermission, path)
}
