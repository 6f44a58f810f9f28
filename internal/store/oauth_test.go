package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

func TestOAuthClientsAndGrants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		owner := newUser(t, db, "dev@example.com", "")
		u := newUser(t, db, "ada@example.com", "")
		c := &OAuthClient{OwnerID: owner.ID, Name: "App", LogoURL: "https://a.example/l.png", Homepage: "https://a.example", PrivacyURL: "https://a.example/p",
			RedirectURIs: []string{"https://a.example/cb", "http://127.0.0.1:9/cb"}, Scopes: []string{"openid", "email"}, SecretHash: []byte("h1"), CreatedAt: t0}
		must(t, "CreateOAuthClient", db.CreateOAuthClient(ctx, c))
		if c.ID == "" {
			t.Fatal("CreateOAuthClient left the id empty")
		}
		got, err := db.OAuthClient(ctx, c.ID)
		must(t, "OAuthClient", err)
		if fmt.Sprint(*got) != fmt.Sprint(*c) {
			t.Errorf("OAuthClient:\n got %+v\nwant %+v", *got, *c)
		}
		pub := &OAuthClient{OwnerID: owner.ID, Name: "Native", RedirectURIs: []string{"http://[::1]/cb"}, Scopes: []string{"openid"}, Public: true, CreatedAt: t0.Add(time.Second)}
		must(t, "CreateOAuthClient(public)", db.CreateOAuthClient(ctx, pub))
		list, err := db.OAuthClients(ctx, owner.ID)
		must(t, "OAuthClients", err)
		if len(list) != 2 || list[0].ID != c.ID || !list[1].Public || list[1].SecretHash != nil {
			t.Errorf("OAuthClients = %+v, want the two apps oldest first", list)
		}
		if list, _ := db.OAuthClients(ctx, u.ID); len(list) != 0 {
			t.Errorf("OAuthClients(other user) = %+v, want none", list)
		}
		_, err = db.OAuthClient(ctx, "nope")
		wantErr(t, "OAuthClient(unknown)", err, ErrNotFound)

		wantErr(t, "SetOAuthClientSecret(not owner)", db.SetOAuthClientSecret(ctx, u.ID, c.ID, []byte("h2")), ErrNotFound)
		must(t, "SetOAuthClientSecret", db.SetOAuthClientSecret(ctx, owner.ID, c.ID, []byte("h2")))
		if got, _ := db.OAuthClient(ctx, c.ID); string(got.SecretHash) != "h2" {
			t.Errorf("secret hash after rotation = %q, want h2", got.SecretHash)
		}

		// Grants: new, extended (granted_at kept), touched, revoked, renewed.
		must(t, "SaveOAuthGrant", db.SaveOAuthGrant(ctx, &OAuthGrant{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, GrantedAt: t0, LastUsedAt: t0}))
		must(t, "SaveOAuthGrant(extend)", db.SaveOAuthGrant(ctx, &OAuthGrant{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid", "email"}, GrantedAt: t0.Add(time.Hour), LastUsedAt: t0.Add(time.Hour)}))
		g, err := db.OAuthGrant(ctx, u.ID, c.ID)
		must(t, "OAuthGrant", err)
		if !slices.Equal(g.Scopes, []string{"openid", "email"}) || !g.GrantedAt.Equal(t0) || !g.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("extended grant = %+v, want both scopes, granted t0, used t0+1h", g)
		}
		must(t, "TouchOAuthGrant(recent)", db.TouchOAuthGrant(ctx, u.ID, c.ID, t0.Add(90*time.Minute), t0.Add(30*time.Minute)))
		if g, _ := db.OAuthGrant(ctx, u.ID, c.ID); !g.LastUsedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("touch within the interval moved LastUsedAt to %v", g.LastUsedAt)
		}
		must(t, "TouchOAuthGrant", db.TouchOAuthGrant(ctx, u.ID, c.ID, t0.Add(2*time.Hour), t0.Add(2*time.Hour)))
		if g, _ := db.OAuthGrant(ctx, u.ID, c.ID); !g.LastUsedAt.Equal(t0.Add(2 * time.Hour)) {
			t.Errorf("LastUsedAt after touch = %v, want t0+2h", g.LastUsedAt)
		}
		tok := &OAuthToken{Kind: OAuthAccess, Signature: "sig-a", RequestID: "req-1", ClientID: c.ID, UserID: u.ID, Data: []byte("{}"), Active: true, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, "AddOAuthToken", db.AddOAuthToken(ctx, tok))
		must(t, "RevokeOAuthGrant", db.RevokeOAuthGrant(ctx, u.ID, c.ID, t0.Add(3*time.Hour)))
		_, err = db.OAuthGrant(ctx, u.ID, c.ID)
		wantErr(t, "OAuthGrant(revoked)", err, ErrNotFound)
		_, err = db.OAuthToken(ctx, OAuthAccess, "sig-a")
		wantErr(t, "OAuthToken(after revoke)", err, ErrNotFound)
		wantErr(t, "RevokeOAuthGrant(again)", db.RevokeOAuthGrant(ctx, u.ID, c.ID, t0.Add(3*time.Hour)), ErrNotFound)
		// A token created by a request racing the revocation does not
		// come back with a new grant.
		must(t, "AddOAuthToken(straggler)", db.AddOAuthToken(ctx, tok))
		must(t, "SaveOAuthGrant(after revoke)", db.SaveOAuthGrant(ctx, &OAuthGrant{UserID: u.ID, ClientID: c.ID, Scopes: []string{"openid"}, GrantedAt: t0.Add(4 * time.Hour), LastUsedAt: t0.Add(4 * time.Hour)}))
		gs, err := db.OAuthGrants(ctx, u.ID)
		must(t, "OAuthGrants", err)
		if len(gs) != 1 || !gs[0].GrantedAt.Equal(t0.Add(4*time.Hour)) || !gs[0].RevokedAt.IsZero() {
			t.Errorf("OAuthGrants after re-grant = %+v, want one granted at t0+4h", gs)
		}

		_, err = db.OAuthToken(ctx, OAuthAccess, "sig-a")
		wantErr(t, "OAuthToken(straggler after re-grant)", err, ErrNotFound)

		// Deleting the app takes its grants and tokens.
		must(t, "AddOAuthToken", db.AddOAuthToken(ctx, tok))
		wantErr(t, "DeleteOAuthClient(not owner)", db.DeleteOAuthClient(ctx, u.ID, c.ID), ErrNotFound)
		must(t, "DeleteOAuthClient", db.DeleteOAuthClient(ctx, owner.ID, c.ID))
		if gs, _ := db.OAuthGrants(ctx, u.ID); len(gs) != 0 {
			t.Errorf("OAuthGrants after delete = %+v, want none", gs)
		}
		_, err = db.OAuthToken(ctx, OAuthAccess, "sig-a")
		wantErr(t, "OAuthToken(after delete)", err, ErrNotFound)
	})
}

func TestOAuthTokensAndKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		c := &OAuthClient{OwnerID: u.ID, Name: "App", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid"}, CreatedAt: t0}
		must(t, "CreateOAuthClient", db.CreateOAuthClient(ctx, c))
		add := func(kind, sig, req string) {
			t.Helper()
			must(t, "AddOAuthToken", db.AddOAuthToken(ctx, &OAuthToken{Kind: kind, Signature: sig, RequestID: req, ClientID: c.ID, UserID: u.ID,
				Data: []byte(`{"x":1}`), Active: true, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		}
		add(OAuthCode, "c1", "r1")
		add(OAuthRefresh, "f1", "r1")
		add(OAuthRefresh, "f2", "r1")
		add(OAuthRefresh, "f3", "r2")
		wantErr(t, "AddOAuthToken(taken)", db.AddOAuthToken(ctx, &OAuthToken{Kind: OAuthCode, Signature: "c1", RequestID: "r", ClientID: c.ID, UserID: u.ID, Data: []byte("{}")}), ErrConflict)
		got, err := db.OAuthToken(ctx, OAuthCode, "c1")
		must(t, "OAuthToken", err)
		if got.RequestID != "r1" || !got.Active || string(got.Data) != `{"x":1}` || !got.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("OAuthToken = %+v", got)
		}
		must(t, "DeactivateOAuthToken", db.DeactivateOAuthToken(ctx, OAuthCode, "c1"))
		errs := race(4, func(int) error { return db.DeactivateOAuthToken(ctx, OAuthRefresh, "f1") })
		oneWins(t, errs, ErrUsed)
		wantErr(t, "DeactivateOAuthToken(again)", db.DeactivateOAuthToken(ctx, OAuthCode, "c1"), ErrUsed)
		wantErr(t, "DeactivateOAuthToken(unknown)", db.DeactivateOAuthToken(ctx, OAuthCode, "nope"), ErrNotFound)
		if got, _ := db.OAuthToken(ctx, OAuthCode, "c1"); got.Active {
			t.Error("code still active after DeactivateOAuthToken")
		}
		must(t, "DeleteOAuthRequestTokens", db.DeleteOAuthRequestTokens(ctx, OAuthRefresh, "r1"))
		for _, sig := range []string{"f1", "f2"} {
			_, err := db.OAuthToken(ctx, OAuthRefresh, sig)
			wantErr(t, "OAuthToken(deleted family)", err, ErrNotFound)
		}
		if _, err := db.OAuthToken(ctx, OAuthRefresh, "f3"); err != nil {
			t.Errorf("another request's token went too: %v", err)
		}
		must(t, "DeleteOAuthToken", db.DeleteOAuthToken(ctx, OAuthRefresh, "f3"))
		wantErr(t, "DeleteOAuthToken(again)", db.DeleteOAuthToken(ctx, OAuthRefresh, "f3"), ErrNotFound)
		must(t, "Purge", db.Purge(ctx, t0.Add(2*time.Hour)))
		_, err = db.OAuthToken(ctx, OAuthCode, "c1")
		wantErr(t, "OAuthToken(purged)", err, ErrNotFound)

		must(t, "AddOAuthKey", db.AddOAuthKey(ctx, &OAuthKey{ID: "k1", Alg: "ES256", Private: []byte("der1"), CreatedAt: t0}))
		must(t, "AddOAuthKey", db.AddOAuthKey(ctx, &OAuthKey{ID: "k2", Alg: "ES256", Private: []byte("der2"), CreatedAt: t0.Add(time.Hour)}))
		keys, err := db.OAuthKeys(ctx)
		must(t, "OAuthKeys", err)
		if len(keys) != 2 || keys[0].ID != "k2" || string(keys[1].Private) != "der1" || !keys[1].CreatedAt.Equal(t0) {
			t.Errorf("OAuthKeys = %+v, want k2 then k1", keys)
		}
	})
}
