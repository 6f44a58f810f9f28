package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// addPasskey creates a passkey of a on the security page of c (signed in,
// freshly) under name and returns the answer to its finish.
func addPasskey(t *testing.T, c *client, a *seckeytest.Authenticator, name string) *resp {
	t.Helper()
	c.get("/account/security")
	id, opts := begin(t, c, "/account/passkeys/begin")
	body, _ := json.Marshal(map[string]any{"challenge_id": id, "name": name, "credential": a.Create(t, opts)})
	return c.postJSON("/account/passkeys/finish", string(body))
}

// passkeySignIn signs in c with a's passkey, answering with handle, going
// on to next.
func passkeySignIn(t *testing.T, c *client, a *seckeytest.Authenticator, handle []byte, next string) *resp {
	t.Helper()
	c.get("/signin")
	id, opts := begin(t, c, "/signin/passkey/begin")
	body, _ := json.Marshal(map[string]any{"challenge_id": id, "credential": a.Get(t, opts, handle), "next": next})
	return c.postJSON("/signin/passkey/finish", string(body))
}

// TestPasskeySignIn: a passkey created on the security page signs in on its
// own — no email, no password, no second step, though two-step is on — and
// goes on to where the sign-in was going (an app's authorization); the
// activity log says so. A security key does not sign in on its own, an
// answer without user verification is refused and counted against the
// account, a locked account stays locked, and a removed passkey no longer
// signs in.
func TestPasskeySignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, _, backup := twoStepUser(t, e)
	u := e.user("ada@example.com")
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	c.submit("/signin/verify", url.Values{"method": {"backup"}, "code": {backup[0]}})

	pk := seckeytest.New(t, testURL)
	if r := addPasskey(t, c, pk, "Laptop"); r.status != http.StatusOK {
		t.Fatalf("creating a passkey: %d %s", r.status, r.body)
	}
	plain := seckeytest.New(t, testURL)
	id, opts := begin(t, c, "/account/security-keys/begin")
	body, _ := json.Marshal(map[string]any{"challenge_id": id, "name": "YubiKey", "credential": plain.Create(t, opts)})
	if r := c.postJSON("/account/security-keys/finish", string(body)); r.status != http.StatusOK {
		t.Fatalf("adding a security key: %d %s", r.status, r.body)
	}
	r := c.get("/account/security/sign-in")
	passkeys, keys := sectionOf(r.body, "passkeys"), sectionOf(r.body, "security-keys")
	if !strings.Contains(passkeys, "Laptop") || strings.Contains(passkeys, "YubiKey") || strings.Contains(keys, "Laptop") || !strings.Contains(keys, "YubiKey") {
		t.Errorf("the passkey is not in the Passkeys card alone:\npasskeys: %s\nsecurity keys: %s", passkeys, keys)
	}
	mustContain(t, passkeys, `id="create-passkey"`, `aria-label="Remove the passkey Laptop"`)

	b := e.client()
	r = b.get("/signin")
	mustContain(t, r.body, `autocomplete="username webauthn"`, `id="signin-passkey"`, `/webauthn.js" defer></script>`)
	next := "/oauth/authorize?client_id=app&response_type=code"
	r = passkeySignIn(t, b, pk, u.WebAuthnID, next)
	var done struct{ Redirect string }
	if err := json.Unmarshal([]byte(r.body), &done); r.status != http.StatusOK || err != nil || done.Redirect != next {
		t.Fatalf("passkey sign-in: %d %s, want on to %s", r.status, r.body, next)
	}
	if r := b.get("/account/security"); r.status != http.StatusOK || !strings.Contains(r.body, `id="two-step-status"`) {
		t.Fatalf("not signed in after the passkey: %d %s", r.status, r.loc)
	}
	sess, err := e.db.Sessions(ctx, u.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sess {
		if s.Stage != store.StageFull {
			t.Errorf("a session at stage %v after a passkey sign-in", s.Stage)
		}
	}

	// A passkey sign-in is fresh: it may add a passkey at once.
	if r := b.postJSON("/account/passkeys/begin", "{}"); r.status != http.StatusOK {
		t.Errorf("adding a passkey right after a passkey sign-in: %d %s", r.status, r.body)
	}

	refused := func(name string, a *seckeytest.Authenticator, want int) {
		t.Helper()
		if r := passkeySignIn(t, e.client(), a, u.WebAuthnID, ""); r.status != want {
			t.Errorf("%s: %d %s, want %d", name, r.status, r.body, want)
		}
	}
	refused("a security key on its own", plain, http.StatusUnauthorized)
	pk.UV = false
	refused("a passkey without user verification", pk, http.StatusUnauthorized)
	pk.UV = true
	if u := e.user("ada@example.com"); u.FailedLogins != 1 {
		t.Errorf("%d failed sign-ins counted, want the one without user verification", u.FailedLogins)
	}

	acts, _ := e.db.ActivityPage(ctx, u.ID, 0, 50)
	var all []string
	for _, a := range acts {
		all = append(all, a.Kind+":"+a.Detail)
	}
	for _, want := range []string{store.ActPasskeyAdded + ":Laptop", store.ActSignIn + ":Passkey “Laptop”", store.ActSignInFailed + ":Passkey not accepted"} {
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("activity lacks %q:\n%s", want, strings.Join(all, "\n"))
		}
	}

	// A lock from failed attempts holds for passkeys too.
	if _, err := e.db.RecordLoginFailure(ctx, u.ID, func(int) time.Time { return e.clock.Now().Add(10 * time.Minute) }); err != nil {
		t.Fatal(err)
	}
	refused("a locked account", pk, http.StatusTooManyRequests)
	e.clock.Advance(11 * time.Minute)

	// Removing asks first, naming the passkey; then it no longer signs in.
	ks, _ := e.db.SecurityKeys(ctx, u.ID)
	var passkeyID string
	for _, k := range ks {
		if k.Discoverable {
			passkeyID = k.ID
		}
	}
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	c.submit("/signin/verify", url.Values{"method": {"backup"}, "code": {backup[1]}})
	c.get("/account/security")
	r = c.post("/account/passkeys/"+passkeyID+"/remove", nil)
	mustContain(t, r.body, "Remove the passkey “Laptop”?", `name="confirm" value="1"`)
	if ks, _ := e.db.SecurityKeys(ctx, u.ID); len(ks) != 2 {
		t.Fatalf("asking removed something: %d keys left", len(ks))
	}
	r = c.submit("/account/passkeys/"+passkeyID+"/remove", url.Values{"confirm": {"1"}})
	mustContain(t, r.body, "Passkey “Laptop” is removed.")
	refused("a removed passkey", pk, http.StatusUnauthorized)
	// The passkeys' remove does not reach a security key.
	for _, k := range ks {
		if !k.Discoverable {
			if r := c.post("/account/passkeys/"+k.ID+"/remove", url.Values{"confirm": {"1"}}); r.status != http.StatusNotFound {
				t.Errorf("removing a security key as a passkey: %d", r.status)
			}
		}
	}
}

// TestPasskeySignsInAsItsMember: a household member's passkey signs in as
// that member.
func TestPasskeySignsInAsItsMember(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client()
	c.signup("ada@example.com", pw)
	u := e.user("ada@example.com")
	sam, err := e.srv.house.AddMember(ctx, u.ID, "Sam")
	if err != nil {
		t.Fatal(err)
	}
	pk := seckeytest.New(t, testURL)
	if r := addPasskey(t, c, pk, "Sam's phone"); r.status != http.StatusOK {
		t.Fatalf("creating a passkey: %d %s", r.status, r.body)
	}
	ks, _ := e.db.SecurityKeys(ctx, u.ID)
	if err := e.db.SetDeviceMember(ctx, u.ID, api.DeviceSecurityKey, ks[0].ID, sam.ID); err != nil {
		t.Fatal(err)
	}
	b := e.client()
	if r := passkeySignIn(t, b, pk, u.WebAuthnID, ""); r.status != http.StatusOK {
		t.Fatalf("passkey sign-in: %d %s", r.status, r.body)
	}
	r := b.get("/account/security/sign-in")
	mustContain(t, r.body, `id="acting-as"`, "You are signed in as Sam")
	// Sam may remove Sam's own passkey, not add one for the owner's keys.
	if !strings.Contains(sectionOf(r.body, "passkeys"), fmt.Sprintf(`action="/account/passkeys/%s/remove"`, ks[0].ID)) {
		t.Errorf("Sam is not offered to remove Sam's passkey: %s", sectionOf(r.body, "passkeys"))
	}
	if household.Permits(household.MemberBrowser, household.AddKey, sam.ID, sam.ID) != strings.Contains(r.body, `id="create-passkey"`) {
		t.Errorf("the page offers creating a passkey against the permission table")
	}
}

// TestPasskeyAddNeedsAFreshSignIn: creating a passkey is adding a key: a
// sign-in older than the step-up window is asked to sign in again.
func TestPasskeyAddNeedsAFreshSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	e.clock.Advance(household.StepUpWindow + time.Minute)
	c.get("/account/security")
	r := c.postJSON("/account/passkeys/begin", "{}")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "sign in again to add a security key") {
		t.Errorf("creating a passkey six minutes on: %d %s", r.status, r.body)
	}
}

// An app told how the person signed in (RFC 8176 amr): a password sign-in
// says "pwd", a passkey sign-in "pop", "user" and "mfa" — never "pwd",
// and a session's new id after a privilege change keeps it.
func TestPasskeySignInAMR(t *testing.T) {
	e := newEnv(t)
	app, secret := registerApp(t, e, "openid")
	start := authorizeURL(app.ID, "openid")
	c := e.client()
	c.signup("ada@example.com", pw)
	req := consentRequest(t, c.get(start))
	q := redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}}))
	if amr := fmt.Sprint(idTokenClaims(t, e, q.Get("code"), app.ID, secret)["amr"]); amr != "[pwd]" {
		t.Errorf("after a password: amr %s, want [pwd]", amr)
	}

	pk := seckeytest.New(t, testURL)
	if r := addPasskey(t, c, pk, "Laptop"); r.status != http.StatusOK {
		t.Fatalf("creating a passkey: %d %s", r.status, r.body)
	}
	b := e.client()
	if r := passkeySignIn(t, b, pk, e.user("ada@example.com").WebAuthnID, ""); r.status != http.StatusOK {
		t.Fatalf("passkey sign-in: %d %s", r.status, r.body)
	}
	want := "[pop user mfa]"
	if amr := fmt.Sprint(idTokenClaims(t, e, redirectedTo(t, b.get(start)).Get("code"), app.ID, secret)["amr"]); amr != want {
		t.Errorf("after a passkey: amr %s, want %s", amr, want)
	}
	// A new session id (a password change is a privilege change) keeps how it signed in.
	before := b.cookie(sessionCookie)
	b.get("/account/password")
	const newPW = "a brand new passphrase"
	b.submit("/account/password", url.Values{"current": {pw}, "password": {newPW}, "password_confirm": {newPW}})
	if b.cookie(sessionCookie) == before {
		t.Fatal("the password change did not give the session a new id")
	}
	if amr := fmt.Sprint(idTokenClaims(t, e, redirectedTo(t, b.get(start)).Get("code"), app.ID, secret)["amr"]); amr != want {
		t.Errorf("after the session's new id: amr %s, want %s", amr, want)
	}
}
