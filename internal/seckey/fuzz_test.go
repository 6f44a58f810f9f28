package seckey

import (
	"bytes"
	"context"
	"testing"

	"github.com/countersign/countersign/internal/seckey/seckeytest"
)

// FuzzFinishLogin feeds arbitrary credential JSON, as a hostile browser or
// native client could send, to FinishLogin for a user with a registered key:
// it must never panic and never accept anything but a correct assertion. The
// seeds are a valid assertion and mangled copies of it.
func FuzzFinishLogin(f *testing.F) {
	fx := newFixture(f)
	a := seckeytest.New(f, testOrigin)
	fx.register(f, fx.alice, a, "Key")
	ctx := context.Background()
	_, opts, err := fx.svc.BeginLogin(ctx, fx.alice)
	if err != nil {
		f.Fatal(err)
	}
	valid := a.Get(f, opts, fx.alice.WebAuthnID)
	f.Add([]byte(valid))
	f.Add(bytes.Replace(valid, []byte(`"type":"public-key"`), []byte(`"type":"x"`), 1))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, credential []byte) {
		id, _, err := fx.svc.BeginLogin(ctx, fx.alice)
		if err != nil {
			t.Fatal(err)
		}
		// Any input not made for this very challenge must fail; the one made
		// for another challenge (the seed) fails too, on the challenge.
		if k, err := fx.svc.FinishLogin(ctx, fx.alice, id, credential); err == nil {
			t.Fatalf("accepted %q as key %v", credential, k)
		}
	})
}
