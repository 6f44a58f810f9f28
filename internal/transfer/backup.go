package transfer

// Countersign backup format, version 1 (described for people in BACKUP.md):
//
//	{"format": "countersign-backup", "version": 1,
//	 "kdf": {"name": "argon2id", "time": 3, "memory_kib": 65536, "threads": 4, "salt": base64},
//	 "cipher": "xchacha20-poly1305", "nonce": base64, "data": base64}
//
// key = Argon2id(passphrase, salt, time, memory_kib, threads, 32 bytes);
// data = XChaCha20-Poly1305(key, nonce, plaintext, additional data), where
// the additional data binds every other field of the envelope (backupAAD).
// The plaintext is the JSON object {"accounts": [backupAccount…]}.
// base64 is the standard alphabet with padding.

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/countersign/countersign/internal/argon2id"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

const (
	backupFormatName = "countersign-backup"
	backupVersion    = 1
	backupKDFName    = "argon2id"
	backupCipherName = "xchacha20-poly1305"
	backupSaltLen    = 16

	// Limits of the format, tighter than argon2id's bounds (which also
	// hold: memory at most 1 GiB and at least 8 KiB per lane).
	backupMaxTime    = 20
	backupMaxSaltLen = 64
)

// KDFParams are the Argon2id costs of a backup.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32
	Threads   uint8
}

// DefaultBackupKDF is the cost ExportBackup uses: RFC 9106's second
// recommended option (3 passes over 64 MiB) with 4 lanes.
var DefaultBackupKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// exportKDF is the cost ExportBackup uses; tests lower it to run fast.
var exportKDF = DefaultBackupKDF

type backupEnvelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	KDF     backupKDFObject `json:"kdf"`
	Cipher  string          `json:"cipher"`
	Nonce   []byte          `json:"nonce"`
	Data    []byte          `json:"data"`
}

type backupKDFObject struct {
	Name      string `json:"name"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	Salt      []byte `json:"salt"`
}

func (k backupKDFObject) params() argon2id.Params {
	return argon2id.Params{Memory: k.MemoryKiB, Time: k.Time, Threads: k.Threads}
}

// backupAAD is the additional data the AEAD authenticates: every envelope
// field but the nonce (an input of the AEAD) and the data itself, one per
// line, so that no field can be changed without the decryption failing.
func backupAAD(e backupEnvelope) []byte {
	return fmt.Appendf(nil, "%s\nversion %d\nkdf %s time=%d memory_kib=%d threads=%d salt=%s\ncipher %s\n",
		e.Format, e.Version, e.KDF.Name, e.KDF.Time, e.KDF.MemoryKiB, e.KDF.Threads,
		base64.StdEncoding.EncodeToString(e.KDF.Salt), e.Cipher)
}

type backupPayload struct {
	Accounts []json.RawMessage `json:"accounts"`
}

// backupAccount is one account in a backup: every field of vault.Account
// but the ID, which the vault assigns again on restore.
type backupAccount struct {
	Type      string              `json:"type"`
	Issuer    string              `json:"issuer,omitempty"`
	Name      string              `json:"name"`
	Secret    string              `json:"secret"` // base32, unpadded
	Algorithm string              `json:"algorithm"`
	Digits    int                 `json:"digits"`
	Period    int                 `json:"period,omitempty"`
	Counter   uint64              `json:"counter,omitempty"`
	Encoder   string              `json:"encoder,omitempty"`
	Extra     map[string][]string `json:"extra,omitempty"`
	Tags      []string            `json:"tags,omitempty"`
	Pinned    bool                `json:"pinned,omitempty"`
	Notes     string              `json:"notes,omitempty"`
	Created   time.Time           `json:"created"`
	Modified  time.Time           `json:"modified"`
}

// ExportBackup writes the accounts as a Countersign backup encrypted with
// passphrase. The salt and nonce are drawn from rand.
func ExportBackup(w io.Writer, accounts []vault.Account, passphrase []byte, rand io.Reader) error {
	if len(passphrase) == 0 {
		return errors.New("backup passphrase must not be empty")
	}
	keys, err := exportKeys(accounts)
	if err != nil {
		return err
	}
	var payload struct {
		Accounts []backupAccount `json:"accounts"`
	}
	for i, k := range keys {
		a := accounts[i]
		payload.Accounts = append(payload.Accounts, backupAccount{
			Type: string(k.Type), Issuer: k.Issuer, Name: k.Name, Secret: k.SecretBase32(),
			Algorithm: string(k.Algorithm), Digits: k.Digits, Period: k.Period, Counter: k.Counter,
			Encoder: k.Encoder, Extra: k.Extra, Tags: a.Tags, Pinned: a.Pinned, Notes: a.Notes,
			Created: a.Created.UTC(), Modified: a.Modified.UTC(),
		})
	}
	plain, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode backup: %w", err)
	}
	defer clear(plain)
	return sealBackup(w, plain, passphrase, exportKDF, rand)
}

// sealBackup encrypts a backup's plaintext and writes the envelope.
func sealBackup(w io.Writer, plain, passphrase []byte, kdf KDFParams, rand io.Reader) error {
	env := backupEnvelope{
		Format: backupFormatName, Version: backupVersion, Cipher: backupCipherName,
		KDF: backupKDFObject{Name: backupKDFName, Time: kdf.Time, MemoryKiB: kdf.MemoryKiB,
			Threads: kdf.Threads, Salt: make([]byte, backupSaltLen)},
		Nonce: make([]byte, chacha20poly1305.NonceSizeX),
	}
	if err := checkEnvelope(env); err != nil && !errors.Is(err, errTruncated) {
		return fmt.Errorf("backup key derivation: %w", err)
	}
	if _, err := io.ReadFull(rand, env.KDF.Salt); err != nil {
		return fmt.Errorf("read random bytes: %w", err)
	}
	if _, err := io.ReadFull(rand, env.Nonce); err != nil {
		return fmt.Errorf("read random bytes: %w", err)
	}
	aead, err := backupAEAD(env.KDF, passphrase)
	if err != nil {
		return err
	}
	env.Data = aead.Seal(nil, env.Nonce, plain, backupAAD(env))
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return fmt.Errorf("encode backup: %w", err)
	}
	if _, err := w.Write(append(out, '\n')); err != nil {
		return fmt.Errorf("write backup: %w", err)
	}
	return nil
}

func backupAEAD(kdf backupKDFObject, passphrase []byte) (cipher.AEAD, error) {
	key, err := argon2id.Key(passphrase, kdf.Salt, kdf.params(), chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("backup key derivation: %w", err)
	}
	defer clear(key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("backup cipher: %w", err)
	}
	return aead, nil
}

func parseBackup(data []byte, opts Options) (parsed, error) {
	p := parsed{encrypted: true}
	var env backupEnvelope
	if err := decodeFile("Countersign backup", data, &env); err != nil {
		return p, err
	}
	if err := checkEnvelope(env); err != nil {
		return p, err
	}
	if len(opts.Password) == 0 {
		return p, fmt.Errorf("countersign backup is encrypted: %w", ErrPasswordRequired)
	}
	aead, err := backupAEAD(env.KDF, opts.Password)
	if err != nil {
		return p, err
	}
	plain, err := aead.Open(nil, env.Nonce, env.Data, backupAAD(env))
	if err != nil {
		return p, fmt.Errorf("countersign backup: %w (or the file was changed)", ErrWrongPassword)
	}
	defer clear(plain)
	p.entries, err = parseBackupPayload(plain)
	return p, err
}

var errTruncated = errors.New("backup data is truncated")

// checkEnvelope refuses what this version does not read and costs beyond
// the limits, before any expensive work.
func checkEnvelope(e backupEnvelope) error {
	switch {
	case e.Format != backupFormatName:
		return fmt.Errorf("not a Countersign backup: format %q", e.Format)
	case e.Version != backupVersion:
		return fmt.Errorf("unsupported Countersign backup version %d (this version reads %d)", e.Version, backupVersion)
	case e.KDF.Name != backupKDFName:
		return fmt.Errorf("unsupported backup key derivation %q (want %s)", e.KDF.Name, backupKDFName)
	case e.Cipher != backupCipherName:
		return fmt.Errorf("unsupported backup cipher %q (want %s)", e.Cipher, backupCipherName)
	case e.KDF.Time < 1 || e.KDF.Time > backupMaxTime:
		return fmt.Errorf("backup argon2id time %d is out of range (1 to %d)", e.KDF.Time, backupMaxTime)
	}
	if err := e.KDF.params().Check(); err != nil {
		return fmt.Errorf("backup %w", err)
	}
	switch {
	case len(e.KDF.Salt) < backupSaltLen || len(e.KDF.Salt) > backupMaxSaltLen:
		return fmt.Errorf("backup salt is %d bytes (want %d to %d)", len(e.KDF.Salt), backupSaltLen, backupMaxSaltLen)
	case len(e.Nonce) != chacha20poly1305.NonceSizeX:
		return fmt.Errorf("backup nonce is %d bytes (want %d)", len(e.Nonce), chacha20poly1305.NonceSizeX)
	case len(e.Data) < chacha20poly1305.Overhead:
		return errTruncated
	}
	return nil
}

// parseBackupPayload reads the decrypted accounts.
func parseBackupPayload(plain []byte) ([]entry, error) {
	var payload backupPayload
	if err := decodeFile("Countersign backup", plain, &payload); err != nil {
		return nil, fmt.Errorf("decrypted backup: %w", err)
	}
	entries := make([]entry, len(payload.Accounts))
	for i, raw := range payload.Accounts {
		a, err := backupAccountFrom(raw)
		entries[i] = entry{index: i + 1, account: a, err: err}
	}
	return entries, nil
}

func backupAccountFrom(raw json.RawMessage) (vault.Account, error) {
	var b backupAccount
	err := decodeEntry(raw, &b)
	a := vault.Account{
		Key: otp.Key{
			Type: otp.Type(b.Type), Issuer: b.Issuer, Name: b.Name, Algorithm: otp.Algorithm(b.Algorithm),
			Digits: b.Digits, Period: b.Period, Counter: b.Counter, Encoder: b.Encoder, Extra: b.Extra,
		},
		Tags: b.Tags, Pinned: b.Pinned, Notes: b.Notes, Created: b.Created, Modified: b.Modified,
	}
	if err != nil {
		return a, err
	}
	if a.Secret, err = otp.DecodeSecret(b.Secret); err != nil {
		return a, fmt.Errorf("secret: %w", err)
	}
	return a, nil
}
