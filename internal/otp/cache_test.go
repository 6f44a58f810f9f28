package otp

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// testKeys returns n varied valid keys.
func testKeys(n int) []Key {
	keys := make([]Key, n)
	algorithms := []Algorithm{SHA1, SHA256, SHA512}
	for i := range keys {
		keys[i] = Key{
			Type:      TOTP,
			Issuer:    fmt.Sprint("Issuer ", i%7),
			Name:      fmt.Sprint("user", i),
			Secret:    []byte(fmt.Sprintf("secret-%013d", i)),
			Algorithm: algorithms[i%3],
			Digits:    6 + i%3,
			Period:    []int{30, 30, 60}[i%3],
		}
		switch i % 10 {
		case 8:
			keys[i].Type, keys[i].Period, keys[i].Counter = HOTP, 0, uint64(i)
		case 9:
			keys[i].Encoder = EncoderSteam
		}
	}
	return keys
}

func TestCodeCacheMatchesCode(t *testing.T) {
	var c CodeCache
	keys := testKeys(50)
	start := time.Unix(1700000000, 0)
	// Every second for three minutes: hits, misses at each step, and the
	// cache forgetting old entries.
	for s := range 180 {
		at := start.Add(time.Duration(s) * time.Second)
		for i, k := range keys {
			want, err := Code(k, at)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Code(k, at)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("key %d at %d: got %s, want %s", i, at.Unix(), got, want)
			}
		}
	}
	if n := len(c.cur) + len(c.prev); n > 4*len(keys) {
		t.Errorf("cache holds %d entries for %d keys, want it to forget old ones", n, len(keys))
	}
}

func TestCodeCacheKeyChanges(t *testing.T) {
	// Keys that differ in anything that changes the code must not share an entry.
	base := Key{Type: HOTP, Name: "a", Secret: []byte("12345678901234567890"), Counter: 1}
	edits := map[string]func(*Key){
		"base":      func(*Key) {},
		"secret":    func(k *Key) { k.Secret = []byte("12345678901234567891") },
		"counter":   func(k *Key) { k.Counter = 2 },
		"digits":    func(k *Key) { k.Digits = 8 },
		"algorithm": func(k *Key) { k.Algorithm = SHA256 },
		"steam":     func(k *Key) { k.Type, k.Encoder = TOTP, EncoderSteam },
	}
	var c CodeCache
	at := time.Unix(30, 0) // the TOTP time step 1, like Counter
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			k := base
			edit(&k)
			want, err := Code(k, at)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				got, err := c.Code(k, at)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("got %s, want %s", got, want)
				}
			}
		})
	}
}

func TestCodeCacheErrors(t *testing.T) {
	var c CodeCache
	if _, err := c.Code(Key{Type: TOTP, Name: "a"}, time.Unix(0, 0)); err != ErrMissingSecret {
		t.Errorf("got %v, want %v", err, ErrMissingSecret)
	}
	if _, err := c.Code(Key{Type: TOTP, Name: "a", Secret: []byte("x")}, time.Unix(-1, 0)); err != ErrBeforeEpoch {
		t.Errorf("got %v, want %v", err, ErrBeforeEpoch)
	}
}

func TestCodeCacheConcurrent(t *testing.T) {
	var c CodeCache
	keys := testKeys(20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range 100 {
				at := time.Unix(int64(1700000000+s*7+g), 0)
				for _, k := range keys {
					want, _ := Code(k, at)
					if got, err := c.Code(k, at); err != nil || got != want {
						t.Errorf("at %d: got %q, %v; want %q", at.Unix(), got, err, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkCodes1000 computes the codes of 1,000 TOTP accounts at one time,
// as a screen listing them does.
func BenchmarkCodes1000(b *testing.B) {
	keys := make([]Key, 1000)
	for i := range keys {
		keys[i] = Key{Type: TOTP, Issuer: "Example", Name: fmt.Sprint("user", i), Secret: []byte(fmt.Sprintf("secret-%013d", i))}
	}
	at := time.Unix(1700000000, 0)

	b.Run("Code", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range keys {
				if _, err := Code(k, at); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	// A refresh within the time step: every code comes from the cache.
	b.Run("CodeCache/same-step", func(b *testing.B) {
		var c CodeCache
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range keys {
				if _, err := c.Code(k, at); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	// The first refresh of each time step: every code is computed.
	b.Run("CodeCache/new-step", func(b *testing.B) {
		var c CodeCache
		t := at
		b.ReportAllocs()
		for b.Loop() {
			t = t.Add(30 * time.Second)
			for _, k := range keys {
				if _, err := c.Code(k, t); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
