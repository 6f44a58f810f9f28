package fido

// RelyingParty is a site with passkeys on the key.
type RelyingParty struct {
	ID          string       `json:"id"`
	Name        string       `json:"name,omitempty"`
	Credentials []Credential `json:"credentials"`
}

// Credential is one passkey (discoverable credential) on the key.
type Credential struct {
	ID          []byte `json:"id"`
	UserID      []byte `json:"user_id"`
	UserName    string `json:"user_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// ResetRule explains when a key accepts a reset.
const ResetRule = "A reset erases everything in the key's FIDO application — every passkey and credential, every fingerprint, and its PIN; it cannot be undone. " +
	"Keys accept it only within a few seconds (YubiKeys: 5, other keys: 10) of being plugged in, " +
	"and then want a touch within 30 seconds."
