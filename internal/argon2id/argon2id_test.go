package argon2id

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// cheap keeps the tests fast.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestNewStringParseVerify(t *testing.T) {
	h, err := New([]byte("pw"), cheap, 16, 32, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	s := h.String()
	if want := "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$"; !strings.HasPrefix(s, want) || len(s) != len(want)+43 {
		t.Errorf("String() = %q, want %q and a 32-byte hash", s, want)
	}
	back, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	if back.Params != cheap || back.String() != s {
		t.Errorf("Parse(%q) = %+v, want it back", s, back)
	}
	if !back.Verify([]byte("pw")) || back.Verify([]byte("pw ")) || back.Verify(nil) {
		t.Errorf("the parsed hash does not verify as the original")
	}
}

// Hashes made by the reference implementation (phc-winner-argon2 src/test.c).
func TestReferenceVectors(t *testing.T) {
	for _, s := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		h, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if !h.Verify([]byte("password")) || h.Verify([]byte("Password")) {
			t.Errorf("%q does not verify password and only it", s)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New([]byte("pw"), cheap, 16, 32, iotest.ErrReader(errors.New("no entropy"))); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("New with a failing rand = %v, want the reader's error", err)
	}
	for _, tc := range []struct {
		p               Params
		saltLen, keyLen int
		want            string
	}{
		{Params{Memory: 64, Time: 0, Threads: 1}, 16, 32, "time 0 is out of range (1 to 64)"},
		{Params{Memory: 64, Time: 65, Threads: 1}, 16, 32, "time 65 is out of range"},
		{Params{Memory: 64, Time: 1, Threads: 0}, 16, 32, "threads must be at least 1"},
		{Params{Memory: 4, Time: 1, Threads: 1}, 16, 32, "memory 4 KiB is out of range (8 to 1048576)"},
		{Params{Memory: 1<<20 + 1, Time: 1, Threads: 1}, 16, 32, "memory 1048577 KiB is out of range"},
		{cheap, 4, 32, "salt is 4 bytes (want 8 to 256)"},
		{cheap, 16, 8, "key is 8 bytes (want 16 to 256)"},
		{cheap, 16, 1 << 30, "key is 1073741824 bytes"},
	} {
		if _, err := New([]byte("pw"), tc.p, tc.saltLen, tc.keyLen, bytes.NewReader(make([]byte, 64))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v, salt %d, key %d) = %v, want an error containing %q", tc.p, tc.saltLen, tc.keyLen, err, tc.want)
		}
	}
}

// TestParseRefuses: hostile and broken strings are refused with a reason,
// before anything of their size is allocated.
func TestParseRefuses(t *testing.T) {
	const salt, hash = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	with := func(params, salt, hash string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + hash }
	for _, tc := range []struct{ name, s, want string }{
		{"empty", "", "want $argon2id$"},
		{"garbage", "not a hash", "want $argon2id$"},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "want $argon2id$"},
		{"argon2i", "$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + hash, "unsupported algorithm"},
		{"wrong version", "$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + hash, "unsupported version"},
		{"no version", "$argon2id$m=256,t=2,p=1$" + salt + "$" + hash, "want $argon2id$"},
		{"missing hash", "$argon2id$v=19$m=256,t=2,p=1$" + salt, "want $argon2id$"},
		{"extra field", with("m=256,t=2,p=1", salt, hash) + "$x", "want $argon2id$"},
		{"leading text", "x" + with("m=256,t=2,p=1", salt, hash), "want $argon2id$"},
		{"parameters missing", with("m=256,t=2", salt, hash), "want parameters"},
		{"parameters out of order", with("t=2,m=256,p=1", salt, hash), "want parameters"},
		{"parameter not a number", with("m=a,t=2,p=1", salt, hash), "parameter m: not a number"},
		{"parameter with a sign", with("m=+256,t=2,p=1", salt, hash), "parameter m: not a number"},
		{"parameter with a leading zero", with("m=0256,t=2,p=1", salt, hash), "parameter m: not a number"},
		{"parameter over 32 bits", with("m=99999999999,t=2,p=1", salt, hash), "parameter m: out of range"},
		{"huge memory", with("m=4294967295,t=2,p=1", salt, hash), "memory 4294967295 KiB is out of range (8 to 1048576)"},
		{"memory just over", with("m=1048577,t=2,p=1", salt, hash), "memory 1048577 KiB is out of range"},
		{"memory under 8 KiB a lane", with("m=256,t=2,p=64", salt, hash), "memory 256 KiB is out of range (512 to 1048576)"},
		{"zero memory", with("m=0,t=2,p=1", salt, hash), "memory 0 KiB is out of range"},
		{"zero time", with("m=256,t=0,p=1", salt, hash), "time 0 is out of range (1 to 64)"},
		{"huge time", with("m=256,t=4294967295,p=1", salt, hash), "time 4294967295 is out of range"},
		{"zero threads", with("m=256,t=2,p=0", salt, hash), "threads must be at least 1"},
		{"threads over 255", with("m=4096,t=2,p=256", salt, hash), "threads 256 is out of range (1 to 255)"},
		{"huge threads", with("m=4096,t=2,p=4294967295", salt, hash), "threads 4294967295 is out of range"},
		{"salt not base64", with("m=256,t=2,p=1", "!!!!!!!!!!!", hash), "salt is not unpadded base64"},
		{"salt padded", with("m=256,t=2,p=1", salt+"=", hash), "salt is not unpadded base64"},
		{"salt with a line break", with("m=256,t=2,p=1", "c29tZX\nNhbHQ", hash), "salt is not unpadded base64"},
		{"salt too short", with("m=256,t=2,p=1", "YWJj", hash), "salt is 3 bytes (want 8 to 256)"},
		{"salt too long", with("m=256,t=2,p=1", strings.Repeat("A", 400), hash), "salt is 300 bytes (want 8 to 256)"},
		{"hash not base64", with("m=256,t=2,p=1", salt, "*"), "hash is"},
		{"hash too short", with("m=256,t=2,p=1", salt, "YWJjZGVm"), "hash is 6 bytes (want 16 to 256)"},
		{"hash empty", with("m=256,t=2,p=1", salt, ""), "hash is 0 bytes"},
		{"hash too long", with("m=256,t=2,p=1", salt, strings.Repeat("A", 344)), "hash is 258 bytes (want 16 to 256)"},
		{"a megabyte", with("m=256,t=2,p=1", salt, strings.Repeat("A", 1<<20)), "characters, more than any hash within bounds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Hash
			var err error
			allocated := bytesAllocated(func() { h, err = Parse(tc.s) })
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%.80q) = %+v, %v; want ErrMalformed: …%s…", tc.s, h, err, tc.want)
			}
			if allocated > 16<<10 {
				t.Errorf("Parse(%.80q) allocated %d bytes refusing it, want less than 16 KiB", tc.s, allocated)
			}
		})
	}
}

// bytesAllocated is how many bytes of heap f allocates.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzParse feeds Parse arbitrary text (seeds in testdata/fuzz/FuzzParse): it
// never panics, what it refuses wraps ErrMalformed, and what it accepts is
// within bounds and written back by String exactly as it was read (one
// spelling per hash).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) = %v, want an error wrapping ErrMalformed", s, err)
			}
			return
		}
		if err := h.Params.Check(); err != nil {
			t.Fatalf("Parse(%q) accepted parameters out of bounds: %v", s, err)
		}
		if got := h.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		if uint64(h.Params.Memory)*uint64(h.Params.Time) <= 1<<12 {
			h.Verify([]byte("pw")) // cheap enough to derive while fuzzing
		}
	})
}
