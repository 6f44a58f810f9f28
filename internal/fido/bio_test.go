//go:build cgo

package fido

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// startSensorKey serves a key with a fingerprint sensor whose touches come
// from the returned channel, and a PIN 1234.
func startSensorKey(t *testing.T) (*softkey.Key, *Key, chan softkey.SampleStatus) {
	t.Helper()
	samples := make(chan softkey.SampleStatus, 16)
	sk := softkeytest.Start(t, softkey.Options{Fingerprint: &softkey.FingerprintSensor{
		Sample: softkey.SamplesFrom(samples), SamplesPerEnrollment: 3, MaxTemplates: 2,
	}})
	k := openSoftkey(t, sk)
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	return sk, k, samples
}

func TestEnrollFingerprintProgress(t *testing.T) {
	tests := []struct {
		name    string
		samples []softkey.SampleStatus
		want    []EnrollProgress
	}{
		{"all good", []softkey.SampleStatus{softkey.SampleGood, softkey.SampleGood, softkey.SampleGood},
			[]EnrollProgress{{2, SampleGood}, {1, SampleGood}, {0, SampleGood}}},
		{"bad first", []softkey.SampleStatus{softkey.SampleTooHigh, softkey.SampleGood, softkey.SamplePoorQuality, softkey.SampleGood, softkey.SampleGood},
			[]EnrollProgress{{3, 1}, {2, SampleGood}, {2, 7}, {1, SampleGood}, {0, SampleGood}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, k, samples := startSensorKey(t)
			for _, s := range tt.samples {
				samples <- s
			}
			var got []EnrollProgress
			touched := 0
			f, err := k.EnrollFingerprint(t.Context(), "1234", "left thumb", func(p EnrollProgress) { got = append(got, p) },
				OnTouch(func() { touched++ }))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got progress %v, want %v", got, tt.want)
			}
			if len(f.ID) == 0 || f.Name != "left thumb" || touched != 1 {
				t.Errorf("got %+v after %d touch prompts, want an id, the name left thumb, 1 prompt", f, touched)
			}
			if names := sk.Fingerprints(); !slices.Equal(names, []string{"left thumb"}) {
				t.Errorf("got fingers %q on the key, want [left thumb]", names)
			}
		})
	}
}

func TestFingerprintsListRenameDelete(t *testing.T) {
	_, k, samples := startSensorKey(t)
	info, err := k.Info()
	if err != nil {
		t.Fatal(err)
	}
	if enrolled, ok := info.Options["bioEnroll"]; !ok || enrolled {
		t.Errorf("got bioEnroll %v (present %v) before enrolling, want present and false", enrolled, ok)
	}
	if got, err := k.Fingerprints("1234"); err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v on a key with no fingers, want none", got, err)
	}
	var ids [][]byte
	for _, name := range []string{"", "right index"} {
		for range 3 {
			samples <- softkey.SampleGood
		}
		f, err := k.EnrollFingerprint(t.Context(), "1234", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if info, err := k.Info(); err != nil || !info.Options["bioEnroll"] {
		t.Errorf("got bioEnroll %v, %v after enrolling, want true", info.Options["bioEnroll"], err)
	}
	samples <- softkey.SampleGood
	if _, err := k.EnrollFingerprint(t.Context(), "1234", "", nil); !errors.Is(err, ErrFingerprintsFull) {
		t.Errorf("a third finger on a key holding two: got %v, want ErrFingerprintsFull", err)
	}
	<-samples // the sample the full key did not take

	if err := k.RenameFingerprint("1234", ids[0], "left thumb"); err != nil {
		t.Fatal(err)
	}
	got, err := k.Fingerprints("1234")
	want := []Fingerprint{{ids[0], "left thumb"}, {ids[1], "right index"}}
	if err != nil || !slices.EqualFunc(got, want, func(a, b Fingerprint) bool { return string(a.ID) == string(b.ID) && a.Name == b.Name }) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	if err := k.DeleteFingerprint("1234", ids[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Fingerprints("1234"); err != nil || len(got) != 1 || got[0].Name != "right index" {
		t.Errorf("got %v, %v after deleting, want right index alone", got, err)
	}

	errs := []struct {
		name string
		err  error
		want error
	}{
		{"delete twice", k.DeleteFingerprint("1234", ids[0]), ErrNoFingerprint},
		{"rename missing", k.RenameFingerprint("1234", []byte{9, 9}, "x"), ErrNoFingerprint},
		{"wrong PIN", k.DeleteFingerprint("0000", ids[1]), ErrWrongPIN},
		{"no PIN", func() error { _, err := k.Fingerprints(""); return err }(), ErrPINRequired},
	}
	for _, tt := range errs {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	var wrong *WrongPINError
	if err := k.RenameFingerprint("0000", ids[1], "x"); !errors.As(err, &wrong) || wrong.Retries != 6 {
		t.Errorf("second wrong PIN: got %v, want a wrong PIN with 6 tries left", err)
	}
	long := string(make([]byte, MaxFingerprintName+1))
	if err := k.RenameFingerprint("1234", ids[1], long); err == nil {
		t.Error("got no error for a 65-byte name, want one")
	}
}

func TestEnrollFingerprintCancelled(t *testing.T) {
	sk, k, samples := startSensorKey(t)
	samples <- softkey.SampleGood // the first touch, then none
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	var got []EnrollProgress
	start := time.Now()
	_, err := k.EnrollFingerprint(ctx, "1234", "", func(p EnrollProgress) { got = append(got, p) })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v, want < 2 s", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Errorf("got %v, want a touch timeout wrapping context.DeadlineExceeded", err)
	}
	if !slices.Equal(got, []EnrollProgress{{2, SampleGood}}) || len(sk.Fingerprints()) != 0 {
		t.Errorf("got progress %v and fingers %q, want one good sample and no finger", got, sk.Fingerprints())
	}
	for range 3 {
		samples <- softkey.SampleGood
	}
	if _, err := k.EnrollFingerprint(t.Context(), "1234", "after", nil); err != nil {
		t.Errorf("enrolling after a cancelled enrollment: got %v, want success", err)
	}
}

func TestFingerprintsWithoutSensor(t *testing.T) {
	k := openSoftkey(t, softkeytest.Start(t, softkey.Options{}))
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	info, err := k.Info()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Options["bioEnroll"]; ok {
		t.Errorf("got options %v, want no bioEnroll on a key without a sensor", info.Options)
	}
	if _, err := k.Fingerprints("1234"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("got %v, want ErrNotSupported", err)
	}
}
