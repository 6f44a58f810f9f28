// Package cli is the countersign command line: the subcommands that app/countersign
// runs when it is given arguments.
//
// Results go to stdout, everything else to stderr prefixed with the program
// name. Secrets reach stdout only when the person asked for them: a code, or
// an export written to "-". The output of list, code --json and import --json
// is a stable contract that scripts and other tests rely on; the account
// dashboard's commands (devices, apps, sessions, activity, household,
// shares) print the server's API v1 JSON with --json (shares without the
// sealed secret).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/vault"
)

// Env is everything a command touches outside its arguments.
type Env struct {
	Stdin io.Reader
	// Stdout takes the results. Run checks every write to it: a command may
	// leave fmt.Fprint's error unchecked, and still fails when any write to
	// Stdout did (a full disk, a closed pipe).
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	Keys           vault.KeyStore
	// IsTerminal reports whether stdin is a terminal a passphrase can be asked on.
	IsTerminal func() bool
	// ReadPassword reads a line from the terminal without echo.
	ReadPassword func(prompt string) ([]byte, error)
	Version      string
}

// OSEnv is the Env of a real process.
func OSEnv(version string) Env {
	return Env{
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
		Getenv:       os.Getenv,
		Now:          time.Now,
		Keys:         keyring.New(keyring.Service),
		IsTerminal:   stdinIsTerminal,
		ReadPassword: readTerminalPassword,
		Version:      version,
	}
}

// ErrUsage marks a mistake in the command line; main exits with 2 for it.
var ErrUsage = errors.New("usage")

type command struct {
	name, args, summary string
	run                 func(env Env, args []string) error
}

func commands() []command {
	return []command{
		{"add", "[--tag TAG]... (URI | --qr IMAGE... | --screen | --clipboard)", "add accounts from an otpauth:// or otpauth-migration:// URI, or from QR codes", runAdd},
		{"list", "[--json]", "list accounts (never their secrets)", runList},
		{"code", "[--json] [--at UNIX_SECONDS] [QUERY]", "show current codes of accounts whose issuer or name contains QUERY", runCode},
		{"import", "[--format F] [--password-file F] [--skip-invalid] [--dry-run] [--json] FILE", "import accounts from another authenticator's export", runImport},
		{"export", "--format uris|aegis|backup [--passphrase-file F] [--force] OUT", "export every account to OUT (- for stdout)", runExport},
		{"remove", "ID", "remove an account", runRemove},
		{"qr", "decode [--json] (IMAGE... | --clipboard) | scan-screen [--json] | encode [--out FILE] ID...", "read QR codes from images, the clipboard or the screen; render accounts as QR", runQR},
		{"pair", "URI_OR_URL [--code CODE] [--name NAME]", "pair this desktop with an account to approve its sign-ins", runPair},
		{"accounts", "[--json]", "list the accounts this desktop approves sign-ins for", runAccounts},
		{"unpair", "ID", "stop approving an account's sign-ins on this desktop", runUnpair},
		{"approvals", "[--json]", "list the sign-in requests waiting for an answer", runApprovals},
		{"devices", devicesSynopsis, "the paired account's devices: trusted browsers, desktops, security keys", runDevices},
		{"apps", appsSynopsis, "the apps that may sign in with the paired account", runApps},
		{"sessions", sessionsSynopsis, "the paired account's signed-in browser sessions", runSessions},
		{"activity", activitySynopsis, "the paired account's security activity, newest first", runActivity},
		{"household", householdSynopsis, "the people who share the paired account, and their desktops' invitations", runHousehold},
		{"shares", sharesSynopsis, "authenticators the account's owner shared with this desktop: list, accept into the vault, decline", runShares},
		{"recovery", recoverySynopsis, "the recovery key, emergency kit and security keys: open the vault when the keyring cannot", runRecovery},
		{"backup", backupSynopsis, "write a backup any age tool opens with the recovery key; list them", runBackup},
		{"restore", "[--key-file F] [--dry-run] BACKUP.age", "add a backup's accounts to the vault (never removes one)", runRestore},
		{"sync", syncSynopsis, "sync the vault end-to-end encrypted between your desktops paired with the account", runSync},
		{"fido", fidoSynopsis, "security keys: list, info, PIN, passkeys on the key, reset; a software key for tests", runFido},
		{"version", "", "print the version", func(env Env, _ []string) error {
			fmt.Fprintln(env.Stdout, "countersign", env.Version)
			return nil
		}},
	}
}

// Run runs one subcommand; args excludes the program name. It fails when a
// write to env.Stdout failed, even if the command went on: a result that did
// not reach stdout is a failure ("writing to stdout: …").
func Run(env Env, args []string) error {
	out := &stdout{w: env.Stdout}
	env.Stdout = out
	return out.check(run(env, args))
}

func run(env Env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return nil
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	usage(env.Stderr)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

// stdout is a command's standard output. It keeps the first write error and
// writes nothing after it, so that Run can fail the command.
type stdout struct {
	w   io.Writer
	err error
}

func (s *stdout) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	s.err = err
	return n, err
}

// check returns the command's error err, said to be stdout's when a write
// failed.
func (s *stdout) check(err error) error {
	switch {
	case s.err == nil:
		return err
	case err == nil:
		return fmt.Errorf("writing to stdout: %w", s.err)
	case errors.Is(err, s.err):
		return fmt.Errorf("writing to stdout: %w", err)
	default:
		return fmt.Errorf("%w; writing to stdout: %w", err, s.err)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: countersign                 open the desktop companion")
	fmt.Fprintln(w, "       countersign --hidden        open it hidden in the system tray")
	fmt.Fprintln(w, "       countersign --show SCREEN   open it on a screen: authenticator, settings, security-keys,")
	fmt.Fprintln(w, "                                   approvals, account, overview, devices, apps, sessions,")
	fmt.Fprintln(w, "                                   activity or household")
	fmt.Fprintln(w, "       countersign COMMAND [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The vault lives in $COUNTERSIGN_HOME (default: countersign/ under the XDG data dir;")
	fmt.Fprintln(w, "%APPDATA%\\Countersign on Windows); its key is in the OS keyring. Run 'countersign COMMAND -h'")
	fmt.Fprintln(w, "for a command's flags.")
	fmt.Fprintln(w, "devices, apps, sessions, activity, household and shares act on an account this desktop is")
	fmt.Fprintln(w, "paired with (see 'countersign accounts'), as this desktop's member of its household.")
}

// newFlags makes a flag set whose errors come back instead of exiting.
func newFlags(env Env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: countersign %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags that may come before, between or after positional
// arguments, and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// errHelp is returned when -h was asked for: usage was printed, nothing failed.
var errHelp = errors.New("help requested")

// IsHelp reports whether err only means that a command's help was printed.
func IsHelp(err error) bool { return errors.Is(err, errHelp) }

func openVault(env Env) (*vault.Vault, error) {
	dir, err := vault.DefaultDir(env.Getenv)
	if err != nil {
		return nil, err
	}
	v, err := vault.Open(dir, vault.Options{Keys: env.Keys, Now: env.Now})
	if vault.NeedsSlot(err) {
		keys, _ := vault.SecurityKeySlots(dir)
		r, _ := vault.RecoveryRecipient(dir)
		switch {
		case len(keys) > 0 && r != "":
			return nil, fmt.Errorf("%w\nthe vault opens with a security key: countersign recovery unlock --security-key, or with its recovery key: countersign recovery unlock", err)
		case len(keys) > 0:
			return nil, fmt.Errorf("%w\nthe vault opens with a security key: countersign recovery unlock --security-key", err)
		case r != "":
			return nil, fmt.Errorf("%w\nthe vault has a recovery key: open it with countersign recovery unlock", err)
		}
	}
	return v, err
}

// multiFlag is a flag that may be repeated.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func warnf(env Env, format string, args ...any) {
	fmt.Fprintf(env.Stderr, "countersign: "+format+"\n", args...)
}
