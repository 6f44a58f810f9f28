package softkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
)

// pinProtocol is one PIN/UV auth protocol of CTAP 2.1 section 6.5.
type pinProtocol interface {
	// kdf turns the ECDH shared point's x coordinate into the shared secret.
	kdf(z []byte) ([]byte, error)
	encrypt(rand io.Reader, shared, plain []byte) ([]byte, error)
	decrypt(shared, ct []byte) ([]byte, error)
	// authenticate MACs msg with key, a shared secret or a pinUvAuthToken.
	authenticate(key, msg []byte) []byte
}

func protocolFor(version uint64) (pinProtocol, error) {
	switch version {
	case 1:
		return pinProtocolOne{}, nil
	case 2:
		return pinProtocolTwo{}, nil
	}
	return nil, errInvalidParameter
}

// verify checks a pinUvAuthParam in constant time.
func verify(p pinProtocol, key, msg, param []byte) bool {
	return subtle.ConstantTimeCompare(p.authenticate(key, msg), param) == 1
}

type pinProtocolOne struct{}

func (pinProtocolOne) kdf(z []byte) ([]byte, error) {
	s := sha256.Sum256(z)
	return s[:], nil
}

func (pinProtocolOne) encrypt(_ io.Reader, shared, plain []byte) ([]byte, error) {
	return cbcCrypt(shared, make([]byte, aes.BlockSize), plain, true)
}

func (pinProtocolOne) decrypt(shared, ct []byte) ([]byte, error) {
	return cbcCrypt(shared, make([]byte, aes.BlockSize), ct, false)
}

func (pinProtocolOne) authenticate(key, msg []byte) []byte {
	return hmacSHA256(key, msg)[:16]
}

type pinProtocolTwo struct{}

func (pinProtocolTwo) kdf(z []byte) ([]byte, error) {
	salt := make([]byte, 32)
	hmacKey, err := hkdf.Key(sha256.New, z, salt, "CTAP2 HMAC key", 32)
	if err != nil {
		return nil, err
	}
	aesKey, err := hkdf.Key(sha256.New, z, salt, "CTAP2 AES key", 32)
	if err != nil {
		return nil, err
	}
	return append(hmacKey, aesKey...), nil
}

// aesKey and hmacKey pick the halves of a protocol-2 shared secret; a
// pinUvAuthToken (32 bytes) is used whole as an HMAC key.
func p2aesKey(shared []byte) []byte { return shared[32:] }

func p2hmacKey(key []byte) []byte {
	if len(key) == 64 {
		return key[:32]
	}
	return key
}

func (pinProtocolTwo) encrypt(rand io.Reader, shared, plain []byte) ([]byte, error) {
	if len(shared) != 64 {
		return nil, errOther
	}
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, err
	}
	ct, err := cbcCrypt(p2aesKey(shared), iv, plain, true)
	if err != nil {
		return nil, err
	}
	return append(iv, ct...), nil
}

func (pinProtocolTwo) decrypt(shared, ct []byte) ([]byte, error) {
	if len(shared) != 64 || len(ct) < aes.BlockSize {
		return nil, errInvalidParameter
	}
	return cbcCrypt(p2aesKey(shared), ct[:aes.BlockSize], ct[aes.BlockSize:], false)
}

func (pinProtocolTwo) authenticate(key, msg []byte) []byte {
	return hmacSHA256(p2hmacKey(key), msg)
}

func cbcCrypt(key, iv, in []byte, encrypt bool) ([]byte, error) {
	if len(in)%aes.BlockSize != 0 {
		return nil, errInvalidParameter
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	out := make([]byte, len(in))
	if encrypt {
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, in)
	} else {
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, in)
	}
	return out, nil
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// coseKeyAgreement is the COSE_Key form of an ECDH P-256 public key
// (alg -25, ECDH-ES+HKDF-256) used by clientPIN.
func coseKeyAgreement(pub *ecdh.PublicKey) map[int]any {
	b := pub.Bytes() // 0x04 || x || y
	return map[int]any{1: 2, 3: -25, -1: 1, -2: b[1:33], -3: b[33:65]}
}

// parseCOSEP256 reads an EC2 P-256 COSE_Key's coordinates into an ECDH key.
func parseCOSEP256(m map[int]any) (*ecdh.PublicKey, error) {
	kty, _ := asInt(m[1])
	crv, _ := asInt(m[-1])
	x, xok := m[-2].([]byte)
	y, yok := m[-3].([]byte)
	if kty != 2 || crv != 1 || !xok || !yok || len(x) != 32 || len(y) != 32 {
		return nil, errInvalidParameter
	}
	pt := append([]byte{4}, x...)
	pt = append(pt, y...)
	pub, err := ecdh.P256().NewPublicKey(pt)
	if err != nil {
		return nil, errInvalidParameter
	}
	return pub, nil
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		if n > 1<<62 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}
