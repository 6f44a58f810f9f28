//go:build cgo

package fido

import (
	"fmt"
	"testing"

	"github.com/countersign/countersign/internal/fido/softkey"
	"github.com/countersign/countersign/internal/fido/softkey/softkeytest"
)

// The WebAuthn round trips through go-libfido2 and libfido2 against the
// software key (automatic presence, no PIN), one ceremony per op: what
// Countersign itself adds to a key's own signing time.

func BenchmarkRegister(b *testing.B) {
	k := openSoftkey(b, softkeytest.Start(b, softkey.Options{}))
	for i := 0; b.Loop(); i++ {
		opts := touchTestRegistration(fmt.Sprint("bench ", i))
		opts.ResidentKey = false
		if _, err := k.Register(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAssert(b *testing.B) {
	k := openSoftkey(b, softkeytest.Start(b, softkey.Options{}))
	reg, err := k.Register(b.Context(), touchTestRegistration("bench"))
	if err != nil {
		b.Fatal(err)
	}
	opts := AssertionOptions{Origin: testOrigin, RPID: testRPID, Challenge: []byte("bench challenge"), AllowCredentials: [][]byte{reg.CredentialID}}
	for b.Loop() {
		if _, err := k.Assert(b.Context(), opts); err != nil {
			b.Fatal(err)
		}
	}
}
