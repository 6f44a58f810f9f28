package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
)

// newAccount makes an account named name.
func newAccount(t *testing.T, db *DB, email, name string) *User {
	t.Helper()
	u := &User{Email: email, Name: name, CreatedAt: t0}
	must(t, "CreateUser", db.CreateUser(ctx, u))
	return u
}

// addMember adds a member to u's household.
func addMember(t *testing.T, db *DB, u *User, name string, at time.Time) *Member {
	t.Helper()
	m := &Member{UserID: u.ID, Name: name, CreatedAt: at}
	must(t, "AddMember "+name, db.AddMember(ctx, m))
	return m
}

func memberNames(t *testing.T, db *DB, userID string) []string {
	t.Helper()
	ms, err := db.Members(ctx, userID)
	must(t, "Members", err)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name+"/"+m.Role)
	}
	return names
}

func TestOwnerMemberMadeWithAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		ada := newAccount(t, db, "ada@example.com", "Ada Lovelace")
		anon := newAccount(t, db, "anon@example.com", "  ")
		o, err := db.OwnerMember(ctx, ada.ID)
		must(t, "OwnerMember", err)
		if o.Name != "Ada Lovelace" || o.Role != api.RoleOwner || o.UserID != ada.ID || !o.CreatedAt.Equal(t0) || o.SharesAuthenticator {
			t.Errorf("owner of Ada = %+v", o)
		}
		if got := memberNames(t, db, anon.ID); !slices.Equal(got, []string{"Owner/owner"}) {
			t.Errorf("household of an account without a name = %v, want [Owner/owner]", got)
		}
		// A taken email makes no account, and so no stray member.
		wantErr(t, "CreateUser(taken email)", db.CreateUser(ctx, &User{Email: "ADA@example.com", Name: "Other"}), ErrConflict)
		var n int
		must(t, "count members", db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM household_members").Scan(&n))
		if n != 2 {
			t.Errorf("%d members after a refused account, want 2", n)
		}
	})
}

// TestMigrationBackfillsOwners migrates a database of schema version 3 with
// accounts in it: each gets its owner member.
func TestMigrationBackfillsOwners(t *testing.T) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
		open func(dsn string) (*sql.DB, error)
		d    dialect
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "old.db") },
			func(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn+"?"+sqliteParams) }, dialectSQLite},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) },
			func(dsn string) (*sql.DB, error) { s, _, err := openPostgres(dsn); return s, err }, dialectPostgres},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			dsn := b.dsn(t)
			raw, err := b.open(dsn)
			must(t, "open", err)
			ms, err := migrations(b.d)
			must(t, "migrations", err)
			old := &DB{sql: raw, dialect: b.d, now: time.Now}
			must(t, "schema version 3", old.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
					return err
				}
				for _, m := range ms[:3] {
					for _, stmt := range splitSQL(m.sql) {
						if _, err := tx.ExecContext(ctx, stmt); err != nil {
							return err
						}
					}
					if _, err := old.exec(ctx, tx, `INSERT INTO schema_version (version, applied_at) VALUES (?, 1)`, m.version); err != nil {
						return err
					}
				}
				for _, u := range [][3]any{{"u1", "Ada Lovelace", int64(5)}, {"u2", "", int64(7)}} {
					if _, err := old.exec(ctx, tx, `INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)`,
						u[0], u[0].(string)+"@example.com", u[1], u[2]); err != nil {
						return err
					}
				}
				if _, err := old.exec(ctx, tx, `INSERT INTO devices (id, user_id, name) VALUES ('d1', 'u1', 'Firefox on Linux')`); err != nil {
					return err
				}
				_, err := old.exec(ctx, tx, `INSERT INTO activity (user_id, at, kind, detail) VALUES ('u1', 1, 'signin.success', 'old')`)
				return err
			}))
			raw.Close()

			url := dsn
			if b.d == dialectSQLite {
				url = "sqlite://" + dsn
			}
			db := openURL(t, url)
			for id, want := range map[string]string{"u1": "Ada Lovelace/owner", "u2": "Owner/owner"} {
				if got := memberNames(t, db, id); !slices.Equal(got, []string{want}) {
					t.Errorf("household of %s after migrating = %v, want [%s]", id, got, want)
				}
			}
			o, err := db.OwnerMember(ctx, "u1")
			must(t, "OwnerMember", err)
			if len(o.ID) != 32 || !o.CreatedAt.Equal(fromTS(5)) {
				t.Errorf("backfilled owner %+v: want a 32-character id and the account's creation time", o)
			}
			d, err := db.Device(ctx, "u1", "d1")
			must(t, "Device", err)
			if d.MemberID != o.ID {
				t.Errorf("an old device belongs to %q, want the owner (%q)", d.MemberID, o.ID)
			}
			as, err := db.ActivityPage(ctx, "u1", 0, 10)
			must(t, "ActivityPage", err)
			if len(as) != 1 || as[0].Member != "" || as[0].Detail != "old" {
				t.Errorf("old activity = %+v", as)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		ada := newAccount(t, db, "ada@example.com", "Ada")
		bob := newAccount(t, db, "bob@example.com", "Bob")
		// The owner comes first even when a member is older.
		sam := addMember(t, db, ada, "Sam", t0.Add(-time.Hour))
		addMember(t, db, ada, "Élodie", t0.Add(time.Hour))
		addMember(t, db, ada, "Kim", t0.Add(time.Minute))
		if sam.ID == "" || sam.Role != api.RoleMember {
			t.Errorf("AddMember filled %+v, want an id and the member role", sam)
		}
		if got, want := memberNames(t, db, ada.ID), []string{"Ada/owner", "Sam/member", "Kim/member", "Élodie/member"}; !slices.Equal(got, want) {
			t.Errorf("Members = %v, want %v", got, want)
		}

		for _, name := range []string{"sam", "ADA", "élodie", "ÉLODIE"} {
			wantErr(t, "AddMember("+name+")", db.AddMember(ctx, &Member{UserID: ada.ID, Name: name}), ErrConflict)
		}
		addMember(t, db, bob, "Sam", t0) // another household may have a Sam

		got, err := db.Member(ctx, ada.ID, sam.ID)
		must(t, "Member", err)
		if got.Name != "Sam" || got.UserID != ada.ID {
			t.Errorf("Member = %+v", got)
		}
		_, err = db.Member(ctx, bob.ID, sam.ID)
		wantErr(t, "Member(another account's)", err, ErrNotFound)

		wantErr(t, "RenameMember(taken)", db.RenameMember(ctx, ada.ID, sam.ID, "KIM"), ErrConflict)
		wantErr(t, "RenameMember(another account's)", db.RenameMember(ctx, bob.ID, sam.ID, "Sammy"), ErrNotFound)
		must(t, "RenameMember(own name, new case)", db.RenameMember(ctx, ada.ID, sam.ID, "SAM"))
		must(t, "RenameMember", db.RenameMember(ctx, ada.ID, sam.ID, "Samuel"))
		if got, _ := db.Member(ctx, ada.ID, sam.ID); got.Name != "Samuel" {
			t.Errorf("renamed to %q, want Samuel", got.Name)
		}
		must(t, "AddMember(the old name)", db.AddMember(ctx, &Member{UserID: ada.ID, Name: "Sam"}))
	})
}

// houseFixture is an account with a member Sam who has one of every device.
type houseFixture struct {
	ada, bob     *User
	owner, sam   *Member
	samApprover  *Approver
	adaApprover  *Approver
	samBrowser   *Device
	samSession   *Session
	samKey       *SecurityKey
	samCode      []byte // an unused pairing code of Sam's
	samTokenHash []byte
	adaBrowser   *Device
	samOffer     *ShareOffer
}

func newHouse(t *testing.T, db *DB) *houseFixture {
	t.Helper()
	f := &houseFixture{}
	f.ada = newAccount(t, db, "ada@example.com", "Ada")
	f.bob = newAccount(t, db, "bob@example.com", "Bob")
	var err error
	f.owner, err = db.OwnerMember(ctx, f.ada.ID)
	must(t, "OwnerMember", err)
	f.sam = addMember(t, db, f.ada, "Sam", t0)

	pair := func(member, name string) *Approver {
		code := []byte("code-" + name)
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: code, UserID: f.ada.ID, MemberID: member, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		a := &Approver{Name: name, Platform: "linux", PublicKey: make([]byte, 32), CreatedAt: t0}
		must(t, "RedeemPairingCode", db.RedeemPairingCode(ctx, code, t0, a))
		return a
	}
	f.samApprover = pair(f.sam.ID, "Sam's laptop")
	f.adaApprover = pair("", "Ada's desktop")
	if f.samApprover.MemberID != f.sam.ID || f.adaApprover.MemberID != f.owner.ID {
		t.Fatalf("paired as %q and %q, want Sam's and the owner's", f.samApprover.MemberID, f.adaApprover.MemberID)
	}
	f.samTokenHash = []byte("sam-token")
	must(t, "AddDeviceToken", db.AddDeviceToken(ctx, &DeviceToken{Hash: f.samTokenHash, DeviceID: f.samApprover.ID, UserID: f.ada.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(t, "AddDeviceChallenge", db.AddDeviceChallenge(ctx, &DeviceChallenge{Hash: []byte("sam-challenge"), DeviceID: f.samApprover.ID, ExpiresAt: t0.Add(time.Hour)}))

	f.samBrowser = &Device{UserID: f.ada.ID, Name: "Firefox on Linux", MemberID: f.sam.ID, TokenHash: []byte("sam-browser"), CreatedAt: t0}
	must(t, "AddDevice", db.AddDevice(ctx, f.samBrowser))
	f.adaBrowser = &Device{UserID: f.ada.ID, Name: "Chrome on macOS", TokenHash: []byte("ada-browser"), CreatedAt: t0}
	must(t, "AddDevice", db.AddDevice(ctx, f.adaBrowser))
	f.samSession = &Session{ID: "sam-session", UserID: f.ada.ID, DeviceID: f.samBrowser.ID, Stage: StageFull, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, "CreateSession", db.CreateSession(ctx, f.samSession))
	f.samKey = &SecurityKey{UserID: f.ada.ID, Name: "Sam's key", CredentialID: []byte("sam-cred"), MemberID: f.sam.ID, CreatedAt: t0}
	must(t, "AddSecurityKey", db.AddSecurityKey(ctx, f.samKey))
	f.samCode = []byte("unused-code")
	must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: f.samCode, UserID: f.ada.ID, MemberID: f.sam.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	f.samOffer = &ShareOffer{UserID: f.ada.ID, MemberID: f.sam.ID, DeviceID: f.samApprover.ID, MethodID: "m1", Label: "Authenticator app",
		FromName: "Ada", Sealed: []byte("sealed"), CreatedAt: t0}
	must(t, "AddShareOffer", db.AddShareOffer(ctx, f.samOffer, &ApprovalEvent{Kind: api.EventShare, Data: []byte(`{}`)}))
	return f
}

func TestRemoveMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		f := newHouse(t, db)
		at := t0.Add(time.Minute)
		wantErr(t, "RemoveMember(owner)", db.RemoveMember(ctx, f.ada.ID, f.owner.ID, at, nil), ErrConflict)
		wantErr(t, "RemoveMember(another account's)", db.RemoveMember(ctx, f.bob.ID, f.sam.ID, at, nil), ErrNotFound)
		if err := db.RemoveMember(ctx, f.ada.ID, f.sam.ID, time.Time{}, nil); err == nil {
			t.Fatal("RemoveMember(zero time) succeeded")
		}

		before, err := db.LastApprovalEventSeq(ctx, f.ada.ID)
		must(t, "LastApprovalEventSeq", err)
		evs := []*ApprovalEvent{{Kind: api.EventUnpaired, Data: []byte(`{"device_id":"` + f.samApprover.ID + `"}`)}}
		must(t, "RemoveMember", db.RemoveMember(ctx, f.ada.ID, f.sam.ID, at, evs))

		_, err = db.Member(ctx, f.ada.ID, f.sam.ID)
		wantErr(t, "Member(removed)", err, ErrNotFound)
		a, err := db.Approver(ctx, f.samApprover.ID)
		must(t, "Approver(removed)", err)
		if !a.RemovedAt.Equal(at) {
			t.Errorf("Sam's approver RemovedAt = %v, want %v", a.RemovedAt, at)
		}
		as, err := db.Approvers(ctx, f.ada.ID)
		must(t, "Approvers", err)
		if len(as) != 1 || as[0].ID != f.adaApprover.ID {
			t.Errorf("approvers left = %+v, want only Ada's", as)
		}
		_, err = db.TakeDeviceChallenge(ctx, []byte("sam-challenge"))
		wantErr(t, "TakeDeviceChallenge(removed device's)", err, ErrNotFound)
		_, err = db.Device(ctx, f.ada.ID, f.samBrowser.ID)
		wantErr(t, "Device(Sam's browser)", err, ErrNotFound)
		_, err = db.Session(ctx, f.samSession.ID)
		wantErr(t, "Session(on Sam's browser)", err, ErrNotFound)
		_, err = db.SecurityKeyByCredentialID(ctx, f.samKey.CredentialID)
		wantErr(t, "SecurityKey(Sam's)", err, ErrNotFound)
		wantErr(t, "RedeemPairingCode(Sam's unused code)",
			db.RedeemPairingCode(ctx, f.samCode, at, &Approver{Name: "late", PublicKey: make([]byte, 32)}), ErrNotFound)
		_, err = db.ShareOffer(ctx, f.samOffer.ID)
		wantErr(t, "ShareOffer(Sam's)", err, ErrNotFound)
		if _, err := db.Device(ctx, f.ada.ID, f.adaBrowser.ID); err != nil {
			t.Errorf("Ada's browser went too: %v", err)
		}

		got, err := db.ApprovalEvents(ctx, f.ada.ID, before, 10)
		must(t, "ApprovalEvents", err)
		if len(got) != 1 || got[0].Kind != api.EventUnpaired || !got[0].CreatedAt.Equal(at) || evs[0].Seq != got[0].Seq {
			t.Errorf("events after removal = %+v, want the unpaired event", got)
		}
		wantErr(t, "RemoveMember(again)", db.RemoveMember(ctx, f.ada.ID, f.sam.ID, at, nil), ErrNotFound)
	})
}

func TestSetDeviceMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		f := newHouse(t, db)
		kim := addMember(t, db, f.ada, "Kim", t0)
		bobs := addMember(t, db, f.bob, "Robin", t0)
		adaKey := &SecurityKey{UserID: f.ada.ID, Name: "Ada's key", CredentialID: []byte("ada-cred"), CreatedAt: t0}
		must(t, "AddSecurityKey", db.AddSecurityKey(ctx, adaKey))

		memberOf := func(typ, id string) string {
			t.Helper()
			switch typ {
			case api.DeviceBrowser:
				d, err := db.Device(ctx, f.ada.ID, id)
				must(t, "Device", err)
				return d.MemberID
			case api.DeviceApprover:
				a, err := db.Approver(ctx, id)
				must(t, "Approver", err)
				return a.MemberID
			}
			k, err := db.SecurityKeyByCredentialID(ctx, adaKey.CredentialID)
			must(t, "SecurityKey", err)
			return k.MemberID
		}
		tests := []struct {
			typ, id, member string
			want            string // the member after
			wantErr         error
		}{
			{api.DeviceBrowser, f.adaBrowser.ID, kim.ID, kim.ID, nil},
			{api.DeviceBrowser, f.adaBrowser.ID, f.owner.ID, f.owner.ID, nil}, // the owner is a member like any
			{api.DeviceApprover, f.adaApprover.ID, kim.ID, kim.ID, nil},
			{api.DeviceApprover, f.adaApprover.ID, "", "", ErrNotFound}, // an empty member is nobody
			{api.DeviceApprover, f.adaApprover.ID, f.owner.ID, f.owner.ID, nil},
			{api.DeviceSecurityKey, adaKey.ID, kim.ID, kim.ID, nil},
			{api.DeviceBrowser, f.adaBrowser.ID, bobs.ID, "", ErrNotFound},  // another account's member
			{api.DeviceBrowser, f.adaBrowser.ID, "nobody", "", ErrNotFound}, // no such member
			{api.DeviceBrowser, "nothing", kim.ID, "", ErrNotFound},         // no such device
			{api.DeviceApprover, f.samBrowser.ID, kim.ID, "", ErrNotFound},  // a browser is not an approver
			{api.DeviceSecurityKey, f.samKey.ID, bobs.ID, "", ErrNotFound},  // another account's member
		}
		for _, tt := range tests {
			err := db.SetDeviceMember(ctx, f.ada.ID, tt.typ, tt.id, tt.member)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("SetDeviceMember(%s %s → %s) = %v, want %v", tt.typ, tt.id, tt.member, err, tt.wantErr)
				}
				continue
			}
			if err != nil {
				t.Errorf("SetDeviceMember(%s %s → %s): %v", tt.typ, tt.id, tt.member, err)
				continue
			}
			if got := memberOf(tt.typ, tt.id); got != tt.want {
				t.Errorf("after SetDeviceMember(%s → %s) the member is %q, want %q", tt.typ, tt.member, got, tt.want)
			}
		}
		err := db.SetDeviceMember(ctx, f.bob.ID, api.DeviceBrowser, f.adaBrowser.ID, bobs.ID)
		wantErr(t, "SetDeviceMember(another account's device)", err, ErrNotFound)
		if err := db.SetDeviceMember(ctx, f.ada.ID, "toaster", f.adaBrowser.ID, ""); err == nil {
			t.Error("SetDeviceMember(unknown type) succeeded")
		}
		must(t, "RenameApprover", db.RenameApprover(ctx, f.ada.ID, f.adaApprover.ID, "Ada's old desktop"))
		if a, _ := db.Approver(ctx, f.adaApprover.ID); a.Name != "Ada's old desktop" {
			t.Errorf("renamed approver is called %q", a.Name)
		}
		wantErr(t, "RenameApprover(another account's)", db.RenameApprover(ctx, f.bob.ID, f.adaApprover.ID, "x"), ErrNotFound)
		must(t, "RemoveApprover", db.RemoveApprover(ctx, f.ada.ID, f.adaApprover.ID, t0, nil))
		wantErr(t, "RenameApprover(removed)", db.RenameApprover(ctx, f.ada.ID, f.adaApprover.ID, "x"), ErrNotFound)
		wantErr(t, "SetDeviceMember(removed approver)", db.SetDeviceMember(ctx, f.ada.ID, api.DeviceApprover, f.adaApprover.ID, kim.ID), ErrNotFound)
	})
}

func TestShareOffers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		f := newHouse(t, db)
		dev := f.samApprover.ID
		// A new offer replaces the unanswered one.
		o2 := &ShareOffer{UserID: f.ada.ID, MemberID: f.sam.ID, DeviceID: dev, MethodID: "m2", Label: "Authenticator app",
			FromName: "Ada", Rekeyed: true, Sealed: []byte("sealed-2"), CreatedAt: t0.Add(time.Minute)}
		ev := &ApprovalEvent{Kind: api.EventShare, Data: []byte(`{"id":"x"}`)}
		must(t, "AddShareOffer", db.AddShareOffer(ctx, o2, ev))
		if ev.Seq == 0 || ev.UserID != f.ada.ID {
			t.Errorf("the offer's event was not appended: %+v", ev)
		}
		os, err := db.ShareOffers(ctx, dev)
		must(t, "ShareOffers", err)
		if len(os) != 1 || os[0].ID != o2.ID || !os[0].Rekeyed || string(os[0].Sealed) != "sealed-2" || os[0].MethodID != "m2" ||
			os[0].FromName != "Ada" || !os[0].CreatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("ShareOffers = %+v, want only the new offer", os)
		}

		wantErr(t, "AnswerShareOffer(another device)", db.AnswerShareOffer(ctx, o2.ID, f.adaApprover.ID, true, t0), ErrNotFound)
		must(t, "AnswerShareOffer(accept)", db.AnswerShareOffer(ctx, o2.ID, dev, true, t0.Add(2*time.Minute)))
		wantErr(t, "AnswerShareOffer(again)", db.AnswerShareOffer(ctx, o2.ID, dev, false, t0), ErrNotFound)
		got, err := db.ShareOffer(ctx, o2.ID)
		must(t, "ShareOffer", err)
		if got.Sealed != nil || !got.AcceptedAt.Equal(t0.Add(2*time.Minute)) || !got.DeclinedAt.IsZero() {
			t.Errorf("accepted offer = %+v, want AcceptedAt set and the sealed secret gone", got)
		}
		if os, _ := db.ShareOffers(ctx, dev); len(os) != 0 {
			t.Errorf("ShareOffers after accepting = %+v, want none", os)
		}

		// Declining; then stopping the share withdraws what is unanswered.
		o3 := &ShareOffer{UserID: f.ada.ID, MemberID: f.sam.ID, DeviceID: dev, Sealed: []byte("s3"), CreatedAt: t0}
		must(t, "AddShareOffer", db.AddShareOffer(ctx, o3, nil))
		must(t, "AnswerShareOffer(decline)", db.AnswerShareOffer(ctx, o3.ID, dev, false, t0.Add(time.Minute)))
		if got, _ := db.ShareOffer(ctx, o3.ID); got.Sealed != nil || got.DeclinedAt.IsZero() {
			t.Errorf("declined offer = %+v", got)
		}
		o4 := &ShareOffer{UserID: f.ada.ID, MemberID: f.sam.ID, DeviceID: dev, Sealed: []byte("s4"), CreatedAt: t0}
		must(t, "AddShareOffer", db.AddShareOffer(ctx, o4, nil))
		must(t, "SetSharesAuthenticator(on)", db.SetSharesAuthenticator(ctx, f.ada.ID, f.sam.ID, true))
		if m, _ := db.Member(ctx, f.ada.ID, f.sam.ID); !m.SharesAuthenticator {
			t.Error("SharesAuthenticator not set")
		}
		must(t, "SetSharesAuthenticator(off)", db.SetSharesAuthenticator(ctx, f.ada.ID, f.sam.ID, false))
		_, err = db.ShareOffer(ctx, o4.ID)
		wantErr(t, "ShareOffer(unanswered after stopping)", err, ErrNotFound)
		if _, err := db.ShareOffer(ctx, o2.ID); err != nil {
			t.Errorf("the accepted offer's record went: %v", err)
		}
		wantErr(t, "SetSharesAuthenticator(another account's)", db.SetSharesAuthenticator(ctx, f.bob.ID, f.sam.ID, true), ErrNotFound)

		// Removing the approver withdraws its unanswered offers.
		o5 := &ShareOffer{UserID: f.ada.ID, MemberID: f.sam.ID, DeviceID: dev, Sealed: []byte("s5"), CreatedAt: t0}
		must(t, "AddShareOffer", db.AddShareOffer(ctx, o5, nil))
		must(t, "RemoveApprover", db.RemoveApprover(ctx, f.ada.ID, dev, t0, nil))
		_, err = db.ShareOffer(ctx, o5.ID)
		wantErr(t, "ShareOffer(of a removed approver)", err, ErrNotFound)
	})
}

func TestAppendEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		ada := newAccount(t, db, "ada@example.com", "Ada")
		clk.Set(t0.Add(time.Minute))
		ev := &ApprovalEvent{Kind: api.EventChanged, Data: []byte(`{"what":"devices"}`)}
		must(t, "AppendEvent", db.AppendEvent(ctx, ada.ID, ev))
		ev2 := &ApprovalEvent{Kind: api.EventChanged, Data: []byte(`{"what":"apps"}`), CreatedAt: t0}
		must(t, "AppendEvent", db.AppendEvent(ctx, ada.ID, ev2))
		got, err := db.ApprovalEvents(ctx, ada.ID, 0, 10)
		must(t, "ApprovalEvents", err)
		if len(got) != 2 || got[0].Seq != ev.Seq || !got[0].CreatedAt.Equal(t0.Add(time.Minute)) || !got[1].CreatedAt.Equal(t0) ||
			string(got[1].Data) != `{"what":"apps"}` || ev2.Seq <= ev.Seq {
			t.Errorf("events = %+v", got)
		}
		wantErr(t, "AppendEvent(unknown account)", db.AppendEvent(ctx, "nobody", &ApprovalEvent{Kind: "x", Data: []byte("{}")}), ErrNotFound)
		if err := db.AppendEvent(ctx, ada.ID, &ApprovalEvent{Kind: "x"}); err == nil {
			t.Error("AppendEvent without data succeeded")
		}
	})
}

func TestActivityCategories(t *testing.T) {
	tests := []struct{ kind, want string }{
		{ActSignIn, api.ActivitySignIns},
		{ActSignInFailed, api.ActivitySignIns},
		{ActSignOut, api.ActivitySignIns},
		{ActTwoStepUsed, api.ActivitySignIns},
		{ActTwoStepFailed, api.ActivitySignIns},
		{ActLockedOut, api.ActivitySignIns},
		{ActApprovalRequested, api.ActivityApprovals},
		{ActApprovalReported, api.ActivityApprovals},
		{ActApproverPaired, api.ActivityChanges},
		{ActTwoStepOn, api.ActivityChanges},
		{ActMemberRemoved, api.ActivityChanges},
		{ActDeviceMoved, api.ActivityChanges},
		{ActSignUp, api.ActivityChanges},
	}
	for _, tt := range tests {
		if got := ActivityCategory(tt.kind); got != tt.want {
			t.Errorf("ActivityCategory(%s) = %s, want %s", tt.kind, got, tt.want)
		}
	}

	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		ada := newAccount(t, db, "ada@example.com", "Ada")
		for i, tt := range tests {
			a := &Activity{UserID: ada.ID, At: t0.Add(time.Duration(i) * time.Second), Kind: tt.kind, Member: "Sam", Detail: tt.kind}
			must(t, "AddActivity", db.AddActivity(ctx, a))
		}
		for _, cat := range []string{"", api.ActivitySignIns, api.ActivityApprovals, api.ActivityChanges} {
			var want []string
			for i := len(tests) - 1; i >= 0; i-- {
				if cat == "" || tests[i].want == cat {
					want = append(want, tests[i].kind)
				}
			}
			// Two at a time, to check the cursor with the filter.
			var got []string
			var before int64
			for {
				page, err := db.ActivityCategoryPage(ctx, ada.ID, cat, before, 2)
				must(t, "ActivityCategoryPage", err)
				for _, a := range page {
					got = append(got, a.Kind)
					if a.Member != "Sam" || a.Detail != a.Kind {
						t.Errorf("activity %+v: member or detail lost", a)
					}
				}
				if len(page) < 2 {
					break
				}
				before = page[len(page)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("category %q = %v, want %v", cat, got, want)
			}
		}
		_, err := db.ActivityCategoryPage(ctx, ada.ID, "gossip", 0, 10)
		if err == nil {
			t.Error("ActivityCategoryPage(unknown category) succeeded")
		}
	})
}

// TestDeleteUserTakesHousehold: deleting an account (not in Store, but the
// schema must allow it) takes its household and offers with it.
func TestDeleteUserTakesHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		f := newHouse(t, db)
		_, err := db.sql.ExecContext(context.Background(), db.q(`DELETE FROM users WHERE id = ?`), f.ada.ID)
		must(t, "delete user", err)
		for _, table := range []string{"household_members", "share_offers", "devices", "approvers", "security_keys"} {
			var n int
			must(t, "count "+table, db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM `+table+` WHERE user_id = ?`), f.ada.ID).Scan(&n))
			if n != 0 {
				t.Errorf("%d rows of %s left after deleting the account", n, table)
			}
		}
	})
}
