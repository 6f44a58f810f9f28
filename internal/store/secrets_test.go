package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/store/pgtest"
)

// forEachDSN runs f with the URL of a fresh database of every backend, for
// tests that open the same database more than once.
func forEachDSN(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "countersign.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.dsn(t))
		})
	}
}

func newSecretsKey(t *testing.T) *atrest.Key {
	t.Helper()
	raw := make([]byte, atrest.KeySize)
	rand.Read(raw)
	k, err := atrest.NewKey(raw)
	must(t, "NewKey", err)
	return k
}

// secrets is one secret of each sealed kind, written through the store.
type secrets struct {
	userID, methodID string
	totp, csrf, der  []byte
}

func addSecrets(t *testing.T, db *DB) secrets {
	t.Helper()
	u := newUser(t, db, "ada@example.com", "")
	s := secrets{userID: u.ID, totp: []byte("totp-seed-of-ada-20b"), csrf: []byte("the-csrf-hmac-key-of-32-bytes..."), der: []byte("pkcs8-der-of-the-es256-key")}
	m := &Method{UserID: u.ID, Kind: MethodTOTP, Label: "app", Secret: s.totp, Confirmed: true, CreatedAt: t0}
	must(t, "AddMethod", db.AddMethod(ctx, m))
	s.methodID = m.ID
	_, err := db.SetSettingIfAbsent(ctx, "csrf-key", s.csrf)
	must(t, "SetSettingIfAbsent", err)
	must(t, "AddOAuthKey", db.AddOAuthKey(ctx, &OAuthKey{ID: "k1", Alg: "ES256", Private: s.der, CreatedAt: t0}))
	return s
}

// wantSecrets reads the secrets back through the store.
func wantSecrets(t *testing.T, db *DB, s secrets) {
	t.Helper()
	m, err := db.Method(ctx, s.userID, s.methodID)
	must(t, "Method", err)
	ms, err := db.Methods(ctx, s.userID)
	must(t, "Methods", err)
	v, err := db.Setting(ctx, "csrf-key")
	must(t, "Setting", err)
	ks, err := db.OAuthKeys(ctx)
	must(t, "OAuthKeys", err)
	if !bytes.Equal(m.Secret, s.totp) || len(ms) != 1 || !bytes.Equal(ms[0].Secret, s.totp) || !bytes.Equal(v, s.csrf) ||
		len(ks) != 1 || !bytes.Equal(ks[0].Private, s.der) {
		t.Errorf("read back: method %q, methods %+v, setting %q, keys %+v; want %q, %q, %q", m.Secret, ms, v, ks, s.totp, s.csrf, s.der)
	}
}

// wantNoPlaintext reads the raw database: no secret is there in clear.
func wantNoPlaintext(t *testing.T, db *DB, s secrets) {
	t.Helper()
	for _, c := range []struct {
		query string
		plain []byte
	}{
		{"SELECT secret FROM methods", s.totp},
		{"SELECT value FROM settings WHERE key = 'csrf-key'", s.csrf},
		{"SELECT private_key FROM oauth_keys", s.der},
	} {
		var raw []byte
		must(t, c.query, db.sql.QueryRowContext(ctx, c.query).Scan(&raw))
		if bytes.Contains(raw, c.plain) || len(raw) <= len(c.plain) {
			t.Errorf("%s gives %q: the secret %q is in clear", c.query, raw, c.plain)
		}
	}
}

func TestSecretsSealedAtRest(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		k := newSecretsKey(t)
		db := openURL(t, dsn, WithSecretsKey(k))
		s := addSecrets(t, db)
		wantNoPlaintext(t, db, s)
		wantSecrets(t, db, s)
		m := &Method{ID: s.methodID, UserID: s.userID, Label: "app", Secret: []byte("a-new-seed"), Confirmed: true}
		must(t, "UpdateMethod", db.UpdateMethod(ctx, m))
		var raw []byte
		must(t, "raw secret", db.sql.QueryRowContext(ctx, "SELECT secret FROM methods").Scan(&raw))
		if bytes.Contains(raw, m.Secret) {
			t.Errorf("UpdateMethod stored the secret in clear: %q", raw)
		}

		// A sealed value moved to another row does not open there.
		other := &Method{UserID: s.userID, Kind: MethodTOTP, Label: "other", Secret: []byte("other-seed"), CreatedAt: t0}
		must(t, "AddMethod", db.AddMethod(ctx, other))
		_, err := db.sql.ExecContext(ctx, db.q("UPDATE methods SET secret = ? WHERE id = ?"), raw, other.ID)
		must(t, "move the sealed secret", err)
		if _, err := db.Method(ctx, s.userID, other.ID); !errors.Is(err, atrest.ErrTampered) {
			t.Errorf("Method with another row's sealed secret: got %v, want atrest.ErrTampered", err)
		}
		_, err = db.sql.ExecContext(ctx, db.q("UPDATE settings SET value = ? WHERE key = 'csrf-key'"), raw)
		must(t, "move the sealed secret", err)
		if _, err := db.Setting(ctx, "csrf-key"); !errors.Is(err, atrest.ErrTampered) {
			t.Errorf("Setting with a method's sealed secret: got %v, want atrest.ErrTampered", err)
		}
	})
}

// TestSecretsSealedInPlace: a database whose secrets are in clear (as every
// database before schema version 6) is sealed the first time it is opened
// with a key; from then on it opens with that key only.
func TestSecretsSealedInPlace(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		db, err := Open(ctx, dsn)
		must(t, "Open in clear", err)
		s := addSecrets(t, db)
		must(t, "CheckWrite", db.CheckWrite(ctx))
		db.Close()

		k := newSecretsKey(t)
		// Two servers starting together on the old database: one seals it,
		// the other finds it sealed.
		dbs := make([]*DB, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = Open(ctx, dsn, WithSecretsKey(k)) })
		}
		wg.Wait()
		sealed := 0
		for i := range dbs {
			must(t, "Open with a key", errs[i])
			sealed += dbs[i].SealedOnOpen()
		}
		if sealed != 3 {
			t.Errorf("the two Opens sealed %d values in place, want 3 (a TOTP secret, the csrf key, a signing key), once", sealed)
		}
		wantNoPlaintext(t, dbs[0], s)
		wantSecrets(t, dbs[0], s)
		wantSecrets(t, dbs[1], s)
		must(t, "CheckWrite", dbs[0].CheckWrite(ctx))
		for _, db := range dbs {
			db.Close()
		}

		if _, err := Open(ctx, dsn); !errors.Is(err, ErrSecretsKeyNeeded) {
			t.Errorf("Open of the sealed database without a key: got %v, want ErrSecretsKeyNeeded", err)
		}
		if _, err := Open(ctx, dsn, WithSecretsKey(newSecretsKey(t))); !errors.Is(err, ErrSecretsKeyWrong) {
			t.Errorf("Open of the sealed database with another key: got %v, want ErrSecretsKeyWrong", err)
		}
		db = openURL(t, dsn, WithSecretsKey(k))
		if n := db.SealedOnOpen(); n != 0 {
			t.Errorf("the second Open with the key sealed %d values again", n)
		}
		wantSecrets(t, db, s)
	})
}

func TestRotateSecretsKey(t *testing.T) {
	forEachDSN(t, func(t *testing.T, dsn string) {
		old, next := newSecretsKey(t), newSecretsKey(t)
		db, err := Open(ctx, dsn, WithSecretsKey(old))
		must(t, "Open", err)
		s := addSecrets(t, db)
		must(t, "CheckWrite", db.CheckWrite(ctx))
		n, err := db.RotateSecretsKey(ctx, next)
		must(t, "RotateSecretsKey", err)
		if n != 3 {
			t.Errorf("RotateSecretsKey resealed %d values, want 3", n)
		}
		db.Close()
		if _, err := Open(ctx, dsn, WithSecretsKey(old)); !errors.Is(err, ErrSecretsKeyWrong) {
			t.Errorf("Open with the old key after rotating: got %v, want ErrSecretsKeyWrong", err)
		}
		db = openURL(t, dsn, WithSecretsKey(next))
		wantNoPlaintext(t, db, s)
		wantSecrets(t, db, s)
		if _, err := db.RotateSecretsKey(ctx, newSecretsKey(t)); err != nil {
			t.Errorf("a second rotation: %v", err)
		}

		plain, err := Open(ctx, filepath.Join(t.TempDir(), "clear.db"))
		must(t, "Open in clear", err)
		defer plain.Close()
		if _, err := plain.RotateSecretsKey(ctx, next); err == nil {
			t.Error("RotateSecretsKey of a store opened without a key did not fail")
		}
	})
}

// TestSecretsKeyErrorsSayWhich: the errors name the key ids, so an
// operator can tell the keys apart without seeing them.
func TestSecretsKeyErrorsSayWhich(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "countersign.db")
	k := newSecretsKey(t)
	openURL(t, dsn, WithSecretsKey(k)).Close()
	other := newSecretsKey(t)
	_, err := Open(context.Background(), dsn, WithSecretsKey(other))
	if !errors.Is(err, ErrSecretsKeyWrong) || !bytes.Contains([]byte(err.Error()), []byte(k.ID())) || !bytes.Contains([]byte(err.Error()), []byte(other.ID())) {
		t.Errorf("got %v, want ErrSecretsKeyWrong naming key ids %s and %s", err, other.ID(), k.ID())
	}
}
