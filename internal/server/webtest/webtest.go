// Package webtest is a browser without a browser for tests: a cookie jar,
// the sign-in pages' forms posted by hand (CSRF token read from the page
// first, Origin set), redirects not followed. Real browsers are in
// internal/browsertest; this is for tests that only need a signed-in
// session, a trusted browser or a waiting sign-in.
package webtest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	csrfField      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	approvalNumber = regexp.MustCompile(`id="approval-number"[^>]*>\s*(\d+)\s*<`)
)

// UserAgents of a few browsers, for clients that should look like them.
const (
	ChromeLinux    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	FirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	SafariIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// Client is one browser: its cookies and its User-Agent.
type Client struct {
	t         testing.TB
	Base      string // the server's URL
	UserAgent string
	HTTP      *http.Client
}

// New returns a browser for base that says it is Chrome on Linux.
func New(t testing.TB, base string) *Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{t: t, Base: base, UserAgent: ChromeLinux, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends a request (a form when form is not nil) and returns the response
// with its body read.
func (c *Client) Do(ctx context.Context, method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.Base)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

// Post loads page for its CSRF token, then posts form to action.
func (c *Client) Post(page, action string, form url.Values) *http.Response {
	c.t.Helper()
	res, body := c.Do(context.Background(), http.MethodGet, page, nil)
	m := csrfField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET %s: status %d, no CSRF token", page, res.StatusCode)
	}
	form.Set("csrf", m[1])
	res, _ = c.Do(context.Background(), http.MethodPost, action, form)
	return res
}

// Password sends login and password on the sign-in page and fails the test
// unless the server asks for the second step next.
func (c *Client) Password(login, password string) {
	c.t.Helper()
	res := c.Post("/signin", "/signin", url.Values{"login": {login}, "password": {password}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin/verify") {
		c.t.Fatalf("the password: status %d to %q, want the second step", res.StatusCode, loc)
	}
}

// WaitForApproval sends the password and opens the approval page, which
// makes the approval request; it returns the number the page shows.
func (c *Client) WaitForApproval(login, password string) int {
	c.t.Helper()
	c.Password(login, password)
	res, body := c.Do(context.Background(), http.MethodGet, "/signin/verify", nil)
	m := approvalNumber.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET /signin/verify: status %d, no #approval-number", res.StatusCode)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// SignInWithCode signs in with the password and an authenticator code;
// with trust, the browser is trusted ("Don't require codes on this
// browser").
func (c *Client) SignInWithCode(login, password, code string, trust bool) {
	c.t.Helper()
	c.Password(login, password)
	form := url.Values{"method": {"totp"}, "code": {code}}
	if trust {
		form.Set("remember", "1")
	}
	res := c.Post("/signin/verify?method=totp", "/signin/verify", form)
	if res.StatusCode != http.StatusSeeOther || strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		c.t.Fatalf("the code: status %d to %q, want signed in", res.StatusCode, res.Header.Get("Location"))
	}
}

var (
	clientIDField = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
	consentField  = regexp.MustCompile(`name="request" value="([^"]+)"`)
)

// AllowApp registers a public app called name on the developer pages
// (redirect https://<name>.example/callback), then lets it sign in with
// scope (space-separated) through its authorization request and the consent
// page, as a person would: the account then has a grant for the app. It
// returns the app's client id. The client must be signed in.
func (c *Client) AllowApp(name, scope string) string {
	c.t.Helper()
	redirect := "https://" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + ".example/callback"
	res, body := c.Do(context.Background(), http.MethodGet, "/developer/apps", nil)
	m := csrfField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("GET /developer/apps: status %d, no CSRF token", res.StatusCode)
	}
	form := url.Values{"csrf": {m[1]}, "name": {name}, "redirect_uris": {redirect}, "type": {"public"},
		"scopes": strings.Fields(scope)}
	res, _ = c.Do(context.Background(), http.MethodPost, "/developer/apps", form)
	if loc := res.Header.Get("Location"); res.StatusCode == http.StatusSeeOther && loc != "" {
		// Post/Redirect/Get: the page the registration goes on to shows the id once.
		res, body = c.Do(context.Background(), http.MethodGet, loc, nil)
	}
	id := clientIDField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || id == nil {
		c.t.Fatalf("registering %s: status %d, no client id", name, res.StatusCode)
	}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {id[1]}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"state-1234567890"}, "nonce": {"nonce-1234567890"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	res, body = c.Do(context.Background(), http.MethodGet, "/oauth/authorize?"+q.Encode(), nil)
	if loc := res.Header.Get("Location"); res.StatusCode == http.StatusSeeOther || res.StatusCode == http.StatusFound {
		res, body = c.Do(context.Background(), http.MethodGet, loc, nil)
	}
	req, tok := consentField.FindStringSubmatch(body), csrfField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || req == nil || tok == nil {
		c.t.Fatalf("the consent page for %s: status %d, no request to allow", name, res.StatusCode)
	}
	res, _ = c.Do(context.Background(), http.MethodPost, "/oauth/consent", url.Values{
		"csrf": {tok[1]}, "request": {req[1]}, "decision": {"allow"}})
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, redirect+"?") || !strings.Contains(loc, "code=") {
		c.t.Fatalf("allowing %s: status %d to %q, want its redirect with a code", name, res.StatusCode, loc)
	}
	return id[1]
}
