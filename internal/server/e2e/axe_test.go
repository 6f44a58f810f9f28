package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/browsertest"
)

// axeFile is axe-core, which make deps installs with npm ci.
var axeFile = filepath.Join("testdata", "axe", "node_modules", "axe-core", "axe.min.js")

// readmeShots are the pages the README shows, by the name of their
// picture: make screenshots has TestAccessibility draw them, light as
// server-NAME.png and dark as server-NAME-dark.png.
var readmeShots = map[string]string{
	"/signin":                     "signin",
	"/signin/verify":              "verify",
	"/account/security":           "security",
	"/account/security/sign-in":   "sign-in",
	"/account/security/devices":   "devices",
	"/account/security/household": "household",
}

// TestAccessibility runs axe-core over every page a person meets, signed
// out, signed in and at the second step, in light, dark and at a phone's
// size, in Chromium: no serious or critical finding.
func TestAccessibility(t *testing.T) {
	src, err := os.ReadFile(axeFile)
	if err != nil {
		msg := fmt.Sprintf("needs axe-core in %s (make deps runs npm ci there): %v", filepath.Dir(filepath.Dir(axeFile)), err)
		if os.Getenv("COUNTERSIGN_TEST_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := newSite(t)
	type mode struct {
		name          string
		scheme        string
		width, height int64
		mobile        bool
	}
	modes := []mode{{"light", "light", 1280, 800, false}, {"dark", "dark", 1280, 800, false}, {"phone", "light", 390, 844, true}}
	checked := 0
	check := func(path string) {
		t.Helper()
		for _, m := range modes {
			if err := browsertest.SetColorScheme(s.tab, m.scheme); err != nil {
				t.Fatal(err)
			}
			if err := browsertest.SetViewport(s.tab, m.width, m.height, m.mobile); err != nil {
				t.Fatal(err)
			}
			status, err := browsertest.Open(s.tab, s.base+path)
			if err != nil || status >= 500 {
				t.Fatalf("%s: %d %v", path, status, err)
			}
			if err := browsertest.Eval(s.tab, string(src)+";0", nil); err != nil {
				t.Fatalf("loading axe-core: %v", err)
			}
			var found []struct {
				ID, Impact, Help string
				Nodes            []struct{ Target []string }
			}
			err = browsertest.Eval(s.tab, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>
				({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => ({target: n.target}))})))`, &found)
			if err != nil {
				t.Fatalf("%s (%s): axe: %v", path, m.name, err)
			}
			checked++
			if name, ok := readmeShots[path]; ok && m.name != "phone" {
				suffix := ""
				if m.name == "dark" {
					suffix = "-dark"
				}
				s.shot("server-" + name + suffix)
			}
			for _, v := range found {
				if v.Impact != "serious" && v.Impact != "critical" {
					continue
				}
				var where []string
				for _, n := range v.Nodes {
					where = append(where, strings.Join(n.Target, " "))
				}
				t.Errorf("%s (%s): %s %s: %s at %s", path, m.name, v.Impact, v.ID, v.Help, strings.Join(where, ", "))
			}
		}
	}

	for _, p := range []string{"/signin", "/signup", "/password/forgot", "/password/reset?token=no-such-link", "/no-such-page"} {
		check(p)
	}
	s.signUp()
	_, link := s.signInElsewhere() // before two-step: the password alone signs in
	s.enableTwoStep()
	s.createPasskey("Laptop") // the Passkeys card with one to remove
	s.open("/account/security/household")
	s.submit("form#member-add-form", map[string]string{"name": "Sam"})
	for _, p := range []string{"/account/security", "/account/security/sign-in", "/account/security/devices",
		"/account/security/apps", "/account/security/household", "/account/activity", "/account/password", "/account/two-step",
		"/account/two-step/totp", "/account/two-step/phone", "/account/approvers/pair", "/developer/apps"} {
		check(p)
	}
	s.signOut()
	for _, p := range []string{link, "/alerts/not-me?t=not-a-link"} { // a sign-in alert's link, signed out
		check(p)
	}
	s.signIn()
	s.wantPath("/signin/verify")
	for _, p := range []string{"/signin/verify", "/signin/verify?method=sms", "/signin/verify?method=backup"} {
		check(p)
	}
	t.Logf("%d page views checked", checked)
}
