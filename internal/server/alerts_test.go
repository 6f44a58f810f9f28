package server

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/notify"
)

const firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"

var alertLinkRe = regexp.MustCompile(regexp.QuoteMeta(testURL) + `/alerts/not-me\?t=(\S+)`)

// alertMails are the sign-in alerts in the outbox, oldest first.
func (e *env) alertMails() []notify.Message {
	e.t.Helper()
	msgs, err := e.outbox.Messages()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []notify.Message
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, "New sign-in to your Countersign account") {
			out = append(out, m)
		}
	}
	return out
}

// alertEvents are the account's "signin_alert" stream events.
func (e *env) alertEvents(login string) []api.SignInAlert {
	e.t.Helper()
	evs, err := e.db.ApprovalEvents(context.Background(), e.user(login).ID, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []api.SignInAlert
	for _, ev := range evs {
		if ev.Kind != api.EventSignInAlert {
			continue
		}
		var a api.SignInAlert
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// browserAt is a new client with the user agent ua at ip.
func (e *env) browserAt(ua, ip string) *client {
	c := e.client()
	c.ua, c.ip = ua, ip
	return c
}

// signedIn says whether c's session still opens the settings page.
func (c *client) signedIn() bool {
	c.t.Helper()
	return c.get("/account/security").status == http.StatusOK
}

func TestSignInAlertMail(t *testing.T) {
	e := newEnv(t)
	ada := e.client()
	ada.signup("ada@example.com", pw) // the first sign-in: nothing is new to anyone
	ada.signout()
	steps := []struct {
		name     string
		ua, ip   string
		alerted  bool
		mentions []string
	}{
		{"the same browser again", chromeUA, "192.0.2.10", false, nil},
		{"a new browser", firefoxUA, "192.0.2.10", true, []string{"Firefox 133 on Windows 10", "from a browser it has not used before",
			"IP address is 192.0.2.10", "Sunday 22 November 2026, 12:00 UTC", "This wasn't me", "If it wasn't you, open this link"}},
		{"that browser again", firefoxUA, "192.0.2.10", false, nil},
		{"a new address of the same network", chromeUA, "192.0.2.77", false, nil},
		{"a new network", chromeUA, "198.51.100.7", true, []string{"Chrome 131 on Linux", "from a place it has not used before", "IP address is 198.51.100.7"}},
		{"a new IPv6 /48", chromeUA, "2001:db8:1:2::5", true, []string{"IP address is 2001:db8:1:2::5"}},
		{"the same IPv6 /48", chromeUA, "2001:db8:1:ffff::9", false, nil},
	}
	want := 0
	for _, s := range steps {
		c := e.browserAt(s.ua, s.ip)
		if r := c.signin("ada@example.com", pw); r.status != http.StatusSeeOther {
			t.Fatalf("%s: sign-in answered %d", s.name, r.status)
		}
		if s.alerted {
			want++
		}
		got := e.alertMails()
		if len(got) != want {
			t.Fatalf("%s: %d alert mails, want %d", s.name, len(got), want)
		}
		if !s.alerted {
			continue
		}
		m := got[len(got)-1]
		if m.To != "ada@example.com" {
			t.Errorf("%s: the alert went to %q", s.name, m.To)
		}
		mustContain(t, m.Text, s.mentions...)
		if !alertLinkRe.MatchString(m.Text) {
			t.Errorf("%s: no link in the mail:\n%s", s.name, m.Text)
		}
	}
	if n := len(e.alertEvents("ada@example.com")); n != want {
		t.Errorf("%d desktop alert events, want %d", n, want)
	}
}

func TestSignInAlertGeoIP(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.GeoIP = fakeLocator{"203.0.113.9": "Paris, France", "198.51.100.7": "Paris, France"}
	})
	e.client().signup("ada@example.com", pw)
	e.browserAt(chromeUA, "198.51.100.7").signin("ada@example.com", pw) // a new address in a place known by name
	if n := len(e.alertMails()); n != 1 {
		t.Fatalf("%d alert mails after a sign-in from Paris, want 1", n)
	}
	mustContain(t, e.alertMails()[0].Text, "Place:   Paris, France (IP address 198.51.100.7)")
	e.browserAt(chromeUA, "203.0.113.9").signin("ada@example.com", pw) // another network, the same place
	if n := len(e.alertMails()); n != 1 {
		t.Errorf("%d alert mails after a second network in Paris, want still 1", n)
	}
}

type fakeLocator map[string]string

func (f fakeLocator) Place(ip string) string {
	if p, ok := f[ip]; ok {
		return p
	}
	return "Unknown place"
}

func TestSignInAlertChannels(t *testing.T) {
	e := newEnv(t)
	ada := e.client()
	ada.signup("ada@example.com", pw)
	page := ada.get("/account/security/sign-in")
	mustContain(t, sectionOf(page.body, "alerts"), `id="alerts-mail" name="mail" value="1" checked`, `id="alerts-desktop" name="desktop" value="1" checked`)

	for i, c := range []struct {
		form             url.Values
		mails, events    int
		wantMail, wantDT bool
	}{
		{url.Values{"desktop": {"1"}}, 0, 1, false, true},
		{url.Values{"mail": {"1"}}, 1, 1, true, false},
		{url.Values{}, 1, 1, false, false},
	} {
		ada.get("/account/security")
		r := ada.submit("/account/alerts", c.form)
		card := sectionOf(r.body, "alerts")
		mustContain(t, card, "Sign-in alerts: by mail") // the message in its card
		if strings.Contains(card, `name="mail" value="1" checked`) != c.wantMail || strings.Contains(card, `name="desktop" value="1" checked`) != c.wantDT {
			t.Errorf("after %v the card shows %s", c.form, card)
		}
		// A new browser each time.
		e.browserAt(chromeUA, fmt.Sprintf("198.51.%d.7", i)).signin("ada@example.com", pw)
		e.clock.Advance(time.Second)
		if got := len(e.alertMails()); got != c.mails {
			t.Errorf("after %v: %d alert mails, want %d", c.form, got, c.mails)
		}
		if got := len(e.alertEvents("ada@example.com")); got != c.events {
			t.Errorf("after %v: %d desktop events, want %d", c.form, got, c.events)
		}
	}
}

func TestAlertSettingsNeedCSRF(t *testing.T) {
	e := newEnv(t)
	ada := e.client()
	ada.signup("ada@example.com", pw)
	if r := ada.post("/account/alerts", url.Values{"csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("alert settings without CSRF: %d, want 403", r.status)
	}
	if s, _ := e.db.AlertSettings(context.Background(), e.user("ada@example.com").ID); !s.Mail || !s.Desktop {
		t.Errorf("a refused post changed the settings: %+v", s)
	}
}

// alertLink is the token of the newest alert mail.
func (e *env) alertLink() string {
	e.t.Helper()
	ms := e.alertMails()
	if len(ms) == 0 {
		e.t.Fatal("no alert mail")
	}
	m := alertLinkRe.FindStringSubmatch(ms[len(ms)-1].Text)
	if m == nil {
		e.t.Fatalf("no link in %s", ms[len(ms)-1].Text)
	}
	return m[1]
}

func TestNotMeLink(t *testing.T) {
	e := newEnv(t)
	app, secret := registerApp(t, e, "openid", "email")
	ada := e.client()
	ada.signup("ada@example.com", pw)

	// Someone else signs in from a new browser and lets an app in.
	mallory := e.browserAt(firefoxUA, "203.0.113.50")
	start := authorizeURL(app.ID, "openid email")
	r := signInVia(t, mallory, mallory.get(start), "ada@example.com")
	req := consentRequest(t, mallory.get(r.loc))
	code := redirectedTo(t, mallory.post("/oauth/consent", url.Values{"request": {req}, "decision": {"allow"}})).Get("code")
	tok := e.tokenRequest(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect}, "code_verifier": {appVerifier}}, app.ID, secret)
	var tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &tokens); err != nil || tokens.AccessToken == "" || tokens.RefreshToken == "" {
		t.Fatalf("token answer %d %s", tok.status, tok.body)
	}
	userinfo := func() int {
		return e.client().do("GET", "/oauth/userinfo", nil, "", http.Header{"Authorization": {"Bearer " + tokens.AccessToken}}).status
	}
	if got := userinfo(); got != http.StatusOK {
		t.Fatalf("userinfo before: %d", got)
	}
	link := e.alertLink()

	// A mail scanner, then Ada (signed out, elsewhere), opens the link:
	// nothing happens but a page with one button.
	for range 2 {
		page := e.browserAt(chromeUA, "192.0.2.200").get("/alerts/not-me?t=" + url.QueryEscape(link))
		if page.status != http.StatusOK {
			t.Fatalf("the link's page: %d %s", page.status, page.body)
		}
		mustContain(t, page.body, "Firefox 133 on Windows 10", "203.0.113.50", `id="not-me-confirm"`, `name="csrf"`, `name="t" value="`)
	}
	if !mallory.signedIn() || userinfo() != http.StatusOK {
		t.Fatal("opening the link (GET) ended the session or its tokens")
	}

	// Without the CSRF field the token alone is refused.
	victim := e.browserAt(chromeUA, "192.0.2.200")
	victim.get("/alerts/not-me?t=" + url.QueryEscape(link))
	if r := victim.post("/alerts/not-me", url.Values{"t": {link}, "csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d, want 403", r.status)
	}
	if !mallory.signedIn() {
		t.Fatal("a POST without CSRF ended the session")
	}

	// The button: the session and its app's tokens end.
	done := victim.post("/alerts/not-me", url.Values{"t": {link}})
	if done.status != http.StatusOK {
		t.Fatalf("POST: %d %s", done.status, done.body)
	}
	mustContain(t, done.body, "is signed out of your account", "Photo Prints", "Mail me a link to change my password")
	if mallory.signedIn() {
		t.Error("the session is still signed in")
	}
	if got := userinfo(); got != http.StatusUnauthorized {
		t.Errorf("userinfo with the session's access token: %d, want 401", got)
	}
	refresh := e.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens.RefreshToken}}, app.ID, secret)
	if refresh.status == http.StatusOK {
		t.Errorf("the session's refresh token still works: %s", refresh.body)
	}
	if !ada.signedIn() {
		t.Error("Ada's own session ended too")
	}
	act := ada.get("/account/activity").body
	mustContain(t, act, "Sign-in reported as not you", "Sign-in alert sent")

	// The password: a reset link goes to the account's own address.
	sent := victim.post("/alerts/not-me/password", url.Values{"t": {link}})
	mustContain(t, sent.body, "a link to choose a new password")
	if m, err := e.outbox.Last("ada@example.com"); err != nil || m.Subject != "Reset your Countersign password" {
		t.Errorf("last mail to Ada: %q, %v; want the reset link", m.Subject, err)
	}

	// Again: used.
	again := victim.post("/alerts/not-me", url.Values{"t": {link}})
	if again.status != http.StatusGone {
		t.Errorf("second POST: %d, want 410", again.status)
	}
	mustContain(t, again.body, "This link was used already")
	if page := victim.get("/alerts/not-me?t=" + url.QueryEscape(link)); page.status != http.StatusGone || !strings.Contains(page.body, "used already") {
		t.Errorf("the page of a used link: %d", page.status)
	}

	// Changed: refused.
	for _, bad := range []string{link[:len(link)-2] + "xx", "nope", strings.Replace(link, ".", ".9", 1)} {
		if r := victim.get("/alerts/not-me?t=" + url.QueryEscape(bad)); r.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(r.body), "This link is not complete, or it was changed") {
			t.Errorf("a changed link %q: %d", bad, r.status)
		}
	}
}

func TestNotMeLinkExpires(t *testing.T) {
	e := newEnv(t)
	e.client().signup("ada@example.com", pw)
	mallory := e.browserAt(firefoxUA, "203.0.113.50")
	mallory.signin("ada@example.com", pw)
	link := e.alertLink()
	e.clock.Advance(alertLifetime + time.Second)
	v := e.browserAt(chromeUA, "192.0.2.200")
	page := v.get("/alerts/not-me?t=" + url.QueryEscape(link))
	if page.status != http.StatusGone || !strings.Contains(page.body, "This link no longer works") {
		t.Errorf("an expired link's page: %d %s", page.status, page.body)
	}
	if r := v.post("/alerts/not-me", url.Values{"t": {link}}); r.status != http.StatusGone {
		t.Errorf("POST of an expired link: %d, want 410", r.status)
	}
}
