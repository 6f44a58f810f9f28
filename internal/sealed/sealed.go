// Package sealed seals a message to an approver device's Ed25519 public key
// so that only that device can open it: the household's authenticator
// shares travel through the server this way.
//
// The Ed25519 key is converted to its X25519 form (the birational map
// libsodium's crypto_sign_ed25519_pk_to_curve25519 uses) and the message is
// sealed with NaCl's anonymous box (X25519, XSalsa20-Poly1305, an ephemeral
// sender key): the server, which knows only public keys, can seal but not
// open.
package sealed

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/nacl/box"
)

// Overhead is how many bytes sealing adds to a message.
const Overhead = box.AnonymousOverhead

// ErrOpen means the sealed message was not for this key or was altered.
var ErrOpen = errors.New("sealed: the message was not sealed to this device's key, or it was altered")

// Seal seals msg to pub with randomness from rand.
func Seal(rand io.Reader, pub ed25519.PublicKey, msg []byte) ([]byte, error) {
	xpub, err := publicX25519(pub)
	if err != nil {
		return nil, err
	}
	out, err := box.SealAnonymous(nil, msg, xpub, rand)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	return out, nil
}

// Open opens a message sealed to priv's public key.
func Open(priv ed25519.PrivateKey, sealed []byte) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, errors.New("sealed: not an Ed25519 private key")
	}
	xpub, err := publicX25519(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	xpriv := privateX25519(priv)
	msg, ok := box.OpenAnonymous(nil, sealed, xpub, xpriv)
	clear(xpriv[:])
	if !ok {
		return nil, ErrOpen
	}
	return msg, nil
}

// publicX25519 is the Montgomery form of an Ed25519 public key.
func publicX25519(pub ed25519.PublicKey) (*[32]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("sealed: not an Ed25519 public key")
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, errors.New("sealed: the public key is not a point on the curve")
	}
	var out [32]byte
	copy(out[:], p.BytesMontgomery())
	return &out, nil
}

// privateX25519 is the X25519 scalar of an Ed25519 private key: the first
// half of SHA-512 of its seed (X25519 clamps it).
func privateX25519(priv ed25519.PrivateKey) *[32]byte {
	h := sha512.Sum512(priv.Seed())
	var out [32]byte
	copy(out[:], h[:32])
	clear(h[:])
	return &out
}
