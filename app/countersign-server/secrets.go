package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/store"
)

// The secrets key seals the secrets the server stores (TOTP secrets, HMAC
// keys, ID-token signing keys) so that the database alone does not give
// them away. It is found, in this order, in --secrets-key-file, in the
// systemd credential secretsKeyCredential (LoadCredential= in the unit),
// or in devSecretsKey beside the database, which --dev makes.
const (
	secretsKeyCredential    = "secrets-key"
	newSecretsKeyCredential = "new-secrets-key" // rotate-secrets-key's new key, when no --new-key-file
	devSecretsKey           = "secrets.key"
)

// errNoSecretsKey is a server started without a key, and not in --dev.
var errNoSecretsKey = errors.New("no secrets key: the server seals the secrets it stores with a key kept outside the database; " +
	"make one (umask 077; openssl rand -base64 32 >/etc/countersign-server/secrets.key) and give it with --secrets-key-file " +
	"or as the systemd credential " + secretsKeyCredential + " (LoadCredential=" + secretsKeyCredential + ":/etc/countersign-server/secrets.key)")

// secretsKey is the key and where it came from, for messages.
type secretsKey struct {
	key     *atrest.Key
	source  string // e.g. "--secrets-key-file /etc/countersign-server/secrets.key"
	path    string
	created bool // made just now (--dev)
	beside  bool // the file beside the database
}

// loadSecretsKey finds the secrets key. A key file that is named but
// missing or unreadable is an error, never a reason to make a new key: the
// database's secrets can only be read with the key they were sealed with.
// With create (--dev) a missing key beside the database is made.
func (c *config) loadSecretsKey(create bool) (*secretsKey, error) {
	if c.secretsKeyFile != "" {
		return readSecretsKey(c.secretsKeyFile, "--secrets-key-file "+c.secretsKeyFile)
	}
	if c.credentialsDir != "" {
		p := filepath.Join(c.credentialsDir, secretsKeyCredential)
		if _, err := os.Stat(p); err == nil {
			return readSecretsKey(p, "the systemd credential "+secretsKeyCredential+" ("+p+")")
		}
	}
	p := filepath.Join(c.dataDir, devSecretsKey)
	_, err := os.Stat(p)
	switch {
	case err == nil:
		sk, err := readSecretsKey(p, "the key beside the database "+p)
		if sk != nil {
			sk.beside = true
		}
		return sk, err
	case create && errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("make a secrets key: %w", err)
		}
		k, err := atrest.CreateKeyFile(p, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("make a secrets key: %w", err)
		}
		return &secretsKey{key: k, source: "the key beside the database " + p, path: p, created: true, beside: true}, nil
	}
	return nil, errNoSecretsKey
}

func readSecretsKey(path, source string) (*secretsKey, error) {
	k, err := atrest.LoadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: the file is missing: restore the secrets key the database's secrets are sealed with (a new key cannot open them)", source)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &secretsKey{key: k, source: source, path: path}, nil
}

// openStore opens the database with the secrets key (made beside it when
// create and there is none). A database whose secrets are in clear is
// sealed under the key in place; one sealed under another key is refused.
func openStore(ctx context.Context, cfg *config, create bool) (*store.DB, *secretsKey, error) {
	sk, err := cfg.loadSecretsKey(create)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.db, store.WithSecretsKey(sk.key))
	if errors.Is(err, store.ErrSecretsKeyWrong) {
		if sk.created {
			os.Remove(sk.path) // it sealed nothing
		}
		return nil, nil, fmt.Errorf("%s does not open %s: its secrets are sealed under another secrets key; give that key with --secrets-key-file or the systemd credential %s (%w)",
			sk.source, redactDB(cfg.db), secretsKeyCredential, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return db, sk, nil
}

// rotateSecretsKey is `countersign-server rotate-secrets-key --new-key-file
// FILE [flags]`: it reseals every secret of the database under the new key,
// in one transaction, after checking the current key (found as the server
// finds it). Every server on the database must be stopped first, and
// started again with the new key.
func rotateSecretsKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var newFile string
	cfg, err := parseConfigWith(args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&newFile, "new-key-file", "", "the new secrets key `file` (rotate-secrets-key only; default: the systemd credential "+newSecretsKeyCredential+")")
	})
	if err != nil {
		return err
	}
	source := "--new-key-file " + newFile
	if newFile == "" && cfg.credentialsDir != "" {
		newFile = filepath.Join(cfg.credentialsDir, newSecretsKeyCredential)
		source = "the systemd credential " + newSecretsKeyCredential + " (" + newFile + ")"
	}
	if newFile == "" {
		fmt.Fprintln(stderr, "countersign-server: rotate-secrets-key needs --new-key-file FILE (make it with: umask 077; openssl rand -base64 32 >FILE)")
		return errUsage
	}
	next, err := readSecretsKey(newFile, source)
	if err != nil {
		return err
	}
	db, cur, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if next.key.ID() == cur.key.ID() {
		return fmt.Errorf("%s is the current secrets key (%s): make a new one", next.source, cur.source)
	}
	n, err := db.RotateSecretsKey(ctx, next.key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "countersign-server: resealed %d secrets of %s under %s (key id %s); start the servers with it in place of %s\n",
		n, redactDB(cfg.db), next.source, next.key.ID(), cur.source)
	return nil
}
