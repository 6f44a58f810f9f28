package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/vault"
)

// Security keys as openers of the vault: a FIDO2 key's hmac-secret wraps
// the vault's key in a slot (vault.AddSecurityKeySlot), and a touch opens
// the vault the day the keyring cannot.

func recoveryAddKey(env Env, args []string) error {
	f := newFidoFlags(env, "recovery add-key", "[--device PATH] [--name NAME] [--pin-file F]", false, true)
	name := f.fs.String("name", "", "the key's name in the vault (default: its model)")
	if err := noPositional(f.fs, "recovery add-key", args); err != nil {
		return err
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	info, err := k.Info()
	if err != nil {
		return err
	}
	slots, err := v.Slots()
	if err != nil {
		return err
	}
	n := strings.TrimSpace(*name)
	if n == "" {
		n = vault.DefaultSecurityKeyName(info.Model, slots)
	}
	for _, s := range slots {
		if s.Kind == vault.SlotSecurityKey && strings.EqualFold(s.Name, n) {
			return fmt.Errorf("%w: a security key named %q opens it already; choose another with --name", vault.ErrSlotExists, s.Name)
		}
	}
	var pin string
	if info.PINSet() {
		if pin, err = readPIN(env, *f.pinFile, "the key's PIN: ", "--pin-file"); err != nil {
			return err
		}
	}
	salt, err := v.SecurityKeySalt()
	if err != nil {
		return err
	}
	ctx, stop := softkeySignals()
	defer stop()
	cred, secret, err := k.EnrollVault(ctx, salt, pin, fido.OnTouch(func() { warnf(env, "touch the key now") }))
	if err != nil {
		return err
	}
	defer clear(secret)
	slot, err := v.AddSecurityKeySlot(vault.SecurityKey{Name: n, AAGUID: cred.AAGUID, CredentialID: cred.ID, Salt: salt, UV: cred.UV}, secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\t%s\n", slot.ID(), slot.Name)
	how := "a touch"
	if slot.UV {
		how = "its PIN and a touch"
	}
	warnf(env, "the key %q opens the vault with %s when this computer's keyring cannot: countersign recovery unlock --security-key", slot.Name, how)
	if !slot.UV {
		warnf(env, "the key has no PIN: whoever holds it and this computer's files opens the vault; to need a PIN too, set one (countersign fido set-pin), then remove-key and add-key again")
	}
	warnf(env, "a lost key opens nothing without the vault's files; remove its slot with countersign recovery remove-key %s", slot.ID())
	return nil
}

func recoveryRemoveKey(env Env, args []string) error {
	fs := newFlags(env, "recovery remove-key", "NAME|ID")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: recovery remove-key takes the key's NAME or ID (see countersign recovery status)", ErrUsage)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	gone, err := v.RemoveSlot(pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\t%s\n", gone.ID(), gone.Name)
	warnf(env, "the key %q no longer opens the vault", gone.Name)
	return nil
}

// printKeySlots lists the security keys that open the vault in dir.
func printKeySlots(env Env, dir string) error {
	slots, err := vault.SecurityKeySlots(dir)
	if err != nil {
		return err
	}
	if len(slots) == 0 {
		fmt.Fprintln(env.Stdout, "no security key: add one with countersign recovery add-key")
		return nil
	}
	for _, s := range slots {
		pin := "touch"
		if s.UV {
			pin = "PIN and touch"
		}
		model := fido.ModelName(s.AAGUID)
		if model == "" {
			model = s.AAGUID
		}
		fmt.Fprintf(env.Stdout, "security key\t%s\t%s\t%s\t%s\tadded %s\n", s.ID(), s.Name, model, pin, s.Created.Format("2006-01-02"))
	}
	return nil
}

// unlockWithKey opens the vault in dir with the security key at device (or
// the only one plugged in): the key that holds one of the vault's slots.
func unlockWithKey(env Env, dir, device, pinFile string) (*vault.Vault, error) {
	slots, err := vault.SecurityKeySlots(dir)
	if err != nil {
		return nil, err
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("%w: no security key opens the vault in %s", vault.ErrNoSlot, dir)
	}
	k, err := openKey(env, device)
	if err != nil {
		return nil, err
	}
	ctx, stop := softkeySignals()
	defer stop()
	var pin string
	askPIN := func() (string, error) {
		if pin == "" {
			p, err := readPIN(env, pinFile, "the key's PIN: ", "--pin-file")
			if err != nil {
				return "", err
			}
			pin = p
		}
		return pin, nil
	}
	touch := fido.OnTouch(func() { warnf(env, "touch the key now") })
	return vault.OpenWithSecurityKey(dir, vault.Options{Keys: env.Keys, Now: env.Now}, func(s vault.Slot) ([]byte, error) {
		secret, err := k.VaultSecret(ctx, s.CredentialID, s.Salt, s.UV, askPIN, touch)
		if errors.Is(err, fido.ErrNoCredentials) {
			return nil, fmt.Errorf("%w: %w", vault.ErrNotThisKey, err)
		}
		return secret, err
	})
}
