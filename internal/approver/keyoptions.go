package approver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// keyRequest is what a touch needs from WebAuthn request options
// (PublicKeyCredentialRequestOptions, bare or under "publicKey").
type keyRequest struct {
	Challenge        []byte
	RPID             string
	AllowCredentials [][]byte
	UserVerification string
}

// parseKeyOptions reads the options the server put on a request.
func parseKeyOptions(optionsJSON json.RawMessage, origin string) (keyRequest, error) {
	type descriptor struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	type options struct {
		Challenge        string       `json:"challenge"`
		RPID             string       `json:"rpId"`
		AllowCredentials []descriptor `json:"allowCredentials"`
		UserVerification string       `json:"userVerification"`
	}
	var wrapped struct {
		PublicKey *options `json:"publicKey"`
	}
	if len(optionsJSON) == 0 || string(optionsJSON) == "null" {
		return keyRequest{}, errors.New("the server asked for a security key without saying for what")
	}
	if err := json.Unmarshal(optionsJSON, &wrapped); err != nil {
		return keyRequest{}, fmt.Errorf("the security-key options cannot be read: %w", err)
	}
	o := wrapped.PublicKey
	if o == nil {
		o = new(options)
		if err := json.Unmarshal(optionsJSON, o); err != nil {
			return keyRequest{}, fmt.Errorf("the security-key options cannot be read: %w", err)
		}
	}
	var kr keyRequest
	var err error
	if kr.Challenge, err = decodeB64(o.Challenge); err != nil || len(kr.Challenge) == 0 {
		return keyRequest{}, errors.New("the security-key options have no valid challenge")
	}
	kr.RPID = o.RPID
	if kr.RPID == "" {
		u, err := url.Parse(origin)
		if err != nil || u.Hostname() == "" {
			return keyRequest{}, fmt.Errorf("no relying party for origin %q", origin)
		}
		kr.RPID = u.Hostname()
	}
	for _, c := range o.AllowCredentials {
		if c.Type != "" && c.Type != "public-key" {
			continue
		}
		id, err := decodeB64(c.ID)
		if err != nil || len(id) == 0 {
			return keyRequest{}, errors.New("the security-key options name a credential that cannot be read")
		}
		kr.AllowCredentials = append(kr.AllowCredentials, id)
	}
	kr.UserVerification = o.UserVerification
	return kr, nil
}

// decodeB64 reads base64url with or without padding (and, leniently, standard base64).
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// webOrigin reduces a URL to its origin: scheme://host[:port].
func webOrigin(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s
	}
	return u.Scheme + "://" + u.Host
}

// credentialJSON is the PublicKeyCredential a browser sends back after
// navigator.credentials.get, all binary fields in base64url.
func credentialJSON(credID, clientData, authData, sig, userHandle []byte) (json.RawMessage, error) {
	resp := map[string]string{
		"clientDataJSON":    b64.EncodeToString(clientData),
		"authenticatorData": b64.EncodeToString(authData),
		"signature":         b64.EncodeToString(sig),
	}
	if len(userHandle) > 0 {
		resp["userHandle"] = b64.EncodeToString(userHandle)
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(credID), "rawId": b64.EncodeToString(credID), "type": "public-key",
		"response": resp,
	})
}
