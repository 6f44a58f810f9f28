package shares

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

func openVault(t *testing.T, keys vault.KeyStore) *vault.Vault {
	t.Helper()
	v, err := vault.Open(t.TempDir(), vault.Options{Keys: keys, Now: func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fakeManager records the answers given to offers; fail makes them fail.
type fakeManager struct {
	answers []string // "accept ACCOUNT ID" or "decline ACCOUNT ID"
	fail    error
}

func (f *fakeManager) Shares(context.Context, string) ([]approver.Share, error) { return nil, nil }

func (f *fakeManager) AcceptShare(_ context.Context, accountID, id string) error {
	if f.fail != nil {
		return f.fail
	}
	f.answers = append(f.answers, "accept "+accountID+" "+id)
	return nil
}

func (f *fakeManager) DeclineShare(_ context.Context, accountID, id string) error {
	if f.fail != nil {
		return f.fail
	}
	f.answers = append(f.answers, "decline "+accountID+" "+id)
	return nil
}

const (
	oldSecret = "JBSWY3DPEHPK3PXP"
	newSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
)

func share(id, secret string, rekeyed bool) approver.Share {
	return approver.Share{
		ShareOffer: api.ShareOffer{ID: id, From: "Demo", Label: "Phone", Rekeyed: rekeyed,
			Account: api.AccountRef{ID: "u1", Email: "demo@countersign.test"}},
		URI: "otpauth://totp/Countersign:demo%40countersign.test?secret=" + secret + "&issuer=Countersign&algorithm=SHA1&digits=6&period=30",
	}
}

func key(t *testing.T, secret string) otp.Key {
	t.Helper()
	b, err := otp.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return otp.Key{Type: otp.TOTP, Issuer: "Countersign", Name: "demo@countersign.test", Secret: b}
}

func TestAcceptAddsANewAccount(t *testing.T) {
	v := openVault(t, &testkit.FakeKeyring{})
	other, _, err := v.Add(vault.Account{Key: otp.Key{Type: otp.TOTP, Issuer: "GitHub", Name: "demo", Secret: []byte("another secret")}})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeManager{}
	got, replaced, err := Accept(context.Background(), m, "dev1", share("s1", newSecret, false), v)
	if err != nil {
		t.Fatal(err)
	}
	if replaced {
		t.Error("a new account is reported as replacing one")
	}
	want := key(t, newSecret).Normalize()
	if got.ID == "" || got.ID == other[0].ID || got.Issuer != "Countersign" || got.Name != "demo@countersign.test" ||
		!bytes.Equal(got.Secret, want.Secret) || got.Digits != 6 || got.Period != 30 || got.Algorithm != otp.SHA1 {
		t.Errorf("Accept stored %s %s (%s, %d digits, %d s), want the shared enrollment", got.ID, got.Label(), got.Algorithm, got.Digits, got.Period)
	}
	if all := v.Accounts(); len(all) != 2 {
		t.Errorf("the vault holds %d accounts, want 2", len(all))
	}
	if want := []string{"accept dev1 s1"}; !slices.Equal(m.answers, want) {
		t.Errorf("the server was told %q, want %q", m.answers, want)
	}
}

func TestAcceptReplacesTheSecretOfTheSameAccount(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  otp.Key // what the vault holds for the account before the re-key
	}{
		{"same issuer and name", key(t, oldSecret)},
		{"issuer in another case, spaces around the name", otp.Key{Type: otp.TOTP, Issuer: "countersign", Name: " demo@countersign.test ", Secret: key(t, oldSecret).Secret}},
		{"the same secret with other settings", otp.Key{Type: otp.TOTP, Issuer: "Work", Name: "me", Secret: key(t, newSecret).Secret, Digits: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := openVault(t, &testkit.FakeKeyring{})
			before, _, err := v.Add(vault.Account{Key: tc.old, Tags: []string{"work", "shared"}, Pinned: true, Notes: "the family account"})
			if err != nil {
				t.Fatal(err)
			}
			old := before[0]
			old, err = v.Edit(old.ID, func(a *vault.Account) error {
				a.Extra = map[string][]string{"image": {"https://countersign.test/icon.png"}}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			m := &fakeManager{}
			got, replaced, err := Accept(context.Background(), m, "dev1", share("s2", newSecret, true), v)
			if err != nil {
				t.Fatal(err)
			}
			if !replaced {
				t.Error("a re-key is reported as a new account")
			}
			all := v.Accounts()
			if len(all) != 1 {
				t.Fatalf("the vault holds %d accounts, want the one re-keyed", len(all))
			}
			stored := all[0]
			if stored.ID != got.ID || stored.ID != old.ID {
				t.Errorf("the re-keyed account is %s (returned %s), want it to keep id %s", stored.ID, got.ID, old.ID)
			}
			if !bytes.Equal(stored.Secret, key(t, newSecret).Secret) || stored.Digits != 6 || stored.Period != 30 {
				t.Errorf("the re-keyed account computes codes with %d digits every %d s from another secret, want the shared one", stored.Digits, stored.Period)
			}
			if stored.Issuer != old.Issuer || stored.Name != old.Name || !slices.Equal(stored.Tags, old.Tags) || !stored.Pinned ||
				stored.Notes != old.Notes || !stored.Created.Equal(old.Created) || stored.Extra["image"][0] != "https://countersign.test/icon.png" {
				t.Errorf("the re-key changed more than the codes:\n got %q %q %v pinned=%v %q %v %v\nwant %q %q %v pinned=true %q %v %v",
					stored.Issuer, stored.Name, stored.Tags, stored.Pinned, stored.Notes, stored.Created, stored.Extra,
					old.Issuer, old.Name, old.Tags, old.Notes, old.Created, old.Extra)
			}
			now := time.Unix(1_700_000_000, 0)
			want, _ := otp.Code(key(t, newSecret).Normalize(), now)
			if code, err := otp.Code(stored.Key, now); err != nil || code != want {
				t.Errorf("the re-keyed account's code is %q, %v; want the shared secret's %q", code, err, want)
			}
			if len(m.answers) != 1 {
				t.Errorf("the server was told %q, want one acceptance", m.answers)
			}
		})
	}
}

func TestAcceptOfAnIdenticalAccountChangesNothing(t *testing.T) {
	v := openVault(t, &testkit.FakeKeyring{})
	// Renamed in the vault, but the same secret and settings.
	before, _, err := v.Add(vault.Account{Key: otp.Key{Type: otp.TOTP, Issuer: "Home", Name: "demo", Secret: key(t, newSecret).Secret}, Tags: []string{"home"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeManager{}
	got, replaced, err := Accept(context.Background(), m, "dev1", share("s3", newSecret, false), v)
	if err != nil {
		t.Fatal(err)
	}
	if replaced || got.ID != before[0].ID {
		t.Errorf("Accept = %s, replaced %v; want the account already there, %s, unchanged", got.ID, replaced, before[0].ID)
	}
	all := v.Accounts()
	if len(all) != 1 || all[0].Name != "demo" || !all[0].Modified.Equal(before[0].Modified) || !slices.Equal(all[0].Tags, []string{"home"}) {
		t.Errorf("the vault holds %+v, want the account as it was", all)
	}
	if want := []string{"accept dev1 s3"}; !slices.Equal(m.answers, want) {
		t.Errorf("the server was told %q, want %q", m.answers, want)
	}
}

func TestAcceptLosesNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("the vault cannot be written", func(t *testing.T) {
		keys := &testkit.FakeKeyring{}
		keys.Fail(errors.New("the keyring is locked"))
		v := openVault(t, keys)
		m := &fakeManager{}
		if _, _, err := Accept(ctx, m, "dev1", share("s4", newSecret, false), v); err == nil || !strings.Contains(err.Error(), "the keyring is locked") {
			t.Errorf("Accept into a vault that cannot be written: %v, want the vault's error", err)
		}
		if len(m.answers) != 0 {
			t.Errorf("the server was told %q although the vault was not written", m.answers)
		}
	})
	t.Run("the vault file is damaged", func(t *testing.T) {
		v := openVault(t, &testkit.FakeKeyring{})
		if _, _, err := v.Add(vault.Account{Key: key(t, oldSecret)}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(v.Path(), []byte(`{"accounts":[]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		m := &fakeManager{}
		if _, _, err := Accept(ctx, m, "dev1", share("s5", newSecret, true), v); !errors.Is(err, vault.ErrUnreadable) {
			t.Errorf("a re-key into a damaged vault: %v, want vault.ErrUnreadable", err)
		}
		if len(m.answers) != 0 {
			t.Errorf("the server was told %q although the vault was not written", m.answers)
		}
	})
	t.Run("the server cannot be told", func(t *testing.T) {
		v := openVault(t, &testkit.FakeKeyring{})
		m := &fakeManager{fail: approver.ErrOffline}
		got, _, err := Accept(ctx, m, "dev1", share("s6", newSecret, false), v)
		if !errors.Is(err, ErrNotTold) || !errors.Is(err, approver.ErrOffline) || got.ID == "" {
			t.Fatalf("Accept while offline = %s, %v; want the stored account and ErrNotTold", got.ID, err)
		}
		// Accepting again once online adds nothing more.
		m.fail = nil
		again, replaced, err := Accept(ctx, m, "dev1", share("s6", newSecret, false), v)
		if err != nil || replaced || again.ID != got.ID || len(v.Accounts()) != 1 {
			t.Errorf("accepting again = %s, %v, %v with %d accounts; want %s as it was", again.ID, replaced, err, len(v.Accounts()), got.ID)
		}
		if want := []string{"accept dev1 s6"}; !slices.Equal(m.answers, want) {
			t.Errorf("the server was told %q, want %q", m.answers, want)
		}
	})
	t.Run("two accounts could be the one re-keyed", func(t *testing.T) {
		v := openVault(t, &testkit.FakeKeyring{})
		a, b := vault.Account{Key: key(t, oldSecret)}, vault.Account{Key: key(t, "MFRGGZDFMZTWQ2LK")}
		if _, _, err := v.Add(a, b); err != nil {
			t.Fatal(err)
		}
		m := &fakeManager{}
		if _, _, err := Accept(ctx, m, "dev1", share("s7", newSecret, true), v); !errors.Is(err, vault.ErrAmbiguous) {
			t.Errorf("a re-key of one of two: %v, want vault.ErrAmbiguous", err)
		}
		if len(m.answers) != 0 {
			t.Errorf("the server was told %q", m.answers)
		}
	})
	t.Run("not an authenticator", func(t *testing.T) {
		v := openVault(t, &testkit.FakeKeyring{})
		m := &fakeManager{}
		for _, uri := range []string{"https://example.com/?secret=" + newSecret, "otpauth://totp/x?secret=not-base32!", "otpauth-migration://offline?data=CgA"} {
			s := share("s8", newSecret, false)
			s.URI = uri
			_, _, err := Accept(ctx, m, "dev1", s, v)
			if err == nil || strings.Contains(err.Error(), "not-base32") {
				t.Errorf("Accept of %q: %v, want an error that does not repeat the secret", uri, err)
			}
		}
		if len(m.answers) != 0 || len(v.Accounts()) != 0 {
			t.Errorf("the server was told %q; the vault holds %d accounts", m.answers, len(v.Accounts()))
		}
	})
}

func TestDecline(t *testing.T) {
	m := &fakeManager{}
	if err := Decline(context.Background(), m, "dev1", share("s9", newSecret, false)); err != nil {
		t.Fatal(err)
	}
	if want := []string{"decline dev1 s9"}; !slices.Equal(m.answers, want) {
		t.Errorf("the server was told %q, want %q", m.answers, want)
	}
	m.fail = approver.ErrOffline
	if err := Decline(context.Background(), m, "dev1", share("s9", newSecret, false)); !errors.Is(err, approver.ErrOffline) {
		t.Errorf("Decline while offline: %v, want ErrOffline", err)
	}
}

func TestDescribe(t *testing.T) {
	noURI := share("s", newSecret, false)
	noURI.URI, noURI.From = "", ""
	for _, tc := range []struct {
		s    approver.Share
		want string
	}{
		{share("s", newSecret, false), "Demo shared the authenticator of demo@countersign.test (Countersign) with this desktop."},
		{share("s", newSecret, true), "Demo re-keyed the authenticator of demo@countersign.test (Countersign) shared with this desktop: the old codes stop working."},
		{noURI, "The account's owner shared the authenticator of demo@countersign.test with this desktop."},
	} {
		if got := Describe(tc.s); got != tc.want {
			t.Errorf("Describe = %q, want %q", got, tc.want)
		}
		if strings.Contains(Describe(tc.s), newSecret) {
			t.Errorf("Describe shows the secret")
		}
	}
}
