package server

import (
	"net/url"
	"strings"
	"testing"
)

// Login & security is an overview and sections, each at its own address
// with the same navigation, and each card on one section only.
func TestSections(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	seen := map[string]string{} // card id → the section it is on
	for _, sec := range sections {
		r := c.get(sec.Path)
		if r.status != 200 {
			t.Fatalf("GET %s: %d", sec.Path, r.status)
		}
		nav := r.body[strings.Index(r.body, `<nav class="sections"`):]
		nav = nav[:strings.Index(nav, "</nav>")]
		if n := strings.Count(nav, `aria-current="page"`); n != 1 {
			t.Errorf("%s: %d links marked current, want 1", sec.Path, n)
		}
		mustContain(t, nav, `<a href="`+sec.Path+`" aria-current="page">`)
		for _, other := range sections {
			mustContain(t, nav, `href="`+other.Path+`"`)
		}
		if sec.Page == "activity" {
			continue
		}
		rest := r.body
		for {
			i := strings.Index(rest, `<section id="`)
			if i < 0 {
				break
			}
			rest = rest[i+len(`<section id="`):]
			id := rest[:strings.Index(rest, `"`)]
			if was, ok := seen[id]; ok {
				t.Errorf("the card %q is on %s and on %s", id, was, sec.Path)
			}
			seen[id] = sec.Path
			if want, ok := cardSection[id]; ok && want != sec.Path {
				t.Errorf("the card %q is on %s; forms send their answers to %s", id, sec.Path, want)
			}
		}
	}
	for id, want := range cardSection {
		if seen[id] != want {
			t.Errorf("the card %q: forms answer at %s, but it is on %q", id, want, seen[id])
		}
	}

	// The overview asks for two-step verification while it is off.
	r := c.get("/account/security")
	mustContain(t, sectionOf(r.body, "attention"), "Two-step verification is off", `href="/account/security/sign-in#two-step"`)

	// A form's message is in the card the form is on, not at the top.
	r = c.submit("/account/household/members", url.Values{"name": {"Sam"}})
	mustContain(t, sectionOf(r.body, "household"), `<p class="flash" role="status">Sam is in the household.`)
	if strings.Count(r.body, `class="flash"`) != 1 {
		t.Error("the message is shown more than once")
	}
}

// With two-step on and backup codes kept, nothing needs attention; with
// few codes left, the overview says so.
func TestOverviewAttention(t *testing.T) {
	e := newEnv(t)
	c, _, codes := twoStepUser(t, e)
	signIn := func(code string) {
		c.signout()
		c.signin("ada@example.com", pw)
		c.get("/signin/verify")
		c.submit("/signin/verify", url.Values{"method": {"backup"}, "code": {code}})
	}
	signIn(codes[0])
	mustContain(t, sectionOf(c.get("/account/security").body, "attention"), `id="all-good"`)
	for _, code := range codes[1:8] {
		signIn(code)
	}
	mustContain(t, sectionOf(c.get("/account/security").body, "attention"), "Only 2 of your backup codes are left.", `href="/account/security/sign-in#backup"`)
}
