package server

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/household"
)

// TestStepUp: an action that needs a fresh sign-in, more than five minutes
// after signing in, sends the browser to sign in again (password and second
// step) and back to the page; nothing is done until it is asked again.
func TestStepUp(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	e.clock.Advance(30 * time.Second)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	c.submit("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}})
	c.get("/account/security")

	// Fresh: done at once.
	if r := c.post("/account/api-tokens", url.Values{"name": {"CI"}, "scope": {"read"}}); r.status != http.StatusSeeOther && r.status != http.StatusOK {
		t.Fatalf("a token right after signing in: %d %s", r.status, r.body)
	}
	tokens := func() int {
		ts, err := e.db.APITokens(t.Context(), e.user("ada@example.com").ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	if n := tokens(); n != 1 {
		t.Fatalf("%d tokens, want 1", n)
	}

	// Six minutes on: sent to sign in again, nothing made.
	e.clock.Advance(household.StepUpWindow + time.Minute)
	r := c.post("/account/api-tokens", url.Values{"name": {"Deploy"}, "scope": {"read"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin?next=") {
		t.Fatalf("a token six minutes after signing in: %d to %q, want the sign-in page", r.status, r.loc)
	}
	if n := tokens(); n != 1 {
		t.Errorf("%d tokens after the refusal, want 1", n)
	}
	page := c.get(r.loc)
	if page.status != http.StatusOK || !strings.Contains(page.body, `name="password"`) {
		t.Fatalf("the sign-in page for a signed-in browser asked to sign in again: %d", page.status)
	}
	mustContain(t, html.UnescapeString(page.body), "For your safety, sign in again to make or revoke API tokens, then do it once more.")
	next, _ := url.Parse(r.loc)

	// A forged or stale mark does not make the sign-in page ask.
	if r := c.get("/signin?next=" + url.QueryEscape("/account/security?countersign_fresh=1.AAAA")); r.status != http.StatusSeeOther {
		t.Errorf("a forged mark: %d, want the signed-in browser sent on", r.status)
	}

	// Signing in again (password, then the second step) comes back.
	e.clock.Advance(30 * time.Second)
	r = c.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {pw}, "next": {next.Query().Get("next")}})
	if r.status != http.StatusSeeOther || r.loc != "/signin/verify" {
		t.Fatalf("signing in again: %d to %q", r.status, r.loc)
	}
	c.get("/signin/verify")
	r = c.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/account/security") {
		t.Fatalf("after signing in again: %d to %q, want back on the security page", r.status, r.loc)
	}
	c.get(r.loc)
	if r := c.post("/account/api-tokens", url.Values{"name": {"Deploy"}, "scope": {"read"}}); r.status != http.StatusSeeOther && r.status != http.StatusOK {
		t.Fatalf("a token after signing in again: %d %s", r.status, r.body)
	}
	if n := tokens(); n != 2 {
		t.Errorf("%d tokens after signing in again, want 2", n)
	}

	// What needs no fresh sign-in still works later on.
	e.clock.Advance(household.StepUpWindow + time.Minute)
	if r := c.get("/account/activity"); r.status != http.StatusOK {
		t.Errorf("the activity page six minutes on: %d", r.status)
	}
	// A JSON step (adding a security key) says so in its answer.
	r = c.postJSON("/account/security-keys/begin", "{}")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "sign in again to add a security key") {
		t.Errorf("adding a key six minutes on: %d %s", r.status, r.body)
	}
}
