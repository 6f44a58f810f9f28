//go:build cgo

package fido

/*
#cgo LDFLAGS: -lfido2
#include <fido.h>
#include <stdlib.h>

static fido_dev_t *countersign_open(const char *path, int *r) {
	fido_dev_t *dev = fido_dev_new();
	if (dev == NULL) {
		*r = FIDO_ERR_INTERNAL;
		return NULL;
	}
	*r = fido_dev_open(dev, path);
	if (*r != FIDO_OK) {
		fido_dev_free(&dev);
		return NULL;
	}
	return dev;
}

static void countersign_close(fido_dev_t *dev) {
	fido_dev_close(dev);
	fido_dev_free(&dev);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// cancelEvery is how often a cancelled operation's CTAPHID_CANCEL is sent
// again, in case the first one reached the key before the request did.
const cancelEvery = 100 * time.Millisecond

// session is an open libfido2 device whose request can be cancelled from
// another goroutine. go-libfido2's Device.Cancel cannot be used for this: it
// reads the device handle that the running operation set without a lock.
type session struct {
	mu  sync.Mutex
	dev *C.fido_dev_t
}

// cancel sends CTAPHID_CANCEL on the session's channel.
func (s *session) cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev != nil {
		C.fido_dev_cancel(s.dev)
	}
}

func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	C.countersign_close(s.dev)
	s.dev = nil
}

// touch opens the key and runs op, which may wait for a touch, on it. When
// ctx ends first the request is cancelled on the key and the error wraps
// ctx's; a timeout is a *TouchTimeoutError. Other libfido2 errors go
// through translate. Errors are prefixed with what.
func (k *Key) touch(ctx context.Context, what string, opts []TouchOption, op func(dev *C.fido_dev_t) C.int) error {
	cfg := touchOptions(opts)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	cpath := C.CString(k.path)
	defer C.free(unsafe.Pointer(cpath))
	var r C.int
	dev := C.countersign_open(cpath, &r)
	if dev == nil {
		return translate(what, fidoError(r), nil)
	}
	s := &session{dev: dev}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTicker(cancelEvery)
		defer t.Stop()
		for {
			s.cancel()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	if cfg.onTouch != nil {
		cfg.onTouch()
	}
	start := time.Now()
	r = op(dev)
	close(done)
	wg.Wait()
	// Closed before translate asks for the retry count: libfido2 locks the
	// device while it is open.
	s.close()
	if r == C.FIDO_OK {
		return nil
	}
	waited := time.Since(start)
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, &TouchTimeoutError{Waited: waited, Cause: err})
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	}
	err := fidoError(r)
	if r == C.FIDO_ERR_USER_ACTION_TIMEOUT ||
		errors.Is(err, libfido2.ErrActionTimeout) || errors.Is(err, libfido2.ErrUserPresenceRequired) {
		return fmt.Errorf("%s: %w", what, &TouchTimeoutError{Waited: waited})
	}
	return translate(what, err, k.retries)
}

// fidoError is go-libfido2's error for a libfido2 result code, so that
// translate handles this file's calls and go-libfido2's alike.
func fidoError(r C.int) error {
	switch r {
	case C.FIDO_ERR_TX:
		return libfido2.ErrTX
	case C.FIDO_ERR_RX:
		return libfido2.ErrRX
	case C.FIDO_ERR_INVALID_ARGUMENT:
		return libfido2.ErrInvalidArgument
	case C.FIDO_ERR_USER_PRESENCE_REQUIRED:
		return libfido2.ErrUserPresenceRequired
	case C.FIDO_ERR_INVALID_COMMAND:
		return libfido2.ErrInvalidCommand
	case C.FIDO_ERR_NOT_ALLOWED:
		return libfido2.ErrNotAllowed
	case C.FIDO_ERR_ACTION_TIMEOUT:
		return libfido2.ErrActionTimeout
	case C.FIDO_ERR_PIN_NOT_SET:
		return libfido2.ErrPinNotSet
	case C.FIDO_ERR_UNSUPPORTED_OPTION:
		return libfido2.ErrUnsupportedOption
	case C.FIDO_ERR_PIN_INVALID:
		return libfido2.ErrPinInvalid
	case C.FIDO_ERR_PIN_POLICY_VIOLATION:
		return libfido2.ErrPinPolicyViolation
	case C.FIDO_ERR_NO_CREDENTIALS:
		return libfido2.ErrNoCredentials
	case C.FIDO_ERR_PIN_AUTH_BLOCKED:
		return libfido2.ErrPinAuthBlocked
	case C.FIDO_ERR_PIN_REQUIRED:
		return libfido2.ErrPinRequired
	case C.FIDO_ERR_OPERATION_DENIED:
		return libfido2.ErrOperationDenied
	case C.FIDO_ERR_KEEPALIVE_CANCEL:
		return libfido2.ErrKeepaliveCancel
	}
	return fmt.Errorf("%w: %s", libfido2.Error{Code: int(r)}, C.GoString(C.fido_strerr(r)))
}

// cOpt is libfido2's fido_opt_t for an option value.
func cOpt(v libfido2.OptionValue) C.fido_opt_t {
	switch v {
	case libfido2.True:
		return C.FIDO_OPT_TRUE
	case libfido2.False:
		return C.FIDO_OPT_FALSE
	}
	return C.FIDO_OPT_OMIT
}

// cBytes points C at b, which must not be retained past the call.
func cBytes(b []byte) (*C.uchar, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uchar)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// cString is s as a C string (nil for ""), to be released with free.
func cString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func free(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func goBytes(p *C.uchar, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// makeCredential runs authenticatorMakeCredential with each algorithm in
// turn until the key accepts one, returning go-libfido2's Attestation.
func (k *Key) makeCredential(ctx context.Context, hash []byte, opts RegistrationOptions, algs []int, pin string, uv libfido2.OptionValue, topts []TouchOption) (*libfido2.Attestation, error) {
	rk := libfido2.Default
	if opts.ResidentKey {
		rk = libfido2.True
	}
	rpID, rpName := cString(opts.RPID), cString(opts.RPName)
	name, display, cpin := cString(opts.UserName), cString(opts.UserDisplayName), cString(pin)
	defer func() { free(rpID); free(rpName); free(name); free(display); free(cpin) }()
	var usable []int
	for _, alg := range algs {
		if alg == AlgES256 || alg == AlgEdDSA || alg == AlgRS256 {
			usable = append(usable, alg)
		}
	}
	unsupported := fmt.Errorf("registering the key: %w: it offers none of the algorithms %v", ErrNotSupported, algs)
	if len(usable) == 0 {
		return nil, unsupported
	}
	var att *libfido2.Attestation
	err := k.touch(ctx, "registering the key", topts, func(dev *C.fido_dev_t) C.int {
		r := C.int(C.FIDO_ERR_UNSUPPORTED_ALGORITHM)
		for _, alg := range usable {
			cred := C.fido_cred_new()
			hp, hn := cBytes(hash)
			up, un := cBytes(opts.UserID)
			if r = C.fido_cred_set_type(cred, C.int(alg)); r == C.FIDO_OK {
				r = C.fido_cred_set_clientdata_hash(cred, hp, hn)
			}
			if r == C.FIDO_OK {
				r = C.fido_cred_set_rp(cred, rpID, rpName)
			}
			if r == C.FIDO_OK {
				r = C.fido_cred_set_user(cred, up, un, name, display, nil)
			}
			if r == C.FIDO_OK {
				r = C.fido_cred_set_rk(cred, cOpt(rk))
			}
			if r == C.FIDO_OK {
				r = C.fido_cred_set_uv(cred, cOpt(uv))
			}
			if r == C.FIDO_OK {
				r = C.fido_dev_make_cred(dev, cred, cpin)
			}
			if r == C.FIDO_OK {
				att = &libfido2.Attestation{
					AuthData:       goBytes(C.fido_cred_authdata_ptr(cred), C.fido_cred_authdata_len(cred)),
					CredentialID:   goBytes(C.fido_cred_id_ptr(cred), C.fido_cred_id_len(cred)),
					CredentialType: libfido2.CredentialType(C.fido_cred_type(cred)),
					Cert:           goBytes(C.fido_cred_x5c_ptr(cred), C.fido_cred_x5c_len(cred)),
					Sig:            goBytes(C.fido_cred_sig_ptr(cred), C.fido_cred_sig_len(cred)),
				}
				if f := C.fido_cred_fmt(cred); f != nil {
					att.Format = C.GoString(f)
				}
			}
			C.fido_cred_free(&cred)
			if r != C.FIDO_ERR_UNSUPPORTED_ALGORITHM {
				break
			}
		}
		return r
	})
	if isUnsupportedAlgorithm(err) {
		return nil, unsupported
	}
	return att, err
}

// getAssertion runs authenticatorGetAssertion and returns the first
// assertion, its authenticator data still CBOR-wrapped as libfido2 gives it.
func (k *Key) getAssertion(ctx context.Context, hash []byte, opts AssertionOptions, pin string, uv libfido2.OptionValue, topts []TouchOption) (*libfido2.Assertion, error) {
	rpID, cpin := cString(opts.RPID), cString(pin)
	defer func() { free(rpID); free(cpin) }()
	var a *libfido2.Assertion
	err := k.touch(ctx, "signing in", topts, func(dev *C.fido_dev_t) C.int {
		as := C.fido_assert_new()
		defer C.fido_assert_free(&as)
		hp, hn := cBytes(hash)
		r := C.fido_assert_set_rp(as, rpID)
		if r == C.FIDO_OK {
			r = C.fido_assert_set_clientdata_hash(as, hp, hn)
		}
		for _, id := range opts.AllowCredentials {
			if r == C.FIDO_OK {
				ip, in := cBytes(id)
				r = C.fido_assert_allow_cred(as, ip, in)
			}
		}
		if r == C.FIDO_OK {
			r = C.fido_assert_set_uv(as, cOpt(uv))
		}
		if r == C.FIDO_OK {
			r = C.fido_dev_get_assert(dev, as, cpin)
		}
		if r == C.FIDO_OK && C.fido_assert_count(as) == 0 {
			r = C.FIDO_ERR_NO_CREDENTIALS
		}
		if r == C.FIDO_OK {
			a = &libfido2.Assertion{
				AuthDataCBOR: goBytes(C.fido_assert_authdata_ptr(as, 0), C.fido_assert_authdata_len(as, 0)),
				Sig:          goBytes(C.fido_assert_sig_ptr(as, 0), C.fido_assert_sig_len(as, 0)),
				CredentialID: goBytes(C.fido_assert_id_ptr(as, 0), C.fido_assert_id_len(as, 0)),
				User:         libfido2.User{ID: goBytes(C.fido_assert_user_id_ptr(as, 0), C.fido_assert_user_id_len(as, 0))},
			}
		}
		return r
	})
	return a, err
}

// reset runs authenticatorReset.
func (k *Key) reset(ctx context.Context, topts []TouchOption) error {
	return k.touch(ctx, "resetting the key", topts, func(dev *C.fido_dev_t) C.int {
		return C.fido_dev_reset(dev)
	})
}
