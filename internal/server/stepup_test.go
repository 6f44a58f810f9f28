package server

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
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

// TestStepUpThroughAPI: the server's own step-up behind API v1. An API
// token may add a household member, but not invite that member's desktop
// until it confirms with the account's password; the confirmation lasts
// five minutes. A wrong password through the API counts as a failed
// sign-in: enough of them lock the account's sign-in, on the API (429,
// Retry-After) and on the sign-in page alike.
func TestStepUpThroughAPI(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	c.get("/account/security")
	m := apiTokenRe.FindStringSubmatch(c.submit("/account/api-tokens", url.Values{"name": {"script"}, "scope": {"write"}}).body)
	if m == nil {
		t.Fatal("no API token")
	}
	bearer := func(mark string) http.Header {
		h := http.Header{"Authorization": {"Bearer " + m[1]}}
		if mark != "" {
			h.Set(api.StepUpHeader, mark)
		}
		return h
	}
	call := func(method, path, body, mark string) *resp {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		return c.do(method, path, rd, "application/json", bearer(mark))
	}
	r := call("POST", "/api/v1/household/members", `{"name":"Sam"}`, "")
	var sam api.Member
	if err := json.Unmarshal([]byte(r.body), &sam); r.status != http.StatusCreated || err != nil {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	invite := func(mark string) *resp {
		return call("POST", "/api/v1/household/members/"+sam.ID+"/invitations", "", mark)
	}
	if r := invite(""); r.status != http.StatusForbidden || !strings.Contains(r.body, api.CodeStepUpRequired) {
		t.Fatalf("an invitation without confirming: %d %s", r.status, r.body)
	}

	r = call("POST", "/api/v1/step-up", `{"password":"`+pw+`"}`, "")
	var su api.StepUp
	if err := json.Unmarshal([]byte(r.body), &su); r.status != http.StatusOK || err != nil || su.Token == "" {
		t.Fatalf("step-up: %d %s", r.status, r.body)
	}
	if r := invite(su.Token); r.status != http.StatusCreated {
		t.Fatalf("an invitation after confirming: %d %s", r.status, r.body)
	}
	uid := e.user("ada@example.com").ID
	if !hasActivity(activityKinds(t, e, uid), store.ActConfirmed+`: Confirmed with the password through API token "script"`) {
		t.Errorf("no activity for the confirmation: %q", activityKinds(t, e, uid))
	}
	e.clock.Advance(household.StepUpWindow + time.Second)
	if r := invite(su.Token); r.status != http.StatusForbidden || !strings.Contains(r.body, api.CodeStepUpRequired) {
		t.Fatalf("an invitation five minutes on: %d %s", r.status, r.body)
	}

	// Wrong passwords: refused and counted, until sign-in locks.
	var last *resp
	for i := 0; i < 10; i++ {
		last = call("POST", "/api/v1/step-up", `{"password":"wrong horse"}`, "")
		if last.status == http.StatusTooManyRequests {
			break
		}
		if last.status != http.StatusForbidden || !strings.Contains(last.body, api.CodeWrongPassword) {
			t.Fatalf("wrong password %d: %d %s", i+1, last.status, last.body)
		}
	}
	r = call("POST", "/api/v1/step-up", `{"password":"`+pw+`"}`, "")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, api.CodeTooManyAttempts) || r.header.Get("Retry-After") == "" {
		t.Fatalf("the right password while locked: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if !hasActivity(activityKinds(t, e, uid), store.ActSignInFailed+`: Wrong password confirming it is you through API token "script"`) {
		t.Errorf("no failed sign-in recorded: %q", activityKinds(t, e, uid))
	}
	other := e.client()
	other.get("/signin")
	signin := other.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {pw}})
	if signin.status != http.StatusTooManyRequests {
		t.Errorf("the sign-in page while the API's wrong passwords lock it: %d", signin.status)
	}
}
