package household

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"filippo.io/edwards25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/sealed"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var b64 = base64.RawURLEncoding

// env is a household Service on a fresh database with one account, Ada,
// who has an authenticator app.
type env struct {
	db        *store.DB
	clk       *testkit.Clock
	approvals *approval.Service
	svc       *Service
	ada       *store.User
	owner     *store.Member
	secret    []byte // Ada's authenticator secret
}

func forEach(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "countersign.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b.dsn(t)))
		})
	}
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	e := &env{clk: testkit.NewClock(t0)}
	var err error
	e.db, err = store.Open(ctx, dsn, store.WithClock(e.clk.Now))
	must(t, "store.Open", err)
	t.Cleanup(func() { e.db.Close() })
	e.approvals, err = approval.New(ctx, approval.Config{Store: e.db, PublicURL: "http://accounts.example.test", Now: e.clk.Now})
	must(t, "approval.New", err)
	t.Cleanup(func() { e.approvals.Close() })
	e.svc, err = New(Options{Store: e.db, Approvals: e.approvals, Now: e.clk.Now})
	must(t, "New", err)
	e.ada = &store.User{Email: "ada@example.com", Name: "Ada", CreatedAt: t0}
	must(t, "CreateUser", e.db.CreateUser(ctx, e.ada))
	e.owner, err = e.db.OwnerMember(ctx, e.ada.ID)
	must(t, "OwnerMember", err)
	e.secret = e.addTOTP(t, "Authenticator app", t0)
	return e
}

// addTOTP gives Ada a confirmed authenticator app made at and returns its
// secret.
func (e *env) addTOTP(t *testing.T, label string, at time.Time) []byte {
	t.Helper()
	secret := make([]byte, 20)
	rand.Read(secret)
	must(t, "AddMethod", e.db.AddMethod(ctx, &store.Method{ID: "totp-" + at.Format("150405"), UserID: e.ada.ID, Kind: store.MethodTOTP,
		Label: label, Secret: secret, Confirmed: true, CreatedAt: at}))
	return secret
}

// desktop is a paired companion with its key.
type desktop struct {
	*store.Approver
	priv ed25519.PrivateKey
}

// pair pairs a desktop as the member's through an invitation.
func (e *env) pair(t *testing.T, memberID, name string) *desktop {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, "GenerateKey", err)
	code, uri, expires, err := e.svc.Invite(ctx, e.ada.ID, memberID)
	must(t, "Invite", err)
	if !strings.HasPrefix(uri, "countersign://pair?") || !expires.Equal(t0.Add(approval.PairingLifetime)) {
		t.Errorf("Invite = %s, %s, %v", code, uri, expires)
	}
	res, err := e.approvals.Redeem(ctx, api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: name, Platform: "linux"}, "", "")
	must(t, "Redeem", err)
	a, err := e.db.Approver(ctx, res.DeviceID)
	must(t, "Approver", err)
	return &desktop{Approver: a, priv: priv}
}

// token signs the desktop in and returns its device token.
func (e *env) token(t *testing.T, d *desktop) string {
	t.Helper()
	ch, _, err := e.approvals.Challenge(ctx, d.ID)
	must(t, "Challenge", err)
	sig := ed25519.Sign(d.priv, api.AuthMessage(d.ID, ch))
	tok, _, err := e.approvals.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: b64.EncodeToString(sig)})
	must(t, "Token", err)
	return tok
}

// open opens an offer with the desktop's key and parses its URI.
func (d *desktop) open(t *testing.T, o store.ShareOffer) (string, otp.Key) {
	t.Helper()
	plain, err := sealed.Open(d.priv, o.Sealed)
	must(t, "sealed.Open", err)
	var se api.SharedEnrollment
	must(t, "decode the enrollment", json.Unmarshal(plain, &se))
	k, err := otp.ParseURI(se.URI)
	must(t, "otp.ParseURI", err)
	return se.URI, k
}

func (e *env) activity(t *testing.T, kind string) []store.Activity {
	t.Helper()
	as, err := e.db.ActivityPage(ctx, e.ada.ID, 0, 200)
	must(t, "ActivityPage", err)
	var out []store.Activity
	for _, a := range as {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// next reads the next event of a stream.
func next(t *testing.T, ch <-chan api.StreamEvent) api.StreamEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return api.StreamEvent{}
}

// skipUntil reads the stream until an event of kind, and returns it.
func skipUntil(t *testing.T, ch <-chan api.StreamEvent, kind string) api.StreamEvent {
	t.Helper()
	for {
		if ev := next(t, ch); ev.Event == kind {
			return ev
		}
	}
}

func stream(t *testing.T, e *env, d *desktop) <-chan api.StreamEvent {
	t.Helper()
	c, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	ch, err := e.approvals.Stream(c, d.Approver, 0)
	must(t, "Stream", err)
	return ch
}

func TestNames(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "  Sam  ")
		must(t, "AddMember", err)
		if sam.Name != "Sam" || sam.Role != api.RoleMember || sam.ID == "" || !sam.CreatedAt.Equal(t0) {
			t.Errorf("AddMember = %+v", sam)
		}
		e.clk.Advance(time.Second) // members are listed oldest first
		for _, bad := range []string{"", "   ", strings.Repeat("x", MaxNameLen+1), "Sam\nEvil", "tab\there", "\xff"} {
			_, err := e.svc.AddMember(ctx, e.ada.ID, bad)
			if !errors.Is(err, ErrInvalidName) || !errors.Is(err, approval.ErrInvalid) {
				t.Errorf("AddMember(%q) = %v, want ErrInvalidName", bad, err)
			}
		}
		if _, err := e.svc.AddMember(ctx, e.ada.ID, strings.Repeat("é", MaxNameLen)); err != nil {
			t.Errorf("AddMember(64 characters): %v", err)
		}
		_, err = e.svc.AddMember(ctx, e.ada.ID, "SAM")
		wantErr(t, "AddMember(taken)", err, store.ErrConflict)
		_, err = e.svc.AddMember(ctx, e.ada.ID, "ada")
		wantErr(t, "AddMember(the owner's name)", err, store.ErrConflict)

		e.clk.Advance(time.Second)
		kim, err := e.svc.AddMember(ctx, e.ada.ID, "Kim")
		must(t, "AddMember", err)
		_, err = e.svc.RenameMember(ctx, e.ada.ID, kim.ID, "sam")
		wantErr(t, "RenameMember(taken)", err, store.ErrConflict)
		_, err = e.svc.RenameMember(ctx, e.ada.ID, "nobody", "Alex")
		wantErr(t, "RenameMember(unknown)", err, store.ErrNotFound)
		got, err := e.svc.RenameMember(ctx, e.ada.ID, e.owner.ID, " Ada L. ")
		must(t, "RenameMember(owner)", err)
		if got.Name != "Ada L." || got.Role != api.RoleOwner {
			t.Errorf("renamed owner = %+v", got)
		}
		ms, err := e.svc.Members(ctx, e.ada.ID)
		must(t, "Members", err)
		if len(ms) != 4 || ms[0].Name != "Ada L." || ms[1].Name != "Sam" || ms[3].Name != "Kim" {
			t.Errorf("Members = %+v", ms)
		}
		if a := e.activity(t, store.ActMemberRenamed); len(a) != 1 || a[0].Detail != "Renamed Ada to Ada L." || a[0].Member != "Ada L." {
			t.Errorf("rename activity %+v", a)
		}
		if a := e.activity(t, store.ActMemberAdded); len(a) != 3 || a[2].Detail != "Added Sam to the household" || a[2].Member != "Ada" {
			t.Errorf("add activity %+v", a)
		}
	})
}

func TestShare(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "Sam")
		must(t, "AddMember", err)
		_, err = e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		wantErr(t, "Share(no desktop)", err, ErrNoDesktop)
		_, err = e.svc.Share(ctx, e.ada.ID, "nobody", "Ada")
		wantErr(t, "Share(unknown member)", err, store.ErrNotFound)

		laptop := e.pair(t, sam.ID, "Sam's laptop")
		if laptop.MemberID != sam.ID {
			t.Fatalf("the invited desktop belongs to %q, want Sam", laptop.MemberID)
		}
		adas := e.pair(t, e.owner.ID, "Ada's desktop")
		if adas.MemberID != e.owner.ID {
			t.Errorf("the owner's invited desktop belongs to %q, want the owner's id", adas.MemberID)
		}
		if os, _ := e.svc.Offers(ctx, laptop.ID); len(os) != 0 {
			t.Errorf("offers before sharing: %+v", os)
		}
		lch, ach := stream(t, e, laptop), stream(t, e, adas)

		n, err := e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		must(t, "Share", err)
		if n != 1 {
			t.Errorf("Share offered %d, want 1", n)
		}
		os, err := e.svc.Offers(ctx, laptop.ID)
		must(t, "Offers", err)
		if len(os) != 1 || os[0].Rekeyed || os[0].FromName != "Ada" || os[0].Label != "Authenticator app" || os[0].MemberID != sam.ID {
			t.Fatalf("Offers = %+v", os)
		}
		uri, k := laptop.open(t, os[0])
		want := "otpauth://totp/Countersign:ada@example.com?secret=" + otp.Key{Secret: e.secret}.SecretBase32() +
			"&issuer=Countersign&algorithm=SHA1&digits=6&period=30"
		if uri != want || !bytes.Equal(k.Secret, e.secret) || k.Issuer != "Countersign" || k.Name != "ada@example.com" {
			t.Errorf("the offer opens to %s, want %s", uri, want)
		}
		if _, err := sealed.Open(adas.priv, os[0].Sealed); err == nil {
			t.Error("another desktop's key opens the offer")
		}

		ev := skipUntil(t, lch, api.EventShare)
		var so api.ShareOffered
		must(t, "decode share event", json.Unmarshal(ev.Data, &so))
		if so.ID != os[0].ID || so.DeviceID != laptop.ID {
			t.Errorf("share event %s, want offer %s for %s", ev.Data, os[0].ID, laptop.ID)
		}
		// Ada's desktop hears that the household changed, but not of the offer.
		if ev := next(t, ach); ev.Event != api.EventChanged {
			t.Errorf("Ada's desktop got %s %s, want changed", ev.Event, ev.Data)
		}

		if m, _ := e.db.Member(ctx, e.ada.ID, sam.ID); !m.SharesAuthenticator {
			t.Error("Sam does not share the authenticator after Share")
		}
		if a := e.activity(t, store.ActShared); len(a) != 1 || a[0].Member != "Ada" || a[0].Detail != "Shared the authenticator with Sam (1 desktop)" {
			t.Errorf("share activity %+v", a)
		}

		// Accepting forgets the secret; another device can't answer.
		wantErr(t, "Answer(another device)", e.svc.Answer(ctx, e.ada.ID, adas.ID, os[0].ID, true), store.ErrNotFound)
		wantErr(t, "Answer(another account)", e.svc.Answer(ctx, "someone", laptop.ID, os[0].ID, true), store.ErrNotFound)
		must(t, "Answer", e.svc.Answer(ctx, e.ada.ID, laptop.ID, os[0].ID, true))
		wantErr(t, "Answer(again)", e.svc.Answer(ctx, e.ada.ID, laptop.ID, os[0].ID, false), store.ErrNotFound)
		if os, _ := e.svc.Offers(ctx, laptop.ID); len(os) != 0 {
			t.Errorf("offers after accepting: %+v", os)
		}
		if a := e.activity(t, store.ActShareAccepted); len(a) != 1 || a[0].Member != "Sam" || a[0].Detail != "The authenticator was added on Sam's laptop" {
			t.Errorf("accept activity %+v", a)
		}

		// A desktop Sam pairs later is offered it at once.
		desk := e.pair(t, sam.ID, "Sam's desktop")
		os, err = e.svc.Offers(ctx, desk.ID)
		must(t, "Offers", err)
		if len(os) != 1 || os[0].Rekeyed {
			t.Fatalf("offers of a newly paired desktop = %+v, want one", os)
		}
		if _, k := desk.open(t, os[0]); !bytes.Equal(k.Secret, e.secret) {
			t.Error("the new desktop's offer holds another secret")
		}

		// Stopping withdraws unanswered offers; new desktops get none.
		must(t, "StopSharing", e.svc.StopSharing(ctx, e.ada.ID, sam.ID))
		if os, _ := e.svc.Offers(ctx, desk.ID); len(os) != 0 {
			t.Errorf("offers after StopSharing: %+v", os)
		}
		third := e.pair(t, sam.ID, "Sam's phone")
		if os, _ := e.svc.Offers(ctx, third.ID); len(os) != 0 {
			t.Errorf("a desktop paired after StopSharing was offered %+v", os)
		}
		if a := e.activity(t, store.ActUnshared); len(a) != 1 || a[0].Detail != "Stopped sharing the authenticator with Sam" {
			t.Errorf("unshare activity %+v", a)
		}
	})
}

// TestShareAllOrNothing: when one of the member's desktops cannot be
// offered the authenticator (here a key that is not on the curve, which
// the pairing endpoint would refuse but an old row might hold), sharing
// fails as a whole: the member is not left marked as sharing, and the
// offer made to their other desktop is withdrawn.
func TestShareAllOrNothing(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "Sam")
		must(t, "AddMember", err)
		laptop := e.pair(t, sam.ID, "Sam's laptop")
		e.clk.Advance(time.Second)
		bad := make([]byte, 32)
		for y := byte(2); ; y++ { // half of all y have no point
			bad[0] = y
			if _, err := new(edwards25519.Point).SetBytes(bad); err != nil {
				break
			}
		}
		hash := make([]byte, 32)
		rand.Read(hash)
		must(t, "AddPairingCode", e.db.AddPairingCode(ctx, &store.PairingCode{Hash: hash, UserID: e.ada.ID, MemberID: sam.ID,
			CreatedAt: e.clk.Now(), ExpiresAt: e.clk.Now().Add(time.Minute)}))
		must(t, "RedeemPairingCode", e.db.RedeemPairingCode(ctx, hash, e.clk.Now(), &store.Approver{
			ID: "broken-key", UserID: e.ada.ID, Name: "Old desktop", Platform: "linux", PublicKey: bad, CreatedAt: e.clk.Now()}))

		if _, err := e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada"); err == nil {
			t.Fatal("Share with a desktop whose key cannot be sealed to succeeded")
		}
		m, err := e.db.Member(ctx, e.ada.ID, sam.ID)
		must(t, "Member", err)
		if m.SharesAuthenticator {
			t.Error("a failed Share left the member marked as sharing")
		}
		if os, _ := e.svc.Offers(ctx, laptop.ID); len(os) != 0 {
			t.Errorf("a failed Share left offers: %+v", os)
		}
	})
}

func TestShareWithoutAuthenticator(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "Sam")
		must(t, "AddMember", err)
		e.pair(t, sam.ID, "Sam's laptop")
		ms, err := e.db.Methods(ctx, e.ada.ID)
		must(t, "Methods", err)
		must(t, "DeleteMethod", e.db.DeleteMethod(ctx, e.ada.ID, ms[0].ID))
		_, err = e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		wantErr(t, "Share(no authenticator)", err, ErrNoAuthenticator)
		must(t, "Reshare(no authenticator)", e.svc.Reshare(ctx, e.ada.ID))
	})
}

func TestReshare(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "Sam")
		must(t, "AddMember", err)
		kim, err := e.svc.AddMember(ctx, e.ada.ID, "Kim")
		must(t, "AddMember", err)
		laptop := e.pair(t, sam.ID, "Sam's laptop")
		desk := e.pair(t, sam.ID, "Sam's desktop")
		kims := e.pair(t, kim.ID, "Kim's laptop")
		n, err := e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		if err != nil || n != 2 {
			t.Fatalf("Share = %d, %v; want 2", n, err)
		}
		first, _ := e.svc.Offers(ctx, laptop.ID)
		must(t, "Answer", e.svc.Answer(ctx, e.ada.ID, desk.ID, mustOffer(t, e, desk).ID, true))

		// The account's authenticator is replaced by a newer one.
		e.clk.Advance(time.Hour)
		newSecret := e.addTOTP(t, "New phone", t0.Add(time.Hour))
		lch := stream(t, e, laptop)
		must(t, "Reshare", e.svc.Reshare(ctx, e.ada.ID))
		for _, d := range []*desktop{laptop, desk} {
			os, err := e.svc.Offers(ctx, d.ID)
			must(t, "Offers", err)
			if len(os) != 1 || !os[0].Rekeyed || os[0].Label != "New phone" || os[0].ID == first[0].ID || os[0].FromName != "Ada" {
				t.Fatalf("%s's offers after re-keying = %+v, want one rekeyed offer in place of the old", d.Name, os)
			}
			if _, k := d.open(t, os[0]); !bytes.Equal(k.Secret, newSecret) {
				t.Errorf("%s's rekeyed offer holds the old secret", d.Name)
			}
		}
		if os, _ := e.svc.Offers(ctx, kims.ID); len(os) != 0 {
			t.Errorf("Kim, who does not share, was offered %+v", os)
		}
		if _, err := e.db.ShareOffer(ctx, first[0].ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the replaced offer is still there: %v", err)
		}
		ev := skipUntil(t, lch, api.EventShare)
		if !strings.Contains(string(ev.Data), laptop.ID) {
			t.Errorf("share event %s, want the laptop's", ev.Data)
		}
	})
}

// mustOffer returns the desktop's only offer.
func mustOffer(t *testing.T, e *env, d *desktop) store.ShareOffer {
	t.Helper()
	os, err := e.svc.Offers(ctx, d.ID)
	must(t, "Offers", err)
	if len(os) != 1 {
		t.Fatalf("%s has %d offers, want 1", d.Name, len(os))
	}
	return os[0]
}

func TestRemoveMember(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam, err := e.svc.AddMember(ctx, e.ada.ID, "Sam")
		must(t, "AddMember", err)
		laptop := e.pair(t, sam.ID, "Sam's laptop")
		adas := e.pair(t, e.owner.ID, "Ada's desktop")
		tok := e.token(t, laptop)
		if _, err := e.approvals.Authenticate(ctx, tok); err != nil {
			t.Fatalf("Authenticate before removal: %v", err)
		}
		_, err = e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		must(t, "Share", err)
		code, _, _, err := e.svc.Invite(ctx, e.ada.ID, sam.ID)
		must(t, "Invite", err)
		lch, ach := stream(t, e, laptop), stream(t, e, adas)

		wantErr(t, "RemoveMember(owner)", e.svc.RemoveMember(ctx, e.ada.ID, e.owner.ID, "", "", "Ada"), ErrOwner)
		wantErr(t, "RemoveMember(unknown)", e.svc.RemoveMember(ctx, e.ada.ID, "nobody", "", "", "Ada"), store.ErrNotFound)
		must(t, "RemoveMember", e.svc.RemoveMember(ctx, e.ada.ID, sam.ID, "203.0.113.9", "Firefox", "Ada"))

		// The token fails at once, the stream ends with "unpaired".
		_, err = e.approvals.Authenticate(ctx, tok)
		wantErr(t, "Authenticate after removal", err, approval.ErrRevoked)
		ev := skipUntil(t, lch, api.EventUnpaired)
		if !strings.Contains(string(ev.Data), laptop.ID) {
			t.Errorf("unpaired event %s", ev.Data)
		}
		select {
		case ev, ok := <-lch:
			if ok {
				t.Errorf("event after unpaired: %s", ev.Event)
			}
		case <-time.After(5 * time.Second):
			t.Error("the removed desktop's stream did not end")
		}
		if ev := skipUntil(t, ach, api.EventChanged); string(ev.Data) != `{"what":"household"}` {
			t.Errorf("Ada's desktop heard %s, want the household changed", ev.Data)
		}
		_, err = e.approvals.Redeem(ctx, api.Pairing{Code: code, PublicKey: b64.EncodeToString(make([]byte, 32)), Name: "late"}, "", "")
		wantErr(t, "Redeem(the removed member's invitation)", err, approval.ErrInvalidCode)
		_, err = e.svc.Share(ctx, e.ada.ID, sam.ID, "Ada")
		wantErr(t, "Share(removed member)", err, store.ErrNotFound)
		if a := e.activity(t, store.ActMemberRemoved); len(a) != 1 || a[0].Member != "Ada" || a[0].IP != "203.0.113.9" ||
			a[0].Detail != "Removed Sam and their devices from the household" {
			t.Errorf("removal activity %+v", a)
		}
		if _, err := e.approvals.Authenticate(ctx, e.token(t, adas)); err != nil {
			t.Errorf("Ada's desktop after Sam's removal: %v", err)
		}
	})
}

func TestChangedWakesStreams(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		d := e.pair(t, e.owner.ID, "Ada's desktop")
		ch := stream(t, e, d)
		e.svc.Changed(ctx, e.ada.ID, api.ChangedApps)
		if ev := next(t, ch); ev.Event != api.EventChanged || string(ev.Data) != `{"what":"apps"}` {
			t.Errorf("event %s %s, want changed apps", ev.Event, ev.Data)
		}
	})
}
