// Package keyring stores small secrets in the operating system's keyring
// (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
// through github.com/zalando/go-keyring.
//
// It is the one place in Countersign that talks to the keyring. It turns the
// library's and D-Bus's errors into ones that tell a person what to install or
// unlock, and bounds every call with a timeout so that a keyring waiting for an
// unlock prompt nobody can see does not hang the program forever (the call
// given up on still runs, but never more than one per item). It never
// falls back to storing secrets anywhere else.
package keyring

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
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
	backend backend
}

// backend is the keyring the calls reach: go-keyring, or a fake in tests.
type backend interface {
	Get(service, name string) (string, error)
	Set(service, name, secret string) error
	Delete(service, name string) error
}

// goKeyring is the OS keyring, through go-keyring.
type goKeyring struct{}

func (goKeyring) Get(service, name string) (string, error) { return gokeyring.Get(service, name) }
func (goKeyring) Set(service, name, secret string) error   { return gokeyring.Set(service, name, secret) }
func (goKeyring) Delete(service, name string) error        { return gokeyring.Delete(service, name) }

// New returns a Keyring for service; an empty service means Service.
func New(service string) Keyring {
	if service == "" {
		service = Service
	}
	return Keyring{service: service, timeout: DefaultTimeout, backend: goKeyring{}}
}

// WithTimeout returns a copy of k whose calls give up after d.
func (k Keyring) WithTimeout(d time.Duration) Keyring {
	k.timeout = d
	return k
}

// Get returns the secret stored under name.
func (k Keyring) Get(name string) (string, error) {
	var secret string
	err := k.call("read", name, func(b backend) (err error) {
		secret, err = b.Get(k.service, name)
		return err
	})
	return secret, err
}

// Set stores secret under name, replacing any item already there.
func (k Keyring) Set(name, secret string) error {
	return k.call("write", name, func(b backend) error { return b.Set(k.service, name, secret) })
}

// Delete removes the item stored under name.
func (k Keyring) Delete(name string) error {
	return k.call("delete", name, func(b backend) error { return b.Delete(k.service, name) })
}

// turns holds a turn for each keyring item (service and name) a call is
// using: a buffered channel of one, full while a call runs.
var turns sync.Map // string → chan struct{}

// call runs fn against the keyring for item name, in a goroutine of its
// own, and gives up after the timeout. A call to the keyring can't be
// cancelled: a call given up on keeps running until the keyring answers (an
// unlock prompt that nobody answers may never). So calls of one item take
// turns, and a call given up on keeps the item's turn until the keyring
// answers it: a later call of that item waits for the turn (within its own
// timeout) instead of starting another call. At most one goroutine per item
// is ever left waiting on the keyring, and it exits once the keyring answers.
func (k Keyring) call(op, name string, fn func(backend) error) error {
	timeout := k.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	b := k.backend
	if b == nil {
		b = goKeyring{}
	}
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	t, _ := turns.LoadOrStore(k.service+"\x00"+name, make(chan struct{}, 1))
	turn := t.(chan struct{})
	select {
	case turn <- struct{}{}:
	case <-expired.C:
		return fmt.Errorf("%w: timed out after %s: an earlier call for the same item is still waiting for the keyring (is it locked with an unlock prompt nobody can answer?); %s",
			ErrUnavailable, timeout, advice(runtime.GOOS))
	}
	done := make(chan error, 1) // buffered: the goroutine never waits for a caller that gave up
	go func() {
		err := fn(b)
		<-turn
		done <- err
	}()
	select {
	case err := <-done:
		return classify(op, err)
	case <-expired.C:
		return fmt.Errorf("%w: timed out after %s waiting for the keyring (is it locked with an unlock prompt nobody can answer?); %s",
			ErrUnavailable, timeout, advice(runtime.GOOS))
	}
}

// classify maps go-keyring's errors (D-Bus's, Keychain's, Credential
// Manager's) onto ErrNotFound and ErrUnavailable.
func classify(op string, err error) error { return classifyOn(op, err, runtime.GOOS) }

// classifyOn is classify for an OS: goos says whose errors err are.
func classifyOn(op string, err error, goos string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gokeyring.ErrNotFound) {
		return ErrNotFound
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("keyring %s: %w", op, err)
	}
	if goos == "windows" {
		return credentialManagerError(op, err)
	}
	msg := err.Error()
	var why string
	remedy := advice(goos)
	switch {
	case strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS"), strings.Contains(msg, "dbus-launch"),
		strings.Contains(msg, "no such file or directory"), strings.Contains(msg, "connection refused"):
		why = "no D-Bus session bus is running"
	case strings.Contains(msg, "org.freedesktop.secrets"), strings.Contains(msg, "ServiceUnknown"):
		why = "no Secret Service provider is running"
	case strings.Contains(msg, "failed to unlock"), strings.Contains(msg, "IsLocked"), strings.Contains(msg, "dismissed"):
		why = "the keyring is locked and was not unlocked"
		remedy = unlockAdvice(goos)
	case strings.Contains(msg, "AccessDenied"), strings.Contains(msg, "denied"):
		why = "access to the keyring was denied"
	default:
		why = "keyring " + op + " failed (" + msg + ")"
	}
	return fmt.Errorf("%w: %s; %s", ErrUnavailable, why, remedy)
}

// unlockAdvice says how to unlock a keyring that is there but locked.
func unlockAdvice(goos string) string {
	switch goos {
	case "darwin":
		return "unlock the login keychain in Keychain Access, then try again"
	case "windows":
		return advice(goos)
	}
	return "unlock it (GNOME: Passwords and Keys; KDE: KWallet Manager; KeePassXC: open its database), or sign out and in again, then try again"
}

func advice(goos string) string {
	switch goos {
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		return "install and start a Secret Service provider (Debian/Ubuntu: apt install gnome-keyring, or use KeePassXC's Secret Service integration) inside a desktop session, and unlock it"
	case "darwin":
		return "unlock the login keychain in Keychain Access"
	case "windows":
		return credentialManagerCheckout
	}
	return "this system has no supported keyring"
}
