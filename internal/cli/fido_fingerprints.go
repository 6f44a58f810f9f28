package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/countersign/countersign/internal/fido"
)

// fingerprintCommands are the subcommands of "countersign fido fingerprints".
var fingerprintCommands = []struct {
	name, args string
	run        func(env Env, name string, args []string) error
}{
	{"list", "[--device PATH] [--pin-file F] [--json]", runFingerprintsList},
	{"enroll", "[--device PATH] [--pin-file F] [--name NAME]", runFingerprintsEnroll},
	{"rename", "[--device PATH] [--pin-file F] ID NAME", runFingerprintsRename},
	{"delete", "[--device PATH] [--pin-file F] ID", runFingerprintsDelete},
}

func runFidoFingerprints(env Env, name string, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage:")
		for _, c := range fingerprintCommands {
			fmt.Fprintf(env.Stderr, "  countersign %s %s %s\n", name, c.name, c.args)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: %s needs a subcommand", ErrUsage, name)
		}
		return errHelp
	}
	for _, c := range fingerprintCommands {
		if c.name == args[0] {
			return c.run(env, name+" "+c.name, args[1:])
		}
	}
	return fmt.Errorf("%w: unknown %s subcommand %q", ErrUsage, name, args[0])
}

type fingerprintJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// keyAndPIN opens the key the flags name and reads its PIN.
func keyAndPIN(env Env, f fidoFlags) (*fido.Key, string, error) {
	k, err := openKey(env, *f.device)
	if err != nil {
		return nil, "", err
	}
	pin, err := readPIN(env, *f.pinFile, "PIN: ", "--pin-file")
	return k, pin, err
}

func runFingerprintsList(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] [--json]", true, true)
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	k, pin, err := keyAndPIN(env, f)
	if err != nil {
		return err
	}
	fps, err := k.Fingerprints(pin)
	if err != nil {
		return err
	}
	out := make([]fingerprintJSON, 0, len(fps))
	for _, fp := range fps {
		out = append(out, fingerprintJSON{ID: hex.EncodeToString(fp.ID), Name: fp.Name})
	}
	if *f.json {
		return writeJSON(env.Stdout, out)
	}
	if len(out) == 0 {
		warnf(env, "no fingerprints on the key")
		return nil
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME")
	for _, fp := range out {
		fmt.Fprintf(w, "%s\t%s\n", fp.ID, fp.Name)
	}
	return w.Flush()
}

func runFingerprintsEnroll(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] [--name NAME]", false, true)
	fpName := f.fs.String("name", "", "a name for the finger, such as \"left thumb\"")
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	k, pin, err := keyAndPIN(env, f)
	if err != nil {
		return err
	}
	ctx, stop := softkeySignals()
	defer stop()
	fp, err := k.EnrollFingerprint(ctx, pin, *fpName, func(p fido.EnrollProgress) {
		switch {
		case p.Remaining == 0:
		case p.Last == fido.SampleGood:
			warnf(env, "good; touch the sensor again (%d more)", p.Remaining)
		default:
			warnf(env, "%s (%d more)", p.Last, p.Remaining)
		}
	}, fido.OnTouch(func() { warnf(env, "touch the key's sensor with the finger to enroll, lifting it between touches") }))
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, hex.EncodeToString(fp.ID))
	warnf(env, "fingerprint enrolled")
	return nil
}

// templateArgs parses flags and the template id (hex, as list prints it)
// followed by want more arguments.
func templateArgs(f fidoFlags, name string, args []string, want int, what string) ([]byte, []string, error) {
	pos, err := parse(f.fs, args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) != 1+want {
		f.fs.Usage()
		return nil, nil, fmt.Errorf("%w: %s takes %s", ErrUsage, name, what)
	}
	id, err := hex.DecodeString(pos[0])
	if err != nil || len(id) == 0 {
		return nil, nil, fmt.Errorf("%w: %q is not a fingerprint id (hex, as 'countersign fido fingerprints list' prints it)", ErrUsage, pos[0])
	}
	return id, pos[1:], nil
}

func runFingerprintsRename(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] ID NAME", false, true)
	id, rest, err := templateArgs(f, name, args, 1, "a fingerprint id and a name")
	if err != nil {
		return err
	}
	if rest[0] == "" {
		return errors.New("the name is empty")
	}
	k, pin, err := keyAndPIN(env, f)
	if err != nil {
		return err
	}
	if err := k.RenameFingerprint(pin, id, rest[0]); err != nil {
		return err
	}
	warnf(env, "fingerprint %x renamed", id)
	return nil
}

func runFingerprintsDelete(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] ID", false, true)
	id, _, err := templateArgs(f, name, args, 0, "one fingerprint id")
	if err != nil {
		return err
	}
	k, pin, err := keyAndPIN(env, f)
	if err != nil {
		return err
	}
	if err := k.DeleteFingerprint(pin, id); err != nil {
		return err
	}
	warnf(env, "fingerprint %x deleted", id)
	return nil
}
