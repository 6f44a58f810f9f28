package server

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
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
