package sealed

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"filippo.io/edwards25519"

	"golang.org/x/crypto/curve25519"
)

func TestSealOpen(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"uri":"otpauth://totp/Countersign:demo?secret=JBSWY3DPEHPK3PXP"}`)
	box, err := Seal(rand.Reader, pub, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(box) != len(msg)+Overhead || bytes.Contains(box, msg[10:30]) {
		t.Fatalf("sealed message of %d bytes, want %d, without the plaintext", len(box), len(msg)+Overhead)
	}
	got, err := Open(priv, box)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Open = %q, %v", got, err)
	}

	_, other, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Open(other, box); !errors.Is(err, ErrOpen) {
		t.Fatalf("another key opened it: %v", err)
	}
	box[len(box)-1] ^= 1
	if _, err := Open(priv, box); !errors.Is(err, ErrOpen) {
		t.Fatalf("an altered message opened: %v", err)
	}
}

// The two conversions agree: the X25519 public key of the converted
// private scalar is the converted public key.
func TestConversionsAgree(t *testing.T) {
	for range 20 {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		xpub, err := publicX25519(pub)
		if err != nil {
			t.Fatal(err)
		}
		derived, err := curve25519.X25519(privateX25519(priv)[:], curve25519.Basepoint)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(derived, xpub[:]) {
			t.Fatalf("converted keys disagree")
		}
	}
}

func TestBadKeys(t *testing.T) {
	if _, err := Seal(rand.Reader, ed25519.PublicKey{1, 2, 3}, []byte("x")); err == nil {
		t.Fatal("a 3-byte key sealed")
	}
	// Half of all y coordinates have no x on the curve: find one.
	bad := make(ed25519.PublicKey, 32)
	for y := byte(2); ; y++ {
		bad[0] = y
		if _, err := new(edwards25519.Point).SetBytes(bad); err != nil {
			break
		}
	}
	if _, err := Seal(rand.Reader, bad, []byte("x")); err == nil {
		t.Fatal("a key off the curve sealed")
	}
	if _, err := Open(ed25519.PrivateKey{1}, []byte("x")); err == nil {
		t.Fatal("a short private key opened")
	}
}
