package server

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

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
	// Used once only.
	r = resetWith(e.client(), tok, "yet another passphrase")
	if r.status != http.StatusGone || !strings.Contains(r.body, "expired or was used already") {
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
	r = c.post("/account/password", url.Values{"current": {"wrong"}, "password": {"x brand new pass"}, "password_confirm": {"x brand new pass"}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("wrong current password: %d", r.status)
	}
	r = c.post("/account/password", url.Values{"current": {pw}, "password": {"x brand new pass"}, "password_confirm": {"not the same"}})
	if r.status != http.StatusBadRequest {
		t.Errorf("mismatch: %d", r.status)
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
