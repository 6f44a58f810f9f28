package approval

import (
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

func TestPairing(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		pk := b64.EncodeToString(pub)
		code, uri, expires, err := e.svc.NewPairingCode(ctx, e.ada.ID)
		must(t, "NewPairingCode", err)
		if !regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$`).MatchString(code) {
			t.Errorf("code %q, want 4+4 characters of the alphabet with a dash", code)
		}
		if !expires.Equal(t0.Add(10 * time.Minute)) {
			t.Errorf("expires %v, want t0+10m", expires)
		}
		server, c, err := api.ParsePairURI(uri)
		if err != nil || server != publicURL || c != strings.ReplaceAll(code, "-", "") {
			t.Errorf("ParsePairURI(%q) = %q, %q, %v", uri, server, c, err)
		}

		p := api.Pairing{Code: strings.ToLower(strings.ReplaceAll(code, "-", " ")), PublicKey: pk, Name: "  Sam's laptop ", Platform: "linux"}
		for _, bad := range []api.Pairing{
			{Code: code, PublicKey: pk, Name: ""},
			{Code: code, PublicKey: pk, Name: strings.Repeat("x", 65)},
			{Code: code, PublicKey: pk, Name: "a\nb"},
			{Code: code, PublicKey: "not base64!", Name: "x"},
			{Code: code, PublicKey: b64.EncodeToString(pub[:31]), Name: "x"},
		} {
			_, err := e.svc.Redeem(ctx, bad, "", "")
			wantErr(t, "Redeem(bad input)", err, ErrInvalid)
		}
		_, err = e.svc.Redeem(ctx, api.Pairing{Code: "ZZZZ-ZZZZ", PublicKey: pk, Name: "x"}, "", "")
		wantErr(t, "Redeem(wrong code)", err, ErrInvalidCode)
		_, err = e.svc.Redeem(ctx, api.Pairing{Code: "K7Q", PublicKey: pk, Name: "x"}, "", "")
		wantErr(t, "Redeem(short code)", err, ErrInvalidCode)

		res, err := e.svc.Redeem(ctx, p, "198.51.100.2", "countersign/1.0")
		must(t, "Redeem", err)
		want := api.PairingResult{DeviceID: res.DeviceID, Server: publicURL,
			Account: api.AccountRef{ID: e.ada.ID, Name: "Ada Lovelace", Email: "ada@example.com"}}
		if res.DeviceID == "" || *res != want {
			t.Errorf("Redeem = %+v, want %+v", *res, want)
		}
		_, err = e.svc.Redeem(ctx, p, "", "")
		wantErr(t, "Redeem(used code)", err, ErrInvalidCode)

		// Expiry: ten minutes.
		code2, _, _, err := e.svc.NewPairingCode(ctx, e.ada.ID)
		must(t, "NewPairingCode", err)
		e.clk.Advance(10 * time.Minute)
		_, err = e.svc.Redeem(ctx, api.Pairing{Code: code2, PublicKey: pk, Name: "late"}, "", "")
		wantErr(t, "Redeem(expired code)", err, ErrInvalidCode)

		list, err := e.svc.Approvers(ctx, e.ada.ID)
		must(t, "Approvers", err)
		if len(list) != 1 || list[0].ID != res.DeviceID || list[0].Name != "Sam's laptop" || list[0].Platform != "linux" ||
			string(list[0].PublicKey) != string(pub) {
			t.Errorf("Approvers = %+v", list)
		}
		if ok, err := e.svc.HasApprovers(ctx, e.ada.ID); !ok || err != nil {
			t.Errorf("HasApprovers = %v, %v; want true", ok, err)
		}
		acts := e.activity(t, e.ada)
		if a := acts[store.ActApproverPaired]; len(a) != 1 || a[0].Detail != "Paired Sam's laptop (linux)" || a[0].IP != "198.51.100.2" {
			t.Errorf("paired activity %+v", a)
		}

		bob := e.newUser(t, "bob@example.com", "Bob")
		wantErr(t, "RemoveApprover(by another account)", e.svc.RemoveApprover(ctx, bob.ID, res.DeviceID, "", ""), ErrNotFound)
		must(t, "RemoveApprover", e.svc.RemoveApprover(ctx, e.ada.ID, res.DeviceID, "192.0.2.1", "Firefox"))
		wantErr(t, "RemoveApprover(again)", e.svc.RemoveApprover(ctx, e.ada.ID, res.DeviceID, "", ""), ErrNotFound)
		if ok, _ := e.svc.HasApprovers(ctx, e.ada.ID); ok {
			t.Error("HasApprovers after removal = true")
		}
		if a := e.activity(t, e.ada)[store.ActApproverRemoved]; len(a) != 1 || a[0].Detail != "Removed Sam's laptop" {
			t.Errorf("removed activity %+v", a)
		}
	})
}

// token gets a device token the way a companion does.
func (e *env) token(t *testing.T, d *device) string {
	t.Helper()
	ch, _, err := e.svc.Challenge(ctx, d.ID)
	must(t, "Challenge", err)
	sig := ed25519.Sign(d.priv, api.AuthMessage(d.ID, ch))
	tok, _, err := e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: b64.EncodeToString(sig)})
	must(t, "Token", err)
	return tok
}

func TestDeviceAuth(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		d := e.pair(t, e.ada, "Sam's laptop")
		other := e.pair(t, e.ada, "Kim's desktop")
		sign := func(d *device, ch string) string {
			return b64.EncodeToString(ed25519.Sign(d.priv, api.AuthMessage(d.ID, ch)))
		}

		ch, expires, err := e.svc.Challenge(ctx, d.ID)
		must(t, "Challenge", err)
		if raw, err := b64.DecodeString(ch); err != nil || len(raw) != 32 || !expires.Equal(t0.Add(time.Minute)) {
			t.Errorf("challenge %q expiring %v", ch, expires)
		}
		tok, texp, err := e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: sign(d, ch)})
		must(t, "Token", err)
		if !strings.HasPrefix(tok, "csd_") || len(tok) != 4+43 || !texp.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("token %q expiring %v", tok, texp)
		}
		a, err := e.svc.Authenticate(ctx, tok)
		if err != nil || a.ID != d.ID || a.UserID != e.ada.ID {
			t.Fatalf("Authenticate = %+v, %v", a, err)
		}
		// The challenge is single use.
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: sign(d, ch)})
		wantErr(t, "Token(used challenge)", err, ErrSignature)

		// A bad signature spends the challenge too.
		ch, _, _ = e.svc.Challenge(ctx, d.ID)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: sign(other, ch)})
		wantErr(t, "Token(other key)", err, ErrSignature)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: sign(d, ch)})
		wantErr(t, "Token(after a bad try)", err, ErrSignature)
		ch, _, _ = e.svc.Challenge(ctx, d.ID)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: "!!"})
		wantErr(t, "Token(garbage signature)", err, ErrSignature)
		// A challenge is the device's own.
		ch, _, _ = e.svc.Challenge(ctx, d.ID)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: other.ID, Challenge: ch, Signature: sign(other, ch)})
		wantErr(t, "Token(another device's challenge)", err, ErrSignature)
		// 60 seconds.
		ch, _, _ = e.svc.Challenge(ctx, d.ID)
		e.clk.Advance(time.Minute)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: ch, Signature: sign(d, ch)})
		wantErr(t, "Token(expired challenge)", err, ErrSignature)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: "unknown", Signature: sign(d, "unknown")})
		wantErr(t, "Token(unknown challenge)", err, ErrSignature)

		// LastSeenAt moves at most once a minute.
		seen := func() time.Time {
			a, err := e.db.Approver(ctx, d.ID)
			must(t, "Approver", err)
			return a.LastSeenAt
		}
		before := seen()
		e.clk.Advance(30 * time.Second)
		tok = e.token(t, d)
		if !seen().Equal(t0.Add(90 * time.Second)) {
			t.Errorf("LastSeenAt %v after a token at t0+90s (was %v)", seen(), before)
		}
		e.clk.Advance(30 * time.Second)
		if _, err := e.svc.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if !seen().Equal(t0.Add(90 * time.Second)) {
			t.Errorf("LastSeenAt %v moved within a minute", seen())
		}
		e.clk.Advance(31 * time.Second)
		e.svc.Authenticate(ctx, tok)
		if !seen().Equal(t0.Add(151 * time.Second)) {
			t.Errorf("LastSeenAt %v, want t0+151s", seen())
		}

		// Tokens live ten minutes.
		e.clk.Advance(10 * time.Minute)
		_, err = e.svc.Authenticate(ctx, tok)
		wantErr(t, "Authenticate(expired)", err, ErrInvalidToken)
		for _, bad := range []string{"", "cs_abc", "csd_unknown"} {
			_, err = e.svc.Authenticate(ctx, bad)
			wantErr(t, "Authenticate("+bad+")", err, ErrInvalidToken)
		}

		// Removal revokes at once.
		tok = e.token(t, d)
		must(t, "RemoveApprover", e.svc.RemoveApprover(ctx, e.ada.ID, d.ID, "", ""))
		_, err = e.svc.Authenticate(ctx, tok)
		wantErr(t, "Authenticate(removed device)", err, ErrRevoked)
		_, _, err = e.svc.Challenge(ctx, d.ID)
		wantErr(t, "Challenge(removed device)", err, ErrRevoked)
		_, _, err = e.svc.Challenge(ctx, "nope")
		wantErr(t, "Challenge(unknown device)", err, ErrRevoked)
		_, _, err = e.svc.Token(ctx, api.AuthTokenRequest{DeviceID: d.ID, Challenge: "x", Signature: "y"})
		wantErr(t, "Token(removed device)", err, ErrRevoked)
		if _, err := e.svc.Authenticate(ctx, e.token(t, other)); err != nil {
			t.Errorf("the other device: %v", err)
		}
	})
}
