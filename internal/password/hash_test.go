package password

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// fast keeps the tests quick; OWASP is exercised by BenchmarkHash and
// TestHashOWASPFormat.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "", "pässwörd ✓", strings.Repeat("x", MaxLength)} {
		enc, err := Hash(pw, fast, rand.Reader)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		ok, err := Verify(enc, pw)
		if err != nil || !ok {
			t.Errorf("Verify(Hash(%q), %q) = %v, %v; want true, nil", pw, pw, ok, err)
		}
		ok, err = Verify(enc, pw+"x")
		if err != nil || ok {
			t.Errorf("Verify(Hash(%q), %q) = %v, %v; want false, nil", pw, pw+"x", ok, err)
		}
	}
}

func TestHashOWASPFormat(t *testing.T) {
	salt := bytes.Repeat([]byte{0xAB}, 16)
	enc, err := Hash("password", OWASP, bytes.NewReader(salt))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$q6urq6urq6urq6urq6urqw$"
	if !strings.HasPrefix(enc, prefix) {
		t.Fatalf("Hash = %q, want prefix %q", enc, prefix)
	}
	if len(enc) != len(prefix)+43 {
		t.Errorf("Hash = %q, want a 32-byte key (43 base64 characters) after the salt", enc)
	}
	if ok, err := Verify(enc, "password"); !ok || err != nil {
		t.Errorf("Verify = %v, %v; want true, nil", ok, err)
	}
}

// Hashes made by the reference implementation (phc-winner-argon2 src/test.c).
func TestVerifyReferenceVectors(t *testing.T) {
	for _, enc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		if ok, err := Verify(enc, "password"); err != nil || !ok {
			t.Errorf("Verify(%q, password) = %v, %v; want true, nil", enc, ok, err)
		}
		if ok, err := Verify(enc, "Password"); err != nil || ok {
			t.Errorf("Verify(%q, Password) = %v, %v; want false, nil", enc, ok, err)
		}
	}
}

func TestHashErrors(t *testing.T) {
	if _, err := Hash("pw", fast, iotest.ErrReader(errors.New("no entropy"))); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("Hash with a failing rand = %v, want the reader's error", err)
	}
	for _, p := range []Params{
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 1 << 21, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := Hash("pw", p, rand.Reader); err == nil {
			t.Errorf("Hash with %+v succeeded, want an error", p)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, err := Hash("pw", fast, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	for _, tt := range []struct{ name, enc string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i", with(1, "argon2i")},
		{"version 16", with(2, "v=16")},
		{"missing part", strings.Join(parts[:5], "$")},
		{"extra part", good + "$x"},
		{"leading text", "x" + good},
		{"params order", with(3, "t=1,m=64,p=1")},
		{"params missing", with(3, "m=64,t=1")},
		{"params not numbers", with(3, "m=a,t=1,p=1")},
		{"params sign", with(3, "m=+64,t=1,p=1")},
		{"params leading zero", with(3, "m=064,t=1,p=1")},
		{"params overflow", with(3, "m=99999999999,t=1,p=1")},
		{"zero time", with(3, "m=64,t=0,p=1")},
		{"zero threads", with(3, "m=64,t=1,p=0")},
		{"threads over 255", with(3, "m=4096,t=1,p=256")},
		{"huge memory", with(3, "m=4294967295,t=1,p=1")},
		{"huge time", with(3, "m=64,t=100000,p=1")},
		{"salt padded", with(4, parts[4]+"==")},
		{"salt not base64", with(4, "!!!!!!!!!!!")},
		{"salt too short", with(4, "YWJj")},
		{"hash not base64", with(5, "*")},
		{"hash too short", with(5, "YWJjZGVm")},
		{"hash empty", with(5, "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Verify(tt.enc, "pw")
			if ok || !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", tt.enc, ok, err)
			}
			if !NeedsRehash(tt.enc, fast) {
				t.Errorf("NeedsRehash(%q) = false, want true", tt.enc)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	enc, err := Hash("pw", fast, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if NeedsRehash(enc, fast) {
		t.Errorf("NeedsRehash(hash made with %+v, same) = true, want false", fast)
	}
	for _, p := range []Params{
		OWASP,
		{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		if !NeedsRehash(enc, p) {
			t.Errorf("NeedsRehash(hash made with %+v, %+v) = false, want true", fast, p)
		}
	}
}

// FuzzVerify feeds Verify arbitrary encodings; it must never panic, and
// whatever it accepts must re-encode to the same string (one spelling per
// hash).
func FuzzVerify(f *testing.F) {
	enc, err := Hash("pw", fast, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc, "pw")
	f.Add(enc, "wrong")
	f.Add("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		p, salt, _, err := decode(encoded)
		if err != nil {
			if ok, verr := Verify(encoded, password); ok || verr == nil {
				t.Fatalf("decode failed (%v) but Verify = %v, %v", err, ok, verr)
			}
			return
		}
		if uint64(p.Memory)*uint64(p.Time) > 1<<14 {
			t.Skip("too costly to hash while fuzzing")
		}
		if _, err := Verify(encoded, password); err != nil {
			t.Fatalf("decode accepted %q but Verify failed: %v", encoded, err)
		}
		again, err := Hash("", p, bytes.NewReader(salt))
		if err != nil {
			t.Fatalf("Hash with decoded params %+v: %v", p, err)
		}
		if i := strings.LastIndexByte(again, '$'); again[:i] != encoded[:strings.LastIndexByte(encoded, '$')] {
			t.Errorf("decode(%q) re-encodes as %q", encoded, again)
		}
	})
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash("correct horse battery staple", OWASP, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	enc, err := Hash("correct horse battery staple", OWASP, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := Verify(enc, "correct horse battery staple"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
