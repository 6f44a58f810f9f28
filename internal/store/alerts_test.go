package store

import (
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

func TestRememberSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		chrome := SeenSignIn{Kind: SeenBrowser, Value: "Chrome on Linux"}
		home := SeenSignIn{Kind: SeenPlace, Value: "192.0.2.0/24"}
		away := SeenSignIn{Kind: SeenPlace, Value: "198.51.100.0/24"}
		for _, c := range []struct {
			seen      []SeenSignIn
			wantFresh []SeenSignIn
			wantFirst bool
		}{
			{[]SeenSignIn{chrome, home}, []SeenSignIn{chrome, home}, true},
			{[]SeenSignIn{chrome, home}, nil, false},
			{[]SeenSignIn{chrome, away}, []SeenSignIn{away}, false},
			{[]SeenSignIn{chrome, away}, nil, false},
		} {
			fresh, first, err := db.RememberSignIn(ctx, u.ID, c.seen, t0)
			must(t, "RememberSignIn", err)
			if !slices.Equal(fresh, c.wantFresh) || first != c.wantFirst {
				t.Errorf("RememberSignIn(%v) = %v, first %v; want %v, first %v", c.seen, fresh, first, c.wantFresh, c.wantFirst)
			}
		}
		other := newUser(t, db, "b@example.com", "")
		if fresh, first, err := db.RememberSignIn(ctx, other.ID, []SeenSignIn{chrome}, t0); err != nil || !first || len(fresh) != 1 {
			t.Errorf("another account's first sign-in: fresh %v, first %v, err %v; want its own first", fresh, first, err)
		}
	})
}

func TestAlertSettings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		got, err := db.AlertSettings(ctx, u.ID)
		must(t, "AlertSettings", err)
		if got != (AlertSettings{Mail: true, Desktop: true}) {
			t.Errorf("default settings %+v, want both on", got)
		}
		for _, want := range []AlertSettings{{Mail: false, Desktop: true}, {Mail: true, Desktop: false}, {}} {
			must(t, "SetAlertSettings", db.SetAlertSettings(ctx, u.ID, want))
			if got, err := db.AlertSettings(ctx, u.ID); err != nil || got != want {
				t.Errorf("after SetAlertSettings(%+v): got %+v, %v", want, got, err)
			}
		}
	})
}

func TestDisownSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "a@example.com", "")
		for _, s := range []*Session{
			{ID: "rotated", UserID: u.ID, Stage: StageFull, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			{ID: "mine", UserID: u.ID, Stage: StageFull, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		} {
			must(t, "CreateSession", db.CreateSession(ctx, s))
		}
		c := &OAuthClient{OwnerID: u.ID, Name: "App", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid"}, CreatedAt: t0}
		must(t, "CreateOAuthClient", db.CreateOAuthClient(ctx, c))
		sid := func(id string) string { return "sid-" + id }
		for i, s := range []string{"sid-old", "sid-rotated", "sid-mine", ""} {
			must(t, "AddOAuthToken", db.AddOAuthToken(ctx, &OAuthToken{Kind: OAuthRefresh, Signature: "sig" + string(rune('a'+i)), RequestID: "r" + s,
				ClientID: c.ID, UserID: u.ID, Data: []byte("{}"), Active: true, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), SessionID: s}))
		}
		// The alert names "old", the id the session had before a privilege
		// change gave it "rotated"; a token was issued before, one after.
		a := &SignInAlert{UserID: u.ID, SessionID: "old", SessionCreatedAt: t0, Browser: "Chrome on Linux", IP: "192.0.2.1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		must(t, "AddSignInAlert", db.AddSignInAlert(ctx, a))
		must(t, "MoveSignIn", db.MoveSignIn(ctx, u.ID, "old", "rotated", "sid-old", "sid-rotated"))
		got, d, err := db.DisownSignIn(ctx, a.ID, t0.Add(2*time.Minute), sid)
		must(t, "DisownSignIn", err)
		if !got.UsedAt.Equal(t0.Add(2*time.Minute)) || got.Browser != "Chrome on Linux" || got.SessionID != "rotated" {
			t.Errorf("DisownSignIn returned %+v", got)
		}
		if !slices.Equal(d.Sessions, []string{"rotated"}) || !slices.Equal(d.OAuthApps, []string{c.ID}) || d.OAuthCount != 2 {
			t.Errorf("DisownSignIn ended %+v, want the session rotated and its 2 tokens of one app", d)
		}
		if _, err := db.Session(ctx, "rotated"); err == nil {
			t.Error("the disowned session is still there")
		}
		must(t, "Session(mine), signed in at the same time", func() error { _, err := db.Session(ctx, "mine"); return err }())
		for _, sig := range []string{"sigc", "sigd"} {
			must(t, "OAuthToken(another session's)", func() error { _, err := db.OAuthToken(ctx, OAuthRefresh, sig); return err }())
		}
		_, _, err = db.DisownSignIn(ctx, a.ID, t0.Add(3*time.Minute), sid)
		wantErr(t, "DisownSignIn again", err, ErrUsed)
		_, _, err = db.DisownSignIn(ctx, "nope", t0.Add(3*time.Minute), sid)
		wantErr(t, "DisownSignIn(unknown)", err, ErrNotFound)
		if a, err := db.SignInAlert(ctx, a.ID); err != nil || a.UsedAt.IsZero() {
			t.Errorf("SignInAlert after use: %+v, %v", a, err)
		}
	})
}
