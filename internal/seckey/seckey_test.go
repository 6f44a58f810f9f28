package seckey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

var b64 = base64.RawURLEncoding.EncodeToString

const (
	testOrigin = "https://accounts.example.com"
	testRPID   = "accounts.example.com"
)

type fixture struct {
	svc   *Service
	store *fakeStore
	clock *testkit.Clock
	alice *store.User
	bob   *store.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{
		store: newFakeStore(),
		clock: testkit.NewClock(time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)),
		alice: &store.User{ID: "u-alice", Email: "alice@example.com", Name: "Alice", WebAuthnID: []byte("alice-handle-0123456789abcdefghi")},
		bob:   &store.User{ID: "u-bob", Email: "bob@example.com", Name: "Bob", WebAuthnID: []byte("bob-handle-0123456789abcdefghijk")},
	}
	svc, err := New(Config{
		RPID: testRPID, RPName: "Countersign", Origins: []string{testOrigin},
		Store: f.store, Now: f.clock.Now, Rand: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// register registers a's credential with u under name.
func (f *fixture) register(t testing.TB, u *store.User, a *seckeytest.Authenticator, name string) *store.SecurityKey {
	t.Helper()
	ctx := context.Background()
	id, opts, err := f.svc.BeginRegistration(ctx, u)
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	k, err := f.svc.FinishRegistration(ctx, u, id, name, a.Create(t, opts))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := seckeytest.New(t, testOrigin)

	id, opts, err := f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(opts, &cc); err != nil {
		t.Fatal(err)
	}
	o := cc.Response
	if o.RelyingParty.ID != testRPID || o.RelyingParty.Name != "Countersign" {
		t.Errorf("rp = %+v, want %s/Countersign", o.RelyingParty, testRPID)
	}
	if string(cc.Response.User.ID.(string)) != b64(f.alice.WebAuthnID) {
		t.Errorf("user.id = %v, want the user handle %s", o.User.ID, b64(f.alice.WebAuthnID))
	}
	if o.User.Name != "alice@example.com" || o.User.DisplayName != "Alice" {
		t.Errorf("user = %q/%q, want alice@example.com/Alice", o.User.Name, o.User.DisplayName)
	}
	if o.AuthenticatorSelection.ResidentKey != protocol.ResidentKeyRequirementPreferred || o.AuthenticatorSelection.UserVerification != protocol.VerificationPreferred {
		t.Errorf("authenticatorSelection = %+v, want residentKey and userVerification preferred", o.AuthenticatorSelection)
	}
	var algs []int64
	for _, p := range o.Parameters {
		algs = append(algs, int64(p.Algorithm))
	}
	if len(algs) != 3 || algs[0] != -7 || algs[1] != -8 || algs[2] != -257 {
		t.Errorf("algorithms = %v, want [-7 -8 -257]", algs)
	}
	if len(o.CredentialExcludeList) != 0 {
		t.Errorf("excludeCredentials = %v, want none yet", o.CredentialExcludeList)
	}
	if o.Timeout != int((5 * time.Minute).Milliseconds()) {
		t.Errorf("timeout = %d ms, want 5 minutes", o.Timeout)
	}

	k, err := f.svc.FinishRegistration(ctx, f.alice, id, "  Blue key \t", a.Create(t, opts))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if k.Name != "Blue key" || k.UserID != f.alice.ID || string(k.CredentialID) != string(a.CredID) || !k.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("stored key = %+v, want Blue key of alice with the credential id, created now", k)
	}
	var cred webauthn.Credential
	if err := json.Unmarshal(k.Credential, &cred); err != nil {
		t.Fatalf("stored credential is not webauthn.Credential JSON: %v", err)
	}
	if string(cred.ID) != string(a.CredID) || len(cred.PublicKey) == 0 || cred.AttestationType != "none" {
		t.Errorf("stored credential = id %x, %d-byte key, %q attestation", cred.ID, len(cred.PublicKey), cred.AttestationType)
	}

	// A second registration excludes the key.
	_, opts, err = f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	cc = protocol.CredentialCreation{}
	if err := json.Unmarshal(opts, &cc); err != nil {
		t.Fatal(err)
	}
	if ex := cc.Response.CredentialExcludeList; len(ex) != 1 || string(ex[0].CredentialID) != string(a.CredID) {
		t.Errorf("excludeCredentials = %v, want the registered key", ex)
	}

	// Sign in with it.
	f.clock.Advance(time.Minute)
	lid, lopts, err := f.svc.BeginLogin(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(lopts, &ca); err != nil {
		t.Fatal(err)
	}
	if al := ca.Response.AllowedCredentials; len(al) != 1 || string(al[0].CredentialID) != string(a.CredID) {
		t.Errorf("allowCredentials = %v, want the registered key", al)
	}
	if ca.Response.UserVerification != protocol.VerificationPreferred || ca.Response.RelyingPartyID != testRPID {
		t.Errorf("request options = %+v, want UV preferred and rpId %s", ca.Response, testRPID)
	}
	got, err := f.svc.FinishLogin(ctx, f.alice, lid, a.Get(t, lopts, f.alice.WebAuthnID))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if got.ID != k.ID || !got.LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("FinishLogin = %s used %v, want %s used now", got.ID, got.LastUsedAt, k.ID)
	}
	keys, _ := f.store.SecurityKeys(ctx, f.alice.ID)
	cred = webauthn.Credential{}
	if err := json.Unmarshal(keys[0].Credential, &cred); err != nil {
		t.Fatal(err)
	}
	if cred.Authenticator.SignCount != 1 || !cred.Flags.UserVerified || !keys[0].LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("after sign-in: count %d, UV %v, last used %v; want 1, true, now", cred.Authenticator.SignCount, cred.Flags.UserVerified, keys[0].LastUsedAt)
	}

	// A native client may leave the user handle out.
	lid, lopts, err = f.svc.BeginLogin(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, f.alice, lid, a.Get(t, lopts, nil)); err != nil {
		t.Fatalf("FinishLogin without a user handle: %v", err)
	}
}

func TestChallengeRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// finish answers a fresh login ceremony of alice's and returns the error.
		finish func(t *testing.T, f *fixture, a *seckeytest.Authenticator, id string, opts json.RawMessage) error
	}{
		{"replayed", func(t *testing.T, f *fixture, a *seckeytest.Authenticator, id string, opts json.RawMessage) error {
			if _, err := f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil)); err != nil {
				t.Fatalf("first use: %v", err)
			}
			_, err := f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil))
			return err
		}},
		{"expired", func(t *testing.T, f *fixture, a *seckeytest.Authenticator, id string, opts json.RawMessage) error {
			f.clock.Advance(5*time.Minute + time.Second)
			_, err := f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil))
			return err
		}},
		{"other user's", func(t *testing.T, f *fixture, a *seckeytest.Authenticator, id string, opts json.RawMessage) error {
			_, err := f.svc.FinishLogin(ctx, f.bob, id, a.Get(t, opts, nil))
			return err
		}},
		{"unknown", func(t *testing.T, f *fixture, a *seckeytest.Authenticator, id string, opts json.RawMessage) error {
			_, err := f.svc.FinishLogin(ctx, f.alice, "no-such-challenge", a.Get(t, opts, nil))
			return err
		}},
		{"registration challenge used to sign in", func(t *testing.T, f *fixture, a *seckeytest.Authenticator, _ string, opts json.RawMessage) error {
			rid, _, err := f.svc.BeginRegistration(ctx, f.alice)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.svc.FinishLogin(ctx, f.alice, rid, a.Get(t, opts, nil))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := seckeytest.New(t, testOrigin)
			f.register(t, f.alice, a, "")
			id, opts, err := f.svc.BeginLogin(ctx, f.alice)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.finish(t, f, a, id, opts); !errors.Is(err, ErrChallenge) {
				t.Errorf("got %v, want ErrChallenge", err)
			}
		})
	}
}

func TestRegistrationChallengeRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := seckeytest.New(t, testOrigin)
	id, opts, err := f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(ctx, f.bob, id, "", a.Create(t, opts)); !errors.Is(err, ErrChallenge) {
		t.Errorf("bob finishing alice's registration: got %v, want ErrChallenge", err)
	}
	// The attempt spent it.
	if _, err := f.svc.FinishRegistration(ctx, f.alice, id, "", a.Create(t, opts)); !errors.Is(err, ErrChallenge) {
		t.Errorf("finishing a spent registration: got %v, want ErrChallenge", err)
	}
	id, opts, err = f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(6 * time.Minute)
	if _, err := f.svc.FinishRegistration(ctx, f.alice, id, "", a.Create(t, opts)); !errors.Is(err, ErrChallenge) {
		t.Errorf("finishing an expired registration: got %v, want ErrChallenge", err)
	}
	if keys, _ := f.store.SecurityKeys(ctx, f.alice.ID); len(keys) != 0 {
		t.Errorf("%d keys stored, want none", len(keys))
	}
}

func TestWrongOrigin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	evil := seckeytest.New(t, "https://accounts.example.com.evil.test")
	id, opts, err := f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(ctx, f.alice, id, "", evil.Create(t, opts)); !errors.Is(err, ErrVerify) {
		t.Errorf("registration from another origin: got %v, want ErrVerify", err)
	}

	a := seckeytest.New(t, testOrigin)
	f.register(t, f.alice, a, "")
	id, opts, err = f.svc.BeginLogin(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	a.Origin = "http://accounts.example.com"
	if _, err := f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil)); !errors.Is(err, ErrVerify) {
		t.Errorf("sign-in from another origin: got %v, want ErrVerify", err)
	}
}

func TestSignCountRegression(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := seckeytest.New(t, testOrigin)
	f.register(t, f.alice, a, "")
	a.Count = 9
	id, opts, err := f.svc.BeginLogin(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil)); err != nil {
		t.Fatal(err)
	}
	before, _ := f.store.SecurityKeys(ctx, f.alice.ID)

	a.Count = 3 // a clone that signed fewer times
	id, opts, err = f.svc.BeginLogin(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.FinishLogin(ctx, f.alice, id, a.Get(t, opts, nil))
	if !errors.Is(err, ErrCloned) || !errors.Is(err, ErrVerify) {
		t.Errorf("got %v, want ErrCloned (an ErrVerify)", err)
	}
	after, _ := f.store.SecurityKeys(ctx, f.alice.ID)
	if string(after[0].Credential) != string(before[0].Credential) {
		t.Error("the refused sign-in changed the stored credential")
	}
}

func TestTamperedAssertion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := seckeytest.New(t, testOrigin)
	f.register(t, f.alice, a, "")
	tamper := map[string]func(as *seckeytest.Assertion){
		"signature":          func(as *seckeytest.Assertion) { as.Signature[len(as.Signature)-1] ^= 1 },
		"authenticator data": func(as *seckeytest.Assertion) { as.AuthData[len(as.AuthData)-1] ^= 1 },
		"other user handle":  func(as *seckeytest.Assertion) { as.UserHandle = f.bob.WebAuthnID },
		"other credential":   func(as *seckeytest.Assertion) { as.CredID = []byte("not-registered-credential-id") },
	}
	for name, change := range tamper {
		t.Run(name, func(t *testing.T) {
			id, opts, err := f.svc.BeginLogin(ctx, f.alice)
			if err != nil {
				t.Fatal(err)
			}
			as := a.Sign(t, opts, f.alice.WebAuthnID)
			change(&as)
			if _, err := f.svc.FinishLogin(ctx, f.alice, id, as.JSON(t)); !errors.Is(err, ErrVerify) {
				t.Errorf("got %v, want ErrVerify", err)
			}
		})
	}
	for _, body := range []string{``, `{}`, `null`, `{"id":"!!","type":"public-key"}`, `[1,2]`} {
		id, _, err := f.svc.BeginLogin(ctx, f.alice)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishLogin(ctx, f.alice, id, json.RawMessage(body)); !errors.Is(err, ErrVerify) {
			t.Errorf("assertion %q: got %v, want ErrVerify", body, err)
		}
	}
}

func TestAlreadyRegistered(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := seckeytest.New(t, testOrigin)
	f.register(t, f.alice, a, "")
	// The same credential offered for another account (a key that ignores
	// excludeCredentials, or a replayed answer).
	id, opts, err := f.svc.BeginRegistration(ctx, f.bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishRegistration(ctx, f.bob, id, "", a.Create(t, opts)); !errors.Is(err, ErrRegistered) {
		t.Errorf("got %v, want ErrRegistered", err)
	}
}

func TestNoKeys(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.svc.BeginLogin(context.Background(), f.alice); !errors.Is(err, ErrNoKeys) {
		t.Errorf("got %v, want ErrNoKeys", err)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"", DefaultName, nil},
		{"   ", DefaultName, nil},
		{" YubiKey 5C ", "YubiKey 5C", nil},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), nil},
		{strings.Repeat("x", 65), "", ErrName},
		{"bad\x00name", "", ErrName},
		{"two\nlines", "", ErrName},
		{"\xff\xfe", "", ErrName},
	}
	for _, tt := range tests {
		got, err := CleanName(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("CleanName(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFinishRegistrationBadName(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := seckeytest.New(t, testOrigin)
	id, opts, err := f.svc.BeginRegistration(ctx, f.alice)
	if err != nil {
		t.Fatal(err)
	}
	cred := a.Create(t, opts)
	if _, err := f.svc.FinishRegistration(ctx, f.alice, id, strings.Repeat("n", 65), cred); !errors.Is(err, ErrName) {
		t.Fatalf("got %v, want ErrName", err)
	}
	// The ceremony survives a bad name, so the person can fix it.
	if _, err := f.svc.FinishRegistration(ctx, f.alice, id, "ok", cred); err != nil {
		t.Errorf("retry with a good name: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	st := newFakeStore()
	good := Config{RPID: testRPID, RPName: "Countersign", Origins: []string{testOrigin}, Store: st}
	tests := []struct {
		name   string
		change func(c *Config)
	}{
		{"no rp id", func(c *Config) { c.RPID = "" }},
		{"rp id with scheme", func(c *Config) { c.RPID = "https://" + testRPID }},
		{"no rp name", func(c *Config) { c.RPName = " " }},
		{"no origins", func(c *Config) { c.Origins = nil }},
		{"origin with path", func(c *Config) { c.Origins = []string{testOrigin + "/x"} }},
		{"origin without scheme", func(c *Config) { c.Origins = []string{testRPID} }},
		{"no store", func(c *Config) { c.Store = nil }},
	}
	if _, err := New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	for _, tt := range tests {
		c := good
		tt.change(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
}
