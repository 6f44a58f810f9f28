package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/otp"
)

// TestKeyboardOnly signs in and removes something with the keyboard alone,
// in Chromium: the sign-in form (type, Tab, Enter), the second step (the
// code, Enter), and on Login & security Tab to "Sign out everywhere else",
// Enter, and on the confirmation Tab to its button and Enter. Then a passkey:
// Tab to its name, type, Tab to "Create a passkey", Enter; signed out, Tab
// from the login field to "Sign in with a passkey", Enter.
func TestKeyboardOnly(t *testing.T) {
	s := newSite(t)
	s.signUp()
	key := s.enableTwoStep()
	s.signOut()

	press := func(keys string) {
		t.Helper()
		if err := browsertest.Keys(s.tab, keys); err != nil {
			t.Fatal(err)
		}
	}
	active := func() string {
		t.Helper()
		a, err := browsertest.Active(s.tab)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// tabTo presses Tab until the focus is on want, at most 80 times.
	tabTo := func(want string) {
		t.Helper()
		for range 80 {
			if active() == want {
				return
			}
			press(kb.Tab)
		}
		t.Fatalf("Tab never reached %q", want)
	}
	arrive := func(path string) {
		t.Helper()
		s.waitFor("arriving at "+path, 5*time.Second, func() (bool, string) {
			p, err := browsertest.Path(s.tab)
			return err == nil && p == path, p
		})
	}

	s.open("/signin")
	// autofocus applies once the page has rendered, a moment after load.
	s.waitFor("the login field focused", 3*time.Second, func() (bool, string) {
		got, err := browsertest.Active(s.tab)
		return err == nil && got == "login", got
	})
	press(userLogin)
	press(kb.Tab)
	if got := active(); got != "password" {
		t.Fatalf("Tab from the login went to %q, want the password", got)
	}
	press(userPassword + kb.Enter)
	arrive("/signin/verify")

	tabTo("code")
	code, err := otp.Code(key, time.Now().Add(30*time.Second)) // the step after the one enabling spent
	if err != nil {
		t.Fatal(err)
	}
	press(code + kb.Enter)
	arrive("/account/security")

	tabTo("Devices") // the sections' navigation
	press(kb.Enter)
	arrive("/account/security/devices")
	tabTo("signout-others") // "Sign out everywhere else"
	press(kb.Enter)
	s.waitFor("the confirmation", 5*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#confirm-h")
		return err == nil && got == "Sign out everywhere else?", got
	})
	tabTo("confirm-button")
	press(kb.Enter)
	arrive("/account/security/devices")
	if got := s.text("main"); !strings.Contains(got, "You were signed in nowhere else.") {
		t.Errorf("after the removal the page says: %.300s", got)
	}

	if _, err := browsertest.AddVirtualAuthenticator(s.tab); err != nil {
		t.Fatal(err)
	}
	tabTo("Sign-in & two-step") // the sections' navigation
	press(kb.Enter)
	arrive("/account/security/sign-in")
	tabTo("passkey-name")
	press("Keyboard passkey")
	tabTo("create-passkey")
	press(kb.Enter)
	s.waitFor("the passkey listed", 5*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#passkeys")
		return err == nil && strings.Contains(got, "Keyboard passkey"), got
	})
	s.signOut()
	s.waitFor("the login field focused", 3*time.Second, func() (bool, string) {
		got, err := browsertest.Active(s.tab)
		return err == nil && got == "login", got
	})
	tabTo("signin-passkey")
	press(kb.Enter)
	arrive("/account/security")
}
