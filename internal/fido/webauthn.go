package fido

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers a key may be asked for.
const (
	AlgES256 = -7
	AlgEdDSA = -8
	AlgRS256 = -257
)

// User verification requirements, as WebAuthn names them.
const (
	UVRequired    = "required"
	UVPreferred   = "preferred"
	UVDiscouraged = "discouraged"
)

// RegistrationOptions are a relying party's PublicKeyCredentialCreationOptions
// plus what the client adds: the origin and the key's PIN.
type RegistrationOptions struct {
	Origin          string
	RPID, RPName    string
	Challenge       []byte
	UserID          []byte
	UserName        string
	UserDisplayName string
	// Algorithms are COSE algorithms in the relying party's order of
	// preference; empty means ES256.
	Algorithms []int
	// ResidentKey asks for a discoverable credential (a passkey on the key).
	ResidentKey bool
	// UserVerification is UVRequired, UVPreferred (the default) or UVDiscouraged.
	UserVerification string
	// ExcludeCredentials are credential ids the account already has: a key
	// holding one of them refuses with ErrCredentialExcluded.
	ExcludeCredentials [][]byte
	// PIN verifies the user on keys with a PIN.
	PIN string
}

// Registration is what the client sends back to the relying party.
type Registration struct {
	CredentialID      []byte
	ClientDataJSON    []byte
	AttestationObject []byte
}

// AssertionOptions are a relying party's PublicKeyCredentialRequestOptions
// plus the origin and the key's PIN.
type AssertionOptions struct {
	Origin    string
	RPID      string
	Challenge []byte
	// AllowCredentials are the account's credential ids; empty asks for a
	// discoverable credential.
	AllowCredentials [][]byte
	UserVerification string
	PIN              string
}

// Assertion is the signed answer to an AssertionOptions.
type Assertion struct {
	CredentialID      []byte
	AuthenticatorData []byte
	Signature         []byte
	UserHandle        []byte
	ClientDataJSON    []byte
}

// ErrCredentialExcluded means the key already holds a credential the relying
// party excluded: it is registered with the account already.
var ErrCredentialExcluded = errors.New("this key is already registered with the account")

// clientData builds the CollectedClientData JSON of a ceremony.
func clientData(typ string, challenge []byte, origin string) ([]byte, [32]byte, error) {
	if len(challenge) == 0 || origin == "" {
		return nil, [32]byte{}, errors.New("a challenge and an origin are required")
	}
	b, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, base64.RawURLEncoding.EncodeToString(challenge), origin, false})
	return b, sha256.Sum256(b), err
}

// unwrapBytes undoes libfido2's CBOR byte-string wrapping of authenticator data.
func unwrapBytes(b []byte) ([]byte, error) {
	var raw []byte
	if err := cbor.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("authenticator data: %w", err)
	}
	return raw, nil
}
