package applock

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; the parameters travel with the hash anyway.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func zeroes() *bytes.Reader { return bytes.NewReader(make([]byte, 64)) }

func TestVerifierChecks(t *testing.T) {
	v, err := New("correct horse", cheap, zeroes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		guess string
		want  bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
	} {
		if got := v.Check(tc.guess); got != tc.want {
			t.Errorf("Check(%q) = %v, want %v", tc.guess, got, tc.want)
		}
	}
	if v.Params() != cheap {
		t.Errorf("Params() = %+v, want %+v", v.Params(), cheap)
	}
}

func TestVerifierRoundTrip(t *testing.T) {
	v, err := New("pass", cheap, zeroes())
	if err != nil {
		t.Fatal(err)
	}
	s := v.String()
	if want := "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$"; !strings.HasPrefix(s, want) {
		t.Errorf("String() = %q, want it to start with %q", s, want)
	}
	if strings.Contains(s, "pass") {
		t.Errorf("String() = %q holds the passphrase", s)
	}
	back, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	if !back.Check("pass") || back.Check("wrong") || back.String() != s {
		t.Errorf("parsed verifier %q does not check like the original", back)
	}
}

// TestDefaultParamsVerify runs the real cost once, and checks that a hash
// made with other parameters still verifies once the defaults change.
func TestDefaultParamsVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB Argon2id")
	}
	v, err := New("pass", DefaultParams, zeroes())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.String(), "$m=65536,t=3,p=4$") {
		t.Errorf("String() = %q, want m=65536,t=3,p=4", v)
	}
	old, _ := New("pass", cheap, zeroes())
	parsed, err := Parse(old.String())
	if err != nil || !parsed.Check("pass") {
		t.Errorf("a cheap-parameter hash no longer verifies: %v", err)
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := New("pass", cheap, bytes.NewReader(bytes.Repeat([]byte{1}, 16)))
	b, _ := New("pass", cheap, bytes.NewReader(bytes.Repeat([]byte{2}, 16)))
	if a.String() == b.String() {
		t.Error("two salts gave the same verifier")
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New("", cheap, zeroes()); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("empty passphrase: %v, want ErrEmptyPassphrase", err)
	}
	if _, err := New("x", cheap, bytes.NewReader(nil)); err == nil {
		t.Error("no randomness: no error")
	}
	if _, err := New("x", Params{}, zeroes()); err == nil {
		t.Error("zero parameters: no error")
	}
	if !(Verifier{}).IsZero() || (Verifier{}).Check("") {
		t.Error("the zero Verifier accepts something")
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := New("pass", cheap, zeroes())
	parts := strings.Split(good.String(), "$")
	for name, s := range map[string]string{
		"empty":        "",
		"argon2i":      strings.Replace(good.String(), "argon2id", "argon2i", 1),
		"version":      strings.Replace(good.String(), "v=19", "v=16", 1),
		"no memory":    strings.Replace(good.String(), "m=64", "m=0", 1),
		"bad salt":     strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short hash":   strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra fields": good.String() + "$x",
		// Costs a preferences file must not be able to ask of unlock.
		"huge memory":     strings.Replace(good.String(), "m=64", "m=4294967295", 1),
		"huge time":       strings.Replace(good.String(), "t=1", "t=4294967295", 1),
		"huge threads":    strings.Replace(good.String(), "p=1", "p=4294967295", 1),
		"memory per lane": strings.Replace(good.String(), "m=64,t=1,p=1", "m=64,t=1,p=255", 1),
		"huge hash":       strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], strings.Repeat("A", 1<<20)}, "$"),
	} {
		if _, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Parse(%.80q) = %v, want ErrMalformed", name, s, err)
		}
	}
}

func TestLimiterGrowingDelay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLimiter()
	for i := 1; i <= 4; i++ {
		if d := l.Fail(now); d != 0 {
			t.Fatalf("failure %d imposes %s, want none (5 free attempts)", i, d)
		}
		if w := l.Wait(now); w != 0 {
			t.Fatalf("after failure %d wait %s, want 0", i, w)
		}
	}
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got := l.Fail(now); got != want {
			t.Errorf("failure %d imposes %s, want %s", i+5, got, want)
		}
		if got := l.Wait(now.Add(10 * time.Second)); got != want-10*time.Second {
			t.Errorf("10 s after failure %d: wait %s, want %s", i+5, got, want-10*time.Second)
		}
		now = now.Add(want)
		if got := l.Wait(now); got != 0 {
			t.Errorf("once the delay of failure %d passed: wait %s, want 0", i+5, got)
		}
	}
	for range 20 {
		l.Fail(now)
	}
	if got := l.Wait(now); got != time.Hour {
		t.Errorf("after many failures wait %s, want the cap of 1h", got)
	}
	l.Reset()
	if l.Wait(now) != 0 || l.Failures() != 0 || l.Fail(now) != 0 {
		t.Error("Reset left a delay behind")
	}
}

func TestIdle(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	i := NewIdle(5*time.Minute, t0)
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{0, false},
		{5*time.Minute - time.Nanosecond, false},
		{5 * time.Minute, true},
		{time.Hour, true},
	} {
		if got := i.Due(t0.Add(tc.at)); got != tc.want {
			t.Errorf("Due at +%s = %v, want %v", tc.at, got, tc.want)
		}
	}

	i.Activity(t0.Add(4 * time.Minute))
	if i.Due(t0.Add(8 * time.Minute)) {
		t.Error("due 4 min after activity, timeout 5 min")
	}
	if d, ok := i.Deadline(); !ok || !d.Equal(t0.Add(9*time.Minute)) {
		t.Errorf("Deadline() = %v, %v; want +9 min", d, ok)
	}
	if !i.Due(t0.Add(9 * time.Minute)) {
		t.Error("not due 5 min after the last activity")
	}

	i.SetTimeout(0, t0.Add(10*time.Minute))
	if _, ok := i.Deadline(); ok || i.Due(t0.Add(1000*time.Hour)) {
		t.Error("auto-lock off, yet a deadline")
	}
	i.SetTimeout(time.Minute, t0.Add(20*time.Minute))
	if i.Due(t0.Add(20*time.Minute+59*time.Second)) || !i.Due(t0.Add(21*time.Minute)) {
		t.Error("a new timeout does not count from when it was set")
	}
}
