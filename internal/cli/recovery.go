package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"filippo.io/age"

	"github.com/countersign/countersign/internal/atomicfile"
	"github.com/countersign/countersign/internal/backup"
	"github.com/countersign/countersign/internal/recovery"
	"github.com/countersign/countersign/internal/vault"
)

const recoverySynopsis = "setup [--kit FILE.pdf] | status | unlock [--key-file F | --security-key [--device PATH] [--pin-file F]] | remove | add-key [--device PATH] [--name NAME] [--pin-file F] | remove-key NAME|ID"

// runRecovery is the recovery key: made once, kept on paper (the emergency
// kit), used the day the keyring no longer holds the vault's key.
func runRecovery(env Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: recovery %s", ErrUsage, recoverySynopsis)
	}
	switch args[0] {
	case "setup":
		return recoverySetup(env, args[1:])
	case "status":
		return recoveryStatus(env, args[1:])
	case "unlock":
		return recoveryUnlock(env, args[1:])
	case "remove":
		return recoveryRemove(env, args[1:])
	case "add-key":
		return recoveryAddKey(env, args[1:])
	case "remove-key":
		return recoveryRemoveKey(env, args[1:])
	}
	return fmt.Errorf("%w: recovery %s", ErrUsage, recoverySynopsis)
}

func recoverySetup(env Env, args []string) error {
	fs := newFlags(env, "recovery setup", "[--kit FILE.pdf]")
	kit := fs.String("kit", "", "also write the emergency kit, a one-page PDF with the key as text and QR code, to this file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	id, err := recovery.New()
	if err != nil {
		return fmt.Errorf("make a recovery key: %w", err)
	}
	if *kit != "" {
		// The kit first: a key that reached no paper must not replace the old one.
		if err := writeKit(env, *kit, id); err != nil {
			return err
		}
	}
	if err := v.SetRecovery(id.Recipient()); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, id.String())
	warnf(env, "this is your recovery key; it is shown once. Keep it on paper or in a password manager, away from this computer")
	if *kit != "" {
		warnf(env, "the emergency kit is in %s: print it, then delete the file", *kit)
	}
	warnf(env, "it opens your accounts when this computer's keyring cannot (countersign recovery unlock), and every backup (countersign backup now)")
	return nil
}

// writeKit writes the emergency kit to path, never over a file already there.
func writeKit(env Env, path string, id *age.X25519Identity) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists already: give another file for the kit (nothing was changed)", path)
	}
	host, _ := os.Hostname()
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := recovery.WriteKit(&buf, id, recovery.Kit{Created: env.Now(), Machine: host, Vault: dir}); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write the kit to %s: %w (nothing was changed)", path, err)
	}
	return nil
}

func recoveryStatus(env Env, args []string) error {
	fs := newFlags(env, "recovery status", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return err
	}
	r, err := vault.RecoveryRecipient(dir)
	if err != nil {
		return err
	}
	if r == "" {
		fmt.Fprintln(env.Stdout, "no recovery key: set one up with countersign recovery setup --kit kit.pdf")
	} else {
		fmt.Fprintln(env.Stdout, "recovery key set up; its public half (backups are encrypted to it):", r)
	}
	return printKeySlots(env, dir)
}

func recoveryUnlock(env Env, args []string) error {
	fs := newFlags(env, "recovery unlock", "[--key-file F | --security-key [--device PATH] [--pin-file F]]")
	keyFile := fs.String("key-file", "", "read the recovery key from this file (- for stdin); without it, it is asked on the terminal")
	withKey := fs.Bool("security-key", false, "open the vault with a security key that was added (recovery add-key): a touch")
	device := fs.String("device", "", "with --security-key, the key's device path (default: the only key found)")
	pinFile := fs.String("pin-file", "", "with --security-key, read the key's PIN from the first line of this file (- for stdin)")
	if err := noPositional(fs, "recovery unlock", args); err != nil {
		return err
	}
	if *withKey && *keyFile != "" {
		return fmt.Errorf("%w: recovery unlock takes --key-file or --security-key, not both", ErrUsage)
	}
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return err
	}
	var v *vault.Vault
	opener := "the recovery key"
	if *withKey {
		opener = "the security key"
		v, err = unlockWithKey(env, dir, *device, *pinFile)
	} else {
		id, rerr := readRecoveryKey(env, *keyFile)
		if rerr != nil {
			return rerr
		}
		v, err = vault.OpenWithRecovery(dir, vault.Options{Keys: env.Keys, Now: env.Now}, id)
	}
	resealed := true
	if errors.Is(err, vault.ErrNotResealed) {
		// A command line opens the vault for itself only: say so.
		warnf(env, "%v: the next start needs %s again; unlock or start the keyring and run countersign recovery unlock once more to store it", err, opener)
		resealed, err = false, nil
	}
	if err != nil {
		return err
	}
	n := len(v.Accounts())
	if resealed {
		fmt.Fprintf(env.Stdout, "the vault is open: %d account%s; its key is in this computer's keyring again\n", n, plural(n))
	} else {
		fmt.Fprintf(env.Stdout, "the vault opens with %s: %d account%s; its key is not in the keyring\n", opener, n, plural(n))
	}
	return nil
}

// readRecoveryKey reads the recovery key from a file, or asks for it.
func readRecoveryKey(env Env, file string) (*age.X25519Identity, error) {
	var text []byte
	var err error
	switch {
	case file != "":
		text, err = readSecretFile(env, file)
	case env.IsTerminal():
		text, err = env.ReadPassword("recovery key (AGE-SECRET-KEY-1…): ")
	default:
		return nil, fmt.Errorf("%w: give the recovery key with --key-file FILE", ErrUsage)
	}
	if err != nil {
		return nil, err
	}
	defer clear(text)
	return recovery.Parse(string(text))
}

func recoveryRemove(env Env, args []string) error {
	fs := newFlags(env, "recovery remove", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	if err := v.RemoveRecovery(); err != nil {
		return err
	}
	warnf(env, "the recovery key no longer opens the vault; backups made for it still open with it. Automatic backups stop until a new one is set up")
	return nil
}

const backupSynopsis = "now [--dir D] | list"

// runBackup makes a backup now, or lists them.
func runBackup(env Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: backup %s", ErrUsage, backupSynopsis)
	}
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "now":
		fs := newFlags(env, "backup now", "[--dir D]")
		to := fs.String("dir", "", "write the backup to this folder (default: the folder in the backup settings)")
		if _, err := parse(fs, args[1:]); err != nil {
			return err
		}
		v, err := openVault(env)
		if err != nil {
			return err
		}
		var path string
		if *to != "" {
			r, err := vault.RecoveryRecipient(dir)
			if err != nil {
				return err
			}
			if r == "" {
				return backup.ErrNoRecoveryKey
			}
			path, err = backup.Write(*to, r, v.Accounts(), env.Now())
			if err != nil {
				return err
			}
		} else if path, err = backup.Now(dir, v, env.Now()); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, path)
		return nil
	case "list":
		c, err := backup.LoadConfig(dir)
		if err != nil {
			return err
		}
		all, err := backup.List(c.Folder(dir))
		if err != nil {
			return err
		}
		for _, b := range all {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", b.At.Format(time.RFC3339), b.Path)
		}
		if len(all) == 0 {
			warnf(env, "no backups in %s yet", c.Folder(dir))
		}
		return nil
	}
	return fmt.Errorf("%w: backup %s", ErrUsage, backupSynopsis)
}

// runRestore adds a backup's accounts to the vault: on a new machine, all
// of them; over a vault, those it lacks (the others are listed as already
// there). It never removes or changes an account.
func runRestore(env Env, args []string) error {
	fs := newFlags(env, "restore", "[--key-file F] [--dry-run] BACKUP.age")
	keyFile := fs.String("key-file", "", "read the recovery key from this file (- for stdin); without it, it is asked on the terminal")
	dryRun := fs.Bool("dry-run", false, "show what would be restored without changing the vault")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: restore takes one BACKUP file", ErrUsage)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	id, err := readRecoveryKey(env, *keyFile)
	if err != nil {
		return err
	}
	accounts, err := backup.Read(f, id)
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was restored)", pos[0], err)
	}
	v, err := openVault(env)
	if err != nil {
		return err
	}
	var added, dups []vault.Account
	if *dryRun {
		added, dups = vault.PlanAdd(v.Accounts(), accounts)
	} else if added, dups, err = v.Add(accounts...); err != nil {
		return err
	}
	for _, a := range added {
		fmt.Fprintf(env.Stdout, "%s\t%s\n", a.ID, a.Label())
	}
	verb := "restored"
	if *dryRun {
		verb = "would restore"
	}
	summary := fmt.Sprintf("%s %d account%s", verb, len(added), plural(len(added)))
	if len(dups) > 0 {
		summary += fmt.Sprintf("; %d already in the vault, left as they are", len(dups))
	}
	warnf(env, "%s", summary)
	for _, d := range dups {
		warnf(env, "already in the vault: %s (id %s)", d.Label(), d.ID)
	}
	return nil
}
