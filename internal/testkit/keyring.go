package testkit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/keyring"
)

// Secrets is what a test's keyring offers: keyring.Keyring's methods, which
// vault.KeyStore and approver.Secrets ask for.
type Secrets interface {
	Get(name string) (string, error)
	Set(name, secret string) error
	Delete(name string) error
}

// Keyring returns the keyring a test should store its secrets in. Under
// .ci/keyring-session (COUNTERSIGN_TEST_KEYRING=secret-service, as make test
// runs) it is the real Secret Service, under a keyring service of this test's
// own whose items are deleted when the test ends; the test fails there if
// the Secret Service cannot be reached. Anywhere else it is a FakeKeyring.
//
// The real one is not a keyring.Keyring, so code that treats the production
// keyring specially (the command line's device keys) takes it as any other
// store.
func Keyring(tb testing.TB) Secrets {
	tb.Helper()
	switch v := os.Getenv("COUNTERSIGN_TEST_KEYRING"); v {
	case "":
		return &FakeKeyring{}
	case "secret-service":
	default:
		tb.Fatalf("COUNTERSIGN_TEST_KEYRING=%q: want secret-service or nothing", v)
	}
	var b [6]byte
	rand.Read(b[:])
	k := &realKeyring{
		kr:    keyring.New(fmt.Sprintf("countersign-test-%x-%s", b, strings.ReplaceAll(tb.Name(), "/", "-"))).WithTimeout(time.Minute),
		names: map[string]bool{},
	}
	if _, err := k.kr.Get("probe"); !errors.Is(err, keyring.ErrNotFound) {
		tb.Fatalf("COUNTERSIGN_TEST_KEYRING=secret-service, but the Secret Service does not answer: %v", err)
	}
	tb.Cleanup(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		for name := range k.names {
			if err := k.kr.Delete(name); err != nil && !errors.Is(err, keyring.ErrNotFound) {
				tb.Errorf("deleting the test's keyring item %s: %v", name, err)
			}
		}
	})
	return k
}

// realKeyring is a keyring.Keyring that remembers what was stored, to
// delete it after the test.
type realKeyring struct {
	kr    keyring.Keyring
	mu    sync.Mutex
	names map[string]bool
}

func (k *realKeyring) Get(name string) (string, error) { return k.kr.Get(name) }

func (k *realKeyring) Set(name, secret string) error {
	k.mu.Lock()
	k.names[name] = true
	k.mu.Unlock()
	return k.kr.Set(name, secret)
}

func (k *realKeyring) Delete(name string) error { return k.kr.Delete(name) }

// FakeKeyring is an in-memory keyring with keyring.Keyring's behaviour: Get
// and Delete of a missing item return keyring.ErrNotFound. Fail makes every
// call fail, as a locked or missing keyring would. It is safe for concurrent
// use; its zero value is empty and works.
type FakeKeyring struct {
	mu    sync.Mutex
	items map[string]string
	err   error
}

// Fail makes every later call return err; Fail(nil) heals the keyring.
func (k *FakeKeyring) Fail(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.err = err
}

// Get returns the item stored under name.
func (k *FakeKeyring) Get(name string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return "", k.err
	}
	s, ok := k.items[name]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return s, nil
}

// Set stores secret under name, replacing any item there.
func (k *FakeKeyring) Set(name, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	if k.items == nil {
		k.items = map[string]string{}
	}
	k.items[name] = secret
	return nil
}

// Delete removes the item stored under name.
func (k *FakeKeyring) Delete(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	if _, ok := k.items[name]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.items, name)
	return nil
}
