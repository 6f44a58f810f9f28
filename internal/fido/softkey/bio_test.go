package softkey

import (
	"context"
	"testing"
)

// TestBioEnrollRequests drives authenticatorBioEnrollment directly, for the
// answers libfido2 does not ask for (getModality, sensor info, a key
// without a sensor, both command numbers).
func TestBioEnrollRequests(t *testing.T) {
	withSensor, err := New(Options{Fingerprint: &FingerprintSensor{Sample: GoodSamples, SamplesPerEnrollment: 2}})
	if err != nil {
		t.Fatal(err)
	}
	without, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		key    *Key
		req    []byte
		status Status
		want   map[int]any
	}{
		{"getModality", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{6: true})...), statusOK, map[int]any{1: 1}},
		{"sensor info", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 1, 2: bioGetSensorInfo})...), statusOK,
			map[int]any{1: 1, 2: 1, 3: 2, 8: 64}},
		{"sensor info, preview", withSensor, append([]byte{cmdBioEnrollPreview}, mustMarshal(map[int]any{1: 1, 2: bioGetSensorInfo})...), statusOK,
			map[int]any{1: 1, 2: 1, 3: 2, 8: 64}},
		{"cancel with nothing to cancel", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 1, 2: bioCancelEnrollment})...), statusOK, nil},
		{"enroll without a PIN token", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 1, 2: bioEnrollBegin})...), errPUATRequired, nil},
		{"other modality", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 2, 2: bioGetSensorInfo})...), errInvalidParameter, nil},
		{"unknown subcommand", withSensor, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 1, 2: 0x20})...), errInvalidSubcommand, nil},
		{"no sensor", without, append([]byte{cmdBioEnroll}, mustMarshal(map[int]any{1: 1, 2: bioGetSensorInfo})...), errInvalidCommand, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.key.handle(context.Background(), tt.req)
			if got := Status(resp[0]); got != tt.status {
				t.Fatalf("got status %#x, want %#x", got, tt.status)
			}
			if tt.want == nil {
				if len(resp) != 1 {
					t.Errorf("got a body %x, want none", resp[1:])
				}
				return
			}
			var got map[int]int
			if err := decMode.Unmarshal(resp[1:], &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("got %d: %v, want %v (response %v)", k, got[k], v, got)
				}
			}
		})
	}
}
