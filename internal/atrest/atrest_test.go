package atrest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := NewKey(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKey(bytes.Repeat([]byte{8}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("JBSWY3DPEHPK3PXP")
	sealed, err := k.Seal(rand.Reader, secret, "methods.secret", "m1", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value holds the plaintext")
	}
	got, err := k.Open(sealed, "methods.secret", "m1", "u1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	for _, tc := range []struct {
		name   string
		key    *Key
		sealed []byte
		place  []string
		want   error
	}{
		{"another row", k, sealed, []string{"methods.secret", "m2", "u1"}, ErrTampered},
		{"another account", k, sealed, []string{"methods.secret", "m1", "u2"}, ErrTampered},
		{"another column", k, sealed, []string{"settings.value", "m1", "u1"}, ErrTampered},
		{"parts run together", k, sealed, []string{"methods.secret", "m1u1"}, ErrTampered},
		{"another key", other, sealed, []string{"methods.secret", "m1", "u1"}, ErrOtherKey},
		{"a flipped bit", k, flip(sealed, len(sealed)-1), []string{"methods.secret", "m1", "u1"}, ErrTampered},
		{"plaintext", k, secret, []string{"methods.secret", "m1", "u1"}, ErrNotSealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.key.Open(tc.sealed, tc.place...); !errors.Is(err, tc.want) {
				t.Errorf("Open: got %v, want %v", err, tc.want)
			}
		})
	}
	again, _ := k.Seal(rand.Reader, secret, "methods.secret", "m1", "u1")
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	k, err := CreateKeyFile(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	loaded, err := LoadKeyFile(path)
	if err != nil || loaded.ID() != k.ID() {
		t.Fatalf("LoadKeyFile = %v, %v; want the key written (id %s)", loaded, err, k.ID())
	}
	if _, err := CreateKeyFile(path, rand.Reader); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateKeyFile over an existing key: got %v, want fs.ErrExist (a key is never replaced)", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), "not base64 at all, but 44 characters long!!"} {
		if _, err := ParseKey([]byte(bad)); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("ParseKey(%q): got %v, want an error saying how to make a key", bad, err)
		}
	}
}
