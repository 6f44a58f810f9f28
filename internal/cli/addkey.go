package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// keyFlags are the flags of devices add-key.
type keyFlags struct {
	passkey       *bool
	name          *string
	device, pinFF *string
}

func addKeyFlags(d *dashboard) keyFlags {
	return keyFlags{
		passkey: d.fs.Bool("passkey", false, "add-key: register a passkey, stored on the key, that signs in on its own (the key's PIN is asked)"),
		name:    d.fs.String("name", "", "add-key: the key's name on the account (default \"Security key\")"),
		device:  d.fs.String("device", "", "add-key: the key's device path (default: the only key found)"),
		pinFF:   d.fs.String("pin-file", "", "add-key: read the key's PIN from the first line of this file (- for stdin); on a terminal it is asked for"),
	}
}

// addKey registers the security key at hand with the account, through
// libfido2: a passkey with --passkey (a resident credential, user verified
// with the key's PIN), else a key for the second step of a sign-in.
func (d *dashboard) addKey(f keyFlags, pos []string) error {
	if err := d.args(pos, 0, "devices add-key takes no arguments but flags"); err != nil {
		return err
	}
	key, err := openKey(d.env, *f.device)
	if err != nil {
		return err
	}
	cancel, err := d.open()
	if err != nil {
		return err
	}
	defer cancel()
	info, err := key.Info()
	if err != nil {
		return err
	}
	var pin string
	if info.PINSet() {
		if pin, err = readPIN(d.env, *f.pinFF, "the key's PIN: ", "--pin-file"); err != nil {
			return err
		}
	} else if *f.passkey {
		return fmt.Errorf("a passkey needs the key's PIN, and this key has none: set one with 'countersign fido set-pin'")
	}
	k, err := d.c.AddSecurityKey(d.ctx, *f.name, *f.passkey, func(ctx context.Context, options json.RawMessage) (json.RawMessage, error) {
		fmt.Fprintln(d.env.Stderr, "countersign: touch your security key…")
		return approver.MakeCredential(ctx, key, options, d.acct.Server, pin)
	})
	if err != nil {
		return err
	}
	what := "security key"
	if k.Passkey {
		what = "passkey"
	}
	return d.print(k, "added the %s %q: %s", what, k.Name, keyUse(k))
}

// keyUse says what a registered key does for the account.
func keyUse(k api.SecurityKey) string {
	if k.Passkey {
		return "it signs in on its own with \"Sign in with a passkey\""
	}
	return "it finishes a sign-in after the password"
}
