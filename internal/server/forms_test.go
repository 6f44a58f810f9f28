package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestOversizedFormIs413: a form past maxFormBytes is answered "too large"
// (413), not "the form expired" (403): its CSRF token is there, only the
// rest is too long.
func TestOversizedFormIs413(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/signin")
	big := strings.Repeat("a", maxFormBytes+1)

	r := c.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {big}})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "too large") {
		t.Errorf("url-encoded form of %d bytes: got %d %q, want 413 saying it is too large", len(big), r.status, errorText(r.body))
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", c.csrf)
	_ = mw.WriteField("login", "ada@example.com")
	_ = mw.WriteField("password", big)
	_ = mw.Close()
	r = c.do("POST", "/signin", &body, mw.FormDataContentType(), nil)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("multipart form of %d bytes: got %d %q, want 413", len(big), r.status, errorText(r.body))
	}

	// A small form without its token is still a forgery.
	r = c.post("/signin", url.Values{"csrf": {""}, "login": {"ada@example.com"}, "password": {"x"}})
	if r.status != http.StatusForbidden {
		t.Errorf("form without a CSRF token: got %d, want 403", r.status)
	}
}

// errorText is the error message of a rendered page, for test failures.
func errorText(body string) string {
	if _, after, ok := strings.Cut(body, `role="alert"`); ok {
		if _, msg, ok := strings.Cut(after, ">"); ok {
			msg, _, _ = strings.Cut(msg, "<")
			return strings.TrimSpace(msg)
		}
	}
	return ""
}

// TestErrorsMarkTheirField: a form's error marks only the field it is
// about (aria-invalid, described by the error): a bad email marks the
// email, not the name or the passwords; a wrong sign-in, which cannot say
// which is wrong, marks both.
func TestErrorsMarkTheirField(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/signup")
	r := c.post("/signup", url.Values{"name": {"Ada"}, "login": {"not an address"}, "password": {pw}, "password_confirm": {pw}})
	invalid := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<input[^>]*name="([a-z_]+)"[^>]*aria-invalid="true"`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if got := invalid(r.body); strings.Join(got, " ") != "login" {
		t.Errorf("a bad email marks %q invalid, want only login", got)
	}
	mustContain(t, r.body, `aria-describedby="login-hint form-error"`)
	r = c.post("/signup", url.Values{"name": {"Ada"}, "login": {"ada@example.com"}, "password": {pw}, "password_confirm": {pw + "x"}})
	if got := invalid(r.body); strings.Join(got, " ") != "password_confirm" {
		t.Errorf("a mismatch marks %q invalid, want only password_confirm", got)
	}
	c.signup("ada@example.com", pw)
	c.signout()
	c.get("/signin")
	r = c.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {"wrong"}})
	if got := invalid(r.body); strings.Join(got, " ") != "login password" {
		t.Errorf("a wrong sign-in marks %q invalid, want both", got)
	}
	// The message is in the form's card, after its heading: where the eye
	// is, not above the page.
	card := strings.Index(r.body, `<div class="card narrow">`)
	h1, msg := strings.Index(r.body, "<h1>Sign in</h1>"), strings.Index(r.body, `id="form-error"`)
	if card < 0 || !(card < h1 && h1 < msg) {
		t.Errorf("card at %d, heading at %d, message at %d: want the message after the heading, in the card", card, h1, msg)
	}
}
