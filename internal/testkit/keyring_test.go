package testkit

import (
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/countersign/countersign/internal/keyring"
)

// checkKeyring walks the keyring.Keyring behaviour the tests rely on.
func checkKeyring(t *testing.T, k Secrets) {
	t.Helper()
	if _, err := k.Get("item"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Get of a missing item: got %v, want ErrNotFound", err)
	}
	if err := k.Delete("item"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Delete of a missing item: got %v, want ErrNotFound", err)
	}
	for _, v := range []string{"first", "second"} {
		if err := k.Set("item", v); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if got, err := k.Get("item"); err != nil || got != v {
			t.Errorf("Get = %q, %v; want %q", got, err, v)
		}
	}
	if err := k.Delete("item"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := k.Get("item"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
}

func TestFakeKeyring(t *testing.T) {
	k := &FakeKeyring{}
	checkKeyring(t, k)

	k.Set("kept", "v")
	locked := errors.New("the keyring is locked")
	k.Fail(locked)
	if _, err := k.Get("kept"); err != locked {
		t.Errorf("Get while failing: got %v, want %v", err, locked)
	}
	if err := k.Set("x", "y"); err != locked {
		t.Errorf("Set while failing: got %v, want %v", err, locked)
	}
	if err := k.Delete("kept"); err != locked {
		t.Errorf("Delete while failing: got %v, want %v", err, locked)
	}
	k.Fail(nil)
	if got, err := k.Get("kept"); err != nil || got != "v" {
		t.Errorf("Get after healing = %q, %v; want v", got, err)
	}
	if _, err := k.Get("x"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("a Set that failed stored its item: %v", err)
	}

	var wg sync.WaitGroup // for the race detector
	for _, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			k.Set(name, name)
			k.Get(name)
			k.Delete(name)
		})
	}
	wg.Wait()
}

func TestKeyring(t *testing.T) {
	var k Secrets
	t.Run("use", func(t *testing.T) {
		k = Keyring(t)
		real := os.Getenv("COUNTERSIGN_TEST_KEYRING") == "secret-service"
		if _, fake := k.(*FakeKeyring); fake == real {
			t.Fatalf("Keyring is %T with COUNTERSIGN_TEST_KEYRING=%q", k, os.Getenv("COUNTERSIGN_TEST_KEYRING"))
		}
		checkKeyring(t, k)
		if err := k.Set("left behind", "v"); err != nil {
			t.Fatal(err)
		}
		if other := Keyring(t); other.Set("left behind", "w") != nil {
			t.Fatal("Set in a second keyring failed")
		}
		if got, err := k.Get("left behind"); err != nil || got != "v" {
			t.Errorf("two keyrings of one test share items: Get = %q, %v; want v", got, err)
		}
	})
	if _, real := k.(*realKeyring); real {
		if _, err := k.Get("left behind"); !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("an item outlived its test: Get = %v, want ErrNotFound", err)
		}
	}
}
