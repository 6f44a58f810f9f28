package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/store"
)

func newKeyFile(t *testing.T, dir, name string) (string, *atrest.Key) {
	t.Helper()
	p := filepath.Join(dir, name)
	k, err := atrest.CreateKeyFile(p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return p, k
}

// sealedDB makes a SQLite database whose secrets (a TOTP secret and a
// setting) are sealed under k (in clear when k is nil, as before secrets
// keys), and returns its path.
func sealedDB(t *testing.T, k *atrest.Key) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cs.db")
	opts := []store.Option{}
	if k != nil {
		opts = append(opts, store.WithSecretsKey(k))
	}
	db, err := store.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	u := &store.User{Email: "ada@example.com", PasswordHash: "$argon2id$x", WebAuthnID: []byte("ada")}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := db.AddMethod(ctx, &store.Method{ID: "m1", UserID: u.ID, Kind: store.MethodTOTP, Secret: []byte("ada's totp seed"), Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetSettingIfAbsent(ctx, "csrf-key", []byte("ada's server's csrf key")); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantSeed opens the database with k and finds the TOTP seed.
func wantSeed(t *testing.T, path string, k *atrest.Key) {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.WithSecretsKey(k))
	if err != nil {
		t.Fatalf("open with key %s: %v", k.ID(), err)
	}
	defer db.Close()
	u, err := db.UserByLogin(context.Background(), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.Method(context.Background(), u.ID, "m1")
	if err != nil || string(m.Secret) != "ada's totp seed" {
		t.Errorf("the TOTP seed reads %q, %v", m.Secret, err)
	}
}

// TestSecretsKeyRefusals: a server that cannot read its secrets refuses to
// start with a sentence naming the flag and the file, and never makes a
// new key in place of a lost one.
func TestSecretsKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	_, goodKey := newKeyFile(t, dir, "good.key")
	other, _ := newKeyFile(t, dir, "other.key")
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.key")
	for _, tc := range []struct {
		name  string
		args  []string
		db    string
		want  []string
		wantE error
	}{
		{name: "no key and not --dev", db: sealedDB(t, nil), wantE: errNoSecretsKey,
			want: []string{"--secrets-key-file", "LoadCredential=secrets-key:", "openssl rand -base64 32"}},
		{name: "the key file is missing", args: []string{"--secrets-key-file", missing}, db: sealedDB(t, goodKey),
			want: []string{"--secrets-key-file " + missing, "missing", "a new key cannot open them"}},
		{name: "the key file is not a key", args: []string{"--secrets-key-file", garbage}, db: sealedDB(t, goodKey),
			want: []string{"--secrets-key-file " + garbage, "openssl rand -base64 32"}},
		{name: "another key", args: []string{"--secrets-key-file", other}, db: sealedDB(t, goodKey),
			want: []string{"--secrets-key-file " + other + " does not open", "sealed under another secrets key"}},
		{name: "--dev on a sealed database whose key is gone", args: []string{"--dev"}, db: sealedDB(t, goodKey),
			want: []string{"secrets.key does not open", "sealed under another secrets key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:0", "--db", "sqlite://" + tc.db}, tc.args...)
			err := run(context.Background(), args, env(map[string]string{"HOME": t.TempDir()}), io.Discard, io.Discard)
			if err == nil {
				t.Fatal("the server started")
			}
			if tc.wantE != nil && !errors.Is(err, tc.wantE) {
				t.Errorf("got %v, want %v", err, tc.wantE)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %q", err, w)
				}
			}
			// The database still opens with its key: nothing was resealed.
			wantSeed(t, tc.db, goodKey)
			// No key was left beside the database to be mistaken for its own.
			if _, err := os.Stat(filepath.Join(filepath.Dir(tc.db), devSecretsKey)); err == nil {
				t.Error("a secrets key was left beside the database")
			}
		})
	}
}

// TestSecretsKeyCredential: under systemd (LoadCredential=secrets-key:FILE)
// the key comes from $CREDENTIALS_DIRECTORY; a database of secrets in clear,
// as every database before, is sealed under it at the first start.
func TestSecretsKeyCredential(t *testing.T) {
	creds := t.TempDir()
	_, k := newKeyFile(t, creds, secretsKeyCredential)
	path := sealedDB(t, nil)
	cfg, err := parseConfig([]string{"--db", "sqlite://" + path}, env(map[string]string{"HOME": t.TempDir(), "CREDENTIALS_DIRECTORY": creds}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	db, sk, err := openStore(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if !strings.Contains(sk.source, "systemd credential secrets-key") || sk.key.ID() != k.ID() {
		t.Errorf("key from %q (id %s), want the credential's (id %s)", sk.source, sk.key.ID(), k.ID())
	}
	if n := db.SealedOnOpen(); n != 2 {
		t.Errorf("sealed %d secrets in place, want 2", n)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(path + "-wal"); err == nil {
		raw = append(raw, wal...)
	}
	for _, secret := range []string{"ada's totp seed", "ada's server's csrf key"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file still holds %q in clear", secret)
		}
	}
	wantSeed(t, path, k)
}

func TestRotateSecretsKeyCommand(t *testing.T) {
	dir := t.TempDir()
	oldFile, oldKey := newKeyFile(t, dir, "old.key")
	newFile, newKey := newKeyFile(t, dir, "new.key")
	path := sealedDB(t, oldKey)
	rotate := func(getenv map[string]string, args ...string) (string, error) {
		var stderr strings.Builder
		getenv["HOME"] = dir
		err := run(context.Background(), append([]string{"rotate-secrets-key", "--db", "sqlite://" + path}, args...), env(getenv), io.Discard, &stderr)
		return stderr.String(), err
	}
	if _, err := rotate(map[string]string{}, "--secrets-key-file", oldFile); !errors.Is(err, errUsage) {
		t.Errorf("rotate without a new key: got %v, want a usage error", err)
	}
	if _, err := rotate(map[string]string{}, "--secrets-key-file", oldFile, "--new-key-file", oldFile); err == nil || !strings.Contains(err.Error(), "is the current secrets key") {
		t.Errorf("rotate to the same key: got %v", err)
	}
	if _, err := rotate(map[string]string{}, "--secrets-key-file", newFile, "--new-key-file", oldFile); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("rotate with a wrong current key: got %v", err)
	}
	wantSeed(t, path, oldKey)

	out, err := rotate(map[string]string{}, "--secrets-key-file", oldFile, "--new-key-file", newFile)
	if err != nil {
		t.Fatalf("rotate-secrets-key: %v", err)
	}
	if !strings.Contains(out, "resealed 2 secrets") || !strings.Contains(out, newKey.ID()) {
		t.Errorf("rotate-secrets-key said %q", out)
	}
	wantSeed(t, path, newKey)
	if _, err := store.Open(context.Background(), path, store.WithSecretsKey(oldKey)); !errors.Is(err, store.ErrSecretsKeyWrong) {
		t.Errorf("the old key still opens the database after rotating: %v", err)
	}

	// Under systemd-run both keys come as credentials.
	creds := t.TempDir()
	if err := os.Rename(newFile, filepath.Join(creds, secretsKeyCredential)); err != nil {
		t.Fatal(err)
	}
	_, third := newKeyFile(t, creds, newSecretsKeyCredential)
	if _, err := rotate(map[string]string{"CREDENTIALS_DIRECTORY": creds}); err != nil {
		t.Fatalf("rotate-secrets-key with credentials: %v", err)
	}
	wantSeed(t, path, third)
}
