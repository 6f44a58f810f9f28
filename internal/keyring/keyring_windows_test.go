package keyring

import (
	"errors"
	"strings"
	"testing"
)

// TestCredentialManager stores, reads, replaces and deletes an item in the
// real Windows Credential Manager (Wine's, under make test) through
// go-keyring's wincred backend.
func TestCredentialManager(t *testing.T) {
	k := New("countersign-keyring-test")
	t.Cleanup(func() { k.Delete("item") })
	k.Delete("item")
	if _, err := k.Get("item"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing item: got %v, want ErrNotFound", err)
	}
	for _, v := range []string{"first", "second, a little longer"} {
		if err := k.Set("item", v); err != nil {
			t.Fatalf("Set: %v", err)
		}
		if got, err := k.Get("item"); err != nil || got != v {
			t.Fatalf("Get = %q, %v; want %q", got, err, v)
		}
	}
	if err := k.Delete("item"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := k.Get("item"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
	if err := k.Delete("item"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a missing item: got %v, want ErrNotFound", err)
	}
}

// TestCredentialManagerRefusal has the Credential Manager refuse an item
// whose name is longer than it takes (CRED_MAX_GENERIC_TARGET_NAME_LENGTH
// is 32767), and reads what Countersign says of it.
func TestCredentialManagerRefusal(t *testing.T) {
	k := New("countersign-keyring-test")
	err := k.Set(strings.Repeat("n", 40000), "secret")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "Windows Credential Manager") ||
		!strings.Contains(err.Error(), "Control Panel") {
		t.Errorf("got %v, want ErrUnavailable naming the Credential Manager and what to check", err)
	}
	t.Log(err)
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the secret: %v", err)
	}
}
