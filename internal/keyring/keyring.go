// Package keyring stores small secrets in the operating system's keyring
// (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
// through github.com/zalando/go-keyring.
//
// It is the one place in Countersign that talks to the keyring. It turns the
// library's and D-Bus's errors into ones that tell a person what to install or
// unlock, and bounds every call with a timeout so that a keyring waiting for an
// unlock prompt nobody can see does not hang the program forever. It never
// falls back to storing secrets anywhere else.
package keyring

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// Service is the service name Countersign's items carry in the keyring.
const Service = "countersign"

var (
	// ErrNotFound means the keyring works but holds no such item.
	ErrNotFound = errors.New("not found in the keyring")
	// ErrUnavailable means there is no usable keyring: none is installed or
	// running, it is locked, or access was denied. The wrapping error says which
	// and what to do.
	ErrUnavailable = errors.New("the OS keyring is not available")
)

// DefaultTimeout bounds one keyring call, including the time a person takes
// to answer an unlock prompt.
const DefaultTimeout = 2 * time.Minute

// Keyring reads and writes the items of one service.
type Keyring struct {
	service string
	timeout time.Duration
}

// New returns a Keyring for service; an empty service means Service.
func New(service string) Keyring {
	if service == "" {
		service = Service
	}
	return Keyring{service: service, timeout: DefaultTimeout}
}

// WithTimeout returns a copy of k whose calls give up after d.
func (k Keyring) WithTimeout(d time.Duration) Keyring {
	k.timeout = d
	return k
}

// Get returns the secret stored under name.
func (k Keyring) Get(name string) (string, error) {
	var secret string
	err := k.call("read", func() (err error) {
		secret, err = gokeyring.Get(k.service, name)
		return err
	})
	return secret, err
}

// Set stores secret under name, replacing any item already there.
func (k Keyring) Set(name, secret string) error {
	return k.call("write", func() error { return gokeyring.Set(k.service, name, secret) })
}

// Delete removes the item stored under name.
func (k Keyring) Delete(name string) error {
	return k.call("delete", func() error { return gokeyring.Delete(k.service, name) })
}

func (k Keyring) call(op string, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	timeout := k.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	select {
	case err := <-done:
		return classify(op, err)
	case <-time.After(timeout):
		return fmt.Errorf("%w: timed out after %s waiting for the keyring (is it locked with an unlock prompt nobody can answer?); %s",
			ErrUnavailable, timeout, advice())
	}
}

// classify maps go-keyring and D-Bus errors onto ErrNotFound and ErrUnavailable.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gokeyring.ErrNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("keyring %s: %w", op, err)
	}
	msg := err.Error()
	var why string
	switch {
	case strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS"), strings.Contains(msg, "dbus-launch"),
		strings.Contains(msg, "no such file or directory"), strings.Contains(msg, "connection refused"):
		why = "no D-Bus session bus is running"
	case strings.Contains(msg, "org.freedesktop.secrets"), strings.Contains(msg, "ServiceUnknown"):
		why = "no Secret Service provider is running"
	case strings.Contains(msg, "failed to unlock"), strings.Contains(msg, "IsLocked"), strings.Contains(msg, "dismissed"):
		why = "the keyring is locked and was not unlocked"
	case strings.Contains(msg, "AccessDenied"), strings.Contains(msg, "denied"):
		why = "access to the keyring was denied"
	default:
		why = "keyring " + op + " failed (" + msg + ")"
	}
	return fmt.Errorf("%w: %s; %s", ErrUnavailable, why, advice())
}

func advice() string {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return "install and start a Secret Service provider (Debian/Ubuntu: apt install gnome-keyring, or use KeePassXC's Secret Service integration) inside a desktop session, and unlock it"
	case "darwin":
		return "unlock the login keychain in Keychain Access"
	case "windows":
		return "make sure Windows Credential Manager is available for this user"
	}
	return "this system has no supported keyring"
}
