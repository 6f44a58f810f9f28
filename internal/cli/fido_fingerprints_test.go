//go:build cgo

package cli

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

func TestFidoFingerprints(t *testing.T) {
	samples := make(chan softkey.SampleStatus, 8)
	sk, err := softkey.New(softkey.Options{Fingerprint: &softkey.FingerprintSensor{Sample: softkey.SamplesFrom(samples)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Start(); err != nil {
		if os.Getenv("COUNTERSIGN_TEST_FIDO") == "1" {
			t.Fatalf("starting a software key: %v", err)
		}
		t.Skipf("no software key (%v)", err)
	}
	t.Cleanup(func() { sk.Close() })
	k, err := fido.Open(sk.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetPIN("1234"); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	dev, pin := sk.Path(), pinFile(t, "1234")
	fp := func(args ...string) (string, string, error) {
		return h.run("", append([]string{"fido", "fingerprints"}, append(args, "--device", dev, "--pin-file", pin)...)...)
	}

	if out, stderr, err := fp("list"); err != nil || out != "" || !strings.Contains(stderr, "no fingerprints") {
		t.Errorf("list on an empty key: got %q, %q, %v; want nothing on stdout and a note on stderr", out, stderr, err)
	}
	for _, s := range []softkey.SampleStatus{softkey.SampleTooHigh, softkey.SampleGood, softkey.SampleGood, softkey.SampleGood, softkey.SampleGood} {
		samples <- s
	}
	out, stderr, err := fp("enroll", "--name", "left thumb")
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, stderr)
	}
	id := strings.TrimSpace(out)
	for _, want := range []string{"touch the key's sensor", "too high: place the finger lower (4 more)", "good; touch the sensor again (1 more)", "fingerprint enrolled"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("enroll stderr: got %q, want it to say %q", stderr, want)
		}
	}
	if id != "0001" {
		t.Errorf("enroll: got id %q on stdout, want 0001", id)
	}

	if _, stderr, err := fp("rename", id, "right thumb"); err != nil {
		t.Fatalf("rename: %v\n%s", err, stderr)
	}
	out, _, err = fp("list", "--json")
	var got []fingerprintJSON
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 1 || got[0] != (fingerprintJSON{ID: id, Name: "right thumb"}) {
		t.Errorf("list --json: got %q, %v; want %s right thumb", out, err, id)
	}
	if out, _, _ := fp("list"); !strings.Contains(out, "ID") || !strings.Contains(out, id+"  right thumb") {
		t.Errorf("list: got %q, want a table with %s right thumb", out, id)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"delete", []string{"delete", id}, ""},
		{"delete twice", []string{"delete", id}, "no such fingerprint"},
		{"bad id", []string{"delete", "xyz"}, "not a fingerprint id"},
		{"no name", []string{"rename", id}, "takes a fingerprint id and a name"},
		{"unknown", []string{"wipe"}, "unknown fido fingerprints subcommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := fp(tt.args...)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(sk.Fingerprints()); n != 0 {
		t.Errorf("got %d fingers on the key after delete, want 0", n)
	}
	if _, _, err := h.run("", "fido", "fingerprints"); !errors.Is(err, ErrUsage) {
		t.Errorf("fingerprints without a subcommand: got %v, want a usage error", err)
	}
}

func TestFidoFingerprintsWithoutSensor(t *testing.T) {
	sk := softkeytest.Start(t, softkey.Options{})
	h := newHarness(t)
	pin := pinFile(t, "1234")
	h.mustRun("fido", "set-pin", "--device", sk.Path(), "--pin-file", pin)
	_, _, err := h.run("", "fido", "fingerprints", "list", "--device", sk.Path(), "--pin-file", pin)
	if err == nil || !strings.Contains(err.Error(), "no fingerprint sensor") {
		t.Errorf("got %v, want it to say the key has no fingerprint sensor", err)
	}
}
