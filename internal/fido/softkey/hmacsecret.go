package softkey

import (
	"io"

	"github.com/fxamacker/cbor/v2"
)

// The hmac-secret extension (CTAP 2.1 section 12.5): a credential made
// with {"hmac-secret": true} gets two random 32-byte values, CredRandom
// with and without user verification; getAssertion then returns, encrypted
// to the platform, HMAC-SHA-256(CredRandom, salt) for one or two salts the
// platform sent encrypted. The same credential and salt always give the
// same output; the platform derives keys from it (disk and vault unlock).

const (
	extHMACSecret = "hmac-secret"
	flagED        = 0x80 // extension data included
	// credRandomSize is CredRandomWithUV || CredRandomWithoutUV.
	credRandomSize = 64
	saltSize       = 32
)

// extensions is a request's extensions map; unknown ones are ignored.
type extensions map[string]cbor.RawMessage

// wantsHMACSecret reads makeCredential's {"hmac-secret": true}.
func (e extensions) wantsHMACSecret() (bool, error) {
	raw, ok := e[extHMACSecret]
	if !ok {
		return false, nil
	}
	var on bool
	if err := decMode.Unmarshal(raw, &on); err != nil {
		return false, errCBORUnexpectedType
	}
	return on, nil
}

// newCredRandom draws a new credential's CredRandomWithUV and
// CredRandomWithoutUV.
func (k *Key) newCredRandom() ([]byte, error) {
	r := make([]byte, credRandomSize)
	if _, err := io.ReadFull(k.rand, r); err != nil {
		return nil, errOther
	}
	return r, nil
}

// hmacSecretInput is getAssertion's hmac-secret input.
type hmacSecretInput struct {
	KeyAgreement map[int]any `cbor:"1,keyasint"`
	SaltEnc      []byte      `cbor:"2,keyasint"`
	SaltAuth     []byte      `cbor:"3,keyasint"`
	Protocol     uint64      `cbor:"4,keyasint,omitempty"`
}

// hmacSecretRequest is a checked hmac-secret input: the shared secret with
// the platform and the salts (one or two) in the clear.
type hmacSecretRequest struct {
	proto  pinProtocol
	shared []byte
	salts  []byte
}

// hmacSecretRequest checks getAssertion's hmac-secret input: the platform's
// key agreement key, saltAuth over saltEnc with the shared secret, and one
// or two 32-byte salts inside. It returns nil when the request has none.
func (k *Key) hmacSecretRequest(e extensions) (*hmacSecretRequest, error) {
	raw, ok := e[extHMACSecret]
	if !ok {
		return nil, nil
	}
	var in hmacSecretInput
	if err := decMode.Unmarshal(raw, &in); err != nil {
		return nil, errCBORUnexpectedType
	}
	if in.KeyAgreement == nil || in.SaltEnc == nil || in.SaltAuth == nil {
		return nil, errMissingParameter
	}
	if in.Protocol == 0 {
		in.Protocol = 1 // absent means protocol one
	}
	proto, err := protocolFor(in.Protocol)
	if err != nil {
		return nil, err
	}
	shared, err := k.ecdhShared(proto, in.KeyAgreement)
	if err != nil {
		return nil, err
	}
	if !verify(proto, shared, in.SaltEnc, in.SaltAuth) {
		return nil, errPINAuthInvalid
	}
	salts, err := proto.decrypt(shared, in.SaltEnc)
	if err != nil || (len(salts) != saltSize && len(salts) != 2*saltSize) {
		return nil, errInvalidLength
	}
	return &hmacSecretRequest{proto: proto, shared: shared, salts: salts}, nil
}

// output is the extension's answer for a credential's CredRandom values:
// HMAC-SHA-256 of each salt under CredRandomWithUV when the user was
// verified, CredRandomWithoutUV otherwise, encrypted to the platform.
func (r *hmacSecretRequest) output(rand io.Reader, credRandom []byte, uv bool) ([]byte, error) {
	key := credRandom[saltSize:]
	if uv {
		key = credRandom[:saltSize]
	}
	var out []byte
	for s := r.salts; len(s) > 0; s = s[saltSize:] {
		out = append(out, hmacSHA256(key, s[:saltSize])...)
	}
	defer clear(out)
	return r.proto.encrypt(rand, r.shared, out)
}
