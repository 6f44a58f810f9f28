package otp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// migrationGolden is one entry of testdata/otp/migration-golden.json.
type migrationGolden struct {
	Name     string `json:"name"`
	URI      string `json:"uri"`
	Version  int    `json:"version"`
	Size     int    `json:"size"`
	Index    int    `json:"index"`
	ID       int    `json:"id"`
	Accounts []struct {
		Type      Type      `json:"type"`
		Issuer    string    `json:"issuer"`
		Name      string    `json:"name"`
		Secret    string    `json:"secret"` // base32
		Algorithm Algorithm `json:"algorithm"`
		Digits    int       `json:"digits"`
		Counter   uint64    `json:"counter"`
	} `json:"accounts"`
}

func readMigrationGolden(t testing.TB) []migrationGolden {
	var golden []migrationGolden
	readJSON(t, "migration-golden.json", &golden)
	return golden
}

func TestParseMigrationGolden(t *testing.T) {
	for _, g := range readMigrationGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			b, err := ParseMigration(g.URI)
			if err != nil {
				t.Fatal(err)
			}
			if b.Version != g.Version || b.Size != g.Size || b.Index != g.Index || b.ID != g.ID {
				t.Errorf("got version %d size %d index %d id %d, want %d %d %d %d",
					b.Version, b.Size, b.Index, b.ID, g.Version, g.Size, g.Index, g.ID)
			}
			if len(b.Keys) != len(g.Accounts) {
				t.Fatalf("got %d accounts, want %d", len(b.Keys), len(g.Accounts))
			}
			for i, a := range g.Accounts {
				want := Key{Type: a.Type, Issuer: a.Issuer, Name: a.Name, Secret: mustSecret(t, a.Secret),
					Algorithm: a.Algorithm, Digits: a.Digits, Counter: a.Counter}.Normalize()
				if !keysEqual(b.Keys[i], want) {
					t.Errorf("account %d:\ngot  %+v\nwant %+v", i, b.Keys[i], want)
				}
			}
		})
	}
}

func TestMigrationRoundTrip(t *testing.T) {
	secret := []byte("12345678901234567890")
	keys := []Key{
		{Type: TOTP, Issuer: "Example", Name: "alice@example.com", Secret: secret},
		{Type: TOTP, Name: "no issuer", Secret: []byte{1}, Algorithm: SHA256, Digits: 8},
		{Type: TOTP, Name: "a:b", Secret: secret, Algorithm: SHA512},
		{Type: TOTP, Issuer: "Big:Corp", Name: "x:y", Secret: secret},
		{Type: TOTP, Issuer: "Bäckerei ☕", Secret: secret},
		{Type: HOTP, Issuer: "ACME", Name: "bob", Secret: secret, Counter: 1<<63 - 1},
		{Type: HOTP, Name: "counter zero", Secret: secret, Digits: 8},
	}
	batch := Batch{Keys: keys, Version: 1, Size: 3, Index: 2, ID: -7}
	raw, err := EncodeMigrationPayload(batch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMigrationPayload(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Size != 3 || got.Index != 2 || got.ID != -7 {
		t.Errorf("got version %d size %d index %d id %d, want 1 3 2 -7", got.Version, got.Size, got.Index, got.ID)
	}
	if len(got.Keys) != len(keys) {
		t.Fatalf("got %d keys, want %d", len(got.Keys), len(keys))
	}
	for i, k := range keys {
		if want := k.Normalize(); !keysEqual(got.Keys[i], want) {
			t.Errorf("key %d:\ngot  %+v\nwant %+v", i, got.Keys[i], want)
		}
	}
}

func TestMigrationReencodesGolden(t *testing.T) {
	// Decoding a real export and encoding it again gives the same accounts,
	// and Google Authenticator's own layout of the label: "Issuer:account".
	for _, g := range readMigrationGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			b, err := ParseMigration(g.URI)
			if err != nil {
				t.Fatal(err)
			}
			uris, err := EncodeMigration(b.Keys, len(b.Keys), b.ID)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseMigration(uris[0])
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Keys {
				if !keysEqual(again.Keys[i], b.Keys[i]) {
					t.Errorf("key %d:\ngot  %+v\nwant %+v", i, again.Keys[i], b.Keys[i])
				}
			}
		})
	}
}

func TestEncodeMigrationBatches(t *testing.T) {
	keys := make([]Key, 25)
	for i := range keys {
		keys[i] = Key{Type: TOTP, Issuer: "Example", Name: fmt.Sprint("user", i), Secret: []byte(fmt.Sprintf("secret-%02d", i))}
	}
	uris, err := EncodeMigration(keys, 0, 4242)
	if err != nil {
		t.Fatal(err)
	}
	if len(uris) != 3 {
		t.Fatalf("got %d URIs, want 3", len(uris))
	}
	var all []Key
	for i, uri := range uris {
		if !strings.HasPrefix(uri, "otpauth-migration://offline?data=") {
			t.Errorf("URI %d: got %s, want an otpauth-migration://offline?data= URI", i, uri)
		}
		b, err := ParseMigration(uri)
		if err != nil {
			t.Fatalf("URI %d: %v", i, err)
		}
		wantKeys := []int{10, 10, 5}[i]
		if len(b.Keys) != wantKeys || b.Size != 3 || b.Index != i || b.ID != 4242 || b.Version != 1 {
			t.Errorf("URI %d: got %d keys, size %d, index %d, id %d, version %d; want %d, 3, %d, 4242, 1",
				i, len(b.Keys), b.Size, b.Index, b.ID, b.Version, wantKeys, i)
		}
		all = append(all, b.Keys...)
	}
	for i, k := range keys {
		if i >= len(all) || !keysEqual(all[i], k.Normalize()) {
			t.Errorf("key %d: lost or changed in the export", i)
		}
	}

	t.Run("per-batch", func(t *testing.T) {
		uris, err := EncodeMigration(keys, 7, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(uris) != 4 {
			t.Errorf("got %d URIs, want 4", len(uris))
		}
	})
}

func TestEncodeMigrationErrors(t *testing.T) {
	good := Key{Type: TOTP, Issuer: "Example", Name: "ok", Secret: []byte("12345678901234567890")}
	tests := []struct {
		name    string
		bad     Key
		batchID int
		wantErr error
		wantMsg string
	}{
		{"7-digits", Key{Type: TOTP, Issuer: "Example", Name: "seven", Secret: []byte("x"), Digits: 7}, 1, ErrNotExportable,
			"account 12 (Example (seven)): 7 digits cannot be represented in a Google Authenticator export"},
		{"period-60", Key{Type: TOTP, Name: "slow", Secret: []byte("x"), Period: 60}, 1, ErrNotExportable,
			"account 12 (slow): a 60-second period cannot be represented in a Google Authenticator export"},
		{"steam", Key{Type: TOTP, Issuer: "Steam", Name: "gaben", Secret: []byte("x")}, 1, ErrNotExportable,
			"account 12 (Steam (gaben)): steam codes cannot be represented in a Google Authenticator export"},
		{"invalid", Key{Type: TOTP, Name: "nosecret"}, 1, ErrMissingSecret, "account 12 (nosecret): missing secret"},
		{"invalid-unnamed", Key{Type: TOTP, Secret: []byte("x")}, 1, ErrMissingName, "account 12: missing account name"},
		{"batch-id", good, 1 << 40, nil, "batch id 1099511627776 does not fit in 32 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := []Key{good, good, good, good, good, good, good, good, good, good, good, tt.bad, good}
			uris, err := EncodeMigration(keys, 0, tt.batchID)
			if err == nil {
				t.Fatalf("got %d URIs, want an error", len(uris))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("no-keys", func(t *testing.T) {
		if _, err := EncodeMigration(nil, 0, 1); err == nil {
			t.Error("got no error for an empty export, want one")
		}
	})
}

func TestParseMigrationErrors(t *testing.T) {
	data := func(b ...byte) string {
		return "otpauth-migration://offline?data=" + url.QueryEscape(base64.StdEncoding.EncodeToString(b))
	}
	tests := []struct {
		name    string
		uri     string
		wantMsg string
	}{
		{"not-migration", "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP", "not an otpauth-migration:// URI"},
		{"no-data", "otpauth-migration://offline", "invalid otpauth-migration URI: missing data parameter"},
		{"bad-escape", "otpauth-migration://offline?data=%zz", `invalid otpauth-migration URI: invalid URL escape "%zz"`},
		{"not-base64", "otpauth-migration://offline?data=not*base64", "invalid otpauth-migration URI: data is not base64: illegal base64 data at input byte 3"},
		{"empty-payload", data(), "invalid otpauth-migration URI: missing data parameter"},
		{"no-accounts", data(0x10, 0x01), "invalid otpauth-migration URI: the export holds no accounts"},
		{"truncated-tag", data(0x80), "invalid otpauth-migration URI: malformed payload: bad field tag at byte 0"},
		{"truncated-bytes", data(0x0a, 0x02), "invalid otpauth-migration URI: malformed payload: field 1 at byte 0 is cut short or corrupt"},
		{"huge-length", data(0x10, 0x01, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f), "invalid otpauth-migration URI: malformed payload: field 1 at byte 2 is cut short or corrupt"},
		{"field-zero", data(0x00), "invalid otpauth-migration URI: malformed payload: bad field tag at byte 0"},
		{"open-group", data(0x0b), "invalid otpauth-migration URI: malformed payload: field 1 at byte 0 is cut short or corrupt"},
		{"nested-garbage", data(0x0a, 0x01, 0x80), "invalid otpauth-migration URI: account 1: malformed payload: bad field tag at byte 0"},
		{"empty-account", data(0x0a, 0x00), "invalid otpauth-migration URI: account 1: missing secret"},
		{"no-secret", data(0x0a, 0x03, 0x12, 0x01, 'a'), "invalid otpauth-migration URI: account 1 (a): missing secret"},
		{"md5", data(0x0a, 0x08, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0x20, 0x04), "invalid otpauth-migration URI: account 1 (a): MD5 keys are not supported"},
		{"algorithm-9", data(0x0a, 0x08, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0x20, 0x09), "invalid otpauth-migration URI: account 1 (a): unknown algorithm 9"},
		{"digits-3", data(0x0a, 0x08, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0x28, 0x03), "invalid otpauth-migration URI: account 1 (a): unknown digits value 3"},
		{"type-3", data(0x0a, 0x08, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0x30, 0x03), "invalid otpauth-migration URI: account 1 (a): unknown type 3"},
		{"second-account-bad", data(0x0a, 0x06, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0x0a, 0x03, 0x12, 0x01, 'b'), "invalid otpauth-migration URI: account 2 (b): missing secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseMigration(tt.uri)
			if err == nil {
				t.Fatalf("got %+v, want an error", b)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err, tt.wantMsg)
			}
			if strings.Contains(tt.wantMsg, "malformed payload") && !errors.Is(err, ErrMalformedPayload) {
				t.Errorf("got %v, want an error wrapping ErrMalformedPayload", err)
			}
		})
	}
}

func TestParseMigrationLooseBase64(t *testing.T) {
	// One account, secret "x", name "a": in standard, URL-safe, padded and
	// unpadded base64, escaped or not.
	raw := []byte{0x0a, 0x06, 0x0a, 0x01, 'x', 0x12, 0x01, 'a', 0xfb, 0xff}
	std := base64.StdEncoding.EncodeToString(raw) // has '+', '/' and '='
	for name, data := range map[string]string{
		"std-escaped":  url.QueryEscape(std),
		"std-raw":      std,
		"url-safe":     base64.URLEncoding.EncodeToString(raw),
		"url-unpadded": base64.RawURLEncoding.EncodeToString(raw),
		"std-unpadded": base64.RawStdEncoding.EncodeToString(raw),
		"line-breaks":  std[:4] + "%0A" + std[4:],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMigration("otpauth-migration://offline?data=" + data)
			// 0xfb 0xff is a truncated trailing field: getting that far means
			// the base64 was read.
			if want := "invalid otpauth-migration URI: malformed payload: bad field tag at byte 8"; err == nil || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
		})
	}
}

func FuzzParseMigration(f *testing.F) {
	for _, line := range readLines(f, "migration-seeds.txt") {
		f.Add(line)
	}
	for _, g := range readMigrationGolden(f) {
		f.Add(g.URI)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseMigration(s)
		if err != nil {
			return
		}
		if len(b.Keys) == 0 {
			t.Fatal("got a batch with no accounts and no error")
		}
		for _, k := range b.Keys {
			checkParsedKey(t, k)
			if _, err := Code(k, time.Unix(1700000000, 0)); err != nil {
				t.Fatalf("decoded key %+v has no code: %v", k, err)
			}
		}
		raw, err := EncodeMigrationPayload(b)
		if errors.Is(err, ErrNotExportable) {
			return // Steam keys, named by their issuer
		}
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		again, err := DecodeMigrationPayload(raw)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if again.Version != b.Version || again.Size != b.Size || again.Index != b.Index || again.ID != b.ID || len(again.Keys) != len(b.Keys) {
			t.Fatalf("re-encoded batch differs: got %+v, want %+v", again, b)
		}
		for i := range b.Keys {
			if !keysEqual(again.Keys[i], b.Keys[i]) {
				t.Fatalf("key %d differs after re-encoding:\ngot  %+v\nwant %+v", i, again.Keys[i], b.Keys[i])
			}
		}
	})
}
