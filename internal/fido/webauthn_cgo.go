//go:build cgo

package fido

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	libfido2 "github.com/keys-pub/go-libfido2"
)

// uvPIN decides which PIN to send and whether to ask for built-in user
// verification.
func (k *Key) uvPIN(requirement, pin string) (string, libfido2.OptionValue, error) {
	if pin != "" || requirement != UVRequired {
		return pin, libfido2.Default, nil
	}
	info, err := k.Info()
	if err != nil {
		return "", libfido2.Default, err
	}
	if info.Options["uv"] {
		return "", libfido2.True, nil
	}
	return "", libfido2.Default, ErrPINRequired
}

// Register creates a credential on the key for the relying party (the
// client side of navigator.credentials.create) and waits for a touch.
// Cancelling ctx cancels the request on the key; the error then wraps ctx's.
func (k *Key) Register(ctx context.Context, opts RegistrationOptions, topts ...TouchOption) (*Registration, error) {
	if opts.RPID == "" || len(opts.UserID) == 0 || opts.UserName == "" {
		return nil, errors.New("registering the key: the relying party id, user id and user name are required")
	}
	cdj, hash, err := clientData("webauthn.create", opts.Challenge, opts.Origin)
	if err != nil {
		return nil, fmt.Errorf("registering the key: %w", err)
	}
	pin, uv, err := k.uvPIN(opts.UserVerification, opts.PIN)
	if err != nil {
		return nil, fmt.Errorf("registering the key: %w", err)
	}
	if err := k.checkExcluded(opts.RPID, opts.ExcludeCredentials); err != nil {
		return nil, err
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = []int{AlgES256}
	}
	att, err := k.makeCredential(ctx, hash[:], opts, algs, pin, uv, topts)
	if err != nil {
		return nil, err
	}
	obj, err := attestationObject(att)
	if err != nil {
		return nil, fmt.Errorf("registering the key: %w", err)
	}
	return &Registration{CredentialID: att.CredentialID, ClientDataJSON: cdj, AttestationObject: obj}, nil
}

// ctap2ErrUnsupportedAlgorithm is CTAP2_ERR_UNSUPPORTED_ALGORITHM.
const ctap2ErrUnsupportedAlgorithm = 0x26

func isUnsupportedAlgorithm(err error) bool {
	var code libfido2.Error
	return errors.As(err, &code) && code.Code == ctap2ErrUnsupportedAlgorithm
}

// checkExcluded asks the key, without a touch, whether it holds one of the
// excluded credentials, as browsers do before makeCredential (go-libfido2
// has no exclude list).
func (k *Key) checkExcluded(rpID string, exclude [][]byte) error {
	if len(exclude) == 0 {
		return nil
	}
	probe := sha256.Sum256([]byte("countersign exclude-list probe"))
	_, err := k.dev.Assertion(rpID, probe[:], exclude, "", &libfido2.AssertionOpts{UP: libfido2.False})
	switch {
	case err == nil:
		return fmt.Errorf("registering the key: %w", ErrCredentialExcluded)
	case errors.Is(err, libfido2.ErrNoCredentials):
		return nil
	}
	return translate("registering the key: checking the exclude list", err, nil)
}

// attestationObject builds the WebAuthn attestation object from libfido2's
// parts.
func attestationObject(att *libfido2.Attestation) ([]byte, error) {
	authData, err := unwrapBytes(att.AuthData)
	if err != nil {
		return nil, err
	}
	stmt := map[string]any{}
	switch att.Format {
	case "none":
	case "packed", "fido-u2f":
		if att.Format == "packed" {
			stmt["alg"] = int(att.CredentialType)
		}
		stmt["sig"] = att.Sig
		if len(att.Cert) > 0 {
			stmt["x5c"] = [][]byte{att.Cert}
		}
	default:
		return nil, fmt.Errorf("attestation format %q is not supported", att.Format)
	}
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	return enc.Marshal(map[string]any{"fmt": att.Format, "attStmt": stmt, "authData": authData})
}

// Assert signs the relying party's challenge with a credential on the key
// (the client side of navigator.credentials.get) and waits for a touch.
// Cancelling ctx cancels the request on the key; the error then wraps ctx's.
func (k *Key) Assert(ctx context.Context, opts AssertionOptions, topts ...TouchOption) (*Assertion, error) {
	if opts.RPID == "" {
		return nil, errors.New("signing in: the relying party id is required")
	}
	cdj, hash, err := clientData("webauthn.get", opts.Challenge, opts.Origin)
	if err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	pin, uv, err := k.uvPIN(opts.UserVerification, opts.PIN)
	if err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	a, err := k.getAssertion(ctx, hash[:], opts, pin, uv, topts)
	if err != nil {
		return nil, err
	}
	authData, err := unwrapBytes(a.AuthDataCBOR)
	if err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	id := a.CredentialID
	if len(id) == 0 && len(opts.AllowCredentials) == 1 {
		id = opts.AllowCredentials[0]
	}
	return &Assertion{CredentialID: id, AuthenticatorData: authData, Signature: a.Sig, UserHandle: a.User.ID, ClientDataJSON: cdj}, nil
}
