package transfer

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/scrypt"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// The plain samples in testdata/transfer are written by hand from each
// app's documentation and test files. The encrypted ones (and the migration
// export) are generated once by this file and committed:
//
//	go test ./internal/transfer/ -run TestGenerateSamples -update
//
// The *-encrypted-independent samples are not: make-encrypted.py beside them
// writes them from the apps' published formats (see encrypted_test.go).

var update = flag.Bool("update", false, "rewrite the generated samples in testdata/transfer")

const samplesDir = "../../testdata/transfer"

// samplePassword encrypts every encrypted sample.
const samplePassword = "test"

// sampleKDF is the deliberately cheap Argon2id cost of the committed backup
// samples, so that tests (and the race detector) stay fast. Import reads the
// cost from the file.
var sampleKDF = KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeSample writes a generated sample with -update; without it, it
// checks that the committed sample is what the generator makes.
func writeSample(t *testing.T, name string, data []byte) {
	t.Helper()
	path := filepath.Join(samplesDir, name)
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if committed := readSample(t, name); !bytes.Equal(committed, data) {
		t.Errorf("%s is not what the generator makes: run go test ./internal/transfer/ -run TestGenerateSamples -update", path)
	}
}

// TestGenerateSamples makes the samples our own code writes (the generator
// is deterministic): with -update it rewrites them, otherwise it checks the
// committed ones are what it makes.
func TestGenerateSamples(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{'c', 'o', 'u', 'n', 't', 'e', 'r', 's', 'i', 'g', 'n'})

	writeSample(t, "aegis-encrypted.json", encryptAegisSample(t, readSample(t, "aegis-plain.json"), rng))
	writeSample(t, "2fas-encrypted.2fas", encrypt2FASSample(t, readSample(t, "2fas-plain.2fas"), rng))

	uris, err := otp.EncodeMigration(migrationKeys(), 2, 42)
	if err != nil {
		t.Fatal(err)
	}
	writeSample(t, "migration.txt", []byte("# Google Authenticator export in two QR codes\n"+strings.Join(uris, "\n")+"\n"))

	var backup bytes.Buffer
	saved := exportKDF
	exportKDF = sampleKDF
	err = ExportBackup(&backup, backupSampleAccounts(), []byte(samplePassword), rng)
	exportKDF = saved
	if err != nil {
		t.Fatal(err)
	}
	writeSample(t, "countersign-backup.json", backup.Bytes())

	bad := `{"accounts":[` +
		`{"type":"totp","issuer":"Corp VPN","name":"bob","secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","algorithm":"SHA1","digits":6,"period":30,"created":"2024-01-02T03:04:05Z","modified":"2024-01-02T03:04:05Z"},` +
		`{"type":"totp","issuer":"GitHub","name":"alice","secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","algorithm":"MD5","digits":6,"period":30,"created":"2024-01-02T03:04:05Z","modified":"2024-01-02T03:04:05Z"}]}`
	backup.Reset()
	if err := sealBackup(&backup, []byte(bad), []byte(samplePassword), sampleKDF, rng); err != nil {
		t.Fatal(err)
	}
	writeSample(t, "countersign-backup-bad-entry.json", backup.Bytes())
}

// migrationKeys are the accounts of migration.txt.
func migrationKeys() []otp.Key {
	return []otp.Key{
		{Type: otp.TOTP, Issuer: "GitHub", Name: "alice@example.com", Secret: rfcSecret20, Algorithm: otp.SHA1, Digits: 6, Period: 30},
		{Type: otp.TOTP, Issuer: "Example Bank", Name: "alice", Secret: rfcSecret32, Algorithm: otp.SHA256, Digits: 8, Period: 30},
		{Type: otp.HOTP, Issuer: "Acme", Name: "carol", Secret: rfcSecret20, Algorithm: otp.SHA1, Digits: 6, Counter: 1},
	}
}

// backupSampleAccounts fill every field a backup carries.
func backupSampleAccounts() []vault.Account {
	created := time.Date(2024, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	modified := time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC)
	return []vault.Account{
		{
			Key:  otp.Key{Type: otp.TOTP, Issuer: "GitHub", Name: "alice@example.com", Secret: rfcSecret20, Algorithm: otp.SHA1, Digits: 6, Period: 30},
			Tags: []string{"Work"}, Pinned: true, Notes: "Recovery codes are in the safe", Created: created, Modified: modified,
		},
		{
			Key: otp.Key{Type: otp.TOTP, Issuer: "Corp VPN", Name: "bob", Secret: rfcSecret64, Algorithm: otp.SHA512, Digits: 8, Period: 30,
				Extra: map[string][]string{"image": {"https://vpn.example.com/logo.png"}, "color": {"#336699"}}},
			Tags: []string{"Work", "VPN"}, Created: created, Modified: created,
		},
		{
			Key:     otp.Key{Type: otp.HOTP, Issuer: "Acme", Name: "carol", Secret: rfcSecret20, Algorithm: otp.SHA1, Digits: 6, Counter: 1},
			Notes:   "line one\nline two",
			Created: created, Modified: modified,
		},
		{
			Key:     otp.Key{Type: otp.TOTP, Issuer: "Steam", Name: "dave", Secret: steamSecret, Encoder: otp.EncoderSteam},
			Created: created, Modified: modified,
		},
	}
}

// encryptAegisSample turns a plain Aegis vault into an encrypted one the way
// Aegis does: a random master key encrypts db with AES-256-GCM, and a
// password slot holds the master key encrypted under scrypt(password). A
// biometric slot (which no password opens) comes first, as on phones.
func encryptAegisSample(t *testing.T, plain []byte, rng io.Reader) []byte {
	t.Helper()
	var file struct {
		Version int             `json:"version"`
		DB      json.RawMessage `json:"db"`
	}
	if err := json.Unmarshal(plain, &file); err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if err := json.Compact(&db, file.DB); err != nil {
		t.Fatal(err)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(rng, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	seal := func(key, plaintext []byte) (ciphertext []byte, params aegisParams) {
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		nonce := random(12)
		sealed := aead.Seal(nil, nonce, plaintext, nil)
		tag := sealed[len(sealed)-16:]
		return sealed[:len(sealed)-16], aegisParams{Nonce: hex.EncodeToString(nonce), Tag: hex.EncodeToString(tag)}
	}
	uuid := func() string {
		id, err := newUUID(rng)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	masterKey := random(32)
	content, params := seal(masterKey, db.Bytes())

	salt := random(32)
	const n, r, p = 32768, 8, 1
	slotKey, err := scrypt.Key([]byte(samplePassword), salt, n, r, p, 32)
	if err != nil {
		t.Fatal(err)
	}
	encKey, keyParams := seal(slotKey, masterKey)
	bioKey, bioParams := seal(random(32), masterKey)

	type slot struct {
		Type      int         `json:"type"`
		UUID      string      `json:"uuid"`
		Key       string      `json:"key"`
		KeyParams aegisParams `json:"key_params"`
		N         int         `json:"n,omitempty"`
		R         int         `json:"r,omitempty"`
		P         int         `json:"p,omitempty"`
		Salt      string      `json:"salt,omitempty"`
		Repaired  bool        `json:"repaired,omitempty"`
		IsBackup  *bool       `json:"is_backup,omitempty"`
	}
	no := false
	out := map[string]any{
		"version": 1,
		"header": map[string]any{
			"slots": []slot{
				{Type: 2, UUID: uuid(), Key: hex.EncodeToString(bioKey), KeyParams: bioParams},
				{Type: 1, UUID: uuid(), Key: hex.EncodeToString(encKey), KeyParams: keyParams,
					N: n, R: r, P: p, Salt: hex.EncodeToString(salt), Repaired: true, IsBackup: &no},
			},
			"params": params,
		},
		"db": base64.StdEncoding.EncodeToString(content),
	}
	b, err := json.MarshalIndent(out, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// twofasReference is the known text 2FAS encrypts into "reference".
const twofasReference = "tRViSsLKzd86Hprh4ceC2OP7xazn4rrt4xhfEUbOjxLX8Rc3mkISXE0lWbmnWfggogbBJhtYgpK6fMl1D6m" +
	"tsy92R3HkdGfwuXbzLebqVFJsR7IZ2w58t938iymwG4824igYy1wi6n2WDpO1Q1P69zwJGs2F5a1qP4MyIiDSD7NCV2OvidX" +
	"QCBnDlGfmz0f1BQySRkkt4ryiJeCjD2o4QsveJ9uDBUn8ELyOrESv5R5DMDkD4iAF8TXU7KyoJujd"

// encrypt2FASSample turns a plain 2FAS backup into a password-protected
// one: the services array encrypted with AES-256-GCM under
// PBKDF2-HMAC-SHA256(password, 256-byte salt, 10000), as 2FAS 5 writes it.
func encrypt2FASSample(t *testing.T, plain []byte, rng io.Reader) []byte {
	t.Helper()
	var file map[string]json.RawMessage
	if err := json.Unmarshal(plain, &file); err != nil {
		t.Fatal(err)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(rng, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	salt := random(256)
	key, err := pbkdf2.Key(sha256.New, samplePassword, salt, twofasIterations, twofasKeyLen)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := newGCM(key, 12)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	seal := func(plaintext []byte) string {
		iv := random(12)
		return b64(aead.Seal(nil, iv, plaintext, nil)) + ":" + b64(salt) + ":" + b64(iv)
	}
	var services bytes.Buffer
	if err := json.Compact(&services, file["services"]); err != nil {
		t.Fatal(err)
	}
	// Keep 2FAS's key order: services, groups, …, servicesEncrypted, reference.
	var out bytes.Buffer
	out.WriteString(`{"services":[],"groups":`)
	out.Write(file["groups"])
	for _, k := range []string{"updatedAt", "schemaVersion", "appVersionCode", "appVersionName", "appOrigin"} {
		out.WriteString(`,"` + k + `":`)
		out.Write(file[k])
	}
	enc, _ := json.Marshal(seal(services.Bytes()))
	ref, _ := json.Marshal(seal([]byte(twofasReference)))
	out.WriteString(`,"servicesEncrypted":` + string(enc) + `,"reference":` + string(ref) + "}\n")
	return out.Bytes()
}
