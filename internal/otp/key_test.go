package otp

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestHOTPRFC4226(t *testing.T) {
	var spec struct {
		Secret  string `json:"secret_ascii"`
		Digits  int    `json:"digits"`
		Vectors []struct {
			Counter uint64 `json:"counter"`
			Code    string `json:"code"`
		} `json:"vectors"`
	}
	readJSON(t, "rfc4226.json", &spec)
	if len(spec.Vectors) != 10 {
		t.Fatalf("rfc4226.json has %d vectors, want 10", len(spec.Vectors))
	}
	for _, v := range spec.Vectors {
		t.Run(fmt.Sprint("counter=", v.Counter), func(t *testing.T) {
			k := Key{Type: HOTP, Name: "rfc4226", Secret: []byte(spec.Secret), Digits: spec.Digits, Counter: v.Counter}
			got, err := Code(k, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got != v.Code {
				t.Errorf("got %s, want %s", got, v.Code)
			}
		})
	}
}

func TestTOTPRFC6238(t *testing.T) {
	var spec struct {
		Digits  int                  `json:"digits"`
		Period  int                  `json:"period"`
		Seeds   map[Algorithm]string `json:"seeds_ascii"`
		Vectors []struct {
			Time      int64     `json:"time"`
			Algorithm Algorithm `json:"algorithm"`
			Code      string    `json:"code"`
		} `json:"vectors"`
	}
	readJSON(t, "rfc6238.json", &spec)
	if len(spec.Vectors) != 18 {
		t.Fatalf("rfc6238.json has %d vectors, want 18", len(spec.Vectors))
	}
	for _, v := range spec.Vectors {
		t.Run(fmt.Sprintf("%s/%d", v.Algorithm, v.Time), func(t *testing.T) {
			k := Key{
				Type: TOTP, Name: "rfc6238", Secret: []byte(spec.Seeds[v.Algorithm]),
				Algorithm: v.Algorithm, Digits: spec.Digits, Period: spec.Period,
			}
			got, err := Code(k, time.Unix(v.Time, 0))
			if err != nil {
				t.Fatal(err)
			}
			if got != v.Code {
				t.Errorf("got %s, want %s", got, v.Code)
			}
		})
	}
}

// Steam Guard vectors. The first two are from ValvePython/steam,
// tests/test_guard.py (test_generate_twofactor_code_for_time: shared secret
// b'superdupersecret'); the others, for a secret of 20 zero bytes at time
// steps 0 and 1, appear in the tests of several TypeScript steam-totp ports.
// All four were also checked against an independent Python implementation.
func TestSteamGuard(t *testing.T) {
	tests := []struct {
		name string
		key  Key
		time int64
		want string
	}{
		{"valvepython/3000030", Key{Type: TOTP, Name: "a", Secret: []byte("superdupersecret"), Encoder: EncoderSteam}, 3000030, "YRGQJ"},
		{"valvepython/3000029", Key{Type: TOTP, Name: "a", Secret: []byte("superdupersecret"), Encoder: EncoderSteam}, 3000029, "94R9D"},
		{"zero-secret/step-0", Key{Type: TOTP, Name: "a", Secret: make([]byte, 20), Encoder: EncoderSteam}, 0, "RYH4D"},
		{"zero-secret/step-1", Key{Type: TOTP, Name: "a", Secret: make([]byte, 20), Encoder: EncoderSteam}, 30, "DR2DK"},
		{"issuer-steam", Key{Type: TOTP, Issuer: "Steam", Name: "a", Secret: []byte("superdupersecret")}, 3000030, "YRGQJ"},
		{"issuer-steam-any-case/digits-ignored", Key{Type: TOTP, Issuer: "steam", Name: "a", Secret: []byte("superdupersecret"), Digits: 8}, 3000030, "YRGQJ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Code(tt.key, time.Unix(tt.time, 0))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("CodeAtCounter/unnormalized-digits", func(t *testing.T) {
		k := Key{Type: TOTP, Name: "a", Secret: []byte("superdupersecret"), Encoder: EncoderSteam, Digits: 8}
		got, err := CodeAtCounter(k, 3000030/30)
		if err != nil {
			t.Fatal(err)
		}
		if got != "YRGQJ" {
			t.Errorf("got %s, want YRGQJ", got)
		}
	})
	t.Run("alphabet", func(t *testing.T) {
		k := Key{Type: TOTP, Name: "a", Secret: []byte("superdupersecret"), Encoder: EncoderSteam}
		for step := range int64(200) {
			code, err := Code(k, time.Unix(step*30, 0))
			if err != nil {
				t.Fatal(err)
			}
			if len(code) != 5 || strings.Trim(code, "23456789BCDFGHJKMNPQRTVWXY") != "" {
				t.Fatalf("step %d: got %q, want 5 characters of Steam's alphabet", step, code)
			}
		}
	})
}

func TestCodeDigits(t *testing.T) {
	// RFC 4226 counter 0 truncates to 1284755224; codes are its last digits.
	for _, tt := range []struct {
		digits int
		want   string
	}{{6, "755224"}, {7, "4755224"}, {8, "84755224"}} {
		t.Run(fmt.Sprint(tt.digits), func(t *testing.T) {
			k := Key{Type: HOTP, Name: "a", Secret: []byte("12345678901234567890"), Digits: tt.digits}
			got, err := Code(k, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCodeErrors(t *testing.T) {
	good := Key{Type: TOTP, Name: "a", Secret: []byte("12345678901234567890")}
	tests := []struct {
		name    string
		edit    func(*Key)
		at      time.Time
		wantErr error
		wantMsg string
	}{
		{"before-1970", func(*Key) {}, time.Unix(-1, 0), ErrBeforeEpoch, "time before 1970 has no TOTP code"},
		{"no-secret", func(k *Key) { k.Secret = nil }, time.Unix(0, 0), ErrMissingSecret, "missing secret"},
		{"digits-5", func(k *Key) { k.Digits = 5 }, time.Unix(0, 0), ErrBadDigits, "digits must be 6, 7 or 8, not 5"},
		{"digits-9", func(k *Key) { k.Digits = 9 }, time.Unix(0, 0), ErrBadDigits, "digits must be 6, 7 or 8, not 9"},
		{"period", func(k *Key) { k.Period = 86401 }, time.Unix(0, 0), ErrBadPeriod, "period must be between 1 and 86400 seconds, not 86401"},
		{"algorithm", func(k *Key) { k.Algorithm = "MD5" }, time.Unix(0, 0), ErrBadAlgorithm, `algorithm must be SHA1, SHA256 or SHA512, not "MD5"`},
		{"type", func(k *Key) { k.Type = "motp" }, time.Unix(0, 0), ErrUnknownType, `type must be totp or hotp, not "motp"`},
		{"encoder", func(k *Key) { k.Encoder = "yandex" }, time.Unix(0, 0), ErrBadEncoder, `encoder must be steam or left out, not "yandex"`},
		{"no-name", func(k *Key) { k.Name = "  " }, time.Unix(0, 0), ErrMissingName, "missing account name"},
		{"steam-hotp", func(k *Key) { k.Type, k.Encoder = HOTP, EncoderSteam }, time.Unix(0, 0), nil, "steam codes are time-based: type must be totp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := good
			tt.edit(&k)
			code, err := Code(k, tt.at)
			if err == nil {
				t.Fatalf("got code %q, want an error", code)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.wantErr)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("got message %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Key
		want Key
	}{
		{"defaults", Key{Type: "TOTP", Name: " alice "}, Key{Type: TOTP, Name: "alice", Algorithm: SHA1, Digits: 6, Period: 30}},
		{"hotp-drops-period", Key{Type: HOTP, Name: "a", Period: 60, Counter: 3, Algorithm: "sha256"}, Key{Type: HOTP, Name: "a", Algorithm: SHA256, Digits: 6, Counter: 3}},
		{"totp-drops-counter", Key{Type: TOTP, Name: "a", Counter: 3, Period: 60, Digits: 8}, Key{Type: TOTP, Name: "a", Algorithm: SHA1, Digits: 8, Period: 60}},
		{"steam-by-issuer", Key{Type: TOTP, Issuer: " Steam ", Name: "a"}, Key{Type: TOTP, Issuer: "Steam", Name: "a", Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam}},
		{"steam-issuer-hotp-is-not-steam", Key{Type: HOTP, Issuer: "Steam", Name: "a"}, Key{Type: HOTP, Issuer: "Steam", Name: "a", Algorithm: SHA1, Digits: 6}},
		{"encoder-case", Key{Type: TOTP, Name: "a", Encoder: "Steam"}, Key{Type: TOTP, Name: "a", Algorithm: SHA1, Digits: 5, Period: 30, Encoder: EncoderSteam}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Normalize(); !keysEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got := tt.want.Normalize(); !keysEqual(got, tt.want) {
				t.Errorf("Normalize is not idempotent: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeSecret(t *testing.T) {
	hello := []byte("Hello!\xde\xad\xbe\xef")
	tests := []struct {
		in      string
		want    []byte
		wantMsg string // "" when the secret is good
	}{
		{in: "JBSWY3DPEHPK3PXP", want: hello},
		{in: "jbswy3dpehpk3pxp", want: hello},
		{in: "JbSw Y3dP EhPk 3pXp", want: hello},
		{in: "JBSW-Y3DP-EHPK-3PXP", want: hello},
		{in: " JBSWY3DP\tEHPK3PXP\n", want: hello},
		{in: "JBSWY3DPEHPK3PXP========", want: hello},
		{in: "MFRGG===", want: []byte("abc")},
		{in: "MFRGG", want: []byte("abc")},
		{in: "mfrgg=", want: []byte("abc")},
		{in: "", wantMsg: "missing secret"},
		{in: " = ", wantMsg: "missing secret"},
		{in: "JBSWY3DPEHPK3PX1", wantMsg: `secret is not valid base32: unexpected '1' at character 16`},
		{in: "JBSWY3DPEHPK3PX0", wantMsg: `secret is not valid base32: unexpected '0' at character 16`},
		{in: "JBSWÄY3DP", wantMsg: `secret is not valid base32: unexpected 'Ä' at character 5`},
		{in: "JBSWY3DPEHPK3PXſ", wantMsg: `secret is not valid base32: unexpected 'ſ' at character 16`},
		{in: "MF=RGG", wantMsg: `secret is not valid base32: unexpected '=' at character 3`},
		{in: "JBSWY3DPEHPK3P", wantMsg: "secret is not valid base32: 14 characters is not a whole number of bytes (a character missing or extra?)"},
		{in: "JBSWY3DPE", wantMsg: "secret is not valid base32: 9 characters is not a whole number of bytes (a character missing or extra?)"},
		{in: "A", wantMsg: "secret is not valid base32: 1 characters is not a whole number of bytes (a character missing or extra?)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := DecodeSecret(tt.in)
			if tt.wantMsg != "" {
				if err == nil {
					t.Fatalf("got %x, want error %q", got, tt.wantMsg)
				}
				if err.Error() != tt.wantMsg {
					t.Errorf("got message %q, want %q", err, tt.wantMsg)
				}
				if !errors.Is(err, ErrBadSecret) && !errors.Is(err, ErrMissingSecret) {
					t.Errorf("got %v, want it to wrap ErrBadSecret or ErrMissingSecret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tt.want) {
				t.Errorf("got %x, want %x", got, tt.want)
			}
		})
	}
}

func TestSecretBase32(t *testing.T) {
	k := Key{Secret: []byte("abc")}
	if got, want := k.SecretBase32(), "MFRGG"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCounterAtAndRemaining(t *testing.T) {
	tests := []struct {
		name          string
		period        int
		at            time.Time
		wantCounter   uint64
		wantRemaining time.Duration
	}{
		{"epoch", 30, time.Unix(0, 0), 0, 30 * time.Second},
		{"last-second-of-step", 30, time.Unix(59, 0), 1, time.Second},
		{"step-boundary", 30, time.Unix(60, 0), 2, 30 * time.Second},
		{"fraction", 30, time.Unix(89, 250*int64(time.Millisecond)), 2, 750 * time.Millisecond},
		{"default-period", 0, time.Unix(45, 0), 1, 15 * time.Second},
		{"period-60", 60, time.Unix(1111111111, 0), 18518518, 29 * time.Second},
		{"rfc6238-max", 30, time.Unix(20000000000, 0), 666666666, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Key{Type: TOTP, Period: tt.period}
			if got := k.CounterAt(tt.at); got != tt.wantCounter {
				t.Errorf("CounterAt: got %d, want %d", got, tt.wantCounter)
			}
			if got := k.Remaining(tt.at); got != tt.wantRemaining {
				t.Errorf("Remaining: got %v, want %v", got, tt.wantRemaining)
			}
		})
	}
	t.Run("before-1970", func(t *testing.T) {
		k := Key{Type: TOTP, Period: 30}
		if got, want := k.Remaining(time.Unix(-1, 0)), time.Second; got != want {
			t.Errorf("Remaining: got %v, want %v", got, want)
		}
		if got, want := k.Remaining(time.Unix(-30, 0)), 30*time.Second; got != want {
			t.Errorf("Remaining: got %v, want %v", got, want)
		}
	})
	t.Run("code-changes-when-remaining-ends", func(t *testing.T) {
		k := Key{Type: TOTP, Name: "a", Secret: []byte("12345678901234567890")}
		at := time.Unix(1111111109, 0)
		next := at.Add(k.Remaining(at))
		if k.CounterAt(next) != k.CounterAt(at)+1 || k.CounterAt(next.Add(-time.Nanosecond)) != k.CounterAt(at) {
			t.Errorf("the step does not change exactly at t+Remaining(t) = %v", next)
		}
	})
}

func TestLabel(t *testing.T) {
	for _, tt := range []struct{ issuer, name, want string }{
		{"Example", "alice", "Example (alice)"},
		{"", "alice", "alice"},
		{"Example", "", "Example"},
	} {
		if got := (Key{Issuer: tt.issuer, Name: tt.name}).Label(); got != tt.want {
			t.Errorf("Label of issuer %q name %q: got %q, want %q", tt.issuer, tt.name, got, tt.want)
		}
	}
}

// keysEqual compares keys field by field, treating nil and empty Extra alike.
func keysEqual(a, b Key) bool {
	return a.Type == b.Type && a.Issuer == b.Issuer && a.Name == b.Name && bytes.Equal(a.Secret, b.Secret) &&
		a.Algorithm == b.Algorithm && a.Digits == b.Digits && a.Period == b.Period && a.Counter == b.Counter &&
		a.Encoder == b.Encoder && maps.EqualFunc(a.Extra, b.Extra, slices.Equal[[]string])
}
