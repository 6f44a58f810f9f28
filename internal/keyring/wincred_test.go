package keyring

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// TestCredentialManagerErrors: on Windows the keyring is the Credential
// Manager, whose errors are Windows error numbers; each says what went
// wrong and what to do, and none talks of D-Bus or Secret Service.
func TestCredentialManagerErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{syscall.Errno(1312), []string{"no Credential Manager", "SSH", "service", "scheduled task", "your own Windows session"}},
		{fmt.Errorf("cred: %w", syscall.Errno(5)), []string{"refused access", "Credential Manager service", "services.msc"}},
		{syscall.Errno(87), []string{"refused the item's name", "Control Panel"}},
		{syscall.Errno(1783), []string{"could not read the item", "error 1783", "Control Panel", "sign out of Windows and in again"}},
		{errors.New("not an errno"), []string{"could not read the item (not an errno)", "Control Panel"}},
	} {
		err := classifyOn("read", tc.err, "windows")
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%v: got %v, want ErrUnavailable", tc.err, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %q", tc.err, err, w)
			}
		}
		for _, not := range []string{"D-Bus", "Secret Service", "gnome-keyring", "unlock it"} {
			if strings.Contains(err.Error(), not) {
				t.Errorf("%v: %q talks of %s", tc.err, err, not)
			}
		}
	}
	// The same numbers mean nothing special on Linux.
	if err := classifyOn("read", syscall.Errno(1312), "linux"); strings.Contains(err.Error(), "Credential Manager") {
		t.Errorf("on Linux: %v", err)
	}
}
