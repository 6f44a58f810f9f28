package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/countersign/countersign/internal/store"
)

func TestSignOutEverywhereElse(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	others := []*client{e.client(), e.client()}
	for _, o := range others {
		o.ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
		o.signin("ada@example.com", pw)
	}
	r := c.sections()
	if n := strings.Count(sectionOf(r.body, "browsers"), "<li>"); n != 3 {
		t.Errorf("%d sessions listed, want 3", n)
	}
	mustContain(t, sectionOf(r.body, "browsers"), "this browser", "Firefox 133", `id="signout-others"`)
	r = c.submit("/account/sessions/others", url.Values{"confirm": {"1"}})
	mustContain(t, r.body, "Signed out of 2 other sessions.")
	for _, o := range others {
		if r := o.get("/account/security"); r.status != http.StatusSeeOther {
			t.Errorf("another session survived: %d", r.status)
		}
	}
	if r := c.get("/account/security"); r.status != http.StatusOK {
		t.Errorf("this session ended: %d", r.status)
	}

	// One session at a time, and only one's own.
	o := e.client()
	o.signin("ada@example.com", pw)
	u := e.user("ada@example.com")
	ss, _ := e.db.Sessions(context.Background(), u.ID, e.clock.Now())
	var otherID string
	for _, s := range ss {
		if s.ID != sessionID(c.cookie(sessionCookie)) {
			otherID = s.ID
		}
	}
	mallory := e.client()
	mallory.signup("mallory@example.com", pw)
	if r := mallory.post("/account/sessions/"+otherID+"/revoke", nil); r.status != http.StatusNotFound {
		t.Errorf("revoking someone else's session: %d", r.status)
	}
	c.get("/account/security")
	if r := c.post("/account/sessions/"+otherID+"/revoke", url.Values{"confirm": {"1"}}); r.status != http.StatusSeeOther {
		t.Errorf("revoke: %d", r.status)
	}
	if r := o.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("the revoked session survived: %d", r.status)
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 5)
	if acts[0].Kind != store.ActSessionRevoked {
		t.Errorf("activity %+v", acts[0])
	}
}

func TestDevicesRename(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	e.clock.Advance(30e9)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	c.submit("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}, "remember": {"1"}})
	u := e.user("ada@example.com")
	devs, _ := e.db.Devices(context.Background(), u.ID)
	r := c.submit("/account/devices/"+devs[0].ID+"/rename", url.Values{"name": {"Work laptop"}})
	// Controls with the same words have names of their own for screen
	// readers: "Rename Work laptop", not one more "Rename".
	mustContain(t, sectionOf(r.body, "browsers"), "Work laptop", `aria-label="Rename Work laptop">Rename…</a>`, `aria-label="Remove Work laptop">Remove</button>`)
	mustContain(t, sectionOf(c.get("/account/security/household").body, "household"), `aria-label="Rename `+html.EscapeString(u.Name)+`">Rename…</a>`)
	// Renaming is an action with a page of its own, not a form on every row.
	if strings.Contains(sectionOf(r.body, "browsers"), `name="name"`) {
		t.Error("the devices list shows rename forms")
	}
	page := c.get("/account/devices/" + devs[0].ID + "/rename")
	mustContain(t, html.UnescapeString(page.body), "Rename “Work laptop”", `id="edit-form"`, `action="/account/devices/`+devs[0].ID+`/rename"`, `value="Work laptop"`)
	r = c.refused(c.post("/account/devices/"+devs[0].ID+"/rename", url.Values{"name": {"Work\u202e"}}), "/account/devices/"+devs[0].ID+"/rename")
	// The page says what was wrong at the field, keeping what was typed.
	mustContain(t, r.body, `value="Work`+"\u202e"+`" aria-describedby="form-error" aria-invalid="true"`)
	// Removing this browser's own device signs it out.
	r = c.post("/account/devices/"+devs[0].ID+"/remove", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/signin" {
		t.Errorf("removing this browser: %d %q", r.status, r.loc)
	}
	if c.cookie(deviceCookie) != "" {
		t.Error("the device cookie is still set")
	}
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	r := c.submit("/account/api-tokens", url.Values{"name": {"backup script"}, "scope": {"write"}})
	m := regexp.MustCompile(`<code id="new-api-token">(cs_[A-Za-z0-9_-]{43})</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no token shown: %d %s", r.status, r.body)
	}
	h := sha256.Sum256([]byte(m[1]))
	tok, err := e.db.APITokenByHash(context.Background(), h[:])
	if err != nil {
		t.Fatal(err)
	}
	// Post/Redirect/Get: reloading the page shows the token no more and
	// makes no other.
	if again := c.sections(); strings.Contains(again.body, `id="new-api-token"`) {
		t.Error("the token is shown again on reload")
	}
	if ts, _ := e.db.APITokens(context.Background(), e.user("ada@example.com").ID); len(ts) != 1 {
		t.Errorf("%d tokens after a reload, want 1", len(ts))
	}
	if tok.Name != "backup script" || strings.Join(tok.Scopes, ",") != "read,write" {
		t.Errorf("token = %+v", tok)
	}
	// Shown once.
	if r := c.sections(); strings.Contains(r.body, m[1]) {
		t.Error("the token is shown again")
	}
	r = c.refused(c.post("/account/api-tokens", url.Values{"name": {"x"}, "scope": {"admin"}}), "/account/security/apps#api-tokens")
	mustContain(t, sectionOf(r.body, "api-tokens"), "Choose what the token may do.")
	r = c.submit("/account/api-tokens/"+tok.ID+"/revoke", url.Values{"confirm": {"1"}})
	mustContain(t, r.body, "is revoked")
	if tok, _ := e.db.APITokenByHash(context.Background(), h[:]); tok.RevokedAt.IsZero() {
		t.Error("not revoked")
	}
}

func TestActivityPaging(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	for range 30 {
		e.clock.Advance(10e9) // under the rate limits
		c.signout()
		c.signin("ada@example.com", pw)
	}
	r := c.sections()
	if n := strings.Count(sectionOf(r.body, "activity"), "<li class="); n != activityPageSize {
		t.Errorf("%d recent events, want %d", n, activityPageSize)
	}
	r = c.get("/account/activity")
	if n := strings.Count(r.body, "<li class="); n != 50 {
		t.Errorf("%d events on the first page, want 50", n)
	}
	older := regexp.MustCompile(`href="/account/activity\?before=(\d+)"`).FindStringSubmatch(r.body)
	if older == nil {
		t.Fatal("no link to older activity")
	}
	r = c.get("/account/activity?before=" + older[1])
	if n := strings.Count(r.body, "<li class="); n != 11 { // 61 events: created, 30 × (out, in)
		t.Errorf("%d events on the second page, want 11", n)
	}
	if r := c.get("/account/activity?before=x"); r.status != http.StatusBadRequest {
		t.Errorf("bad before: %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, path := range []string{"/signin", "/static/style.css", "/healthz", "/nowhere"} {
		r := c.get(path)
		for k, want := range map[string]string{
			"Content-Security-Policy":    csp,
			"X-Content-Type-Options":     "nosniff",
			"Referrer-Policy":            "same-origin",
			"X-Frame-Options":            "DENY",
			"Cross-Origin-Opener-Policy": "same-origin",
		} {
			if got := r.header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if r.header.Get("Permissions-Policy") == "" {
			t.Errorf("%s: no Permissions-Policy", path)
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over http", path)
		}
	}
	if r := c.get("/nowhere"); r.status != http.StatusNotFound || !strings.Contains(r.body, "There is nothing at this address.") {
		t.Errorf("404 page: %d", r.status)
	}

	// Over https: HSTS and Secure cookies.
	s := newEnv(t, func(c *Config) { c.PublicURL = "https://accounts.example" })
	rec := s.client().get("/signin")
	if rec.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over https")
	}
	for _, ck := range (&http.Response{Header: rec.header}).Cookies() {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: Secure %v HttpOnly %v SameSite %v", ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite)
		}
	}
}

func TestCookieFlags(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/signup")
	r := c.post("/signup", url.Values{"name": {"A"}, "login": {"ada@example.com"}, "password": {pw}, "password_confirm": {pw}})
	found := false
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == sessionCookie {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
				t.Errorf("session cookie %+v", ck)
			}
			if len(ck.Value) != 43 {
				t.Errorf("session cookie value has %d characters, want 43", len(ck.Value))
			}
		}
	}
	if !found {
		t.Error("no session cookie")
	}
}

// failingStore fails one method with an error full of internals.
type failingStore struct {
	store.Store
	fail string
}

var errInternals = errors.New(`pq: relation "sessions" does not exist at SELECT secret_column FROM users`)

func (f *failingStore) ActivityPage(ctx context.Context, userID string, before int64, limit int) ([]store.Activity, error) {
	if f.fail == "ActivityPage" {
		return nil, errInternals
	}
	return f.Store.ActivityPage(ctx, userID, before, limit)
}

func (f *failingStore) Ping(ctx context.Context) error {
	if f.fail == "Ping" {
		return errInternals
	}
	return f.Store.Ping(ctx)
}

func TestStoreErrorNotLeaked(t *testing.T) {
	fs := &failingStore{}
	var logs strings.Builder
	e := newEnv(t, func(c *Config) {
		fs.Store = c.Store
		c.Store = fs
		c.Log = slogTo(&logs)
	})
	c := e.client()
	c.signup("ada@example.com", pw)
	fs.fail = "ActivityPage"
	r := c.sections()
	if r.status != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", r.status)
	}
	for _, leak := range []string{"pq:", "SELECT", "secret_column", "relation"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("the page shows %q", leak)
		}
	}
	mustContain(t, r.body, "Something went wrong on our side", "Reference: <code>"+r.header.Get("X-Request-Id")+"</code>")
	if !strings.Contains(logs.String(), "secret_column") {
		t.Error("the internal error was not logged")
	}
	fs.fail = "Ping"
	r = c.get("/readyz")
	if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "pq:") {
		t.Errorf("readyz: %d %q", r.status, r.body)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, func(c *Config) { c.Log = slogTo(&logs) })
	e.client().signup("ada@example.com", pw)
	tok := requestReset(t, e, "ada@example.com")
	resetWith(e.client(), tok, "a brand new passphrase")
	for _, secret := range []string{tok, pw, "a brand new passphrase"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds a secret: %q", secret)
		}
	}
	if !strings.Contains(logs.String(), `"path":"/password/reset"`) {
		t.Errorf("no access log line for the reset: %s", logs.String())
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	if r := c.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz %d", r.status)
	}
	if r := c.get("/readyz"); r.status != http.StatusOK {
		t.Errorf("readyz %d", r.status)
	}
	c.signin("nobody@example.com", "wrong password entirely")
	// The metrics are the operator's, not on the public handler.
	if r := c.get("/metrics"); r.status != http.StatusNotFound || strings.Contains(r.body, "countersign_") {
		t.Errorf("GET /metrics on the public handler = %d, want 404 without metrics", r.status)
	}
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	r := &resp{status: rec.Code, body: rec.Body.String()}
	mustContain(t, r.body,
		`countersign_http_requests_total{code="200",method="GET",route="/signin"} 1`,
		`countersign_signin_attempts_total{outcome="failure"} 1`,
		`countersign_http_request_duration_seconds_bucket`,
		"go_goroutines", "process_")
}

func TestSecurityKeyEndpoints(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("bob@example.com", pw)
	r := c.sections()
	mustContain(t, r.body, `<script src="/static/`+staticFiles["webauthn.js"].hash+`/webauthn.js" defer></script>`, `id="security-key-name"`,
		`id="add-security-key"`, `id="security-key-error" class="error" role="alert"`)
	r = c.postJSON("/account/security-keys/begin", "{}")
	var begin struct {
		ChallengeID string          `json:"challenge_id"`
		Options     json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal([]byte(r.body), &begin); err != nil || r.status != http.StatusOK || begin.ChallengeID == "" || len(begin.Options) == 0 {
		t.Fatalf("begin: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(begin.Options), `"countersign.test"`) {
		t.Errorf("options lack the RP id: %s", begin.Options)
	}
	body := fmt.Sprintf(`{"challenge_id":%q,"name":"YubiKey","credential":{"id":"AAAA","type":"public-key"}}`, begin.ChallengeID)
	r = c.postJSON("/account/security-keys/finish", body)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"error"`) {
		t.Errorf("finish with a bogus credential: %d %s", r.status, r.body)
	}
	if r := c.postJSON("/account/security-keys/finish", "not json"); r.status != http.StatusBadRequest {
		t.Errorf("finish with junk: %d", r.status)
	}
	// Signed out, the endpoints answer JSON 401.
	c.signout()
	r = c.postJSON("/account/security-keys/begin", "{}")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, `"error"`) {
		t.Errorf("signed out: %d %s", r.status, r.body)
	}
	// Sign-in with a key when the account has none.
	c, _, _ = twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	r = c.get("/signin/verify")
	if strings.Contains(r.body, `id="use-security-key"`) {
		t.Error("the key button is offered without keys")
	}
	r = c.postJSON("/signin/key/begin", "{}")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "No security key") {
		t.Errorf("key sign-in without keys: %d %s", r.status, r.body)
	}
	r = c.postJSON("/signin/key/finish", `{"challenge_id":"nope","credential":{"id":"AAAA"},"remember":true}`)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"error"`) {
		t.Errorf("key sign-in finish: %d %s", r.status, r.body)
	}
}

// TestPagesAccessible renders every page and checks that each visible input
// has a label, each POST form a CSRF field, and headings don't skip levels.
func TestPagesAccessible(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Dev = true })
	anon := e.client()
	pages := map[string]string{}
	for _, p := range []string{"/signup", "/signin", "/password/forgot", "/password/reset?token=x", "/nowhere"} {
		pages[p] = anon.get(p).body
	}
	c, _, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	for _, m := range []string{"", "?method=sms", "?method=voice", "?method=backup", "?method=key"} {
		pages["/signin/verify"+m] = c.get("/signin/verify" + m).body
	}
	c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {"2222-2222"}})
	pages["/signin/verify (error)"] = c.get("/signin/verify").body

	full := e.client()
	full.signup("bob@example.com", pw)
	for _, p := range []string{"/account/activity", "/account/two-step", "/account/two-step/totp",
		"/account/two-step/phone", "/account/password"} {
		pages[p] = full.get(p).body
	}
	for _, sec := range sections {
		pages[sec.Path] = full.get(sec.Path).body
	}
	pages["phone verify"] = full.submit("/account/two-step/phone", url.Values{"phone": {"+12065550111"}, "kind": {"voice"}}).body
	pages["new token"] = full.submit("/account/api-tokens", url.Values{"name": {"t"}, "scope": {"read"}}).body
	pages["backup codes"] = full.submit("/account/backup-codes", url.Values{"confirm": {"1"}}).body

	for name, body := range pages {
		t.Run(name, func(t *testing.T) { checkAccessible(t, body) })
	}
}

func checkAccessible(t *testing.T, body string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	ids := map[string]int{}
	var inputs []*html.Node
	var forms []*html.Node
	lastLevel := 0
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				ids[id]++
			}
			switch n.Data {
			case "html":
				if attr(n, "lang") != "en" {
					t.Error("no lang=en")
				}
			case "label":
				labels[attr(n, "for")] = true
				inLabel = true
			case "input", "select", "textarea":
				if attr(n, "type") != "hidden" && !inLabel {
					inputs = append(inputs, n)
				}
			case "form":
				forms = append(forms, n)
			case "h1", "h2", "h3", "h4":
				level := int(n.Data[1] - '0')
				if level > lastLevel+1 {
					t.Errorf("heading %s after h%d", n.Data, lastLevel)
				}
				lastLevel = level
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, inLabel)
		}
	}
	walk(doc, false)
	for _, in := range inputs {
		if id := attr(in, "id"); id == "" || !labels[id] {
			t.Errorf("input name=%q id=%q has no label", attr(in, "name"), id)
		}
	}
	for _, f := range forms {
		if !strings.EqualFold(attr(f, "method"), "post") {
			continue
		}
		if !hasCSRF(f) {
			t.Errorf("form action=%q has no csrf field", attr(f, "action"))
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q used %d times", id, n)
		}
	}
	if lastLevel == 0 {
		t.Error("no heading")
	}
}

func hasCSRF(n *html.Node) bool {
	if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == "csrf" && attr(n, "type") == "hidden" && attr(n, "value") != "" {
		return true
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if hasCSRF(ch) {
			return true
		}
	}
	return false
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
