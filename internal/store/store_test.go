package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// t0 is the tests' "now"; every test starts its clock there.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// backend opens a fresh, empty, migrated database.
type backend struct {
	name string
	open func(t testing.TB, opts ...Option) *DB
}

var backends = []backend{
	{"sqlite", openSQLite},
	{"postgres", openPostgresTest},
}

func openSQLite(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return openURL(t, filepath.Join(t.TempDir(), "countersign.db"), opts...)
}

func openPostgresTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	return openURL(t, pgtest.DSN(t), opts...)
}

func openURL(t testing.TB, url string, opts ...Option) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// forEachBackend runs f against a fresh database of every backend, with a
// clock at t0.
func forEachBackend(t *testing.T, f func(t *testing.T, db *DB, clk *testkit.Clock)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := testkit.NewClock(t0)
			f(t, b.open(t, WithClock(clk.Now)), clk)
		})
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// race runs f from n goroutines at once and returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins checks that exactly one error is nil and every other is loser.
func oneWins(t *testing.T, errs []error, loser error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, loser):
			t.Errorf("a loser got %v, want %v", err, loser)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d racers won, want exactly 1", wins, len(errs))
	}
}

var ctx = context.Background()

func newUser(t *testing.T, db *DB, email, phone string) *User {
	t.Helper()
	u := &User{Email: email, Phone: phone, Name: "Test " + email + phone, PasswordHash: "$argon2id$x", CreatedAt: t0,
		WebAuthnID: []byte("handle-" + email + phone)}
	must(t, "CreateUser", db.CreateUser(ctx, u))
	return u
}

func TestUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := &User{Email: "Ada@Example.COM", Phone: "+15550001", Name: "Ada", PasswordHash: "$argon2id$v=19$abc",
			PasswordChangedAt: t0.Add(-time.Hour), TwoStep: true, WebAuthnID: []byte{1, 2, 3}, CreatedAt: t0}
		must(t, "CreateUser", db.CreateUser(ctx, u))
		if u.ID == "" {
			t.Fatal("CreateUser left ID empty")
		}
		if u.Email != "ada@example.com" {
			t.Errorf("Email = %q, want it lower-cased", u.Email)
		}

		got, err := db.UserByID(ctx, u.ID)
		must(t, "UserByID", err)
		if fmt.Sprint(*got) != fmt.Sprint(*u) {
			t.Errorf("UserByID:\n got %+v\nwant %+v", *got, *u)
		}
		for _, login := range []string{"ada@example.com", "ADA@example.com", "+15550001"} {
			got, err := db.UserByLogin(ctx, login)
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByLogin(%q) = %v, %v; want user %s", login, got, err, u.ID)
			}
		}
		got, err = db.UserByWebAuthnID(ctx, []byte{1, 2, 3})
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByWebAuthnID = %v, %v; want user %s", got, err, u.ID)
		}

		_, err = db.UserByID(ctx, "nobody")
		wantErr(t, "UserByID(unknown)", err, ErrNotFound)
		for _, login := range []string{"", "bob@example.com", "+1999"} {
			_, err = db.UserByLogin(ctx, login)
			wantErr(t, fmt.Sprintf("UserByLogin(%q)", login), err, ErrNotFound)
		}
		_, err = db.UserByWebAuthnID(ctx, nil)
		wantErr(t, "UserByWebAuthnID(nil)", err, ErrNotFound)

		// Taken email (in any case) or phone.
		wantErr(t, "CreateUser(same email)", db.CreateUser(ctx, &User{Email: "ADA@example.com"}), ErrConflict)
		wantErr(t, "CreateUser(same phone)", db.CreateUser(ctx, &User{Phone: "+15550001"}), ErrConflict)
		wantErr(t, "CreateUser(same id)", db.CreateUser(ctx, &User{ID: u.ID, Email: "x@example.com"}), ErrConflict)
		wantErr(t, "CreateUser(same webauthn id)", db.CreateUser(ctx, &User{Email: "y@example.com", WebAuthnID: []byte{1, 2, 3}}), ErrConflict)
		// Empty email, phone and handle are not "taken".
		newUser(t, db, "", "+15550002")
		newUser(t, db, "", "+15550003")
		must(t, "CreateUser(no handle)", db.CreateUser(ctx, &User{Email: "p@example.com"}))
		must(t, "CreateUser(no handle)", db.CreateUser(ctx, &User{Email: "q@example.com"}))

		n, err := db.CountUsers(ctx)
		if err != nil || n != 5 {
			t.Errorf("CountUsers = %d, %v; want 5", n, err)
		}

		u.Email, u.Phone, u.Name, u.PasswordHash = "Ada2@example.com", "", "Ada L.", "$argon2id$new"
		u.PasswordChangedAt, u.TwoStep, u.WebAuthnID = t0, false, []byte{9}
		u.FailedLogins, u.LockedUntil = 3, t0.Add(time.Minute)
		must(t, "UpdateUser", db.UpdateUser(ctx, u))
		got, err = db.UserByLogin(ctx, "ada2@EXAMPLE.com")
		must(t, "UserByLogin after update", err)
		if fmt.Sprint(*got) != fmt.Sprint(*u) {
			t.Errorf("after UpdateUser:\n got %+v\nwant %+v", *got, *u)
		}
		wantErr(t, "UpdateUser(unknown)", db.UpdateUser(ctx, &User{ID: "nobody"}), ErrNotFound)
		u.Phone = "+15550002"
		wantErr(t, "UpdateUser(taken phone)", db.UpdateUser(ctx, u), ErrConflict)
	})
}

func TestLoginFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		lock := func(n int) time.Time {
			if n < 3 {
				return time.Time{}
			}
			return t0.Add(time.Duration(n) * time.Minute)
		}
		for want := 1; want <= 4; want++ {
			n, err := db.RecordLoginFailure(ctx, u.ID, lock)
			if err != nil || n != want {
				t.Fatalf("RecordLoginFailure = %d, %v; want %d", n, err, want)
			}
			got, _ := db.UserByID(ctx, u.ID)
			if got.FailedLogins != want || !got.LockedUntil.Equal(lock(want)) {
				t.Errorf("after %d failures: FailedLogins %d, LockedUntil %v; want %d, %v", want, got.FailedLogins, got.LockedUntil, want, lock(want))
			}
		}
		must(t, "ResetLoginFailures", db.ResetLoginFailures(ctx, u.ID))
		got, _ := db.UserByID(ctx, u.ID)
		if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Errorf("after reset: FailedLogins %d, LockedUntil %v; want 0, zero", got.FailedLogins, got.LockedUntil)
		}
		_, err := db.RecordLoginFailure(ctx, "nobody", lock)
		wantErr(t, "RecordLoginFailure(unknown)", err, ErrNotFound)
		wantErr(t, "ResetLoginFailures(unknown)", db.ResetLoginFailures(ctx, "nobody"), ErrNotFound)

		// Concurrent failures are all counted, each caller seeing its own count.
		const n = 16
		counts := make([]int, n)
		errs := race(n, func(i int) error {
			var err error
			counts[i], err = db.RecordLoginFailure(ctx, u.ID, lock)
			return err
		})
		for _, err := range errs {
			must(t, "concurrent RecordLoginFailure", err)
		}
		slices.Sort(counts)
		for i, c := range counts {
			if c != i+1 {
				t.Fatalf("concurrent counts = %v, want 1…%d each once", counts, n)
			}
		}
		got, _ = db.UserByID(ctx, u.ID)
		if got.FailedLogins != n || !got.LockedUntil.Equal(lock(n)) {
			t.Errorf("after %d concurrent failures: %d, %v; want %d, %v", n, got.FailedLogins, got.LockedUntil, n, lock(n))
		}
	})
}

func TestMethods(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		totp := &Method{UserID: u.ID, Kind: MethodTOTP, Label: "phone app", Secret: []byte("secret"), CreatedAt: t0}
		must(t, "AddMethod(totp)", db.AddMethod(ctx, totp))
		totp2 := &Method{UserID: u.ID, Kind: MethodTOTP, Label: "laptop app", Secret: []byte("secret2"), CreatedAt: t0.Add(time.Second)}
		must(t, "AddMethod(second totp)", db.AddMethod(ctx, totp2))
		sms := &Method{UserID: u.ID, Kind: MethodSMS, Phone: "+15550001", Confirmed: true, CreatedAt: t0.Add(2 * time.Second)}
		must(t, "AddMethod(sms)", db.AddMethod(ctx, sms))
		voice := &Method{UserID: u.ID, Kind: MethodVoice, Phone: "+15550001", CreatedAt: t0.Add(3 * time.Second)}
		must(t, "AddMethod(voice, same phone)", db.AddMethod(ctx, voice))
		wantErr(t, "AddMethod(sms, same phone)", db.AddMethod(ctx, &Method{UserID: u.ID, Kind: MethodSMS, Phone: "+15550001"}), ErrConflict)
		must(t, "AddMethod(other user, same phone)", db.AddMethod(ctx, &Method{UserID: other.ID, Kind: MethodSMS, Phone: "+15550001"}))
		wantErr(t, "AddMethod(unknown user)", db.AddMethod(ctx, &Method{UserID: "nobody", Kind: MethodTOTP}), ErrNotFound)

		ms, err := db.Methods(ctx, u.ID)
		must(t, "Methods", err)
		if len(ms) != 4 || ms[0].ID != totp.ID || ms[2].ID != sms.ID {
			t.Fatalf("Methods = %+v, want totp, totp2, sms, voice", ms)
		}
		if fmt.Sprint(ms[0]) != fmt.Sprint(*totp) {
			t.Errorf("Methods[0]:\n got %+v\nwant %+v", ms[0], *totp)
		}
		got, err := db.Method(ctx, u.ID, sms.ID)
		if err != nil || fmt.Sprint(*got) != fmt.Sprint(*sms) {
			t.Errorf("Method = %+v, %v; want %+v", got, err, *sms)
		}
		_, err = db.Method(ctx, other.ID, sms.ID)
		wantErr(t, "Method(other user's)", err, ErrNotFound)

		totp.Label, totp.Confirmed, totp.LastStep, totp.LastUsedAt = "renamed", true, 100, t0
		must(t, "UpdateMethod", db.UpdateMethod(ctx, totp))
		got, _ = db.Method(ctx, u.ID, totp.ID)
		if fmt.Sprint(*got) != fmt.Sprint(*totp) {
			t.Errorf("after UpdateMethod:\n got %+v\nwant %+v", *got, *totp)
		}
		stale := *totp
		stale.LastStep = 50
		must(t, "UpdateMethod(stale LastStep)", db.UpdateMethod(ctx, &stale))
		if got, _ = db.Method(ctx, u.ID, totp.ID); got.LastStep != 100 {
			t.Errorf("UpdateMethod moved LastStep back to %d, want it kept at 100", got.LastStep)
		}
		wantErr(t, "UpdateMethod(other user's)", db.UpdateMethod(ctx, &Method{ID: totp.ID, UserID: other.ID}), ErrNotFound)
		sms.Phone = "+15550009"
		must(t, "UpdateMethod(new phone)", db.UpdateMethod(ctx, sms))

		wantErr(t, "DeleteMethod(other user's)", db.DeleteMethod(ctx, other.ID, totp2.ID), ErrNotFound)
		must(t, "DeleteMethod", db.DeleteMethod(ctx, u.ID, totp2.ID))
		wantErr(t, "DeleteMethod(again)", db.DeleteMethod(ctx, u.ID, totp2.ID), ErrNotFound)
		if ms, _ = db.Methods(ctx, u.ID); len(ms) != 3 {
			t.Errorf("after delete: %d methods, want 3", len(ms))
		}
	})
}

func TestUseTOTPStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		m := &Method{UserID: u.ID, Kind: MethodTOTP, Secret: []byte("s"), CreatedAt: t0}
		must(t, "AddMethod", db.AddMethod(ctx, m))

		must(t, "UseTOTPStep(5)", db.UseTOTPStep(ctx, m.ID, 5, t0))
		wantErr(t, "UseTOTPStep(5 again)", db.UseTOTPStep(ctx, m.ID, 5, t0), ErrUsed)
		wantErr(t, "UseTOTPStep(4)", db.UseTOTPStep(ctx, m.ID, 4, t0), ErrUsed)
		must(t, "UseTOTPStep(6)", db.UseTOTPStep(ctx, m.ID, 6, t0.Add(time.Minute)))
		wantErr(t, "UseTOTPStep(unknown method)", db.UseTOTPStep(ctx, "nope", 7, t0), ErrNotFound)
		got, _ := db.Method(ctx, u.ID, m.ID)
		if got.LastStep != 6 || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("LastStep %d, LastUsedAt %v; want 6, %v", got.LastStep, got.LastUsedAt, t0.Add(time.Minute))
		}

		for step := int64(100); step < 105; step++ {
			oneWins(t, race(8, func(int) error { return db.UseTOTPStep(ctx, m.ID, step, t0) }), ErrUsed)
		}
	})
}

func TestBackupCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		old := [][]byte{[]byte("old1"), []byte("old2")}
		must(t, "ReplaceBackupCodes", db.ReplaceBackupCodes(ctx, u.ID, old))
		hashes := [][]byte{[]byte("h1"), []byte("h2"), []byte("h3")}
		must(t, "ReplaceBackupCodes", db.ReplaceBackupCodes(ctx, u.ID, hashes))
		must(t, "ReplaceBackupCodes(other)", db.ReplaceBackupCodes(ctx, other.ID, [][]byte{[]byte("h1")}))

		cs, err := db.BackupCodes(ctx, u.ID)
		must(t, "BackupCodes", err)
		if len(cs) != 3 {
			t.Fatalf("BackupCodes = %d codes, want 3 (the old set dropped)", len(cs))
		}
		for i, c := range cs {
			if !bytes.Equal(c.Hash, hashes[i]) || c.UserID != u.ID || !c.UsedAt.IsZero() {
				t.Errorf("code %d = %+v, want hash %q unused", i, c, hashes[i])
			}
		}

		wantErr(t, "UseBackupCode(old set)", db.UseBackupCode(ctx, u.ID, old[0], t0), ErrNotFound)
		must(t, "UseBackupCode", db.UseBackupCode(ctx, u.ID, hashes[0], t0))
		wantErr(t, "UseBackupCode(again)", db.UseBackupCode(ctx, u.ID, hashes[0], t0), ErrUsed)
		wantErr(t, "UseBackupCode(unknown)", db.UseBackupCode(ctx, u.ID, []byte("nope"), t0), ErrNotFound)
		wantErr(t, "UseBackupCode(another user's)", db.UseBackupCode(ctx, u.ID, []byte("zzz"), t0), ErrNotFound)
		if err := db.UseBackupCode(ctx, u.ID, hashes[1], time.Time{}); err == nil {
			t.Error("UseBackupCode(zero time) succeeded, want an error")
		}
		cs, _ = db.BackupCodes(ctx, u.ID)
		if !cs[0].UsedAt.Equal(t0) || !cs[1].UsedAt.IsZero() {
			t.Errorf("after use: %+v, want the first used at %v, the second unused", cs, t0)
		}
		// The other user's code with the same hash is untouched.
		must(t, "UseBackupCode(other)", db.UseBackupCode(ctx, other.ID, []byte("h1"), t0))

		oneWins(t, race(8, func(int) error { return db.UseBackupCode(ctx, u.ID, hashes[2], t0) }), ErrUsed)

		wantErr(t, "ReplaceBackupCodes(duplicates)", db.ReplaceBackupCodes(ctx, u.ID, [][]byte{[]byte("d"), []byte("d")}), ErrConflict)
		if cs, _ = db.BackupCodes(ctx, u.ID); len(cs) != 3 {
			t.Errorf("a failed ReplaceBackupCodes left %d codes, want the 3 before it", len(cs))
		}
	})
}

func TestSecurityKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		k := &SecurityKey{UserID: u.ID, Name: "YubiKey 5", CredentialID: []byte{0xca, 0xfe}, Credential: []byte(`{"id":"yv4"}`), CreatedAt: t0}
		must(t, "AddSecurityKey", db.AddSecurityKey(ctx, k))
		k2 := &SecurityKey{UserID: u.ID, Name: "spare", CredentialID: []byte{0xbe, 0xef}, Credential: []byte(`{}`), Discoverable: true, CreatedAt: t0.Add(time.Second)}
		must(t, "AddSecurityKey", db.AddSecurityKey(ctx, k2))
		wantErr(t, "AddSecurityKey(known credential)", db.AddSecurityKey(ctx,
			&SecurityKey{UserID: other.ID, CredentialID: []byte{0xca, 0xfe}}), ErrConflict)

		ks, err := db.SecurityKeys(ctx, u.ID)
		must(t, "SecurityKeys", err)
		if len(ks) != 2 || fmt.Sprint(ks[0]) != fmt.Sprint(*k) || ks[1].ID != k2.ID || !ks[1].Discoverable {
			t.Fatalf("SecurityKeys = %+v, want %+v and %s, a passkey", ks, *k, k2.ID)
		}
		got, err := db.SecurityKeyByCredentialID(ctx, []byte{0xbe, 0xef})
		if err != nil || got.ID != k2.ID {
			t.Errorf("SecurityKeyByCredentialID = %+v, %v; want %s", got, err, k2.ID)
		}
		_, err = db.SecurityKeyByCredentialID(ctx, []byte{1})
		wantErr(t, "SecurityKeyByCredentialID(unknown)", err, ErrNotFound)

		k.Name, k.Credential, k.LastUsedAt = "work key", []byte(`{"signCount":2}`), t0.Add(time.Hour)
		must(t, "UpdateSecurityKey", db.UpdateSecurityKey(ctx, k))
		got, _ = db.SecurityKeyByCredentialID(ctx, k.CredentialID)
		if fmt.Sprint(*got) != fmt.Sprint(*k) {
			t.Errorf("after UpdateSecurityKey:\n got %+v\nwant %+v", *got, *k)
		}
		wantErr(t, "UpdateSecurityKey(other user's)", db.UpdateSecurityKey(ctx, &SecurityKey{ID: k.ID, UserID: other.ID}), ErrNotFound)
		wantErr(t, "DeleteSecurityKey(other user's)", db.DeleteSecurityKey(ctx, other.ID, k.ID), ErrNotFound)
		must(t, "DeleteSecurityKey", db.DeleteSecurityKey(ctx, u.ID, k.ID))
		wantErr(t, "DeleteSecurityKey(again)", db.DeleteSecurityKey(ctx, u.ID, k.ID), ErrNotFound)
		_, err = db.SecurityKeyByCredentialID(ctx, k.CredentialID)
		wantErr(t, "SecurityKeyByCredentialID(deleted)", err, ErrNotFound)
	})
}

func TestDevices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		d := &Device{UserID: u.ID, Name: "Ada's laptop", Kind: "laptop", Browser: "Firefox 133", OS: "Linux", IP: "192.0.2.1",
			UserAgent: "Mozilla/5.0", TokenHash: []byte("tok1"), CreatedAt: t0, LastSeenAt: t0, TrustedUntil: t0.Add(30 * 24 * time.Hour)}
		must(t, "AddDevice", db.AddDevice(ctx, d))
		d2 := &Device{UserID: u.ID, Name: "phone", Kind: "phone", TokenHash: []byte("tok2"), CreatedAt: t0.Add(time.Second)}
		must(t, "AddDevice", db.AddDevice(ctx, d2))
		wantErr(t, "AddDevice(same token)", db.AddDevice(ctx, &Device{UserID: u.ID, TokenHash: []byte("tok1")}), ErrConflict)
		must(t, "AddDevice(no token)", db.AddDevice(ctx, &Device{UserID: other.ID, Name: "a"}))
		must(t, "AddDevice(no token)", db.AddDevice(ctx, &Device{UserID: other.ID, Name: "b"}))

		ds, err := db.Devices(ctx, u.ID)
		must(t, "Devices", err)
		if len(ds) != 2 || fmt.Sprint(ds[0]) != fmt.Sprint(*d) || ds[1].ID != d2.ID {
			t.Fatalf("Devices = %+v, want %+v and %s", ds, *d, d2.ID)
		}
		got, err := db.Device(ctx, u.ID, d2.ID)
		if err != nil || got.Name != "phone" {
			t.Errorf("Device = %+v, %v; want the phone", got, err)
		}
		_, err = db.Device(ctx, other.ID, d2.ID)
		wantErr(t, "Device(other user's)", err, ErrNotFound)
		got, err = db.DeviceByToken(ctx, []byte("tok1"))
		if err != nil || got.ID != d.ID {
			t.Errorf("DeviceByToken = %+v, %v; want %s", got, err, d.ID)
		}
		_, err = db.DeviceByToken(ctx, nil)
		wantErr(t, "DeviceByToken(nil)", err, ErrNotFound)
		_, err = db.DeviceByToken(ctx, []byte("nope"))
		wantErr(t, "DeviceByToken(unknown)", err, ErrNotFound)

		d.Name, d.Kind, d.Browser, d.OS, d.IP, d.UserAgent = "work", "desktop", "Chrome 131", "Windows", "198.51.100.7", "UA2"
		d.LastSeenAt, d.TrustedUntil = t0.Add(time.Hour), t0.Add(60*24*time.Hour)
		must(t, "UpdateDevice", db.UpdateDevice(ctx, d))
		got, _ = db.Device(ctx, u.ID, d.ID)
		if fmt.Sprint(*got) != fmt.Sprint(*d) {
			t.Errorf("after UpdateDevice:\n got %+v\nwant %+v", *got, *d)
		}
		wantErr(t, "UpdateDevice(other user's)", db.UpdateDevice(ctx, &Device{ID: d.ID, UserID: other.ID}), ErrNotFound)

		// Sessions bound to the device end with it; others stay.
		exp := t0.Add(time.Hour)
		for _, s := range []*Session{
			{ID: "s-dev1", UserID: u.ID, DeviceID: d.ID, Stage: StageFull, ExpiresAt: exp},
			{ID: "s-dev2", UserID: u.ID, DeviceID: d.ID, Stage: StagePassword, ExpiresAt: exp},
			{ID: "s-phone", UserID: u.ID, DeviceID: d2.ID, Stage: StageFull, ExpiresAt: exp},
			{ID: "s-none", UserID: u.ID, Stage: StageFull, ExpiresAt: exp},
		} {
			must(t, "CreateSession", db.CreateSession(ctx, s))
		}
		wantErr(t, "DeleteDevice(other user's)", db.DeleteDevice(ctx, other.ID, d.ID), ErrNotFound)
		if _, err := db.Session(ctx, "s-dev1"); err != nil {
			t.Errorf("a refused DeleteDevice ended a session: %v", err)
		}
		must(t, "DeleteDevice", db.DeleteDevice(ctx, u.ID, d.ID))
		wantErr(t, "DeleteDevice(again)", db.DeleteDevice(ctx, u.ID, d.ID), ErrNotFound)
		_, err = db.Device(ctx, u.ID, d.ID)
		wantErr(t, "Device(deleted)", err, ErrNotFound)
		for id, want := range map[string]error{"s-dev1": ErrNotFound, "s-dev2": ErrNotFound, "s-phone": nil, "s-none": nil} {
			_, err := db.Session(ctx, id)
			if !errors.Is(err, want) {
				t.Errorf("after DeleteDevice, Session(%s): got %v, want %v", id, err, want)
			}
		}
	})
}

func TestSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		s := &Session{ID: "abc", UserID: u.ID, Stage: StageFull, IP: "192.0.2.1", UserAgent: "UA",
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, "CreateSession", db.CreateSession(ctx, s))
		wantErr(t, "CreateSession(same id)", db.CreateSession(ctx, s), ErrConflict)
		wantErr(t, "CreateSession(unknown user)", db.CreateSession(ctx, &Session{ID: "x", UserID: "nobody", Stage: StageFull}), ErrNotFound)
		wantErr(t, "CreateSession(unknown device)", db.CreateSession(ctx, &Session{ID: "y", UserID: u.ID, DeviceID: "nope", Stage: StageFull}), ErrNotFound)
		if err := db.CreateSession(ctx, &Session{UserID: u.ID}); err == nil {
			t.Error("CreateSession(no id) succeeded, want an error")
		}

		got, err := db.Session(ctx, "abc")
		if err != nil || fmt.Sprint(*got) != fmt.Sprint(*s) {
			t.Errorf("Session = %+v, %v; want %+v", got, err, *s)
		}
		_, err = db.Session(ctx, "nope")
		wantErr(t, "Session(unknown)", err, ErrNotFound)
		clk.Set(t0.Add(time.Hour))
		_, err = db.Session(ctx, "abc")
		wantErr(t, "Session(expired)", err, ErrNotFound)
		clk.Set(t0)

		for _, s := range []*Session{
			{ID: "newer", UserID: u.ID, Stage: StageFull, LastSeenAt: t0.Add(time.Minute), ExpiresAt: t0.Add(2 * time.Hour)},
			{ID: "pending", UserID: u.ID, Stage: StagePassword, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)},
			{ID: "old", UserID: u.ID, Stage: StageFull, LastSeenAt: t0, ExpiresAt: t0.Add(time.Minute)},
			{ID: "theirs", UserID: other.ID, Stage: StageFull, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)},
		} {
			must(t, "CreateSession", db.CreateSession(ctx, s))
		}
		ids := func(ss []Session) []string {
			var out []string
			for _, s := range ss {
				out = append(out, s.ID)
			}
			return out
		}
		ss, err := db.Sessions(ctx, u.ID, t0)
		must(t, "Sessions", err)
		if got, want := ids(ss), []string{"newer", "abc", "old"}; !slices.Equal(got, want) {
			t.Errorf("Sessions(now) = %v, want %v (full-stage, unexpired, most recently seen first)", got, want)
		}
		ss, _ = db.Sessions(ctx, u.ID, t0.Add(time.Minute))
		if got, want := ids(ss), []string{"newer", "abc"}; !slices.Equal(got, want) {
			t.Errorf("Sessions(now+1m) = %v, want %v", got, want)
		}

		must(t, "TouchSession", db.TouchSession(ctx, "abc", t0.Add(2*time.Minute), "198.51.100.1"))
		got, _ = db.Session(ctx, "abc")
		if !got.LastSeenAt.Equal(t0.Add(2*time.Minute)) || got.IP != "198.51.100.1" {
			t.Errorf("after TouchSession: LastSeenAt %v, IP %s", got.LastSeenAt, got.IP)
		}
		must(t, "TouchSession(no ip)", db.TouchSession(ctx, "abc", t0.Add(3*time.Minute), ""))
		if got, _ = db.Session(ctx, "abc"); got.IP != "198.51.100.1" {
			t.Errorf("TouchSession with no ip changed IP to %q", got.IP)
		}
		wantErr(t, "TouchSession(unknown)", db.TouchSession(ctx, "nope", t0, ""), ErrNotFound)

		wantErr(t, "DeleteUserSession(other user's)", db.DeleteUserSession(ctx, u.ID, "theirs"), ErrNotFound)
		must(t, "DeleteUserSession", db.DeleteUserSession(ctx, u.ID, "old"))
		wantErr(t, "DeleteUserSession(again)", db.DeleteUserSession(ctx, u.ID, "old"), ErrNotFound)

		n, err := db.DeleteOtherSessions(ctx, u.ID, "abc")
		if err != nil || n != 2 {
			t.Errorf("DeleteOtherSessions = %d, %v; want 2 (newer, pending)", n, err)
		}
		if _, err := db.Session(ctx, "abc"); err != nil {
			t.Errorf("DeleteOtherSessions ended the kept session: %v", err)
		}
		if _, err := db.Session(ctx, "theirs"); err != nil {
			t.Errorf("DeleteOtherSessions ended another user's session: %v", err)
		}
		must(t, "DeleteSession", db.DeleteSession(ctx, "abc"))
		wantErr(t, "DeleteSession(again)", db.DeleteSession(ctx, "abc"), ErrNotFound)
	})
}

func TestActivity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		var last int64
		for i := range 25 {
			a := &Activity{UserID: u.ID, At: t0.Add(time.Duration(i) * time.Second), Kind: ActSignIn, OK: i%2 == 0,
				IP: "192.0.2.1", UserAgent: "UA", Detail: fmt.Sprintf("event %d", i)}
			must(t, "AddActivity", db.AddActivity(ctx, a))
			if a.ID <= last {
				t.Fatalf("AddActivity set ID %d after %d, want increasing", a.ID, last)
			}
			last = a.ID
			must(t, "AddActivity(other)", db.AddActivity(ctx, &Activity{UserID: other.ID, At: t0, Kind: ActSignOut, OK: true}))
		}
		must(t, "AddActivity(no user)", db.AddActivity(ctx, &Activity{At: t0, Kind: ActSignInFailed, Detail: "unknown login"}))
		wantErr(t, "AddActivity(unknown user)", db.AddActivity(ctx, &Activity{UserID: "nobody", Kind: ActSignIn}), ErrNotFound)

		var all []Activity
		var before int64
		for _, want := range []int{10, 10, 5, 0} {
			page, err := db.ActivityPage(ctx, u.ID, before, 10)
			must(t, "ActivityPage", err)
			if len(page) != want {
				t.Fatalf("page after %d: %d events, want %d", before, len(page), want)
			}
			all = append(all, page...)
			if len(page) > 0 {
				before = page[len(page)-1].ID
			}
		}
		for i, a := range all {
			n := 24 - i
			want := Activity{ID: a.ID, UserID: u.ID, At: t0.Add(time.Duration(n) * time.Second), Kind: ActSignIn, OK: n%2 == 0,
				IP: "192.0.2.1", UserAgent: "UA", Detail: fmt.Sprintf("event %d", n)}
			if fmt.Sprint(a) != fmt.Sprint(want) {
				t.Errorf("event %d:\n got %+v\nwant %+v", i, a, want)
			}
			if i > 0 && a.ID >= all[i-1].ID {
				t.Errorf("event %d has ID %d after %d, want newest first", i, a.ID, all[i-1].ID)
			}
		}
		page, _ := db.ActivityPage(ctx, "", 0, 10)
		if len(page) != 1 || page[0].Detail != "unknown login" || page[0].UserID != "" {
			t.Errorf("ActivityPage(no user) = %+v, want the one event with no user", page)
		}
		if page, _ := db.ActivityPage(ctx, u.ID, 0, 0); len(page) != 0 {
			t.Errorf("ActivityPage(limit 0) = %d events, want none", len(page))
		}
	})
}

func TestResetTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		rt := &ResetToken{Hash: []byte("reset"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}
		must(t, "AddResetToken", db.AddResetToken(ctx, rt))
		wantErr(t, "AddResetToken(same hash)", db.AddResetToken(ctx, rt), ErrConflict)
		wantErr(t, "AddResetToken(unknown user)", db.AddResetToken(ctx, &ResetToken{Hash: []byte("x"), UserID: "nobody"}), ErrNotFound)

		peek, err := db.ResetToken(ctx, []byte("reset"))
		must(t, "ResetToken", err)
		if !peek.UsedAt.IsZero() || peek.UserID != u.ID || !peek.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("ResetToken before use = %+v", *peek)
		}
		_, err = db.ResetToken(ctx, []byte("nope"))
		wantErr(t, "ResetToken(unknown)", err, ErrNotFound)
		got, err := db.UseResetToken(ctx, []byte("reset"), t0.Add(time.Minute))
		must(t, "UseResetToken", err)
		if peek, err := db.ResetToken(ctx, []byte("reset")); err != nil || !peek.UsedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("ResetToken after use = %+v, %v", peek, err)
		}
		want := ResetToken{Hash: []byte("reset"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour), UsedAt: t0.Add(time.Minute)}
		if fmt.Sprint(*got) != fmt.Sprint(want) {
			t.Errorf("UseResetToken:\n got %+v\nwant %+v", *got, want)
		}
		_, err = db.UseResetToken(ctx, []byte("reset"), t0.Add(time.Minute))
		wantErr(t, "UseResetToken(again)", err, ErrUsed)
		_, err = db.UseResetToken(ctx, []byte("nope"), t0)
		wantErr(t, "UseResetToken(unknown)", err, ErrNotFound)

		must(t, "AddResetToken", db.AddResetToken(ctx, &ResetToken{Hash: []byte("race"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}))
		oneWins(t, race(8, func(int) error {
			_, err := db.UseResetToken(ctx, []byte("race"), t0)
			return err
		}), ErrUsed)
	})
}

func TestAPITokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		tok := &APIToken{UserID: u.ID, Name: "companion", Hash: []byte("h1"), Scopes: []string{"read", "write"}, CreatedAt: t0}
		must(t, "AddAPIToken", db.AddAPIToken(ctx, tok))
		tok2 := &APIToken{UserID: u.ID, Name: "script", Hash: []byte("h2"), Scopes: []string{"read"}, CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(time.Hour)}
		must(t, "AddAPIToken", db.AddAPIToken(ctx, tok2))
		wantErr(t, "AddAPIToken(same hash)", db.AddAPIToken(ctx, &APIToken{UserID: u.ID, Hash: []byte("h1")}), ErrConflict)
		if err := db.AddAPIToken(ctx, &APIToken{UserID: u.ID, Hash: []byte("h3"), Scopes: []string{"read write"}}); err == nil {
			t.Error("AddAPIToken(scope with a space) succeeded, want an error")
		}

		got, err := db.APITokenByHash(ctx, []byte("h1"))
		if err != nil || fmt.Sprint(*got) != fmt.Sprint(*tok) {
			t.Errorf("APITokenByHash = %+v, %v; want %+v", got, err, *tok)
		}
		_, err = db.APITokenByHash(ctx, []byte("nope"))
		wantErr(t, "APITokenByHash(unknown)", err, ErrNotFound)

		must(t, "TouchAPIToken", db.TouchAPIToken(ctx, tok.ID, t0.Add(time.Minute)))
		wantErr(t, "TouchAPIToken(unknown)", db.TouchAPIToken(ctx, "nope", t0), ErrNotFound)
		wantErr(t, "RevokeAPIToken(other user's)", db.RevokeAPIToken(ctx, other.ID, tok.ID, t0), ErrNotFound)
		must(t, "RevokeAPIToken", db.RevokeAPIToken(ctx, u.ID, tok.ID, t0.Add(2*time.Minute)))
		must(t, "RevokeAPIToken(again)", db.RevokeAPIToken(ctx, u.ID, tok.ID, t0.Add(3*time.Minute)))

		ts, err := db.APITokens(ctx, u.ID)
		must(t, "APITokens", err)
		tok.LastUsedAt, tok.RevokedAt = t0.Add(time.Minute), t0.Add(2*time.Minute)
		if len(ts) != 2 || fmt.Sprint(ts[0]) != fmt.Sprint(*tok) || fmt.Sprint(ts[1]) != fmt.Sprint(*tok2) {
			t.Errorf("APITokens:\n got %+v\nwant [%+v %+v]", ts, *tok, *tok2)
		}
		if ts, _ := db.APITokens(ctx, other.ID); len(ts) != 0 {
			t.Errorf("APITokens(other user) = %+v, want none", ts)
		}
	})
}

// TestRevokeSignIns: what a password change ends, in one call: the other
// sessions, the live API tokens, every OAuth code and token of every app;
// not the grants, not another user's.
func TestRevokeSignIns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		other := newUser(t, db, "b@example.com", "")
		for _, s := range []*Session{
			{ID: "this", UserID: u.ID, Stage: StageFull, ExpiresAt: t0.Add(time.Hour)},
			{ID: "phone", UserID: u.ID, Stage: StageFull, ExpiresAt: t0.Add(time.Hour)},
			{ID: "pending", UserID: u.ID, Stage: StagePassword, ExpiresAt: t0.Add(time.Hour)},
			{ID: "theirs", UserID: other.ID, Stage: StageFull, ExpiresAt: t0.Add(time.Hour)},
		} {
			must(t, "CreateSession", db.CreateSession(ctx, s))
		}
		for i, tok := range []*APIToken{
			{UserID: u.ID, Name: "script", CreatedAt: t0.Add(2 * time.Second)},
			{UserID: u.ID, Name: "ci", CreatedAt: t0.Add(time.Second)},
			{UserID: u.ID, Name: "gone", CreatedAt: t0, RevokedAt: t0},
			{UserID: u.ID, Name: "expired", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)},
			{UserID: other.ID, Name: "theirs", CreatedAt: t0},
		} {
			tok.Hash = []byte{byte(i)}
			must(t, "AddAPIToken", db.AddAPIToken(ctx, tok))
		}
		var apps []*OAuthClient
		for _, name := range []string{"Photos", "Notes"} {
			c := &OAuthClient{OwnerID: other.ID, Name: name, RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid"}, CreatedAt: t0}
			must(t, "CreateOAuthClient", db.CreateOAuthClient(ctx, c))
			apps = append(apps, c)
			for _, who := range []*User{u, other} {
				must(t, "SaveOAuthGrant", db.SaveOAuthGrant(ctx, &OAuthGrant{UserID: who.ID, ClientID: c.ID, Scopes: []string{"openid"}, GrantedAt: t0}))
			}
		}
		tokens := []OAuthToken{
			{Kind: OAuthRefresh, Signature: "p-refresh", ClientID: apps[0].ID, UserID: u.ID, Active: true, ExpiresAt: t0.Add(time.Hour)},
			{Kind: OAuthAccess, Signature: "p-access", ClientID: apps[0].ID, UserID: u.ID, Active: true, ExpiresAt: t0.Add(time.Hour)},
			{Kind: OAuthPKCE, Signature: "p-pkce", ClientID: apps[0].ID, UserID: u.ID, Active: true, ExpiresAt: t0.Add(time.Hour)},
			{Kind: OAuthAccess, Signature: "n-old", ClientID: apps[1].ID, UserID: u.ID, Active: true, ExpiresAt: t0}, // expired: Notes held nothing live
			{Kind: OAuthRefresh, Signature: "theirs", ClientID: apps[0].ID, UserID: other.ID, Active: true, ExpiresAt: t0.Add(time.Hour)},
		}
		for _, tok := range tokens {
			tok.RequestID, tok.Data = "r-"+tok.Signature, []byte("{}")
			must(t, "AddOAuthToken", db.AddOAuthToken(ctx, &tok))
		}

		got, err := db.RevokeSignIns(ctx, u.ID, "this", t0.Add(2*time.Minute))
		must(t, "RevokeSignIns", err)
		want := Revoked{Sessions: 2, APITokens: []string{"ci", "script"}, Apps: []string{apps[0].ID}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("RevokeSignIns = %+v, want %+v", got, want)
		}
		for id, wantErr := range map[string]error{"this": nil, "phone": ErrNotFound, "pending": ErrNotFound, "theirs": nil} {
			if _, err := db.Session(ctx, id); !errors.Is(err, wantErr) {
				t.Errorf("session %s: %v, want %v", id, err, wantErr)
			}
		}
		for _, who := range []*User{u, other} {
			ts, err := db.APITokens(ctx, who.ID)
			must(t, "APITokens", err)
			for _, tok := range ts {
				wantRevoked := t0.Add(2 * time.Minute)
				switch tok.Name {
				case "gone":
					wantRevoked = t0
				case "expired", "theirs":
					wantRevoked = time.Time{}
				}
				if !tok.RevokedAt.Equal(wantRevoked) {
					t.Errorf("API token %s revoked at %v, want %v", tok.Name, tok.RevokedAt, wantRevoked)
				}
			}
		}
		for _, tok := range tokens {
			_, err := db.OAuthToken(ctx, tok.Kind, tok.Signature)
			if tok.UserID == u.ID && !errors.Is(err, ErrNotFound) {
				t.Errorf("OAuth %s %s survived: %v", tok.Kind, tok.Signature, err)
			}
			if tok.UserID == other.ID && err != nil {
				t.Errorf("another user's OAuth %s went: %v", tok.Kind, err)
			}
		}
		if gs, err := db.OAuthGrants(ctx, u.ID); err != nil || len(gs) != 2 {
			t.Errorf("grants after RevokeSignIns: %+v, %v; want both kept", gs, err)
		}
		// Again: nothing left to end.
		got, err = db.RevokeSignIns(ctx, u.ID, "", t0.Add(3*time.Minute))
		must(t, "RevokeSignIns(again)", err)
		if fmt.Sprint(got) != fmt.Sprint(Revoked{Sessions: 1}) {
			t.Errorf("RevokeSignIns(again) = %+v, want the last session only", got)
		}
	})
}

func TestSMSCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		m := &Method{UserID: u.ID, Kind: MethodSMS, Phone: "+15550001"}
		must(t, "AddMethod", db.AddMethod(ctx, m))
		_, err := db.LatestSMSCode(ctx, u.ID)
		wantErr(t, "LatestSMSCode(none)", err, ErrNotFound)

		c1 := &SMSCode{UserID: u.ID, MethodID: m.ID, Hash: []byte("c1"), ExpiresAt: t0.Add(5 * time.Minute)}
		must(t, "AddSMSCode", db.AddSMSCode(ctx, c1))
		clk.Set(t0.Add(time.Minute))
		c2 := &SMSCode{UserID: u.ID, MethodID: m.ID, Hash: []byte("c2"), ExpiresAt: t0.Add(6 * time.Minute)}
		must(t, "AddSMSCode", db.AddSMSCode(ctx, c2))
		wantErr(t, "AddSMSCode(unknown method)", db.AddSMSCode(ctx, &SMSCode{UserID: u.ID, MethodID: "nope", Hash: []byte("x")}), ErrNotFound)

		got, err := db.LatestSMSCode(ctx, u.ID)
		if err != nil || fmt.Sprint(*got) != fmt.Sprint(*c2) {
			t.Errorf("LatestSMSCode = %+v, %v; want %+v", got, err, *c2)
		}
		for want := 1; want <= 3; want++ {
			n, err := db.TrySMSCode(ctx, c2.ID)
			if err != nil || n != want {
				t.Errorf("TrySMSCode = %d, %v; want %d", n, err, want)
			}
		}
		_, err = db.TrySMSCode(ctx, "nope")
		wantErr(t, "TrySMSCode(unknown)", err, ErrNotFound)
		errs := race(10, func(int) error { _, err := db.TrySMSCode(ctx, c2.ID); return err })
		for _, err := range errs {
			must(t, "concurrent TrySMSCode", err)
		}
		if got, _ = db.LatestSMSCode(ctx, u.ID); got.Tries != 13 {
			t.Errorf("after 13 tries, Tries = %d", got.Tries)
		}

		must(t, "UseSMSCode", db.UseSMSCode(ctx, c2.ID, t0.Add(2*time.Minute)))
		wantErr(t, "UseSMSCode(again)", db.UseSMSCode(ctx, c2.ID, t0.Add(2*time.Minute)), ErrUsed)
		wantErr(t, "UseSMSCode(unknown)", db.UseSMSCode(ctx, "nope", t0), ErrNotFound)
		if got, err = db.LatestSMSCode(ctx, u.ID); err != nil || got.ID != c1.ID {
			t.Errorf("LatestSMSCode after using the newest = %+v, %v; want %s", got, err, c1.ID)
		}
		oneWins(t, race(8, func(int) error { return db.UseSMSCode(ctx, c1.ID, t0) }), ErrUsed)
		_, err = db.LatestSMSCode(ctx, u.ID)
		wantErr(t, "LatestSMSCode(all used)", err, ErrNotFound)

		// On a clock that stands still, the order of adding decides.
		for i := range 5 {
			c := &SMSCode{UserID: u.ID, MethodID: m.ID, Hash: []byte{byte(i)}, ExpiresAt: t0.Add(time.Minute)}
			must(t, "AddSMSCode", db.AddSMSCode(ctx, c))
			if got, err := db.LatestSMSCode(ctx, u.ID); err != nil || got.ID != c.ID {
				t.Errorf("LatestSMSCode after adding code %d at the same instant = %+v, %v; want %s", i, got, err, c.ID)
			}
		}
	})
}

func TestChallenges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		c := &Challenge{UserID: u.ID, Kind: "register", Data: []byte(`{"challenge":"x"}`), ExpiresAt: t0.Add(time.Minute)}
		must(t, "AddChallenge", db.AddChallenge(ctx, c))
		d := &Challenge{Kind: "login", Data: []byte(`{}`), ExpiresAt: t0.Add(time.Minute)}
		must(t, "AddChallenge(no user)", db.AddChallenge(ctx, d))

		for _, want := range []*Challenge{c, d} {
			got, err := db.TakeChallenge(ctx, want.ID)
			if err != nil || fmt.Sprint(*got) != fmt.Sprint(*want) {
				t.Errorf("TakeChallenge = %+v, %v; want %+v", got, err, *want)
			}
			_, err = db.TakeChallenge(ctx, want.ID)
			wantErr(t, "TakeChallenge(again)", err, ErrNotFound)
		}

		e := &Challenge{Kind: "login", ExpiresAt: t0.Add(time.Minute)}
		must(t, "AddChallenge", db.AddChallenge(ctx, e))
		clk.Set(t0.Add(time.Minute))
		_, err := db.TakeChallenge(ctx, e.ID)
		wantErr(t, "TakeChallenge(expired)", err, ErrNotFound)
		clk.Set(t0)
		_, err = db.TakeChallenge(ctx, e.ID)
		wantErr(t, "TakeChallenge(expired, again)", err, ErrNotFound)

		for range 5 {
			r := &Challenge{Kind: "login", ExpiresAt: t0.Add(time.Minute)}
			must(t, "AddChallenge", db.AddChallenge(ctx, r))
			oneWins(t, race(8, func(int) error { _, err := db.TakeChallenge(ctx, r.ID); return err }), ErrNotFound)
		}
	})
}

func TestSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		_, err := db.Setting(ctx, "csrf-key")
		wantErr(t, "Setting(missing)", err, ErrNotFound)
		v, err := db.SetSettingIfAbsent(ctx, "csrf-key", []byte("first"))
		if err != nil || string(v) != "first" {
			t.Errorf("SetSettingIfAbsent = %q, %v; want first", v, err)
		}
		v, err = db.SetSettingIfAbsent(ctx, "csrf-key", []byte("second"))
		if err != nil || string(v) != "first" {
			t.Errorf("SetSettingIfAbsent(again) = %q, %v; want the stored first", v, err)
		}
		if v, err = db.Setting(ctx, "csrf-key"); err != nil || string(v) != "first" {
			t.Errorf("Setting = %q, %v; want first", v, err)
		}

		got := make([][]byte, 8)
		errs := race(8, func(i int) error {
			var err error
			got[i], err = db.SetSettingIfAbsent(ctx, "raced", []byte{byte(i)})
			return err
		})
		for i := range got {
			must(t, "concurrent SetSettingIfAbsent", errs[i])
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("concurrent SetSettingIfAbsent returned %v, want one value for all", got)
			}
		}
	})
}

func TestPurge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		m := &Method{UserID: u.ID, Kind: MethodSMS, Phone: "+1555"}
		must(t, "AddMethod", db.AddMethod(ctx, m))
		now := t0.Add(time.Hour)
		for i, exp := range []time.Time{now.Add(-time.Second), now, now.Add(time.Second)} {
			id := fmt.Sprint(i)
			must(t, "CreateSession", db.CreateSession(ctx, &Session{ID: "s" + id, UserID: u.ID, Stage: StageFull, ExpiresAt: exp}))
			must(t, "AddChallenge", db.AddChallenge(ctx, &Challenge{ID: "c" + id, Kind: "login", ExpiresAt: exp}))
			must(t, "AddSMSCode", db.AddSMSCode(ctx, &SMSCode{ID: "m" + id, UserID: u.ID, MethodID: m.ID, Hash: []byte(id), ExpiresAt: exp}))
			must(t, "AddResetToken", db.AddResetToken(ctx, &ResetToken{Hash: []byte("r" + id), UserID: u.ID, ExpiresAt: exp}))
		}
		must(t, "AddAPIToken", db.AddAPIToken(ctx, &APIToken{UserID: u.ID, Hash: []byte("api"), ExpiresAt: t0}))
		must(t, "Purge", db.Purge(ctx, now))

		for _, table := range []string{"sessions", "challenges", "sms_codes", "reset_tokens", "api_tokens"} {
			var n int
			must(t, "count", db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
			if n != 1 {
				t.Errorf("after Purge, %s has %d rows, want 1 (the one expiring after now; api tokens are kept)", table, n)
			}
		}
		if _, err := db.TakeChallenge(ctx, "c2"); err != nil {
			t.Errorf("Purge removed an unexpired challenge: %v", err)
		}
		must(t, "Ping", db.Ping(ctx))
	})
}

// TestMigrations checks that reopening applies nothing twice and that a
// database migrated by a newer program is refused with a clear message.
func TestMigrations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var url string
			if b.name == "sqlite" {
				url = filepath.Join(t.TempDir(), "sub", "dir", "countersign.db")
			} else {
				url = pgtest.DSN(t)
			}
			ms, err := migrations(map[string]dialect{"sqlite": dialectSQLite, "postgres": dialectPostgres}[b.name])
			must(t, "migrations", err)
			known := len(ms)

			db, err := Open(ctx, url)
			must(t, "Open", err)
			u := newUser(t, db, "a@example.com", "")
			versions := func(db *DB) (rows []string) {
				r, err := db.sql.QueryContext(ctx, "SELECT version, applied_at FROM schema_version ORDER BY version")
				must(t, "read schema_version", err)
				defer r.Close()
				for r.Next() {
					var v, at int64
					must(t, "scan", r.Scan(&v, &at))
					rows = append(rows, fmt.Sprint(v, "@", at))
				}
				return rows
			}
			before := versions(db)
			if len(before) != known {
				t.Fatalf("schema_version = %v, want %d versions", before, known)
			}
			db.Close()

			db, err = Open(ctx, url)
			must(t, "reopen", err)
			if after := versions(db); !slices.Equal(after, before) {
				t.Errorf("reopening changed schema_version from %v to %v", before, after)
			}
			if got, err := db.UserByID(ctx, u.ID); err != nil || got.Email != u.Email {
				t.Errorf("after reopen, UserByID = %+v, %v; want the user", got, err)
			}

			newer := known + 1
			_, err = db.sql.ExecContext(ctx, db.q("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)"), newer, 1)
			must(t, "bump schema_version", err)
			db.Close()

			_, err = Open(ctx, url)
			wantErr(t, "Open(newer schema)", err, ErrNewSchema)
			msg := err.Error()
			for _, want := range []string{fmt.Sprintf("schema version %d", newer), fmt.Sprintf("up to %d", known), "upgrade countersign-server"} {
				if !bytes.Contains([]byte(msg), []byte(want)) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
		})
	}
}

// TestConcurrentOpen starts several "server instances" on one fresh database
// at once: the migration runs once and every Open succeeds.
func TestConcurrentOpen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "countersign.db")
			if b.name == "postgres" {
				url = pgtest.DSN(t)
			}
			dbs := make([]*DB, 6)
			errs := race(len(dbs), func(i int) error {
				var err error
				dbs[i], err = Open(ctx, url)
				return err
			})
			for i, err := range errs {
				must(t, "concurrent Open", err)
				defer dbs[i].Close()
			}
			var n int
			must(t, "count versions", dbs[0].sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&n))
			if ms, _ := migrations(dbs[0].dialect); n != len(ms) {
				t.Errorf("schema_version has %d rows, want %d", n, len(ms))
			}
		})
	}
}

// TestConcurrentWriters has many goroutines write at once; none may fail
// with "database is locked" or a serialization error.
func TestConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		const workers, each = 24, 15
		errs := race(workers, func(w int) error {
			for i := range each {
				if err := db.AddActivity(ctx, &Activity{UserID: u.ID, Kind: ActSignIn, At: t0}); err != nil {
					return err
				}
				if _, err := db.RecordLoginFailure(ctx, u.ID, func(int) time.Time { return t0 }); err != nil {
					return err
				}
				s := &Session{ID: fmt.Sprint(w, "-", i), UserID: u.ID, Stage: StageFull, ExpiresAt: t0.Add(time.Hour)}
				if err := db.CreateSession(ctx, s); err != nil {
					return err
				}
				if _, err := db.Session(ctx, s.ID); err != nil {
					return err
				}
			}
			return nil
		})
		for _, err := range errs {
			must(t, "concurrent write", err)
		}
		got, _ := db.UserByID(ctx, u.ID)
		page, _ := db.ActivityPage(ctx, u.ID, 0, workers*each+1)
		if got.FailedLogins != workers*each || len(page) != workers*each {
			t.Errorf("after %d writes each: %d failures, %d events", workers*each, got.FailedLogins, len(page))
		}
	})
}

// TestUserDeleteCascades: deleting users is not in Store yet, but the schema
// is ready for it; every row of the user goes with it.
func TestUserDeleteCascades(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		keep := newUser(t, db, "b@example.com", "")
		for _, id := range []string{u.ID, keep.ID} {
			m := &Method{UserID: id, Kind: MethodSMS, Phone: "+1555"}
			must(t, "AddMethod", db.AddMethod(ctx, m))
			must(t, "ReplaceBackupCodes", db.ReplaceBackupCodes(ctx, id, [][]byte{[]byte("c")}))
			must(t, "AddSecurityKey", db.AddSecurityKey(ctx, &SecurityKey{UserID: id, CredentialID: []byte("k" + id)}))
			d := &Device{UserID: id, TokenHash: []byte("d" + id)}
			must(t, "AddDevice", db.AddDevice(ctx, d))
			must(t, "CreateSession", db.CreateSession(ctx, &Session{ID: "s" + id, UserID: id, DeviceID: d.ID, Stage: StageFull}))
			must(t, "AddActivity", db.AddActivity(ctx, &Activity{UserID: id, Kind: ActSignUp}))
			must(t, "AddResetToken", db.AddResetToken(ctx, &ResetToken{Hash: []byte("r" + id), UserID: id}))
			must(t, "AddAPIToken", db.AddAPIToken(ctx, &APIToken{UserID: id, Hash: []byte("a" + id)}))
			must(t, "AddSMSCode", db.AddSMSCode(ctx, &SMSCode{UserID: id, MethodID: m.ID, Hash: []byte("x")}))
			must(t, "AddChallenge", db.AddChallenge(ctx, &Challenge{UserID: id, Kind: "login"}))
		}
		_, err := db.sql.ExecContext(ctx, db.q("DELETE FROM users WHERE id = ?"), u.ID)
		must(t, "delete user", err)
		for _, table := range []string{"methods", "backup_codes", "security_keys", "devices", "sessions", "activity",
			"reset_tokens", "api_tokens", "sms_codes", "challenges"} {
			var n int
			must(t, "count", db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
			if n != 1 {
				t.Errorf("after deleting a user, %s has %d rows, want 1 (the other user's)", table, n)
			}
		}
	})
}
