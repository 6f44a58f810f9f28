package store

import (
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

// TestPurgeUnexchangedCodes: an authorization code nobody exchanged, with
// its PKCE and OpenID Connect rows, is deleted when it expires, as is a
// spent one; a code still valid stays.
func TestPurgeUnexchangedCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		c := &OAuthClient{OwnerID: u.ID, Name: "App", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid"}, CreatedAt: t0}
		must(t, "CreateOAuthClient", db.CreateOAuthClient(ctx, c))
		add := func(kind, sig, req string, expires time.Time) {
			t.Helper()
			must(t, "AddOAuthToken", db.AddOAuthToken(ctx, &OAuthToken{Kind: kind, Signature: sig, RequestID: req, ClientID: c.ID, UserID: u.ID,
				Data: []byte(`{}`), Active: true, CreatedAt: t0, ExpiresAt: expires}))
		}
		for _, kind := range []string{OAuthCode, OAuthPKCE, OAuthOIDC} {
			add(kind, "never-exchanged", "r1", t0.Add(10*time.Minute))
			add(kind, "spent", "r2", t0.Add(10*time.Minute))
			add(kind, "fresh", "r3", t0.Add(20*time.Minute))
		}
		must(t, "DeactivateOAuthToken", db.DeactivateOAuthToken(ctx, OAuthCode, "spent"))
		must(t, "Purge", db.Purge(ctx, t0.Add(10*time.Minute)))
		for _, kind := range []string{OAuthCode, OAuthPKCE, OAuthOIDC} {
			for _, sig := range []string{"never-exchanged", "spent"} {
				if _, err := db.OAuthToken(ctx, kind, sig); err == nil {
					t.Errorf("the expired %s %q is still stored after Purge", kind, sig)
				}
			}
			if _, err := db.OAuthToken(ctx, kind, "fresh"); err != nil {
				t.Errorf("Purge took the unexpired %s: %v", kind, err)
			}
		}
	})
}
