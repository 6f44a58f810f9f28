//go:build cgo

package approver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/countersign/countersign/internal/fido"
)

// FIDOToucher returns the KeyToucher that asks the first security key
// present (libfido2's enumeration, then the paths in
// $COUNTERSIGN_FIDO_DEVICES) for a touch.
func FIDOToucher() KeyToucher { return fidoToucher{} }

type fidoToucher struct{}

// errNeedsPIN is what a key that will not sign without its PIN gets.
var errNeedsPIN = errors.New("this key needs its PIN; approving asks only for a touch: use a key without PIN enforcement, or approve from the browser with the key")

func (fidoToucher) Touch(ctx context.Context, optionsJSON json.RawMessage, origin string) (json.RawMessage, error) {
	kr, err := parseKeyOptions(optionsJSON, origin)
	if err != nil {
		return nil, err
	}
	uv := kr.UserVerification
	if uv == fido.UVRequired {
		return nil, errNeedsPIN
	}
	key, err := firstKey()
	if err != nil {
		return nil, err
	}
	info, err := key.Info()
	if err != nil {
		return nil, err
	}
	switch {
	case info.Options["alwaysUv"]:
		return nil, errNeedsPIN
	case uv == "" || uv == fido.UVPreferred:
		// A touch is what is asked: do not make a key with a PIN want it.
		if info.PINSet() {
			uv = fido.UVDiscouraged
		}
	}
	a, err := key.Assert(ctx, fido.AssertionOptions{
		Origin:           webOrigin(origin),
		RPID:             kr.RPID,
		Challenge:        kr.Challenge,
		AllowCredentials: kr.AllowCredentials,
		UserVerification: uv,
	})
	if errors.Is(err, fido.ErrPINRequired) {
		return nil, errNeedsPIN
	}
	if err != nil {
		return nil, err
	}
	return credentialJSON(a.CredentialID, a.ClientDataJSON, a.AuthenticatorData, a.Signature, a.UserHandle)
}

// firstKey opens the first usable key.
func firstKey() (*fido.Key, error) {
	locs, err := fido.List(fido.PathsFromEnv(os.Getenv))
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, l := range locs {
		if l.Err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", l.Path, l.Err)
			}
			continue
		}
		k, err := fido.Open(l.Path)
		if err == nil {
			return k, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, fmt.Errorf("no usable security key: %w", firstErr)
	}
	return nil, errors.New("no security key found: plug one in")
}
