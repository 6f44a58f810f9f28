package cli

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

// maxImportSize bounds what import reads: exports are kilobytes.
const maxImportSize = 64 << 20

type importJSON struct {
	Format     transfer.Format `json:"format"`
	Encrypted  bool            `json:"encrypted"`
	DryRun     bool            `json:"dry_run"`
	Imported   []accountJSON   `json:"imported"`
	Duplicates []accountJSON   `json:"duplicates"`
	Skipped    []skippedJSON   `json:"skipped"`
}

type skippedJSON struct {
	Entry string `json:"entry"`
	Error string `json:"error"`
}

func runImport(env Env, args []string) error {
	names := []string{string(transfer.FormatAuto)}
	for _, f := range transfer.Formats() {
		names = append(names, string(f))
	}
	synopsis := "[--format " + strings.Join(names, "|") + "] [--password-file F] [--skip-invalid] [--dry-run] [--json] FILE"
	fs := newFlags(env, "import", synopsis)
	format := fs.String("format", "auto", "the file's format; auto detects it")
	passwordFile := fs.String("password-file", "", "read the password of an encrypted export from this file (- for stdin)")
	skipInvalid := fs.Bool("skip-invalid", false, "import the valid entries and list the invalid ones, instead of importing nothing")
	dryRun := fs.Bool("dry-run", false, "show what would be imported without changing the vault")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("%w: import takes one FILE", ErrUsage)
	}
	f, err := transfer.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	data, err := readInput(env, pos[0])
	if err != nil {
		return err
	}
	opts := transfer.Options{Format: f, SkipInvalid: *skipInvalid}
	if *passwordFile != "" {
		if opts.Password, err = readSecretFile(env, *passwordFile); err != nil {
			return err
		}
	}
	res, err := transfer.Import(data, opts)
	if errors.Is(err, transfer.ErrPasswordRequired) && *passwordFile == "" && env.IsTerminal() {
		if opts.Password, err = env.ReadPassword("password for " + filepath.Base(pos[0]) + ": "); err != nil {
			return err
		}
		res, err = transfer.Import(data, opts)
	}
	if errors.Is(err, transfer.ErrPasswordRequired) {
		return fmt.Errorf("%s is encrypted: give its password with --password-file FILE", pos[0])
	}
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was imported)", pos[0], err)
	}

	v, err := openVault(env)
	if err != nil {
		return err
	}
	var added, dups []vault.Account
	if *dryRun {
		added, dups = vault.PlanAdd(v.Accounts(), res.Accounts)
	} else if added, dups, err = v.Add(res.Accounts...); err != nil {
		return err
	}

	if *asJSON {
		out := importJSON{Format: res.Format, Encrypted: res.Encrypted, DryRun: *dryRun,
			Imported: []accountJSON{}, Duplicates: []accountJSON{}, Skipped: []skippedJSON{}}
		for _, a := range added {
			out.Imported = append(out.Imported, toJSON(a))
		}
		for _, a := range dups {
			out.Duplicates = append(out.Duplicates, toJSON(a))
		}
		for _, s := range res.Skipped {
			out.Skipped = append(out.Skipped, skippedJSON{Entry: s.Entry, Error: s.Err.Error()})
		}
		return writeJSON(env.Stdout, out)
	}
	for _, a := range added {
		fmt.Fprintf(env.Stdout, "%s\t%s\n", a.ID, a.Label())
	}
	verb := "imported"
	if *dryRun {
		verb = "would import"
	}
	summary := fmt.Sprintf("%s %d account%s from %s", verb, len(added), plural(len(added)), res.Format.Title())
	if len(dups) > 0 {
		summary += fmt.Sprintf("; %d already in the vault", len(dups))
	}
	if len(res.Skipped) > 0 {
		summary += fmt.Sprintf("; %d skipped", len(res.Skipped))
	}
	warnf(env, "%s", summary)
	for _, d := range dups {
		warnf(env, "already in the vault: %s (id %s)", d.Label(), d.ID)
	}
	for _, s := range res.Skipped {
		warnf(env, "skipped %s: %v", s.Entry, s.Err)
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func runExport(env Env, args []string) error {
	const synopsis = "--format uris|aegis|backup [--passphrase-file F] [--force] OUT"
	fs := newFlags(env, "export", synopsis)
	format := fs.String("format", "", "uris (otpauth:// list, plaintext), aegis (plain Aegis JSON, plaintext) or backup (encrypted with a passphrase)")
	passphraseFile := fs.String("passphrase-file", "", "read the backup passphrase from this file (- for stdin)")
	force := fs.Bool("force", false, "replace OUT if it exists")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *format == "" {
		fs.Usage()
		return fmt.Errorf("%w: export takes --format and one OUT", ErrUsage)
	}
	out := pos[0]
	v, err := openVault(env)
	if err != nil {
		return err
	}
	accounts := v.Accounts()
	if len(accounts) == 0 {
		return errors.New("the vault has no accounts to export")
	}
	if out != "-" {
		if _, err := os.Stat(out); err == nil && !*force {
			return fmt.Errorf("%s exists; choose another name or pass --force to replace it", out)
		}
	}

	f, err := transfer.ParseExportFormat(*format)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	var pass []byte
	if f == transfer.FormatBackup {
		if pass, err = backupPassphrase(env, *passphraseFile); err != nil {
			return err
		}
		defer clear(pass)
	}
	if out == "-" {
		var buf bytes.Buffer
		if err := transfer.Export(&buf, f, accounts, pass, rand.Reader); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		_, err = env.Stdout.Write(buf.Bytes())
		return err
	}
	if err := transfer.ExportFile(out, v.Path(), f, accounts, pass, rand.Reader); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if f.Plaintext() {
		warnf(env, "wrote %d account%s to %s: %s", len(accounts), plural(len(accounts)), out, transfer.PlaintextWarning)
	} else {
		warnf(env, "wrote an encrypted backup of %d account%s to %s", len(accounts), plural(len(accounts)), out)
	}
	return nil
}

func backupPassphrase(env Env, file string) ([]byte, error) {
	if file != "" {
		return readSecretFile(env, file)
	}
	if !env.IsTerminal() {
		return nil, errors.New("a backup needs a passphrase: give it with --passphrase-file FILE")
	}
	first, err := env.ReadPassword("backup passphrase: ")
	if err != nil {
		return nil, err
	}
	again, err := env.ReadPassword("again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(first, again) {
		return nil, errors.New("the passphrases differ; nothing was written")
	}
	return first, nil
}

// readInput reads FILE, or stdin for "-".
func readInput(env Env, name string) ([]byte, error) {
	var r io.Reader = env.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxImportSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not an authenticator export", name, maxImportSize>>20)
	}
	return data, nil
}

// readSecretFile reads a password file: its first line, without the newline.
func readSecretFile(env Env, name string) ([]byte, error) {
	data, err := readInput(env, name)
	if err != nil {
		return nil, err
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return nil, fmt.Errorf("%s is empty: it must hold the password on its first line", name)
	}
	return bytes.Clone(line), nil
}

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

func readTerminalPassword(prompt string) ([]byte, error) {
	fmt.Fprint(os.Stderr, prompt)
	defer fmt.Fprintln(os.Stderr)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	if err != nil {
		return nil, fmt.Errorf("read password: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, errors.New("empty password")
	}
	return b, nil
}
