package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/server/webtest"
)

var alertLink = regexp.MustCompile(`/alerts/not-me\?t=\S+`)

// signInElsewhere signs in to the account from another browser (Firefox on
// Windows, which the account has not used) and returns it with the path of
// the alert's link, as mailed.
func (s *site) signInElsewhere() (*webtest.Client, string) {
	s.t.Helper()
	b := webtest.New(s.t, s.base)
	b.UserAgent = webtest.FirefoxWindows
	res := b.Post("/signin", "/signin", url.Values{"login": {userLogin}, "password": {userPassword}})
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("the other browser's sign-in: %d", res.StatusCode)
	}
	// The mail goes out after the answer.
	var msg notify.Message
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if msg, err = s.outbox.Last(userLogin); err == nil && strings.HasPrefix(msg.Subject, "New sign-in to your Countersign account") {
			break
		}
	}
	if err != nil || !strings.HasPrefix(msg.Subject, "New sign-in to your Countersign account") {
		s.t.Fatalf("the last mail to %s is %q (%v), want a sign-in alert", userLogin, msg.Subject, err)
	}
	link := alertLink.FindString(msg.Text)
	if link == "" {
		s.t.Fatalf("no link in the alert:\n%s", msg.Text)
	}
	return b, link
}

// TestNotMeInTheBrowser: the alert's link opened in Chromium by someone
// signed out shows what will happen; the button signs the other browser
// out and offers a reset link by mail.
func TestNotMeInTheBrowser(t *testing.T) {
	s := newSite(t)
	s.signUp()
	s.signOut()
	other, link := s.signInElsewhere()
	signedIn := func() bool {
		res, _ := other.Do(context.Background(), http.MethodGet, "/account/security", nil)
		return res.StatusCode == http.StatusOK
	}
	if !signedIn() {
		t.Fatal("the other browser is not signed in")
	}

	s.open(link)
	if got := s.text("#not-me-browser"); got != "Firefox 133 on Windows 10" {
		t.Errorf("the page names %q", got)
	}
	if !signedIn() {
		t.Fatal("opening the link signed the other browser out")
	}
	if status := s.submit("form#not-me-form", nil); status != http.StatusOK {
		t.Fatalf("This wasn't me: status %d (%s)", status, s.text("main, body"))
	}
	if got := s.text("#not-me-result"); !strings.Contains(got, "Firefox 133 on Windows 10 is signed out of your account") {
		t.Errorf("the page says %q", got)
	}
	if signedIn() {
		t.Error("the other browser is still signed in")
	}
	if status := s.submit("form#not-me-password-form", nil); status != http.StatusOK {
		t.Fatalf("the password button: status %d", status)
	}
	// The reset mail goes out after the answer, from the background queue.
	s.waitFor("the reset mail", 10*time.Second, func() (bool, string) {
		msg, err := s.outbox.Last(userLogin)
		return err == nil && msg.Subject == "Reset your Countersign password", msg.Subject
	})

	// The link again: used.
	if status, err := browsertest.Open(s.tab, s.base+link); err != nil || status != http.StatusGone {
		t.Errorf("the used link: %d %v, want 410", status, err)
	}
	if got := s.text("#not-me-result"); !strings.Contains(got, "signed Firefox 133 on Windows 10 out") {
		t.Errorf("the used link's page says %q", got)
	}
}
