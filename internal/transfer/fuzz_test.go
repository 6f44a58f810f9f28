package transfer

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/countersign/countersign/internal/otp"
)

// seedSamples adds every file of testdata/transfer and its subdirectories
// (the make scripts too: they are text that is no export) to the corpus.
func seedSamples(f *testing.F, add func(data []byte)) {
	f.Helper()
	n := 0
	err := filepath.WalkDir(samplesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		add(data)
		n++
		return nil
	})
	if err != nil || n == 0 {
		f.Fatalf("no samples in %s: %v", samplesDir, err)
	}
}

// checkImport holds for any input: no accounts come with an error, every
// account is a normalized, valid key with no ID, and every skipped entry
// says why.
func checkImport(t *testing.T, res Result, err error) {
	t.Helper()
	if err != nil {
		if len(res.Accounts) != 0 {
			t.Fatalf("got %d accounts with error %v", len(res.Accounts), err)
		}
		return
	}
	if len(res.Accounts) == 0 {
		t.Fatal("got no accounts and no error")
	}
	for _, a := range res.Accounts {
		if err := a.Validate(); err != nil {
			t.Fatalf("%q: imported an invalid key: %v", a.Label(), err)
		}
		if n := a.Key.Normalize(); !reflect.DeepEqual(n, a.Key) {
			t.Fatalf("%q: imported a key that is not normalized: got %+v, normalized %+v", a.Label(), a.Key, n)
		}
		if a.Encoder != "" && a.Encoder != otp.EncoderSteam {
			t.Fatalf("%q: imported encoder %q", a.Label(), a.Encoder)
		}
		if a.ID != "" {
			t.Fatalf("%q: imported ID %q", a.Label(), a.ID)
		}
		if _, err := otp.Code(a.Key, rfcTime); err != nil {
			t.Fatalf("%q: no code: %v", a.Label(), err)
		}
	}
	for _, s := range res.Skipped {
		if s.Err == nil || s.Entry == "" {
			t.Fatalf("skipped %+v without a reason", s)
		}
	}
}

func FuzzImport(f *testing.F) {
	seedSamples(f, func(data []byte) { f.Add(data, false) })
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		res, err := Import(data, Options{SkipInvalid: skip})
		checkImport(t, res, err)
		if err != nil {
			return
		}
		// Whatever imports exports as URIs that import to the same keys.
		var buf bytes.Buffer
		if err := ExportURIs(&buf, res.Accounts); err != nil {
			t.Fatalf("export of imported accounts: %v", err)
		}
		again, err := Import(buf.Bytes(), Options{Format: FormatURIs})
		if err != nil {
			t.Fatalf("import of exported URIs: %v", err)
		}
		for i, a := range res.Accounts {
			if !reflect.DeepEqual(again.Accounts[i].Key, a.Key) {
				t.Fatalf("URI round trip: got %+v, want %+v", again.Accounts[i].Key, a.Key)
			}
		}
	})
}

// fuzzFormat fuzzes one format's parser through Import.
func fuzzFormat(f *testing.F, format Format) {
	seedSamples(f, func(data []byte) { f.Add(data, false) })
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		res, err := Import(data, Options{Format: format, SkipInvalid: skip})
		checkImport(t, res, err)
		if err == nil && res.Format != format {
			t.Fatalf("got format %q, want %q", res.Format, format)
		}
	})
}

func FuzzURIs(f *testing.F)       { fuzzFormat(f, FormatURIs) }
func FuzzMigration(f *testing.F)  { fuzzFormat(f, FormatMigration) }
func FuzzAegis(f *testing.F)      { fuzzFormat(f, FormatAegis) }
func Fuzz2FAS(f *testing.F)       { fuzzFormat(f, Format2FAS) }
func FuzzBitwarden(f *testing.F)  { fuzzFormat(f, FormatBitwarden) }
func FuzzAndOTP(f *testing.F)     { fuzzFormat(f, FormatAndOTP) }
func FuzzFreeOTP(f *testing.F)    { fuzzFormat(f, FormatFreeOTP) }
func FuzzEnte(f *testing.F)       { fuzzFormat(f, FormatEnte) }
func FuzzProton(f *testing.F)     { fuzzFormat(f, FormatProton) }
func FuzzStratum(f *testing.F)    { fuzzFormat(f, FormatStratum) }
func FuzzFreeOTPXML(f *testing.F) { fuzzFormat(f, FormatFreeOTPXML) }
func FuzzAuthy(f *testing.F)      { fuzzFormat(f, FormatAuthy) }
func FuzzGoogleDB(f *testing.F)   { fuzzFormat(f, FormatGoogleDB) }
func FuzzMicrosoft(f *testing.F)  { fuzzFormat(f, FormatMicrosoft) }

// FuzzBackupPayload fuzzes what a backup holds once decrypted, which
// FuzzImport cannot reach without the passphrase.
func FuzzBackupPayload(f *testing.F) {
	var env backupEnvelope
	if err := json.Unmarshal(readSample(f, "countersign-backup.json"), &env); err != nil {
		f.Fatal(err)
	}
	aead, err := backupAEAD(env.KDF, []byte(samplePassword))
	if err != nil {
		f.Fatal(err)
	}
	plain, err := aead.Open(nil, env.Nonce, env.Data, backupAAD(env))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain, false)
	f.Add([]byte(`{"accounts":[{"type":"totp","name":"a","secret":"GEZDGNBV","algorithm":"SHA1","digits":6,"period":30,"created":"2024-01-02T03:04:05Z","modified":"2024-01-02T03:04:05Z"}]}`), false)
	seedSamples(f, func(data []byte) { f.Add(data, true) })
	f.Fuzz(func(t *testing.T, plain []byte, skip bool) {
		entries, err := parseBackupPayload(plain)
		if err != nil {
			return
		}
		res, err := collect(Result{Format: FormatBackup, Encrypted: true}, entries, skip)
		checkImport(t, res, err)
	})
}
