//go:build cgo

package fido

/*
#include <fido.h>
#include <fido/bio.h>
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"time"

	libfido2 "github.com/keys-pub/go-libfido2"
)

// sampleTimeout is how long the key waits for each touch of its sensor.
const sampleTimeout = 30 * time.Second

// ctap2ErrInvalidOption is CTAP2_ERR_INVALID_OPTION, the bio enrollment
// answer for "no fingers enrolled" and "no such template".
const ctap2ErrInvalidOption = 0x2c

// ctap2ErrKeyStoreFull is CTAP2_ERR_KEY_STORE_FULL.
const ctap2ErrKeyStoreFull = 0x28

func isInvalidOption(err error) bool {
	var code libfido2.Error
	return errors.Is(err, libfido2.ErrInvalidOption) || errors.As(err, &code) && code.Code == ctap2ErrInvalidOption
}

// checkSensor refuses keys without a fingerprint sensor before libfido2
// asks them for a PIN token they cannot give.
func (k *Key) checkSensor(what, pin string) error {
	if pin == "" {
		return fmt.Errorf("%s: %w", what, ErrPINRequired)
	}
	info, err := k.Info()
	if err != nil {
		return err
	}
	if _, ok := info.Options["bioEnroll"]; !ok {
		if _, ok := info.Options["userVerificationMgmtPreview"]; !ok {
			return fmt.Errorf("%s: %w: it has no fingerprint sensor", what, ErrNotSupported)
		}
	}
	return nil
}

// Fingerprints lists the fingers enrolled on a key with a sensor. It needs
// the PIN.
func (k *Key) Fingerprints(pin string) ([]Fingerprint, error) {
	if err := k.checkSensor("listing fingerprints", pin); err != nil {
		return nil, err
	}
	cpin := cString(pin)
	defer free(cpin)
	var out []Fingerprint
	err := k.touch(context.Background(), "listing fingerprints", nil, func(dev *C.fido_dev_t) C.int {
		ta := C.fido_bio_template_array_new()
		defer C.fido_bio_template_array_free(&ta)
		r := C.fido_bio_dev_get_template_array(dev, ta, cpin)
		if r != C.FIDO_OK {
			return r
		}
		for i := C.size_t(0); i < C.fido_bio_template_array_count(ta); i++ {
			t := C.fido_bio_template(ta, i)
			f := Fingerprint{ID: goBytes(C.fido_bio_template_id_ptr(t), C.fido_bio_template_id_len(t))}
			if n := C.fido_bio_template_name(t); n != nil {
				f.Name = C.GoString(n)
			}
			out = append(out, f)
		}
		return r
	})
	if isInvalidOption(err) {
		return []Fingerprint{}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EnrollFingerprint enrolls a finger, named name ("" for none), asking for
// touches until the key has the samples it needs. progress, if not nil, is
// called after each touch. Cancelling ctx cancels the enrollment on the
// key. It needs the PIN.
func (k *Key) EnrollFingerprint(ctx context.Context, pin, name string, progress func(EnrollProgress), topts ...TouchOption) (Fingerprint, error) {
	const what = "enrolling a fingerprint"
	if err := checkFingerprintName(name); err != nil {
		return Fingerprint{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := k.checkSensor(what, pin); err != nil {
		return Fingerprint{}, err
	}
	cpin := cString(pin)
	defer free(cpin)
	var f Fingerprint
	err := k.touch(ctx, what, topts, func(dev *C.fido_dev_t) C.int {
		t := C.fido_bio_template_new()
		defer C.fido_bio_template_free(&t)
		e := C.fido_bio_enroll_new()
		defer C.fido_bio_enroll_free(&e)
		ms := C.uint32_t(sampleTimeout.Milliseconds())
		r := C.fido_bio_dev_enroll_begin(dev, t, e, ms, cpin)
		for r == C.FIDO_OK {
			remaining := int(C.fido_bio_enroll_remaining_samples(e))
			if progress != nil {
				progress(EnrollProgress{Remaining: remaining, Last: SampleStatus(C.fido_bio_enroll_last_status(e))})
			}
			if remaining == 0 {
				break
			}
			r = C.fido_bio_dev_enroll_continue(dev, t, e, ms)
		}
		if r != C.FIDO_OK {
			if C.fido_bio_template_id_len(t) > 0 {
				C.fido_bio_dev_enroll_cancel(dev) // the key may still be enrolling
			}
			return r
		}
		f.ID = goBytes(C.fido_bio_template_id_ptr(t), C.fido_bio_template_id_len(t))
		return r
	})
	var code libfido2.Error
	if errors.As(err, &code) && code.Code == ctap2ErrKeyStoreFull {
		return Fingerprint{}, fmt.Errorf("%s: %w", what, ErrFingerprintsFull)
	}
	if err != nil {
		return Fingerprint{}, err
	}
	if name != "" {
		if err := k.RenameFingerprint(pin, f.ID, name); err != nil {
			return f, fmt.Errorf("%s: enrolled, but %w", what, err)
		}
		f.Name = name
	}
	return f, nil
}

// RenameFingerprint sets the friendly name of the finger with the id.
func (k *Key) RenameFingerprint(pin string, id []byte, name string) error {
	const what = "naming the fingerprint"
	if err := checkFingerprintName(name); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	cname := cString(name)
	defer free(cname)
	return k.templateOp(what, pin, id, func(dev *C.fido_dev_t, t *C.fido_bio_template_t, cpin *C.char) C.int {
		if r := C.fido_bio_template_set_name(t, cname); r != C.FIDO_OK {
			return r
		}
		return C.fido_bio_dev_set_template_name(dev, t, cpin)
	})
}

// DeleteFingerprint removes the finger with the id from the key.
func (k *Key) DeleteFingerprint(pin string, id []byte) error {
	return k.templateOp("deleting the fingerprint", pin, id, func(dev *C.fido_dev_t, t *C.fido_bio_template_t, cpin *C.char) C.int {
		return C.fido_bio_dev_enroll_remove(dev, t, cpin)
	})
}

// templateOp runs op on a template holding id.
func (k *Key) templateOp(what, pin string, id []byte, op func(*C.fido_dev_t, *C.fido_bio_template_t, *C.char) C.int) error {
	if len(id) == 0 {
		return fmt.Errorf("%s: no template id", what)
	}
	if err := k.checkSensor(what, pin); err != nil {
		return err
	}
	cpin := cString(pin)
	defer free(cpin)
	err := k.touch(context.Background(), what, nil, func(dev *C.fido_dev_t) C.int {
		t := C.fido_bio_template_new()
		defer C.fido_bio_template_free(&t)
		ip, in := cBytes(id)
		if r := C.fido_bio_template_set_id(t, ip, in); r != C.FIDO_OK {
			return r
		}
		return op(dev, t, cpin)
	})
	if isInvalidOption(err) {
		return fmt.Errorf("%s: %w", what, ErrNoFingerprint)
	}
	return err
}
