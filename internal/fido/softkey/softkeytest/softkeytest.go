// Package softkeytest starts software FIDO2 keys for tests: one fresh key
// on its own pty per call, closed when the test ends. It is imported only by
// tests.
package softkeytest

import (
	"os"
	"testing"

	"github.com/countersign/countersign/internal/fido/softkey"
)

// Start serves a software key with opts for the test. Where no pty can be
// had the test skips, unless COUNTERSIGN_TEST_FIDO=1 (make test sets it)
// says this machine must manage, and then it fails.
func Start(t testing.TB, opts softkey.Options) *softkey.Key {
	t.Helper()
	sk, err := softkey.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sk.Start(); err != nil {
		if os.Getenv("COUNTERSIGN_TEST_FIDO") == "1" {
			t.Fatalf("starting a software key: %v", err)
		}
		t.Skipf("no software key (%v); set COUNTERSIGN_TEST_FIDO=1 to fail instead", err)
	}
	t.Cleanup(func() { sk.Close() })
	return sk
}
