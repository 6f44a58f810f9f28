//go:build cgo

package fido

/*
#include <fido.h>
*/
import "C"

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// The calls below are go-libfido2's MakeCredential and Assertion with
// HMACSecretExtension and HMACSalt, made directly so that they go through
// touch: a context cancels them on the key (see session).

// hmacUser is the user of the credentials NewHMACCredential makes; nothing
// is stored on the key, so it only fills the request.
var hmacUser = []byte("countersign")

// NewHMACCredential makes a credential for rpID with the hmac-secret
// extension and waits for a touch. The credential is not stored on the key
// (not a passkey); keep its ID. A key with a PIN wants it (ErrPINRequired
// without); the credential then has UV set and its secrets come with the
// PIN.
func (k *Key) NewHMACCredential(ctx context.Context, rpID, pin string, topts ...TouchOption) (*HMACCredential, error) {
	const what = "registering the key"
	if rpID == "" {
		return nil, fmt.Errorf("%s: no relying party id", what)
	}
	info, err := k.Info()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(info.Extensions, ExtHMACSecret) {
		return nil, fmt.Errorf("%s: %w", what, ErrNoHMACSecret)
	}
	if pin == "" && info.PINSet() {
		return nil, fmt.Errorf("%s: %w", what, ErrPINRequired)
	}
	hash := sha256.Sum256([]byte("countersign hmac-secret credential")) // no relying party checks an attestation here
	crp, cname, cpin := C.CString(rpID), C.CString("countersign"), cString(pin)
	defer func() { free(crp); free(cname); free(cpin) }()
	var id []byte
	err = k.touch(ctx, what, topts, func(dev *C.fido_dev_t) C.int {
		cred := C.fido_cred_new()
		defer C.fido_cred_free(&cred)
		hp, hn := cBytes(hash[:])
		up, un := cBytes(hmacUser)
		r := C.fido_cred_set_type(cred, C.COSE_ES256)
		if r == C.FIDO_OK {
			r = C.fido_cred_set_clientdata_hash(cred, hp, hn)
		}
		if r == C.FIDO_OK {
			r = C.fido_cred_set_rp(cred, crp, nil)
		}
		if r == C.FIDO_OK {
			r = C.fido_cred_set_user(cred, up, un, cname, nil, nil)
		}
		if r == C.FIDO_OK {
			r = C.fido_cred_set_extensions(cred, C.FIDO_EXT_HMAC_SECRET)
		}
		if r == C.FIDO_OK {
			r = C.fido_dev_make_cred(dev, cred, cpin)
		}
		if r == C.FIDO_OK {
			id = goBytes(C.fido_cred_id_ptr(cred), C.fido_cred_id_len(cred))
		}
		return r
	})
	if err != nil {
		return nil, err
	}
	if len(id) == 0 {
		return nil, fmt.Errorf("%s: the key returned no credential id", what)
	}
	return &HMACCredential{ID: id, AAGUID: info.AAGUID, Model: ModelName(info.AAGUID), UV: pin != ""}, nil
}

// HasCredential asks the key, without a touch, whether it holds the
// credential id for rpID: which of several keys is the one plugged in.
func (k *Key) HasCredential(rpID string, id []byte) (bool, error) {
	probe := sha256.Sum256([]byte("countersign credential probe"))
	_, err := k.dev.Assertion(rpID, probe[:], [][]byte{id}, "", &libfido2.AssertionOpts{UP: libfido2.False})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, libfido2.ErrNoCredentials):
		return false, nil
	}
	return false, translate("asking the key for its credential", err, k.retries)
}

// HMACSecret asks the key for the secret of the credential id (made by
// NewHMACCredential for rpID) and the 32-byte salt, and waits for a touch.
// With pin, the user is verified and the secret is the one of a credential
// made with the PIN; without, the one of a credential made without. The
// caller clears the secret once used.
func (k *Key) HMACSecret(ctx context.Context, rpID string, id, salt []byte, pin string, topts ...TouchOption) ([]byte, error) {
	const what = "asking the key for its secret"
	if rpID == "" || len(id) == 0 {
		return nil, fmt.Errorf("%s: no relying party id or credential id", what)
	}
	if len(salt) != 32 {
		return nil, fmt.Errorf("%s: the salt is %d bytes, not 32", what, len(salt))
	}
	hash := sha256.Sum256([]byte("countersign hmac-secret assertion"))
	crp, cpin := C.CString(rpID), cString(pin)
	defer func() { free(crp); free(cpin) }()
	var secret []byte
	err := k.touch(ctx, what, topts, func(dev *C.fido_dev_t) C.int {
		as := C.fido_assert_new()
		defer C.fido_assert_free(&as)
		hp, hn := cBytes(hash[:])
		ip, in := cBytes(id)
		sp, sn := cBytes(salt)
		r := C.fido_assert_set_rp(as, crp)
		if r == C.FIDO_OK {
			r = C.fido_assert_set_clientdata_hash(as, hp, hn)
		}
		if r == C.FIDO_OK {
			r = C.fido_assert_allow_cred(as, ip, in)
		}
		if r == C.FIDO_OK {
			r = C.fido_assert_set_extensions(as, C.FIDO_EXT_HMAC_SECRET)
		}
		if r == C.FIDO_OK {
			r = C.fido_assert_set_hmac_salt(as, sp, sn)
		}
		if r == C.FIDO_OK {
			r = C.fido_dev_get_assert(dev, as, cpin)
		}
		if r == C.FIDO_OK && C.fido_assert_count(as) == 0 {
			r = C.FIDO_ERR_NO_CREDENTIALS
		}
		if r == C.FIDO_OK {
			secret = goBytes(C.fido_assert_hmac_secret_ptr(as, 0), C.fido_assert_hmac_secret_len(as, 0))
		}
		return r
	})
	if err != nil {
		return nil, err
	}
	if len(secret) != HMACSecretSize {
		clear(secret)
		return nil, fmt.Errorf("%s: %w: the credential was made without it", what, ErrNoHMACSecret)
	}
	return secret, nil
}

// EnrollVault makes a credential for the vault (VaultRPID) with the PIN
// (required when the key has one) and gets its secret for salt: two
// touches. The caller keeps the credential and salt in a vault slot
// (vault.AddSecurityKeySlot) and clears the secret.
func (k *Key) EnrollVault(ctx context.Context, salt []byte, pin string, topts ...TouchOption) (*HMACCredential, []byte, error) {
	cred, err := k.NewHMACCredential(ctx, VaultRPID, pin, topts...)
	if err != nil {
		return nil, nil, err
	}
	secret, err := k.HMACSecret(ctx, VaultRPID, cred.ID, salt, pin, topts...)
	if err != nil {
		return nil, nil, err
	}
	return cred, secret, nil
}

// VaultSecret is the secret of a vault slot's credential and salt from the
// key at hand. A key that does not hold the credential is told apart
// without a touch: the error then wraps ErrNoCredentials. pin is called
// for the PIN only when uv (the credential was made with it).
func (k *Key) VaultSecret(ctx context.Context, credID, salt []byte, uv bool, pin func() (string, error), topts ...TouchOption) ([]byte, error) {
	has, err := k.HasCredential(VaultRPID, credID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, fmt.Errorf("asking the key for its secret: %w", ErrNoCredentials)
	}
	p := ""
	if uv {
		if p, err = pin(); err != nil {
			return nil, err
		}
		if p == "" {
			return nil, fmt.Errorf("asking the key for its secret: %w", ErrPINRequired)
		}
	}
	return k.HMACSecret(ctx, VaultRPID, credID, salt, p, topts...)
}
