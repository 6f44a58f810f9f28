//go:build linux

package softkey

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestFIDO2TokenFingerprints enrolls, lists, names and removes fingers with
// fido2-token, libfido2's own client of authenticatorBioEnrollment.
func TestFIDO2TokenFingerprints(t *testing.T) {
	token := needTool(t, "fido2-token")
	samples := make(chan SampleStatus, 8)
	k := startKey(t, Options{Fingerprint: &FingerprintSensor{Sample: SamplesFrom(samples), SamplesPerEnrollment: 3}})
	dev := k.Path()
	must := func(step string, pins []string, args ...string) string {
		t.Helper()
		out, screen, err := runTool(t, pins, token, args...)
		if err != nil {
			t.Fatalf("%s: %v\nterminal:\n%s", step, err, screen)
		}
		return out
	}
	if got := must("info", nil, "-I", dev); !strings.Contains(got, "nobioEnroll") {
		t.Errorf("fido2-token -I before enrolling: got\n%s\nwant the option nobioEnroll", got)
	}
	must("set PIN", []string{"1234", "1234"}, "-S", dev)
	for _, s := range []SampleStatus{SampleGood, SampleTooFast, SampleGood, SampleGood} {
		samples <- s
	}
	_, screen, err := runTool(t, []string{"1234"}, token, "-S", "-e", dev)
	if err != nil {
		t.Fatalf("fido2-token -S -e: %v\n%s", err, screen)
	}
	if got := k.Fingerprints(); len(got) != 1 {
		t.Fatalf("got %d fingers after fido2-token -S -e, want 1\nterminal:\n%s", len(got), screen)
	}
	id := base64.StdEncoding.EncodeToString([]byte{0, 1})
	if got := must("list", []string{"1234"}, "-L", "-e", dev); !strings.Contains(got, id) {
		t.Errorf("fido2-token -L -e: got %q, want the template %s", got, id)
	}
	must("name", []string{"1234"}, "-S", "-e", "-i", id, "-n", "left thumb", dev)
	if got := must("list", []string{"1234"}, "-L", "-e", dev); !strings.Contains(got, id+" left thumb") {
		t.Errorf("fido2-token -L -e after naming: got %q, want %s left thumb", got, id)
	}
	if got := must("info", nil, "-I", dev); !strings.Contains(got, " bioEnroll") {
		t.Errorf("fido2-token -I after enrolling: got\n%s\nwant the option bioEnroll", got)
	}
	must("remove", []string{"1234"}, "-D", "-e", "-i", id, dev)
	if got := k.Fingerprints(); len(got) != 0 {
		t.Errorf("got fingers %q after fido2-token -D -e, want none", got)
	}
}
