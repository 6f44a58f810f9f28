package softkey

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// FuzzCBORRequest feeds arbitrary CTAP2 requests (command byte and CBOR
// parameters) to a key: it must always answer with a status byte, and a
// success must carry well-formed CBOR.
func FuzzCBORRequest(f *testing.F) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	b := priv.PublicKey().Bytes()
	platformKey := map[int]any{1: 2, 3: -25, -1: 1, -2: b[1:33], -3: b[33:]}
	h := make([]byte, 32)
	seeds := []struct {
		cmd byte
		req map[int]any
	}{
		{cmdGetInfo, nil},
		{cmdMakeCredential, makeCredReq("example.org", 1, false)},
		{cmdMakeCredential, makeCredReq("example.org", 2, true)},
		{cmdGetAssertion, map[int]any{1: "example.org", 2: testCDH}},
		{cmdGetAssertion, map[int]any{1: "example.org", 2: testCDH, 3: []map[string]any{{"type": "public-key", "id": make([]byte, 61)}}, 5: map[string]bool{"up": false}}},
		{cmdMakeCredential, func() map[int]any {
			r := makeCredReq("example.org", 3, false)
			r[6] = map[string]any{"hmac-secret": true}
			return r
		}()},
		{cmdGetAssertion, map[int]any{1: "example.org", 2: testCDH, 4: map[string]any{"hmac-secret": map[int]any{1: platformKey, 2: make([]byte, 48), 3: make([]byte, 32), 4: 2}}}},
		{cmdGetNextAssertion, nil},
		{cmdClientPIN, map[int]any{1: 2, 2: 1}},
		{cmdClientPIN, map[int]any{1: 1, 2: 2}},
		{cmdClientPIN, map[int]any{1: 2, 2: 3, 3: platformKey, 4: make([]byte, 32), 5: make([]byte, 80)}},
		{cmdClientPIN, map[int]any{1: 1, 2: 4, 3: platformKey, 4: make([]byte, 16), 5: make([]byte, 64), 6: make([]byte, 16)}},
		{cmdClientPIN, map[int]any{1: 2, 2: 9, 3: platformKey, 6: make([]byte, 32), 9: 3, 10: "example.org"}},
		{cmdCredMgmt, map[int]any{1: 1, 3: 2, 4: make([]byte, 32)}},
		{cmdCredMgmt, map[int]any{1: 4, 2: map[int]any{1: h}, 3: 2, 4: make([]byte, 32)}},
		{cmdCredMgmt, map[int]any{1: 6, 2: map[int]any{2: map[string]any{"type": "public-key", "id": h}}, 3: 2, 4: make([]byte, 32)}},
		{cmdReset, nil},
	}
	for _, s := range seeds {
		msg := []byte{s.cmd}
		if s.req != nil {
			msg = append(msg, mustMarshal(s.req)...)
		}
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		k, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		resp := k.handle(context.Background(), req)
		if len(resp) == 0 {
			t.Fatal("empty response")
		}
		if resp[0] == byte(statusOK) && len(resp) > 1 {
			var m map[int]any
			if err := cbor.Unmarshal(resp[1:], &m); err != nil {
				t.Fatalf("success response is not a CBOR map: %v", err)
			}
		}
		if resp[0] != byte(statusOK) && len(resp) != 1 {
			t.Fatalf("error 0x%02x carries %d bytes of data", resp[0], len(resp)-1)
		}
	})
}
