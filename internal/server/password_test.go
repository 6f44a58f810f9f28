package server

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

var resetLinkRe = regexp.MustCompile(`http://countersign\.test/password/reset\?token=([A-Za-z0-9_-]{43})`)

// requestReset asks for a link and returns its token.
func requestReset(t *testing.T, e *env, login string) string {
	t.Helper()
	c := e.client()
	c.get("/password/forgot")
	r := c.post("/password/forgot", url.Values{"login": {login}})
	mustContain(t, r.body, msgResetSent)
	m, err := e.outbox.Last(login)
	if err != nil {
		t.Fatal(err)
	}
	tok := resetLinkRe.FindStringSubmatch(m.Text)
	if tok == nil {
		t.Fatalf("no link in %q", m.Text)
	}
	return tok[1]
}

func resetWith(c *client, token, newPW string) *resp {
	c.get("/password/reset?token=" + token)
	return c.post("/password/reset", url.Values{"token": {token}, "password": {newPW}, "password_confirm": {newPW}})
}

func TestPasswordReset(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	other := e.client()
	other.signin("ada@example.com", pw)

	// The same answer for an unknown account, and nothing sent.
	anon := e.client()
	anon.get("/password/forgot")
	r := anon.post("/password/forgot", url.Values{"login": {"nobody@example.com"}})
	mustContain(t, r.body, msgResetSent)
	if _, err := e.outbox.Last("nobody@example.com"); err == nil {
		t.Error("mail sent to an unknown address")
	}

	tok := requestReset(t, e, "ada@example.com")
	u := e.user("ada@example.com")
	stored, err := e.db.UseResetToken(context.Background(), sha("not the token"), e.clock.Now())
	if err == nil {
		t.Fatalf("an unknown token was accepted: %+v", stored)
	}

	// A refused password leaves the link usable.
	browser := e.client()
	r = resetWith(browser, tok, "password1")
	if r.status != http.StatusBadRequest {
		t.Errorf("common password: %d", r.status)
	}
	// So does one like the account (its email address), a new rule.
	if r = resetWith(browser, tok, "ada@example.com"); r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), "too like your name or email") {
		t.Errorf("the email as the password: %d", r.status)
	}
	newPW := "a brand new passphrase"
	r = resetWith(browser, tok, newPW)
	if r.status != http.StatusSeeOther || r.loc != "/signin" {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	// Every session ended.
	for _, cl := range []*client{c, other} {
		if r := cl.get("/account/security"); r.status != http.StatusSeeOther {
			t.Errorf("a session survived the reset: %d", r.status)
		}
	}
	if r := e.client().signin("ada@example.com", pw); r.status != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", r.status)
	}
	if r := e.client().signin("ada@example.com", newPW); r.loc != "/account/security" {
		t.Errorf("the new password does not work: %d", r.status)
	}
	// Used once only: the link says so when opened, before anything is
	// typed, and offers a new one.
	page := e.client().get("/password/reset?token=" + tok)
	if page.status != http.StatusGone || !strings.Contains(page.body, "This link no longer works") ||
		!strings.Contains(page.body, `href="/password/forgot"`) || strings.Contains(page.body, `name="password"`) {
		t.Errorf("a used link opened: %d %s", page.status, page.body)
	}
	late := e.client()
	late.get("/password/forgot") // a form's token, as a stale tab would have
	r = late.post("/password/reset", url.Values{"token": {tok}, "password": {"yet another passphrase"}, "password_confirm": {"yet another passphrase"}})
	if r.status != http.StatusGone || !strings.Contains(r.body, "This link no longer works") {
		t.Errorf("reused link: %d %s", r.status, r.body)
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 20)
	var kinds []string
	for _, a := range acts {
		kinds = append(kinds, a.Kind)
	}
	for _, want := range []string{store.ActResetRequested, store.ActPasswordReset} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("activity lacks %s: %v", want, kinds)
		}
	}
}

func TestPasswordResetExpires(t *testing.T) {
	e := newEnv(t)
	e.client().signup("ada@example.com", pw)
	tok := requestReset(t, e, "ada@example.com")
	e.clock.Advance(31 * time.Minute)
	r := resetWith(e.client(), tok, "a brand new passphrase")
	if r.status != http.StatusGone {
		t.Errorf("expired link: %d %s", r.status, r.body)
	}
	if r := e.client().signin("ada@example.com", pw); r.loc != "/account/security" {
		t.Errorf("the old password stopped working: %d", r.status)
	}
}

func TestPasswordResetByPhoneAndUnlocks(t *testing.T) {
	e := newEnv(t)
	e.client().signup("+441632960001", pw)
	c := e.client()
	for range 5 {
		c.signin("+441632960001", "wrong password entirely")
	}
	if u := e.user("+441632960001"); u.LockedUntil.IsZero() {
		t.Fatal("not locked")
	}
	c.get("/password/forgot")
	c.post("/password/forgot", url.Values{"login": {"+44 1632 960001"}})
	m, err := e.outbox.Last("+441632960001")
	if err != nil {
		t.Fatal(err)
	}
	tok := resetLinkRe.FindStringSubmatch(m.Text)
	if tok == nil {
		t.Fatalf("no link in %q", m.Text)
	}
	if r := resetWith(c, tok[1], "a brand new passphrase"); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.status)
	}
	if r := c.signin("+441632960001", "a brand new passphrase"); r.loc != "/account/security" {
		t.Errorf("still locked after a reset: %d %s", r.status, r.body)
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	other := e.client()
	other.signin("ada@example.com", pw)
	r := c.get("/account/password")
	mustContain(t, r.body, `id="password-form"`, `autocomplete="current-password"`, `autocomplete="new-password"`)
	r = c.refused(c.post("/account/password", url.Values{"current": {"wrong"}, "password": {"x brand new pass"}, "password_confirm": {"x brand new pass"}}), "/account/password")
	mustContain(t, r.body, "Your current password is not right.", `name="current" type="password" autocomplete="current-password" required aria-describedby="form-error" aria-invalid="true"`)
	r = c.refused(c.post("/account/password", url.Values{"current": {pw}, "password": {"x brand new pass"}, "password_confirm": {"not the same"}}), "/account/password")
	mustContain(t, r.body, "The new passwords don&#39;t match.")
	if strings.Contains(r.body, "x brand new pass") {
		t.Error("the refused page shows the password typed")
	}
	before := c.cookie(sessionCookie)
	r = c.post("/account/password", url.Values{"current": {pw}, "password": {"x brand new pass"}, "password_confirm": {"x brand new pass"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if after := c.cookie(sessionCookie); after == before || after == "" {
		t.Error("the session id did not change")
	}
	if r := c.get("/account/security"); r.status != http.StatusOK {
		t.Errorf("this browser was signed out: %d", r.status)
	}
	if r := other.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("another session survived: %d", r.status)
	}
	if r := e.client().signin("ada@example.com", "x brand new pass"); r.loc != "/account/security" {
		t.Errorf("new password: %d", r.status)
	}
}

// TestPasswordChangeEndsTokensNotDesktops: changing or resetting the
// password ends, beside the sessions, the API tokens and the apps' OAuth
// tokens (whoever holds one may not know the new password); the paired
// approver desktops stay — they are the second factor — and the notice
// mailed to the account names them and what ended.
func TestPasswordChangeEndsTokensNotDesktops(t *testing.T) {
	for _, how := range []string{"changed", "reset"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			app, secret := registerApp(t, e, "openid", "email")
			c := e.client()
			c.signup("ada@example.com", pw)

			c.get("/account/security")
			m := apiTokenRe.FindStringSubmatch(c.submit("/account/api-tokens", url.Values{"name": {"backup script"}, "scope": {"read"}}).body)
			if m == nil {
				t.Fatal("no API token")
			}
			apiToken := http.Header{"Authorization": {"Bearer " + m[1]}}

			req := consentRequest(t, c.get(authorizeURL(app.ID, "openid email")))
			code := redirectedTo(t, c.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}})).Get("code")
			r := e.tokenRequest(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {appVerifier}}, app.ID, secret)
			var tokens struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal([]byte(r.body), &tokens); err != nil || tokens.AccessToken == "" || tokens.RefreshToken == "" {
				t.Fatalf("token answer %d %s (%v)", r.status, r.body, err)
			}

			desk := c.pairDesktop("Ada's laptop")
			challenge, _, err := e.srv.approvals.Challenge(ctx, desk.a.ID)
			if err != nil {
				t.Fatal(err)
			}
			sig := ed25519.Sign(desk.priv, api.AuthMessage(desk.a.ID, challenge))
			deskToken, _, err := e.srv.approvals.Token(ctx, api.AuthTokenRequest{DeviceID: desk.a.ID, Challenge: challenge, Signature: base64.RawURLEncoding.EncodeToString(sig)})
			if err != nil {
				t.Fatal(err)
			}

			uses := func() map[string]int {
				return map[string]int{
					"API token":     e.client().do("GET", "/api/v1/apps", nil, "", apiToken).status,
					"access token":  e.client().do("GET", "/oauth/userinfo", nil, "", http.Header{"Authorization": {"Bearer " + tokens.AccessToken}}).status,
					"desktop token": e.client().do("GET", "/api/v1/household", nil, "", http.Header{"Authorization": {"Bearer " + deskToken}}).status,
				}
			}
			for what, status := range uses() {
				if status != http.StatusOK {
					t.Fatalf("before the password %s, the %s answers %d", how, what, status)
				}
			}

			newPW := "a brand new passphrase"
			if how == "changed" {
				r = c.post("/account/password", url.Values{"current": {pw}, "password": {newPW}, "password_confirm": {newPW}})
			} else {
				r = resetWith(e.client(), requestReset(t, e, "ada@example.com"), newPW)
			}
			if r.status != http.StatusSeeOther {
				t.Fatalf("password %s: %d %s", how, r.status, r.body)
			}

			after := uses()
			after["refresh token"] = e.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}, app.ID, secret).status
			want := map[string]int{"API token": http.StatusUnauthorized, "access token": http.StatusUnauthorized, "desktop token": http.StatusOK, "refresh token": http.StatusBadRequest}
			for what, status := range want {
				if after[what] != status {
					t.Errorf("after the password %s, the %s answers %d, want %d", how, what, after[what], status)
				}
			}
			if a, err := e.db.Approver(ctx, desk.a.ID); err != nil || !a.RemovedAt.IsZero() {
				t.Errorf("the desktop was unpaired: %+v, %v", a, err)
			}

			u := e.user("ada@example.com")
			acts, err := e.db.ActivityPage(ctx, u.ID, 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			var events []string
			for _, a := range acts {
				events = append(events, a.Kind+": "+a.Detail)
			}
			kind := map[string]string{"changed": store.ActPasswordChanged, "reset": store.ActPasswordReset}[how]
			for _, want := range []string{
				store.ActTokenRevoked + ": backup script (the password was " + how + ")",
				kind + ": ",
			} {
				if !slices.ContainsFunc(events, func(e string) bool { return strings.HasPrefix(e, want) }) {
					t.Errorf("activity lacks %q:\n%s", want, strings.Join(events, "\n"))
				}
			}
			for _, e := range events {
				if strings.HasPrefix(e, kind+": ") {
					for _, part := range []string{"1 API token revoked (backup script)", "1 app signed out (Photo Prints)", "approver desktops stay paired (Ada's laptop)"} {
						if !strings.Contains(e, part) {
							t.Errorf("the %s event %q lacks %q", kind, e, part)
						}
					}
				}
			}

			mail, err := e.outbox.Last("ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if mail.Subject != "Your Countersign password was "+how {
				t.Errorf("the last mail is %q, want the notice", mail.Subject)
			}
			for _, part := range []string{"backup script", "Photo Prints", "Ada's laptop", testURL + "/account/security", testURL + "/password/forgot"} {
				if !strings.Contains(mail.Text, part) {
					t.Errorf("the notice lacks %q:\n%s", part, mail.Text)
				}
			}
		})
	}
}
