// Package e2e_test drives a real countersign-server (SQLite store, outbox for
// mail and SMS, real clock) with a real Chromium: the pages, their forms and
// cookies, the security-key script and the WebAuthn virtual authenticator.
// It is skipped when Chromium is not installed (see package browsertest).
//
// With COUNTERSIGN_SCREENSHOTS=dir set, the sign-in, 2-step and security pages
// are saved as PNGs in dir (they illustrate the README).
package e2e_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/password"
)

const (
	userName     = "Ada Lovelace"
	userLogin    = "ada@example.com"
	userPassword = "Tangerine-Quasar-Lighthouse-1987"
	userPhone    = "+15555550123"
)

// cheap makes password hashing fast; the hashing itself is tested in package
// password.
var cheap = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// site is one countersign-server on a loopback port and one browser tab on it.
type site struct {
	t      *testing.T
	base   string // http://localhost:PORT, so that the WebAuthn RP ID is "localhost"
	outbox *notify.Outbox
	tab    context.Context
	shots  string // where screenshots go; "" for none
}

// newSite starts the server and the browser for t.
func newSite(t *testing.T) *site {
	t.Helper()
	tab := browsertest.Start(t) // first: skips before anything else is built
	in := newInstance(t, "sqlite://"+filepath.Join(t.TempDir(), "countersign.db"), nil)
	in.site.tab, in.site.shots = tab, os.Getenv("COUNTERSIGN_SCREENSHOTS")
	return in.site
}

// nullOrigins passes requests to h and, when the test fails, says how many
// POSTs came with "Origin: null": Chromium sends that for a page served with
// Referrer-Policy: no-referrer, and a CSRF check that wants the site's origin
// then refuses every form ("The form expired").
func nullOrigins(t *testing.T, h http.Handler) http.Handler {
	var n atomic.Int32
	t.Cleanup(func() {
		if t.Failed() && n.Load() > 0 {
			t.Logf("%d POSTs came with Origin: null (the page's Referrer-Policy makes Chromium send it)", n.Load())
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Origin") == "null" {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// testWriter sends the server's warnings and errors to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// open loads path and checks that the page is served with 200.
func (s *site) open(path string) {
	s.t.Helper()
	status, err := browsertest.Open(s.tab, s.base+path)
	if err != nil {
		s.t.Fatal(err)
	}
	if status != http.StatusOK {
		s.t.Fatalf("open %s: status %d", path, status)
	}
}

// submit fills and submits the form and returns the status of the page that
// answers.
func (s *site) submit(form string, fields map[string]string) int {
	s.t.Helper()
	status, err := browsertest.Submit(s.tab, form, fields)
	if err != nil {
		s.t.Fatal(err)
	}
	return status
}

// wantPath fails the test unless the tab is at path.
func (s *site) wantPath(path string) {
	s.t.Helper()
	got, err := browsertest.Path(s.tab)
	if err != nil {
		s.t.Fatal(err)
	}
	if got != path {
		s.t.Fatalf("at %s, want %s (page says: %.300s)", got, path, s.text("main, body"))
	}
}

func (s *site) text(sel string) string {
	s.t.Helper()
	got, err := browsertest.Text(s.tab, sel)
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

func (s *site) count(sel string) int {
	s.t.Helper()
	n, err := browsertest.Count(s.tab, sel)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

// wantCount fails the test unless sel finds n elements.
func (s *site) wantCount(sel string, n int) {
	s.t.Helper()
	if got := s.count(sel); got != n {
		s.t.Fatalf("%s: got %d elements, want %d", sel, got, n)
	}
}

// shot saves a screenshot of the page as name.png when screenshots are asked
// for.
func (s *site) shot(name string) {
	s.t.Helper()
	if s.shots == "" {
		return
	}
	if err := os.MkdirAll(s.shots, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := browsertest.Screenshot(s.tab, filepath.Join(s.shots, name+".png")); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) signUp() {
	s.t.Helper()
	s.open("/signup")
	s.submit("form#signup-form", map[string]string{
		"name": userName, "login": userLogin, "password": userPassword, "password_confirm": userPassword,
	})
	s.wantPath("/account/security")
}

func (s *site) signIn() {
	s.t.Helper()
	s.open("/signin")
	s.submit("form#signin-form", map[string]string{"login": userLogin, "password": userPassword})
}

func (s *site) signOut() {
	s.t.Helper()
	s.submit("form#signout-form", nil)
	s.open("/account/security") // a signed-out browser is sent to sign in
	s.wantPath("/signin")
}

// sixDigits finds a 6-digit code in a message.
var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// enableTwoStep sets up an authenticator app and an SMS backup, turns 2-step
// verification on and returns the authenticator's key. The page asks for a
// code from the authenticator; the code is the current one, so the step it
// belongs to is spent.
func (s *site) enableTwoStep() otp.Key {
	s.t.Helper()

	s.open("/account/two-step/totp")
	s.wantCount("img#totp-qr", 1)
	secret, err := otp.DecodeSecret(strings.Join(strings.Fields(s.text("#totp-secret")), ""))
	if err != nil {
		s.t.Fatalf("#totp-secret: %v", err)
	}
	key := otp.Key{Type: otp.TOTP, Name: userLogin, Secret: secret}
	code, err := otp.Code(key, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	s.submit("form#totp-form", map[string]string{"code": code})

	s.open("/account/two-step/phone")
	s.submit("form#phone-form", map[string]string{"phone": userPhone, "kind": "sms"})
	msg, err := s.outbox.Last(userPhone)
	if err != nil {
		s.t.Fatalf("the SMS code: %v", err)
	}
	smsCode := sixDigits.FindString(msg.Text)
	if smsCode == "" {
		s.t.Fatalf("no 6-digit code in the SMS %q", msg.Text)
	}
	if s.count("form#phone-verify-form") == 0 {
		s.t.Fatal("after sending the SMS code, the page has no form#phone-verify-form")
	}
	s.submit("form#phone-verify-form", map[string]string{"code": smsCode})

	if s.count("form#enable-form") == 0 {
		s.open("/account/two-step")
	}
	s.submit("form#enable-form", nil)
	s.wantCount("#backup-codes li", 10)

	s.open("/account/security")
	if got := s.text("#two-step-status"); got != "On" {
		s.t.Fatalf("#two-step-status: got %q, want On", got)
	}
	s.open("/account/security/sign-in")
	if n := s.count("#methods li"); n < 2 {
		s.t.Fatalf("#methods li: got %d, want the authenticator and the phone", n)
	}
	return key
}

// nextCode is a code the server has not seen yet: the next step's. The
// server takes codes of the previous, current and next step, each once, and
// enableTwoStep spent the current one.
func nextCode(t *testing.T, key otp.Key) string {
	t.Helper()
	code, err := otp.Code(key, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestSignInFlows is the scenario: create an account, enable 2-step
// with an authenticator, sign out, sign in with password and code, trust the
// browser, sign in again without a code; register a security key and sign in
// with it through Chromium's WebAuthn virtual authenticator.
func TestSignInFlows(t *testing.T) {
	start := time.Now()
	s := newSite(t)
	phase := func(name string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), name) }

	s.signUp()
	phase("signed up")
	key := s.enableTwoStep()
	phase("2-step on")
	s.signOut()

	s.signIn()
	s.wantPath("/signin/verify")
	s.wantCount("form#verify-form", 1)
	s.submit("form#verify-form", map[string]string{"code": nextCode(t, key), "remember": "on"})
	s.wantPath("/account/security")
	s.open("/account/security/devices")
	s.wantCount("#browsers li", 1)
	phase("signed in with a code, browser trusted")
	s.signOut()

	s.signIn()
	s.wantPath("/account/security")
	phase("signed in without a code")

	authenticator, err := browsertest.AddVirtualAuthenticator(s.tab)
	if err != nil {
		t.Fatal(err)
	}
	s.open("/account/security/sign-in")
	if err := browsertest.Eval(s.tab, `document.querySelector("#security-key-name").value = "Test key"`, nil); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ClickScript(s.tab, "#add-security-key", "#security-key-error"); err != nil {
		t.Fatal(err)
	}
	s.wantPath("/account/security/sign-in")
	s.wantCount("#security-keys li", 1)
	if got := s.text("#security-keys li"); !strings.Contains(got, "Test key") {
		t.Errorf("#security-keys li: got %q, want the name Test key in it", got)
	}
	if n, err := browsertest.Credentials(s.tab, authenticator); err != nil || n != 1 {
		t.Fatalf("the authenticator holds %d credentials (%v), want 1", n, err)
	}
	s.shot("security")
	phase("security key registered")

	// Forget the browser: removing the trusted device ends its sessions,
	// this one included, so the next sign-in asks for a second step again.
	s.open("/account/security/devices")
	s.submit(`#browsers li form[action$="/remove"]`, nil)
	if got := s.text("#confirm-h"); !strings.HasPrefix(got, "Stop trusting") {
		t.Errorf("removing a browser asks %q", got)
	}
	s.shot("confirm-remove")
	s.submit("form#confirm-form", nil)
	s.open("/account/security")
	s.wantPath("/signin")
	s.shot("signin")

	s.signIn()
	s.wantPath("/signin/verify")
	s.wantCount("button#use-security-key", 1)
	s.shot("verify")
	if err := browsertest.ClickScript(s.tab, "#use-security-key", "#security-key-error"); err != nil {
		t.Fatal(err)
	}
	s.wantPath("/account/security")
	if got := s.text("#two-step-status"); got != "On" {
		t.Errorf("#two-step-status: got %q, want On", got)
	}
	phase("signed in with the security key")
}

// TestWrongCode: a wrong code is refused with an alert and the browser stays
// on the 2-step page, where a right code still works.
func TestWrongCode(t *testing.T) {
	s := newSite(t)
	s.signUp()
	key := s.enableTwoStep()
	s.signOut()

	s.signIn()
	s.wantPath("/signin/verify")
	var valid []string
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second, 60 * time.Second} {
		c, err := otp.Code(key, time.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, c)
	}
	// Five candidates, four valid codes: one candidate is wrong.
	var wrong string
	for _, c := range []string{"123456", "654321", "111111", "999999", "000000"} {
		if !slices.Contains(valid, c) {
			wrong = c
			break
		}
	}
	s.submit("form#verify-form", map[string]string{"code": wrong})
	s.wantPath("/signin/verify")
	// The page has an empty alert box for security-key errors too; the
	// code's error is the one with words in it.
	var alerts []string
	if err := browsertest.Eval(s.tab, `Array.from(document.querySelectorAll("[role=alert]"))
		.map(e => e.textContent.trim()).filter(t => t !== "")`, &alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts) == 0 {
		t.Fatal("a wrong code: no role=alert element with a message")
	}
	t.Logf("a wrong code: the page says %q", alerts)

	s.submit("form#verify-form", map[string]string{"code": nextCode(t, key)})
	s.wantPath("/account/security")
}

// TestTimesInTheViewersZone: the pages' times are in the browser's own time
// zone, named, not in UTC.
func TestTimesInTheViewersZone(t *testing.T) {
	s := newSite(t)
	if err := browsertest.SetTimezone(s.tab, "Asia/Tokyo"); err != nil {
		t.Fatal(err)
	}
	s.signUp()
	s.open("/account/activity")
	var texts []string
	if err := browsertest.Eval(s.tab, `Array.from(document.querySelectorAll('time[data-local]')).map(e => e.textContent)`, &texts); err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 {
		t.Fatal("no times on the activity page")
	}
	for _, got := range texts {
		if strings.Contains(got, "UTC") || !strings.Contains(got, "GMT+9") {
			t.Errorf("a time reads %q, want it in Tokyo's zone (GMT+9)", got)
		}
	}
}
