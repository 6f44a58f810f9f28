package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/countersign/countersign/internal/fido"
	"github.com/countersign/countersign/internal/fido/softkey"
)

const fidoSynopsis = "list|info|set-pin|change-pin|credentials|delete-credential|fingerprints|reset|softkey [--device PATH] [--json] ..."

// fidoCommands are the subcommands of "countersign fido".
var fidoCommands = []struct {
	name, args string
	run        func(env Env, name string, args []string) error
}{
	{"list", "[--json]", runFidoList},
	{"info", "[--device PATH] [--json]", runFidoInfo},
	{"set-pin", "[--device PATH] [--pin-file F]", runFidoSetPIN},
	{"change-pin", "[--device PATH] [--pin-file F] [--new-pin-file F]", runFidoChangePIN},
	{"credentials", "[--device PATH] [--pin-file F] [--json]", runFidoCredentials},
	{"delete-credential", "[--device PATH] [--pin-file F] [--] CREDENTIAL_ID", runFidoDeleteCredential},
	{"fingerprints", "list|enroll|rename|delete [--device PATH] [--pin-file F] ...", runFidoFingerprints},
	{"reset", "[--device PATH] [--yes]", runFidoReset},
	{"softkey", "[--state FILE] [--fingerprint]", runFidoSoftkey},
}

func runFido(env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage:")
		for _, c := range fidoCommands {
			fmt.Fprintf(env.Stderr, "  countersign fido %s %s\n", c.name, c.args)
		}
		fmt.Fprintln(env.Stderr, "\nKeys are found by enumeration; --device or $"+fido.EnvDevices+" (colon-separated paths) names others.")
		if len(args) == 0 {
			return fmt.Errorf("%w: fido needs a subcommand", ErrUsage)
		}
		return errHelp
	}
	for _, c := range fidoCommands {
		if c.name == args[0] {
			return c.run(env, "fido "+c.name, args[1:])
		}
	}
	return fmt.Errorf("%w: unknown fido subcommand %q", ErrUsage, args[0])
}

// fidoFlags are the flags every key subcommand shares.
type fidoFlags struct {
	fs      *flag.FlagSet
	device  *string
	json    *bool
	pinFile *string
}

func newFidoFlags(env Env, name, args string, withJSON, withPIN bool) fidoFlags {
	fs := newFlags(env, name, args)
	f := fidoFlags{fs: fs, device: fs.String("device", "", "the key's device path (default: the only key found)")}
	if withJSON {
		f.json = fs.Bool("json", false, "print JSON")
	}
	if withPIN {
		f.pinFile = fs.String("pin-file", "", "read the key's PIN from the first line of this file (- for stdin)")
	}
	return f
}

// openKey opens --device, else the only key found by enumeration or named
// in $COUNTERSIGN_FIDO_DEVICES.
func openKey(env Env, device string) (*fido.Key, error) {
	if device != "" {
		return fido.Open(device)
	}
	locs, err := fido.List(fido.PathsFromEnv(env.Getenv))
	if err != nil {
		return nil, err
	}
	var usable []fido.Location
	var problems []error
	for _, l := range locs {
		if l.Err != nil {
			problems = append(problems, l.Err)
		} else {
			usable = append(usable, l)
		}
	}
	switch {
	case len(usable) == 1:
		return fido.Open(usable[0].Path)
	case len(usable) > 1:
		var paths []string
		for _, l := range usable {
			paths = append(paths, l.Path)
		}
		return nil, fmt.Errorf("%d security keys found (%s): choose one with --device PATH", len(usable), strings.Join(paths, ", "))
	case len(problems) > 0:
		return nil, errors.Join(problems...)
	}
	return nil, errors.New("no security key found: plug one in, or name its path with --device or $" + fido.EnvDevices)
}

// readPIN reads a PIN from file (--pin-file) or, on a terminal, a prompt
// without echo. PINs never come from arguments.
func readPIN(env Env, file, prompt, flagName string) (string, error) {
	if file != "" {
		pin, err := readSecretFile(env, file)
		return string(pin), err
	}
	if !env.IsTerminal() {
		return "", fmt.Errorf("no terminal to ask for the %s on: give it with %s FILE", strings.TrimSuffix(prompt, ": "), flagName)
	}
	pin, err := env.ReadPassword(prompt)
	return string(pin), err
}

// readNewPIN reads a new PIN from file or, on a terminal, twice.
func readNewPIN(env Env, file, flagName string) (string, error) {
	if file != "" {
		return readPIN(env, file, "new PIN: ", flagName)
	}
	first, err := readPIN(env, "", "new PIN: ", flagName)
	if err != nil {
		return "", err
	}
	again, err := env.ReadPassword("new PIN again: ")
	if err != nil {
		return "", err
	}
	if first != string(again) {
		return "", errors.New("the PINs differ; nothing was changed")
	}
	return first, nil
}

type locationJSON struct {
	fido.Location
	Error string `json:"error,omitempty"`
}

func runFidoList(env Env, name string, args []string) error {
	fs := newFlags(env, name, "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return fmt.Errorf("%w: %s takes no arguments", ErrUsage, name)
	}
	locs, err := fido.List(fido.PathsFromEnv(env.Getenv))
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]locationJSON, 0, len(locs))
		for _, l := range locs {
			j := locationJSON{Location: l}
			if l.Err != nil {
				j.Error = l.Err.Error()
			}
			out = append(out, j)
		}
		return writeJSON(env.Stdout, out)
	}
	if len(locs) == 0 {
		warnf(env, "no security key found")
		return nil
	}
	for _, l := range locs {
		desc := strings.TrimSpace(l.Manufacturer + " " + l.Product)
		if l.Configured {
			desc = strings.TrimSpace(desc + " (configured)")
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\n", l.Path, desc)
		if l.Err != nil {
			warnf(env, "%v", l.Err)
		}
	}
	return nil
}

func runFidoInfo(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--json]", true, false)
	if err := noPositional(f.fs, name, args); err != nil {
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
	if *f.json {
		return writeJSON(env.Stdout, info)
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s:\t%s\n", k, v)
		}
	}
	row("path", info.Path)
	row("product", strings.TrimSpace(info.Manufacturer+" "+info.Product))
	row("model", info.Model)
	row("aaguid", info.AAGUID)
	row("firmware", info.FirmwareString())
	row("versions", strings.Join(info.Versions, " "))
	row("extensions", strings.Join(info.Extensions, " "))
	var opts []string
	for _, o := range slices.Sorted(maps.Keys(info.Options)) {
		opts = append(opts, fmt.Sprintf("%s=%t", o, info.Options[o]))
	}
	row("options", strings.Join(opts, " "))
	switch {
	case !info.SupportsPIN():
		row("pin", "not supported")
	case !info.PINSet():
		row("pin", "not set")
	default:
		row("pin", fmt.Sprintf("set, %d retries left", info.PINRetries))
	}
	row("min pin length", fmt.Sprint(info.MinPINLength))
	if info.RemainingDiscoverable >= 0 {
		row("passkey slots left", fmt.Sprint(info.RemainingDiscoverable))
	}
	return w.Flush()
}

func runFidoSetPIN(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F]", false, true)
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	pin, err := readNewPIN(env, *f.pinFile, "--pin-file")
	if err != nil {
		return err
	}
	if err := k.SetPIN(pin); err != nil {
		return err
	}
	warnf(env, "PIN set on %s", k.Path())
	return nil
}

func runFidoChangePIN(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] [--new-pin-file F]", false, true)
	newFile := f.fs.String("new-pin-file", "", "read the new PIN from the first line of this file (- for stdin)")
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	if *f.pinFile == "-" && *newFile == "-" {
		return fmt.Errorf("%w: only one of --pin-file and --new-pin-file can be stdin", ErrUsage)
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	old, err := readPIN(env, *f.pinFile, "current PIN: ", "--pin-file")
	if err != nil {
		return err
	}
	pin, err := readNewPIN(env, *newFile, "--new-pin-file")
	if err != nil {
		return err
	}
	if err := k.ChangePIN(old, pin); err != nil {
		return err
	}
	warnf(env, "PIN changed on %s", k.Path())
	return nil
}

type credentialJSON struct {
	RP          string `json:"rp"`
	RPName      string `json:"rp_name,omitempty"`
	ID          string `json:"id"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	DisplayName string `json:"display_name"`
}

func runFidoCredentials(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] [--json]", true, true)
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	pin, err := readPIN(env, *f.pinFile, "PIN: ", "--pin-file")
	if err != nil {
		return err
	}
	rps, err := k.Passkeys(pin)
	if err != nil {
		return err
	}
	out := []credentialJSON{}
	for _, rp := range rps {
		for _, c := range rp.Credentials {
			out = append(out, credentialJSON{
				RP: rp.ID, RPName: rp.Name,
				ID:       base64.RawURLEncoding.EncodeToString(c.ID),
				UserID:   base64.RawURLEncoding.EncodeToString(c.UserID),
				UserName: c.UserName, DisplayName: c.DisplayName,
			})
		}
	}
	if *f.json {
		return writeJSON(env.Stdout, out)
	}
	if len(out) == 0 {
		warnf(env, "no passkeys on the key")
		return nil
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RP\tUSER\tDISPLAY NAME\tCREDENTIAL ID")
	for _, c := range out {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.RP, c.UserName, c.DisplayName, c.ID)
	}
	return w.Flush()
}

// decodeCredentialID accepts the base64url that credentials prints, padded
// or standard base64, or hex.
func decodeCredentialID(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b, nil
		}
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %q is not a credential id (base64url, as 'countersign fido credentials' prints it)", ErrUsage, s)
}

func runFidoDeleteCredential(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--pin-file F] [--] CREDENTIAL_ID", false, true)
	pos, err := parse(f.fs, args)
	if errors.Is(err, ErrUsage) {
		// base64url ids may start with "-".
		return fmt.Errorf("%w (a credential id that starts with - goes after --)", err)
	}
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		f.fs.Usage()
		return fmt.Errorf("%w: %s takes one credential id", ErrUsage, name)
	}
	id, err := decodeCredentialID(pos[0])
	if err != nil {
		return err
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	pin, err := readPIN(env, *f.pinFile, "PIN: ", "--pin-file")
	if err != nil {
		return err
	}
	if err := k.DeleteCredential(pin, id); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, pos[0])
	warnf(env, "passkey deleted")
	return nil
}

func runFidoReset(env Env, name string, args []string) error {
	f := newFidoFlags(env, name, "[--device PATH] [--yes]", false, false)
	yes := f.fs.Bool("yes", false, "do not ask for confirmation")
	if err := noPositional(f.fs, name, args); err != nil {
		return err
	}
	k, err := openKey(env, *f.device)
	if err != nil {
		return err
	}
	warnf(env, "%s", fido.ResetRule)
	if !*yes {
		fmt.Fprintf(env.Stderr, "countersign: type \"reset\" to erase the key at %s: ", k.Path())
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "reset" {
			if err != nil && line == "" {
				return errors.New("not confirmed: nothing was reset (use --yes when there is no one to ask)")
			}
			return errors.New("not confirmed: nothing was reset")
		}
	}
	ctx, stop := softkeySignals()
	defer stop()
	if err := k.Reset(ctx, fido.OnTouch(func() { warnf(env, "touch the key now") })); err != nil {
		return err
	}
	warnf(env, "the key at %s was reset", k.Path())
	return nil
}

// softkeySignals is what ends "fido softkey" and interrupts a wait for a
// touch; tests replace it.
var softkeySignals = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runFidoSoftkey(env Env, name string, args []string) error {
	fs := newFlags(env, name, "[--state FILE] [--fingerprint]")
	state := fs.String("state", "", "keep the key's PIN and passkeys in this file (plain JSON: anyone who reads it can use them)")
	sensor := fs.Bool("fingerprint", false, "give the key a simulated fingerprint sensor that takes every touch as a good sample")
	if err := noPositional(fs, name, args); err != nil {
		return err
	}
	ctx, stop := softkeySignals()
	defer stop()
	opts := softkey.Options{StateFile: *state}
	if *sensor {
		opts.Fingerprint = &softkey.FingerprintSensor{Sample: softkey.GoodSamples}
	}
	sk, err := softkey.New(opts)
	if err != nil {
		return err
	}
	if err := sk.Start(); err != nil {
		return err
	}
	defer sk.Close()
	warnf(env, "WARNING: this is a software FIDO2 key for tests and demos, NOT a security device")
	warnf(env, "its private keys and PIN live in this process%s; never register it with an account that matters",
		map[bool]string{true: " and in " + *state, false: ""}[*state != ""])
	fmt.Fprintln(env.Stdout, sk.Path())
	warnf(env, "serving until interrupted (Ctrl+C); use it with --device %s or %s=%s", sk.Path(), fido.EnvDevices, sk.Path())
	<-ctx.Done()
	return nil
}

// noPositional parses flags and refuses arguments.
func noPositional(fs *flag.FlagSet, name string, args []string) error {
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return fmt.Errorf("%w: %s takes no arguments", ErrUsage, name)
	}
	return nil
}
