package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

const testURL = "http://countersign.test"

// cheap are password parameters fast enough for tests.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// env is a server over a real SQLite store, an outbox and a fixed clock.
type env struct {
	t      *testing.T
	srv    *Server
	h      http.Handler
	db     store.Store
	outbox *notify.Outbox
	clock  *testkit.Clock
}

type envOption func(*Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	// The middle of a TOTP step, so ±1 step is 30 s either way.
	clk := testkit.NewClock(time.Date(2026, 11, 22, 12, 0, 15, 0, time.UTC))
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out, err := notify.NewOutbox(filepath.Join(dir, "outbox"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		PublicURL:      testURL,
		Store:          db,
		Mailer:         out,
		SMS:            out,
		Now:            clk.Now,
		PasswordParams: &cheap,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &env{t: t, srv: srv, h: srv.Handler(), db: cfg.Store, outbox: out, clock: clk}
}

// client is a browser: a cookie jar, a User-Agent and an IP, calling the
// handler in process. It remembers the CSRF token of the last page.
type client struct {
	t    *testing.T
	e    *env
	jar  *cookiejar.Jar
	ua   string
	ip   string
	csrf string
}

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, jar: jar, ua: chromeUA, ip: "192.0.2.10"}
}

type resp struct {
	status int
	header http.Header
	body   string
	loc    string
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

func (c *client) do(method, path string, body io.Reader, contentType string, header http.Header) *resp {
	c.t.Helper()
	req := httptest.NewRequest(method, testURL+path, body)
	req.RemoteAddr = c.ip + ":4321"
	req.Header.Set("User-Agent", c.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	u, _ := url.Parse(testURL + path)
	for _, ck := range c.jar.Cookies(u) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.e.h.ServeHTTP(rec, req)
	// What the request queued for after its answer is done before the test
	// reads the store or the outbox.
	c.e.srv.WaitIdle()
	res := rec.Result()
	c.jar.SetCookies(u, res.Cookies())
	r := &resp{status: res.StatusCode, header: res.Header, body: rec.Body.String(), loc: res.Header.Get("Location")}
	if m := csrfMeta.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) get(path string) *resp {
	c.t.Helper()
	return c.do("GET", path, nil, "", nil)
}

// post sends a form with the remembered CSRF token (unless the form has
// one) and does not follow redirects.
func (c *client) post(path string, form url.Values) *resp {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", nil)
}

// submit posts and follows redirects.
func (c *client) submit(path string, form url.Values) *resp {
	c.t.Helper()
	return c.follow(c.post(path, form))
}

func (c *client) follow(r *resp) *resp {
	c.t.Helper()
	for i := 0; r.status == http.StatusSeeOther || r.status == http.StatusFound; i++ {
		if i > 10 {
			c.t.Fatal("redirect loop")
		}
		loc, _, _ := strings.Cut(r.loc, "#") // browsers keep the fragment to themselves
		r = c.get(loc)
	}
	return r
}

// postJSON calls a JSON endpoint with the CSRF header.
func (c *client) postJSON(path, body string) *resp {
	c.t.Helper()
	return c.do("POST", path, strings.NewReader(body), "application/json", http.Header{"X-Csrf-Token": {c.csrf}})
}

func (c *client) cookie(name string) string {
	u, _ := url.Parse(testURL + "/")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(testURL + "/")
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// refused follows a form refused the Post/Redirect/Get way back to the
// page of its form (loc, with the card's fragment) and returns that page,
// which must show the error; a reload of it must not.
func (c *client) refused(r *resp, loc string) *resp {
	c.t.Helper()
	if r.status != http.StatusSeeOther || r.loc != loc {
		c.t.Errorf("refused form: %d to %q, want 303 to %q", r.status, r.loc, loc)
	}
	p := c.follow(r)
	if !strings.Contains(p.body, `id="form-error"`) {
		c.t.Errorf("the page after a refused form shows no error")
	}
	path, _, _ := strings.Cut(loc, "#")
	if again := c.get(path); strings.Contains(again.body, `id="form-error"`) {
		c.t.Errorf("reloading %s shows the error again", path)
	}
	return p
}

// sections reads every section of Login & security and answers them as one
// page, for tests about what the pages offer rather than where.
func (c *client) sections() *resp {
	c.t.Helper()
	var all *resp
	for _, sec := range sections {
		r := c.get(sec.Path)
		if r.status != http.StatusOK {
			return r
		}
		if all == nil {
			all = r
			continue
		}
		all.body += r.body
	}
	return all
}

// signup creates an account through the page and leaves the client signed in.
func (c *client) signup(login, pw string) *resp {
	c.t.Helper()
	c.get("/signup")
	r := c.submit("/signup", url.Values{"name": {"Ada Lovelace"}, "login": {login}, "password": {pw}, "password_confirm": {pw}})
	if !strings.Contains(r.body, `<h1>Login &amp; security</h1>`) {
		c.t.Fatalf("signup did not land on the security page: %d %s", r.status, r.body)
	}
	return r
}

func (c *client) signin(login, pw string) *resp {
	c.t.Helper()
	c.get("/signin")
	return c.post("/signin", url.Values{"login": {login}, "password": {pw}})
}

func (c *client) signout() {
	c.t.Helper()
	c.get("/account/security")
	c.submit("/signout", nil)
}

// totpCode is the code of secret at the clock's step plus delta.
func (e *env) totpCode(secret []byte, delta int64) string {
	e.t.Helper()
	k := totpKey(secret)
	step := int64(k.CounterAt(e.clock.Now())) + delta
	code, err := otp.CodeAtCounter(k, uint64(step))
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

var (
	secretRe = regexp.MustCompile(`<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>`)
	codeRe   = regexp.MustCompile(`\b(\d{6})\b`)
	backupRe = regexp.MustCompile(`<li><code>([2-9a-z]{4}-[2-9a-z]{4})</code></li>`)
)

// addTOTP sets up an authenticator app through the pages and returns its
// secret.
func (c *client) addTOTP() []byte {
	c.t.Helper()
	r := c.get("/account/two-step/totp")
	m := secretRe.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no secret on the TOTP page: %s", r.body)
	}
	secret, err := otp.DecodeSecret(m[1])
	if err != nil {
		c.t.Fatal(err)
	}
	r = c.post("/account/two-step/totp", url.Values{"code": {c.e.totpCode(secret, 0)}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("confirming the app: %d %s", r.status, r.body)
	}
	c.follow(r)
	// The confirming code's step is spent; later codes come from the next.
	c.e.clock.Advance(30 * time.Second)
	return secret
}

// lastCode reads the newest six-digit code sent to phone.
func (e *env) lastCode(phone string) string {
	e.t.Helper()
	m, err := e.outbox.Last(phone)
	if err != nil {
		e.t.Fatal(err)
	}
	c := codeRe.FindStringSubmatch(m.Text)
	if c == nil {
		e.t.Fatalf("no code in %q", m.Text)
	}
	return c[1]
}

// addPhone sets up an SMS method through the pages.
func (c *client) addPhone(phone string) {
	c.t.Helper()
	c.get("/account/two-step/phone")
	r := c.post("/account/two-step/phone", url.Values{"phone": {phone}, "kind": {"sms"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/account/two-step/phone?method=") {
		c.t.Fatalf("sending a code: %d to %q, want 303 to the page that asks for it", r.status, r.loc)
	}
	r = c.follow(r)
	id := regexp.MustCompile(`name="method_id" value="([0-9a-f]+)"`).FindStringSubmatch(r.body)
	if id == nil {
		c.t.Fatalf("no verify form after sending: %d %s", r.status, r.body)
	}
	r = c.post("/account/two-step/phone/verify", url.Values{"method_id": {id[1]}, "code": {c.e.lastCode(phone)}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("confirming the phone: %d %s", r.status, r.body)
	}
	c.follow(r)
}

// enableTwoStep turns two-step on and returns the backup codes shown.
func (c *client) enableTwoStep() []string {
	c.t.Helper()
	// Post/Redirect/Get: the codes are shown once by the page it goes to.
	r := c.post("/account/two-step/enable", nil)
	if r.status != http.StatusSeeOther || r.loc != "/account/two-step" {
		c.t.Fatalf("enable: %d %s", r.status, r.body)
	}
	r = c.follow(r)
	var codes []string
	for _, m := range backupRe.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	return codes
}

func (e *env) user(login string) *store.User {
	e.t.Helper()
	u, err := e.db.UserByLogin(context.Background(), login)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

var csrfValue = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// slogTo is a JSON logger writing to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
