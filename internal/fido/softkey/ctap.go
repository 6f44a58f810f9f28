package softkey

import (
	"errors"
	"fmt"
)

// AAGUID identifies every Countersign software key (see the package doc).
var AAGUID = [16]byte{0x61, 0x29, 0x94, 0xa4, 0x8f, 0x8e, 0x42, 0x0b, 0x99, 0xf8, 0x8d, 0x49, 0x4e, 0x08, 0x36, 0xcd}

// CTAP2 command bytes.
const (
	cmdMakeCredential   = 0x01
	cmdGetAssertion     = 0x02
	cmdGetInfo          = 0x04
	cmdClientPIN        = 0x06
	cmdReset            = 0x07
	cmdGetNextAssertion = 0x08
	cmdCredMgmt         = 0x0a
	// cmdCredMgmtPreview is the CTAP 2.1 preview command number, which
	// libfido2 1.12 still uses to enumerate; same request and response.
	cmdCredMgmtPreview = 0x41
	cmdBioEnroll       = 0x09
	// cmdBioEnrollPreview is the CTAP 2.1 preview command number, which
	// libfido2 1.12 uses for every bio enrollment request.
	cmdBioEnrollPreview = 0x40
)

// Status is a CTAP2 status code, the first byte of every CBOR response.
type Status byte

// CTAP2 status codes used by this authenticator.
const (
	statusOK                  Status = 0x00
	errInvalidCommand         Status = 0x01
	errInvalidParameter       Status = 0x02
	errInvalidLength          Status = 0x03
	errCBORUnexpectedType     Status = 0x11
	errInvalidCBOR            Status = 0x12
	errMissingParameter       Status = 0x14
	errLimitExceeded          Status = 0x15
	errCredentialExcluded     Status = 0x19
	errInvalidCredential      Status = 0x22
	errUnsupportedAlgorithm   Status = 0x26
	errOperationDenied        Status = 0x27
	errKeyStoreFull           Status = 0x28
	errUnsupportedOption      Status = 0x2b
	errInvalidOption          Status = 0x2c
	errKeepaliveCancel        Status = 0x2d
	errNoCredentials          Status = 0x2e
	errUserActionTimeout      Status = 0x2f
	errNotAllowed             Status = 0x30
	errPINInvalid             Status = 0x31
	errPINBlocked             Status = 0x32
	errPINAuthInvalid         Status = 0x33
	errPINAuthBlocked         Status = 0x34
	errPINNotSet              Status = 0x35
	errPUATRequired           Status = 0x36
	errPINPolicyViolation     Status = 0x37
	errRequestTooLarge        Status = 0x39
	errInvalidSubcommand      Status = 0x3e
	errUnauthorizedPermission Status = 0x40
	errOther                  Status = 0x7f
)

func (s Status) Error() string { return fmt.Sprintf("ctap2 status 0x%02x", byte(s)) }

// statusOf maps an error from a handler to the status it answers with.
func statusOf(err error) Status {
	var s Status
	if errors.As(err, &s) {
		return s
	}
	return errOther
}

// pinUvAuthToken permissions (CTAP 2.1 6.5.5.7).
const (
	permMakeCredential = 0x01
	permGetAssertion   = 0x02
	permCredMgmt       = 0x04
	permBioEnroll      = 0x08
)

// Limits advertised in getInfo and enforced on requests.
const (
	maxMsgSize       = 1200
	maxCredsInList   = 8
	maxCredIDLength  = 128
	maxResidentCreds = 50
	minPINLength     = 4
	maxPINRetries    = 8
	firmwareVersion  = 1
)
