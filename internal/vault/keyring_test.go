package vault

import (
	"fmt"
	"os"
	"testing"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
)

// realKeyring returns the OS keyring when the test runs inside
// .ci/keyring-session (make test does that), and skips otherwise.
func realKeyring(tb testing.TB) keyring.Keyring {
	tb.Helper()
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		tb.Skip("needs a real Secret Service: run through make test (.ci/keyring-session)")
	}
	return keyring.New("countersign-test")
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

func TestRealKeyringRoundTrip(t *testing.T) {
	kr := realKeyring(t)
	dir := t.TempDir()
	v := openTest(t, dir, kr)
	if _, _, err := v.Add(account("GitHub", "alice"), account("GitLab", "bob")); err != nil {
		t.Fatalf("Add with the real keyring: %v", err)
	}
	keys := &countingKeys{KeyStore: kr}
	again := openTest(t, dir, keys)
	if n := len(again.Accounts()); n != 2 {
		t.Errorf("got %d accounts after reopening, want 2", n)
	}
	if keys.gets != 1 {
		t.Errorf("got %d keyring reads, want 1", keys.gets)
	}
	// The key really is in the Secret Service, under the documented name.
	if _, err := kr.Get(keyName(again.id)); err != nil {
		t.Errorf("vault key not found in the keyring: %v", err)
	}
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
func BenchmarkOpen1000(b *testing.B) { benchmarkOpen(b, newMemKeys()) }

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
