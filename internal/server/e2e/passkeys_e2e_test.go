package e2e_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/countersign/countersign/internal/browsertest"
)

// conditionalAvailable stands in for a browser that offers passkeys in the
// login field's autofill: headless Chromium answers false to
// isConditionalMediationAvailable, and asks for no choice when it runs
// a conditional request anyway (with a virtual authenticator, it takes the
// one passkey it holds, as a person picking it from the autofill would).
const conditionalAvailable = `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(true);`

// conditionalPending is conditionalAvailable where the autofill waits for a
// choice that never comes, until its request is aborted, which it notes in
// sessionStorage (that outlives the page).
const conditionalPending = conditionalAvailable + `
const get = navigator.credentials.get.bind(navigator.credentials);
navigator.credentials.get = (o) => {
	if (!o || o.mediation !== 'conditional') {
		return get(o);
	}
	sessionStorage.setItem('conditional', 'pending');
	return new Promise((_, reject) => o.signal.addEventListener('abort', () => {
		sessionStorage.setItem('conditional', 'aborted');
		reject(new DOMException('aborted', 'AbortError'));
	}));
};`

// withScript runs src in every page the tab opens until the returned
// function is called.
func (s *site) withScript(src string) func() {
	s.t.Helper()
	res, err := chromedp.Call(s.tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
	if err != nil {
		s.t.Fatal(err)
	}
	return func() {
		s.t.Helper()
		if _, err := chromedp.Call(s.tab, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams(res)); err != nil {
			s.t.Fatal(err)
		}
	}
}

// waitPath waits until the tab is at path.
func (s *site) waitPath(path string) {
	s.t.Helper()
	deadline := time.Now().Add(browsertest.Timeout)
	for {
		got, err := browsertest.Path(s.tab)
		if err == nil && got == path {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("at %s (%v), want %s", got, err, path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createPasskey adds a virtual authenticator to the tab and creates a
// passkey named name on the security page with it; it returns the
// authenticator's id.
func (s *site) createPasskey(name string) string {
	s.t.Helper()
	authenticator, err := browsertest.AddVirtualAuthenticator(s.tab)
	if err != nil {
		s.t.Fatal(err)
	}
	s.open("/account/security/sign-in")
	if err := browsertest.Eval(s.tab, `document.querySelector("#passkey-name").value = `+strconv.Quote(name), nil); err != nil {
		s.t.Fatal(err)
	}
	if err := browsertest.ClickScript(s.tab, "#create-passkey", "#passkey-error"); err != nil {
		s.t.Fatal(err)
	}
	s.wantPath("/account/security/sign-in")
	return authenticator
}

// TestPasskeys: with 2-step verification on, create a passkey on the
// security page (Chromium's virtual authenticator: resident keys, user
// verification), sign out, and sign in with "Sign in with a passkey"
// without typing an email: straight to the account, no second step. Then
// the login field's autofill (conditional mediation) signs in on its own;
// the button aborts an autofill request still waiting. Removing the passkey
// asks first, and a removed passkey no longer signs in.
func TestPasskeys(t *testing.T) {
	s := newSite(t)
	s.signUp()
	s.enableTwoStep()
	authenticator := s.createPasskey("Test passkey")
	s.wantCount("#passkeys li", 1)
	if got := s.text("#passkeys li"); !strings.Contains(got, "Test passkey") {
		t.Errorf("#passkeys li: got %q, want the name Test passkey in it", got)
	}
	s.wantCount("#security-keys li", 0)
	if n, err := browsertest.Credentials(s.tab, authenticator); err != nil || n != 1 {
		t.Fatalf("the authenticator holds %d credentials (%v), want 1", n, err)
	}
	s.shot("passkeys")

	// The button, no email typed.
	s.signOut()
	s.wantCount(`input#login[autocomplete="username webauthn"]`, 1)
	if err := browsertest.ClickScript(s.tab, "#signin-passkey", "#passkey-signin-error"); err != nil {
		t.Fatal(err)
	}
	s.wantPath("/account/security")
	if got := s.text("#two-step-status"); got != "On" {
		t.Errorf("#two-step-status: got %q, want On", got)
	}
	if got := s.text("#activity"); !strings.Contains(got, "Signed in: Passkey “Test passkey”") {
		t.Errorf("the activity does not show the passkey sign-in: %q", got)
	}

	// The login field's autofill.
	s.signOut()
	stop := s.withScript(conditionalAvailable)
	s.open("/signin")
	s.waitPath("/account/security")
	stop()

	// The button while the autofill waits.
	s.signOut()
	stop = s.withScript(conditionalPending)
	s.open("/signin")
	if err := browsertest.ClickScript(s.tab, "#signin-passkey", "#passkey-signin-error"); err != nil {
		t.Fatal(err)
	}
	s.wantPath("/account/security")
	var state string
	if err := browsertest.Eval(s.tab, `sessionStorage.getItem('conditional')`, &state); err != nil || state != "aborted" {
		t.Errorf("the autofill's request: %q (%v), want aborted by the button", state, err)
	}
	stop()

	// Removing asks, naming the passkey.
	s.open("/account/security/sign-in")
	s.submit(`#passkeys li form[action$="/remove"]`, nil)
	if got := s.text("#confirm-h"); got != "Remove the passkey “Test passkey”?" {
		t.Errorf("removing a passkey asks %q", got)
	}
	s.submit("form#confirm-form", nil)
	s.wantPath("/account/security/sign-in")
	s.wantCount("#passkeys li", 0)

	// The authenticator still offers it; the server no longer takes it.
	s.signOut()
	err := browsertest.ClickScript(s.tab, "#signin-passkey", "#passkey-signin-error")
	if err == nil || !strings.Contains(err.Error(), "That passkey was not accepted") {
		t.Errorf("signing in with a removed passkey: %v", err)
	}
	s.wantPath("/signin")
}
