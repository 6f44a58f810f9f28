package seckey

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// registerPasskey registers a's credential with u as a passkey.
func (f *fixture) registerPasskey(t testing.TB, u *store.User, a *seckeytest.Authenticator, name string) *store.SecurityKey {
	t.Helper()
	ctx := context.Background()
	id, opts, err := f.svc.BeginPasskeyRegistration(ctx, u)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	k, err := f.svc.FinishRegistration(ctx, u, id, name, a.Create(t, opts))
	if err != nil {
		t.Fatalf("FinishRegistration of a passkey: %v", err)
	}
	return k
}

// passkeyLogin runs a passkey sign-in answered by a with the user handle.
func (f *fixture) passkeyLogin(t testing.TB, a *seckeytest.Authenticator, handle []byte) (*store.User, *store.SecurityKey, error) {
	t.Helper()
	ctx := context.Background()
	id, opts, err := f.svc.BeginPasskeyLogin(ctx)
	if err != nil {
		t.Fatalf("BeginPasskeyLogin: %v", err)
	}
	return f.svc.FinishPasskeyLogin(ctx, id, a.Get(t, opts, handle))
}

func TestPasskeyRegistrationAsksForAResidentKeyAndUV(t *testing.T) {
	f := newFixture(t)
	_, opts, err := f.svc.BeginPasskeyRegistration(context.Background(), f.alice)
	if err != nil {
		t.Fatal(err)
	}
	var cc protocol.CredentialCreation
	if err := json.Unmarshal(opts, &cc); err != nil {
		t.Fatal(err)
	}
	sel := cc.Response.AuthenticatorSelection
	if sel.ResidentKey != protocol.ResidentKeyRequirementRequired || sel.RequireResidentKey == nil || !*sel.RequireResidentKey || sel.UserVerification != protocol.VerificationRequired {
		t.Errorf("authenticatorSelection = %+v, want residentKey and userVerification required", sel)
	}
	if _, ok := cc.Response.Extensions["credProps"]; !ok {
		t.Errorf("extensions = %v, want credProps asked", cc.Response.Extensions)
	}
}

func TestPasskeySignIn(t *testing.T) {
	f := newFixture(t)
	f.store.users = []*store.User{f.alice, f.bob}
	pk := seckeytest.New(t, testOrigin)
	key := f.registerPasskey(t, f.alice, pk, "Laptop passkey")
	if !key.Discoverable {
		t.Fatalf("a passkey is stored with Discoverable false: %+v", key)
	}
	plain := seckeytest.New(t, testOrigin)
	if k := f.register(t, f.alice, plain, "YubiKey"); k.Discoverable {
		t.Fatalf("a security key is stored as a passkey: %+v", k)
	}

	f.clock.Advance(3600e9)
	u, k, err := f.passkeyLogin(t, pk, f.alice.WebAuthnID)
	if err != nil {
		t.Fatalf("FinishPasskeyLogin: %v", err)
	}
	if u.ID != f.alice.ID || k.ID != key.ID || !k.LastUsedAt.Equal(f.clock.Now()) {
		t.Errorf("signed in %s with %+v, want alice with the passkey used now", u.ID, k)
	}

	t.Run("a security key does not sign in on its own", func(t *testing.T) {
		if _, _, err := f.passkeyLogin(t, plain, f.alice.WebAuthnID); !errors.Is(err, ErrUnknownPasskey) {
			t.Errorf("err = %v, want ErrUnknownPasskey", err)
		}
	})
	t.Run("without user verification", func(t *testing.T) {
		pk.UV = false
		defer func() { pk.UV = true }()
		if _, _, err := f.passkeyLogin(t, pk, f.alice.WebAuthnID); !errors.Is(err, ErrVerify) {
			t.Errorf("err = %v, want ErrVerify", err)
		}
	})
	t.Run("with another account's handle", func(t *testing.T) {
		if _, _, err := f.passkeyLogin(t, pk, f.bob.WebAuthnID); !errors.Is(err, ErrUnknownPasskey) {
			t.Errorf("err = %v, want ErrUnknownPasskey", err)
		}
	})
	t.Run("with no account's handle", func(t *testing.T) {
		if _, _, err := f.passkeyLogin(t, pk, []byte("nobody-handle-0123456789abcdefgh")); !errors.Is(err, ErrUnknownPasskey) {
			t.Errorf("err = %v, want ErrUnknownPasskey", err)
		}
	})
	t.Run("without a handle", func(t *testing.T) {
		if _, _, err := f.passkeyLogin(t, pk, nil); !errors.Is(err, ErrVerify) {
			t.Errorf("err = %v, want ErrVerify", err)
		}
	})
	t.Run("a challenge of a user's ceremony", func(t *testing.T) {
		id, opts, err := f.svc.BeginLogin(context.Background(), f.alice)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.FinishPasskeyLogin(context.Background(), id, pk.Get(t, opts, f.alice.WebAuthnID)); !errors.Is(err, ErrChallenge) {
			t.Errorf("err = %v, want ErrChallenge", err)
		}
	})
	t.Run("a passkey is a second step too", func(t *testing.T) {
		id, opts, err := f.svc.BeginLogin(context.Background(), f.alice)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := f.svc.FinishLogin(context.Background(), f.alice, id, pk.Get(t, opts, nil)); err != nil || k.ID != key.ID {
			t.Errorf("FinishLogin = %+v, %v; want the passkey", k, err)
		}
	})
	t.Run("the challenge works once", func(t *testing.T) {
		ctx := context.Background()
		id, opts, err := f.svc.BeginPasskeyLogin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		answer := pk.Get(t, opts, f.alice.WebAuthnID)
		if _, _, err := f.svc.FinishPasskeyLogin(ctx, id, answer); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.FinishPasskeyLogin(ctx, id, answer); !errors.Is(err, ErrChallenge) {
			t.Errorf("err = %v, want ErrChallenge", err)
		}
	})
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*seckeytest.Authenticator)
		want  error
	}{
		{"no user verification", func(a *seckeytest.Authenticator) { a.UV = false }, ErrVerify},
		{"not discoverable", func(a *seckeytest.Authenticator) { a.NotResident = true }, ErrNotDiscoverable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			a := seckeytest.New(t, testOrigin)
			tc.spoil(a)
			id, opts, err := f.svc.BeginPasskeyRegistration(ctx, f.alice)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.FinishRegistration(ctx, f.alice, id, "", a.Create(t, opts)); !errors.Is(err, tc.want) || !errors.Is(err, ErrVerify) {
				t.Errorf("err = %v, want %v (an ErrVerify)", err, tc.want)
			}
			if ks, _ := f.store.SecurityKeys(ctx, f.alice.ID); len(ks) != 0 {
				t.Errorf("stored %+v", ks)
			}
		})
	}
}
