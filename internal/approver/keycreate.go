package approver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/countersign/countersign/internal/fido"
)

// creationOptions reads what registering a key needs from the server's
// creation options (PublicKeyCredentialCreationOptions, bare or under
// "publicKey"), for the relying party at origin.
func creationOptions(optionsJSON json.RawMessage, origin string) (fido.RegistrationOptions, error) {
	type entity struct {
		ID          any    `json:"id"`
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
	}
	type options struct {
		Challenge string `json:"challenge"`
		RP        entity `json:"rp"`
		User      entity `json:"user"`
		Params    []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		Exclude []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"excludeCredentials"`
		Selection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	var wrapped struct {
		PublicKey *options `json:"publicKey"`
	}
	if len(optionsJSON) == 0 || string(optionsJSON) == "null" {
		return fido.RegistrationOptions{}, errors.New("the server sent no options for registering the key")
	}
	if err := json.Unmarshal(optionsJSON, &wrapped); err != nil {
		return fido.RegistrationOptions{}, fmt.Errorf("the key registration options cannot be read: %w", err)
	}
	o := wrapped.PublicKey
	if o == nil {
		o = new(options)
		if err := json.Unmarshal(optionsJSON, o); err != nil {
			return fido.RegistrationOptions{}, fmt.Errorf("the key registration options cannot be read: %w", err)
		}
	}
	ro := fido.RegistrationOptions{
		Origin: webOrigin(origin), RPName: o.RP.Name,
		UserName: o.User.Name, UserDisplayName: o.User.DisplayName,
		// Only a passkey is stored on the key: its slots are few.
		ResidentKey:      o.Selection.ResidentKey == "required" || (o.Selection.ResidentKey == "" && o.Selection.RequireResidentKey),
		UserVerification: o.Selection.UserVerification,
	}
	var err error
	if ro.Challenge, err = decodeB64(o.Challenge); err != nil || len(ro.Challenge) == 0 {
		return fido.RegistrationOptions{}, errors.New("the key registration options have no valid challenge")
	}
	ro.RPID, _ = o.RP.ID.(string)
	if ro.RPID == "" {
		u, err := url.Parse(origin)
		if err != nil || u.Hostname() == "" {
			return fido.RegistrationOptions{}, fmt.Errorf("no relying party for origin %q", origin)
		}
		ro.RPID = u.Hostname()
	}
	userID, _ := o.User.ID.(string)
	if ro.UserID, err = decodeB64(userID); err != nil || len(ro.UserID) == 0 {
		return fido.RegistrationOptions{}, errors.New("the key registration options name no valid user")
	}
	for _, p := range o.Params {
		if p.Type == "" || p.Type == "public-key" {
			ro.Algorithms = append(ro.Algorithms, p.Alg)
		}
	}
	for _, c := range o.Exclude {
		id, err := decodeB64(c.ID)
		if err != nil || len(id) == 0 {
			return fido.RegistrationOptions{}, errors.New("the key registration options exclude a credential that cannot be read")
		}
		ro.ExcludeCredentials = append(ro.ExcludeCredentials, id)
	}
	return ro, nil
}

// MakeCredential registers key with the relying party at origin (the
// account's server) for the server's creation options, as a browser would:
// pin verifies the user where the options ask for it, and a passkey (a
// resident key) is made where they ask for one. It returns the
// PublicKeyCredential JSON to send back; its credProps extension says
// whether the credential is resident on the key.
func MakeCredential(ctx context.Context, key *fido.Key, optionsJSON json.RawMessage, origin, pin string) (json.RawMessage, error) {
	ro, err := creationOptions(optionsJSON, origin)
	if err != nil {
		return nil, err
	}
	ro.PIN = pin
	reg, err := key.Register(ctx, ro)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(reg.CredentialID), "rawId": b64.EncodeToString(reg.CredentialID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64.EncodeToString(reg.ClientDataJSON),
			"attestationObject": b64.EncodeToString(reg.AttestationObject),
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": ro.ResidentKey}},
	})
}
