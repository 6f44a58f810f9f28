package softkey

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"
)

// SampleStatus is what the sensor made of one touch, as CTAP's
// lastEnrollSampleStatus names it.
type SampleStatus byte

// Sample statuses (CTAP 2.1 §6.7.2, CTAP2_ENROLL_FEEDBACK_FP_*).
const (
	SampleGood           SampleStatus = 0x00
	SampleTooHigh        SampleStatus = 0x01
	SampleTooLow         SampleStatus = 0x02
	SampleTooLeft        SampleStatus = 0x03
	SampleTooRight       SampleStatus = 0x04
	SampleTooFast        SampleStatus = 0x05
	SampleTooSlow        SampleStatus = 0x06
	SamplePoorQuality    SampleStatus = 0x07
	SampleTooSkewed      SampleStatus = 0x08
	SampleTooShort       SampleStatus = 0x09
	SampleMergeFailure   SampleStatus = 0x0a
	SampleExists         SampleStatus = 0x0b
	SampleNoUserActivity SampleStatus = 0x0d
)

// FingerprintSensor is a simulated fingerprint reader: each touch is a
// sample Sample decides. It has no fingers to match; a key with a sensor
// still verifies users only by PIN.
type FingerprintSensor struct {
	// Sample waits for a touch and says how good the sample was. It returns
	// ctx's error when the platform cancels or the capture times out.
	Sample func(ctx context.Context) (SampleStatus, error)
	// SamplesPerEnrollment is the number of good samples an enrollment
	// needs; zero means 4.
	SamplesPerEnrollment int
	// MaxTemplates is the number of fingers the key holds; zero means 5.
	MaxTemplates int
}

// GoodSamples is a sensor touched well every time, at once.
func GoodSamples(context.Context) (SampleStatus, error) { return SampleGood, nil }

// SamplesFrom takes each touch's status from samples, waiting for one.
func SamplesFrom(samples <-chan SampleStatus) func(context.Context) (SampleStatus, error) {
	return func(ctx context.Context) (SampleStatus, error) {
		select {
		case s := <-samples:
			return s, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// fingerprint is an enrolled template.
type fingerprint struct {
	ID   []byte `json:"id"`
	Name string `json:"name,omitempty"`
}

type enrollment struct {
	id        []byte
	remaining int
}

// authenticatorBioEnrollment subcommands and parameters.
const (
	bioEnrollBegin        = 0x01
	bioEnrollCaptureNext  = 0x02
	bioCancelEnrollment   = 0x03
	bioEnumerate          = 0x04
	bioSetFriendlyName    = 0x05
	bioRemoveEnrollment   = 0x06
	bioGetSensorInfo      = 0x07
	modalityFingerprint   = 0x01
	fingerprintKindTouch  = 0x01
	maxFriendlyNameBytes  = 64
	defaultCaptureTimeout = 30 * time.Second
)

func (k *Key) bioEnroll(ctx context.Context, p params) (any, error) {
	var getModality bool
	if _, err := p.get(6, &getModality); err != nil {
		return nil, err
	}
	if getModality {
		return map[int]any{1: modalityFingerprint}, nil
	}
	var modality, sub, protoVer uint64
	if err := p.need(1, &modality); err != nil {
		return nil, err
	}
	if modality != modalityFingerprint {
		return nil, errInvalidParameter
	}
	if err := p.need(2, &sub); err != nil {
		return nil, err
	}
	rawSub := []byte(p[3])
	sp, err := parseParams(rawSub)
	if err != nil {
		return nil, err
	}
	var pinParam []byte
	hasProto, err := p.get(4, &protoVer)
	if err != nil {
		return nil, err
	}
	hasParam, err := p.get(5, &pinParam)
	if err != nil {
		return nil, err
	}
	// authorize checks pinUvAuthParam over modality || subCommand ||
	// subCommandParams.
	authorize := func() error {
		if !hasParam {
			return errPUATRequired
		}
		if !hasProto {
			return errMissingParameter
		}
		msg := append([]byte{byte(modality), byte(sub)}, rawSub...)
		return k.checkPinUvAuth(protoVer, pinParam, msg, permBioEnroll, "")
	}
	var id []byte
	if _, err := sp.get(1, &id); err != nil {
		return nil, err
	}
	timeout := defaultCaptureTimeout
	var ms uint64
	if ok, err := sp.get(3, &ms); err != nil {
		return nil, err
	} else if ok && ms > 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	sensor := k.opts.Fingerprint

	switch sub {
	case bioGetSensorInfo:
		return map[int]any{1: modalityFingerprint, 2: fingerprintKindTouch, 3: sensor.SamplesPerEnrollment, 8: maxFriendlyNameBytes}, nil

	case bioCancelEnrollment:
		k.enrolling = nil
		return nil, nil

	case bioEnrollBegin:
		if err := authorize(); err != nil {
			return nil, err
		}
		if len(k.st.Fingerprints) >= sensor.MaxTemplates {
			return nil, errKeyStoreFull
		}
		e := &enrollment{id: k.newTemplateID(), remaining: sensor.SamplesPerEnrollment}
		k.enrolling = e
		status, err := k.capture(ctx, e, timeout)
		if err != nil {
			return nil, err
		}
		return map[int]any{4: e.id, 5: byte(status), 6: e.remaining}, nil

	case bioEnrollCaptureNext:
		if err := authorize(); err != nil {
			return nil, err
		}
		e := k.enrolling
		if e == nil {
			return nil, errInvalidOption
		}
		if id == nil {
			return nil, errMissingParameter
		}
		if !bytes.Equal(id, e.id) {
			return nil, errInvalidParameter
		}
		status, err := k.capture(ctx, e, timeout)
		if err != nil {
			return nil, err
		}
		return map[int]any{5: byte(status), 6: e.remaining}, nil

	case bioEnumerate:
		if err := authorize(); err != nil {
			return nil, err
		}
		if len(k.st.Fingerprints) == 0 {
			return nil, errInvalidOption
		}
		infos := make([]map[int]any, 0, len(k.st.Fingerprints))
		for _, f := range k.st.Fingerprints {
			info := map[int]any{1: f.ID}
			if f.Name != "" {
				info[2] = f.Name
			}
			infos = append(infos, info)
		}
		return map[int]any{7: infos}, nil

	case bioSetFriendlyName:
		if err := authorize(); err != nil {
			return nil, err
		}
		var name string
		if id == nil {
			return nil, errMissingParameter
		}
		if err := sp.need(2, &name); err != nil {
			return nil, err
		}
		if len(name) > maxFriendlyNameBytes {
			return nil, errInvalidParameter
		}
		f := k.template(id)
		if f == nil {
			return nil, errInvalidOption
		}
		f.Name = name
		return nil, nil

	case bioRemoveEnrollment:
		if err := authorize(); err != nil {
			return nil, err
		}
		if id == nil {
			return nil, errMissingParameter
		}
		n := len(k.st.Fingerprints)
		k.st.Fingerprints = slices.DeleteFunc(k.st.Fingerprints, func(f *fingerprint) bool { return bytes.Equal(f.ID, id) })
		if len(k.st.Fingerprints) == n {
			return nil, errInvalidOption
		}
		return nil, nil
	}
	return nil, errInvalidSubcommand
}

// capture takes one sample for enrollment e with k.mu released; a good
// one brings e closer to done, and the last one stores the template.
func (k *Key) capture(ctx context.Context, e *enrollment, timeout time.Duration) (SampleStatus, error) {
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	k.waitingUP.Store(true)
	k.mu.Unlock()
	status, err := k.opts.Fingerprint.Sample(tctx)
	k.mu.Lock()
	k.waitingUP.Store(false)
	switch {
	case ctx.Err() != nil:
		return 0, errKeepaliveCancel
	case errors.Is(err, context.DeadlineExceeded):
		return 0, errUserActionTimeout
	case err != nil:
		return 0, errOther
	case k.enrolling != e:
		return 0, errKeepaliveCancel // cancelled or replugged meanwhile
	}
	if status == SampleGood {
		e.remaining--
	}
	if e.remaining == 0 {
		k.enrolling = nil
		k.st.Fingerprints = append(k.st.Fingerprints, &fingerprint{ID: e.id})
	}
	return status, nil
}

// newTemplateID is a two-byte id no enrolled finger has.
func (k *Key) newTemplateID() []byte {
	for n := 1; ; n++ {
		id := []byte{byte(n >> 8), byte(n)}
		if k.template(id) == nil {
			return id
		}
	}
}

func (k *Key) template(id []byte) *fingerprint {
	for _, f := range k.st.Fingerprints {
		if bytes.Equal(f.ID, id) {
			return f
		}
	}
	return nil
}

// Fingerprints are the friendly names of the enrolled fingers, oldest first
// ("" for one without a name).
func (k *Key) Fingerprints() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	names := make([]string, 0, len(k.st.Fingerprints))
	for _, f := range k.st.Fingerprints {
		names = append(names, f.Name)
	}
	return names
}
