package keyring

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors Windows' Credential Manager (CredReadW, CredWriteW, CredDeleteW)
// answers with, besides ERROR_NOT_FOUND, which go-keyring turns into its
// ErrNotFound. The numbers are Windows' on every OS, so that the wording
// is tested on Linux too.
const (
	errorAccessDenied         = syscall.Errno(5)
	errorInvalidParameter     = syscall.Errno(87)
	errorNoSuchLogonSession   = syscall.Errno(1312)
	errorBadUsername          = syscall.Errno(2202)
	errorInvalidFlags         = syscall.Errno(1004)
	credentialManagerCheckout = "open Credential Manager (Control Panel, User Accounts, Credential Manager) and check that it shows your Windows Credentials, sign out of Windows and in again, then try again"
)

// credentialManagerError says why the Credential Manager refused and what
// to do about it, wrapping ErrUnavailable.
func credentialManagerError(op string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("%w: Windows Credential Manager could not %s the item (%v); %s", ErrUnavailable, op, err, credentialManagerCheckout)
	}
	var why, remedy string
	switch errno {
	case errorNoSuchLogonSession:
		why = "this Windows sign-in has no Credential Manager: Countersign was started over SSH, as a service, or by a scheduled task that runs whether you are signed in or not"
		remedy = "start Countersign from your own Windows session (at the computer or over Remote Desktop), then try again"
	case errorAccessDenied:
		why = "Windows Credential Manager refused access"
		remedy = "check that the Credential Manager service is running (services.msc) and that your organisation's policy lets you save credentials, then try again"
	case errorInvalidParameter, errorBadUsername, errorInvalidFlags:
		why = fmt.Sprintf("Windows Credential Manager refused the item's name (%v)", err)
		remedy = credentialManagerCheckout
	default:
		why = fmt.Sprintf("Windows Credential Manager could not %s the item (%v, error %d)", op, err, uint32(errno))
		remedy = credentialManagerCheckout
	}
	return fmt.Errorf("%w: %s; %s", ErrUnavailable, why, remedy)
}
