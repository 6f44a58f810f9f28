package vault

import (
	"fmt"
	"os"
	"testing"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
)

// realKeyring is testkit.Keyring for a benchmark that means the real
// Secret Service: it skips outside .ci/keyring-session (make bench runs it
// there).
func realKeyring(b *testing.B) testkit.Secrets {
	b.Helper()
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		b.Skip("needs a real Secret Service: run through make bench (.ci/keyring-session)")
	}
	return testkit.Keyring(b)
}

// countingKeys wraps a KeyStore and counts reads.
type countingKeys struct {
	KeyStore
	gets int
}

func (c *countingKeys) Get(name string) (string, error) {
	c.gets++
	return c.KeyStore.Get(name)
}

func benchmarkOpen(b *testing.B, keys KeyStore) {
	dir := b.TempDir()
	v := openTest(b, dir, keys)
	accounts := make([]Account, 1000)
	for i := range accounts {
		accounts[i] = Account{Key: otp.Key{Type: otp.TOTP, Issuer: fmt.Sprintf("Issuer %d", i), Name: fmt.Sprintf("user%d@example.com", i), Secret: []byte(fmt.Sprintf("secret-%014d", i))}, Tags: []string{"work"}}
	}
	if _, _, err := v.Add(accounts...); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		v, err := Open(dir, Options{Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		if len(v.accounts) != 1000 {
			b.Fatalf("got %d accounts", len(v.accounts))
		}
	}
}

// BenchmarkOpen1000 opens a 1,000-account vault with an in-memory key store:
// the cost beyond the keyring round trip.
func BenchmarkOpen1000(b *testing.B) { benchmarkOpen(b, &testkit.FakeKeyring{}) }

// BenchmarkOpen1000RealKeyring is the same with the Secret Service.
func BenchmarkOpen1000RealKeyring(b *testing.B) { benchmarkOpen(b, realKeyring(b)) }

// BenchmarkKeyringRead is one Secret Service read: the round trip that
// BenchmarkOpen1000RealKeyring adds to BenchmarkOpen1000.
func BenchmarkKeyringRead(b *testing.B) {
	kr := realKeyring(b)
	if err := kr.Set("bench", "value"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := kr.Get("bench"); err != nil {
			b.Fatal(err)
		}
	}
}
