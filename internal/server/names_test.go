package server

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store"
)

// TestPagesRefuseHiddenCharactersInNames: every name the web pages take —
// the account's, a trusted browser's, an API token's, a household
// member's, an app's — is refused with a control, text-direction or
// invisible character in it, and nothing is saved.
func TestPagesRefuseHiddenCharactersInNames(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	u := e.user("ada@example.com")
	d := &store.Device{ID: "d1", UserID: u.ID, Name: "Work laptop", Kind: "laptop", CreatedAt: e.clock.Now(), LastSeenAt: e.clock.Now(),
		TrustedUntil: e.clock.Now().Add(24 * time.Hour)}
	if err := e.db.AddDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Sam\u202Epot", "Sam\u2066x\u2069", "Sam\u200E", "Sam\nx", "Sam\uFEFF"} {
		c.get("/account/security")
		c.refused(c.post("/account/devices/"+d.ID+"/rename", url.Values{"name": {bad}}), "/account/devices/"+d.ID+"/rename")
		c.refused(c.post("/account/api-tokens", url.Values{"name": {bad}, "scope": {"read"}}), "/account/security/apps#api-tokens")
		c.refused(c.post("/account/household/members", url.Values{"name": {bad}}), "/account/security/household#household")
		c.refused(c.post("/developer/apps", url.Values{"name": {bad}, "redirect_uris": {appRedirect}, "scopes": {"openid"}, "type": {"public"}}), "/developer/apps")
		s := e.client()
		s.get("/signup")
		r := s.post("/signup", url.Values{"name": {bad}, "login": {"sam@example.com"}, "password": {pw}, "password_confirm": {pw}})
		if r.status != http.StatusBadRequest {
			t.Errorf("sign-up named %q: %d, want 400", bad, r.status)
		}
	}
	ctx := context.Background()
	if got, _ := e.db.Device(ctx, u.ID, d.ID); got.Name != "Work laptop" {
		t.Errorf("the trusted browser is now called %q", got.Name)
	}
	if toks, _ := e.db.APITokens(ctx, u.ID); len(toks) != 0 {
		t.Errorf("API tokens made: %+v", toks)
	}
	if ms, _ := e.db.Members(ctx, u.ID); len(ms) != 1 {
		t.Errorf("household members: %+v, want the owner only", ms)
	}
	if _, err := e.db.UserByLogin(ctx, "sam@example.com"); err == nil {
		t.Error("an account was made with a hidden character in its name")
	}
}
