package server

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/store"
)

const pw = "correct horse battery staple"

func TestSignupSigninSignout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.signup("ada@example.com", pw)
	mustContain(t, r.body, `Two-step verification: <strong id="two-step-status" class="off">Off</strong>`, `id="signout-form"`, "Ada Lovelace", "Two-step verification is off")
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on account pages", r.header.Get("Cache-Control"))
	}
	u := e.user("ada@example.com")
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("password hash %q is not Argon2id", u.PasswordHash)
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 10)
	if len(acts) == 0 || acts[len(acts)-1].Kind != store.ActSignUp {
		t.Errorf("activity = %+v, want account.created first", acts)
	}

	c.signout()
	if r := c.get("/account/security"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin") {
		t.Fatalf("after sign-out the settings page answers %d %s", r.status, r.loc)
	}
	r = c.signin("ADA@example.com", pw)
	if r.status != http.StatusSeeOther || r.loc != "/account/security" {
		t.Fatalf("sign-in: %d to %q, want 303 to /account/security", r.status, r.loc)
	}
	if r := c.follow(r); !strings.Contains(r.body, "Login &amp; security") {
		t.Errorf("not signed in: %s", r.body)
	}
}

func TestSigninByPhone(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("+1 (206) 555-0100", pw)
	if u := e.user("+12065550100"); u.Phone != "+12065550100" || u.Email != "" {
		t.Errorf("user = %q %q, want phone +12065550100 only", u.Email, u.Phone)
	}
	c.signout()
	if r := c.signin("+1 206 555 0100", pw); r.loc != "/account/security" {
		t.Errorf("sign-in by phone: %d %q", r.status, r.loc)
	}
}

func TestSignupRefusals(t *testing.T) {
	e := newEnv(t)
	e.client().signup("taken@example.com", pw)
	for _, tc := range []struct {
		name, login, pw, confirm, want string
	}{
		{"common password", "a@example.com", "password123", "password123", "common"},
		{"short password", "a@example.com", "abc", "abc", "short"},
		{"mismatch", "a@example.com", pw, pw + "x", "don&#39;t match"},
		{"bad login", "not a login", pw, pw, "country code"},
		{"national number", "206 555 0100", pw, pw, "country code"},
		{"taken", "taken@example.com", pw, pw, "exists already"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			c.get("/signup")
			r := c.post("/signup", url.Values{"name": {"X"}, "login": {tc.login}, "password": {tc.pw}, "password_confirm": {tc.confirm}})
			if r.status == http.StatusSeeOther || !strings.Contains(r.body, tc.want) {
				t.Errorf("got %d, want the form again saying %q: %s", r.status, tc.want, r.body)
			}
			mustContain(t, r.body, `role="alert"`, `form-error"`)
			if c.cookie(sessionCookie) != "" {
				t.Error("a refused sign-up left a session")
			}
		})
	}
	// A long password is fine (no maximum below 64).
	c := e.client()
	c.signup("ada2@example.com", strings.Repeat("sphinx of black quartz, judge my vow ", 4))
}

func TestSessionRotatesOnSignin(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	before := c.cookie(sessionCookie)
	if before == "" {
		t.Fatal("no session cookie after sign-up")
	}
	c.get("/signin") // signed in: redirected, but the form is what we post
	c.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {pw}, "csrf": {c.csrf}})
	after := c.cookie(sessionCookie)
	if after == "" || after == before {
		t.Fatalf("session cookie %q → %q, want a new value", before, after)
	}
	if _, err := e.db.Session(context.Background(), sessionID(before)); err == nil {
		t.Error("the old session still exists")
	}
	// An attacker who planted the old cookie gets nothing.
	old := e.client()
	old.setCookie(sessionCookie, before)
	if r := old.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("old cookie still works: %d", r.status)
	}
}

func TestSameErrorForUnknownAccountAndWrongPassword(t *testing.T) {
	e := newEnv(t)
	e.client().signup("ada@example.com", pw)
	wrong := e.client().signin("ada@example.com", "wrong password entirely")
	unknown := e.client().signin("nobody@example.com", "wrong password entirely")
	if wrong.status != unknown.status {
		t.Errorf("status %d vs %d", wrong.status, unknown.status)
	}
	for _, r := range []*resp{wrong, unknown} {
		if !strings.Contains(r.body, "don&#39;t match an account") {
			t.Errorf("missing the generic message: %s", r.body)
		}
	}
	strip := func(s string) string { return csrfMeta.ReplaceAllString(csrfValue.ReplaceAllString(s, ""), "") }
	a := strings.ReplaceAll(strip(wrong.body), "ada@example.com", "X")
	b := strings.ReplaceAll(strip(unknown.body), "nobody@example.com", "X")
	if a != b {
		t.Errorf("the pages differ:\n%s\n----\n%s", a, b)
	}
	u := e.user("ada@example.com")
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 10)
	if acts[0].Kind != store.ActSignInFailed || acts[0].OK {
		t.Errorf("newest activity = %+v, want a failed sign-in", acts[0])
	}
}

func TestLockoutAndRelease(t *testing.T) {
	e := newEnv(t)
	e.client().signup("ada@example.com", pw)
	c := e.client()
	ghost := e.client()
	ghost.ip = "192.0.2.99"
	var last, lastGhost *resp
	for range 5 {
		last = c.signin("ada@example.com", "wrong password entirely")
		lastGhost = ghost.signin("nobody@example.com", "wrong password entirely")
	}
	for _, r := range []*resp{last, lastGhost} {
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts; try again in 1 minute") {
			t.Errorf("after 5 failures: %d %s", r.status, r.body)
		}
	}
	// Locked: even the right password is refused, with the same words.
	r := c.signin("ada@example.com", pw)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts") {
		t.Errorf("right password while locked: %d %s", r.status, r.body)
	}
	u := e.user("ada@example.com")
	if !u.LockedUntil.After(e.clock.Now()) {
		t.Errorf("LockedUntil = %v, want after %v", u.LockedUntil, e.clock.Now())
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 20)
	locked := false
	for _, a := range acts {
		locked = locked || a.Kind == store.ActLockedOut
	}
	if !locked {
		t.Error("no account.locked activity")
	}
	// After the backoff the right password works and the count resets.
	e.clock.Advance(61 * time.Second)
	if r := c.signin("ada@example.com", pw); r.status != http.StatusSeeOther {
		t.Fatalf("after the backoff: %d %s", r.status, r.body)
	}
	if u := e.user("ada@example.com"); u.FailedLogins != 0 || !u.LockedUntil.IsZero() {
		t.Errorf("after success: failures %d, locked until %v", u.FailedLogins, u.LockedUntil)
	}
}

// movingClock makes each reading of the server's clock a millisecond later
// than the one before, as real time moves while a request runs.
func movingClock(cfg *Config) {
	base := cfg.Now
	var ticks atomic.Int64
	cfg.Now = func() time.Time { return base().Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
}

// TestLockoutSameWordsWhileTimeMoves: the answer that locks a real account
// and the one that locks an unknown login say the same wait, even when the
// clock moves between the readings of one request (it read the time twice
// for real accounts, and a one-minute lock became "2 minutes").
func TestLockoutSameWordsWhileTimeMoves(t *testing.T) {
	e := newEnv(t, movingClock)
	e.client().signup("ada@example.com", pw)
	known, ghost := e.client(), e.client()
	ghost.ip = "192.0.2.99"
	var last, lastGhost *resp
	for range 5 {
		last = known.signin("ada@example.com", "wrong password entirely")
		lastGhost = ghost.signin("nobody@example.com", "wrong password entirely")
	}
	for _, r := range []*resp{last, lastGhost} {
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts; try again in 1 minute.") {
			t.Errorf("the answer that locks: %d %s", r.status, r.body)
		}
	}
}

func TestRateLimitPerIP(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	var r *resp
	for i := range 21 {
		r = c.signin("user"+string(rune('a'+i))+"@example.com", "whatever password")
	}
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts from here") {
		t.Errorf("21st attempt from one IP: %d", r.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	other := e.client()
	other.signin("ada@example.com", pw)
	ctx := context.Background()
	u := e.user("ada@example.com")
	sessions := func() int {
		s, err := e.db.Sessions(ctx, u.ID, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return len(s)
	}
	if n := sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
	c.get("/account/security")
	good := c.csrf
	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"missing", url.Values{"csrf": {""}}, nil},
		{"wrong", url.Values{"csrf": {"AAAA" + good[4:]}}, nil},
		{"another session's", url.Values{"csrf": {other.csrf}}, nil},
		{"cross-site", url.Values{"csrf": {good}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"foreign origin", url.Values{"csrf": {good}}, http.Header{"Origin": {"https://evil.example"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Referer": {testURL + "/account/security?tab=1"}}
			for k, v := range tc.header {
				h[k] = v
			}
			r := c.do("POST", "/account/sessions/others", strings.NewReader(tc.form.Encode()), "application/x-www-form-urlencoded", h)
			// It says what to do, and the link opens the form's page again
			// (not the form's address, which would send it again).
			if r.status != http.StatusForbidden || !strings.Contains(html.UnescapeString(r.body), "Open the page again and send the form once more.") ||
				!strings.Contains(r.body, `<a id="error-back" href="/account/security?tab=1">Open the page again</a>`) {
				t.Errorf("got %d %s", r.status, r.body)
			}
			if n := sessions(); n != 2 {
				t.Errorf("%d sessions left, want 2: the refused form changed state", n)
			}
		})
	}
	// Anonymous forms: a sign-up without the token creates nobody.
	anon := e.client()
	r := anon.do("POST", "/signup", strings.NewReader(url.Values{"name": {"M"}, "login": {"m@example.com"}, "password": {pw}, "password_confirm": {pw}}.Encode()), "application/x-www-form-urlencoded", nil)
	if r.status != http.StatusForbidden {
		t.Errorf("sign-up without a token: %d", r.status)
	}
	if _, err := e.db.UserByLogin(ctx, "m@example.com"); err == nil {
		t.Error("sign-up without a token created the account")
	}
	// The JSON endpoints want the header.
	r = c.do("POST", "/account/security-keys/begin", strings.NewReader("{}"), "application/json", nil)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, `"error"`) {
		t.Errorf("JSON without a token: %d %s", r.status, r.body)
	}
	// With the right token it works.
	if r := c.post("/account/sessions/others", url.Values{"csrf": {good}, "confirm": {"1"}}); r.status != http.StatusSeeOther {
		t.Errorf("the right token: %d", r.status)
	}
	if n := sessions(); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

func TestNextIsLocalOnly(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/account/security",
		"/account/activity":    "/account/activity",
		"//evil.example/x":     "/account/security",
		"/\\evil.example":      "/account/security",
		"https://evil.example": "/account/security",
		"/signin/verify":       "/account/security",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	c.signout()
	r := c.get("/account/activity")
	if r.loc != "/signin?next=%2Faccount%2Factivity" {
		t.Fatalf("redirect to %q", r.loc)
	}
	c.get(r.loc)
	r = c.post("/signin", url.Values{"login": {"ada@example.com"}, "password": {pw}, "next": {"/account/activity"}})
	if r.loc != "/account/activity" {
		t.Errorf("after sign-in to %q, want /account/activity", r.loc)
	}
}

func TestSeedDemo(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Dev = true })
	ctx := context.Background()
	created, err := e.srv.SeedDemo(ctx)
	if err != nil || !created {
		t.Fatalf("SeedDemo = %v, %v", created, err)
	}
	created, err = e.srv.SeedDemo(ctx)
	if err != nil || created {
		t.Fatalf("second SeedDemo = %v, %v, want false", created, err)
	}
	u := e.user(DemoEmail)
	if u.Name != "Demo" || !u.TwoStep {
		t.Errorf("demo user = %+v, want two-step on", u)
	}
	ms, err := e.db.Members(ctx, u.ID)
	if err != nil || len(ms) != 2 || ms[0].Role != api.RoleOwner || ms[1].Name != DemoMember {
		t.Errorf("demo household = %+v, %v; want the owner and %s", ms, err, DemoMember)
	}
	c := e.client()
	r := c.get("/signin")
	mustContain(t, r.body, "Development server", DemoEmail)
	if r := c.signin(DemoEmail, DemoPassword); !strings.HasPrefix(r.loc, "/signin/verify") {
		t.Fatalf("demo sign-in: %d %q, want the second step", r.status, r.loc)
	}
	key, err := otp.ParseURI(DemoTOTPURI)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := otp.Code(key, e.clock.Now())
	c.get("/signin/verify?method=totp")
	if r := c.post("/signin/verify", url.Values{"csrf": {c.csrf}, "method": {"totp"}, "code": {code}}); r.loc != "/account/security" {
		t.Errorf("demo code from DemoTOTPURI: %d %q", r.status, r.loc)
	}
	acts, _ := e.db.ActivityPage(ctx, u.ID, 0, 10)
	if len(acts) < 2 || acts[len(acts)-1].Kind != store.ActSignUp {
		t.Errorf("activity %+v, want account.created first", acts)
	}
}

func TestSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	id := sessionID(c.cookie(sessionCookie))
	ctx := context.Background()
	seen := func() time.Time {
		s, err := e.db.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}
	start := seen()
	e.clock.Advance(30 * time.Second)
	c.get("/account/security")
	if got := seen(); !got.Equal(start) {
		t.Errorf("LastSeenAt moved after 30 s: %v", got)
	}
	e.clock.Advance(31 * time.Second)
	c.get("/account/security")
	if got := seen(); !got.Equal(e.clock.Now()) {
		t.Errorf("LastSeenAt = %v, want %v", got, e.clock.Now())
	}
	// Idle for three days: signed out.
	e.clock.Advance(fullIdle + time.Minute)
	if r := c.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("idle session still works: %d", r.status)
	}
	// Used every day, it still ends after 14 days.
	c.signin("ada@example.com", pw)
	for range 14 {
		e.clock.Advance(24 * time.Hour)
		c.get("/account/security")
	}
	if r := c.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("a session outlived 14 days: %d", r.status)
	}
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		trust bool
		xff   []string
		want  string
	}{
		{false, []string{"203.0.113.7"}, "192.0.2.1"},
		{true, nil, "192.0.2.1"},
		{true, []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{true, []string{"10.0.0.1", "198.51.100.1,203.0.113.8"}, "203.0.113.8"},
		{true, []string{"not an ip"}, "192.0.2.1"},
	} {
		s := &Server{trust: tc.trust}
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:5555"
		r.Header["X-Forwarded-For"] = tc.xff
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("trust %v, X-Forwarded-For %q: got %s, want %s", tc.trust, tc.xff, got, tc.want)
		}
	}
}

func TestNormalizeLogin(t *testing.T) {
	for _, tc := range []struct{ in, email, phone string }{
		{"Ada@Example.COM", "ada@example.com", ""},
		{" ada@example.com ", "ada@example.com", ""},
		{"+1 (206) 555-0100", "", "+12065550100"},
		{"+44.20.7946.0000", "", "+442079460000"},
		{"206 555 0100", "", ""},
		{"+0 555 0100 000", "", ""},
		{"+1 206 CALL NOW", "", ""},
		{"ada@localhost", "", ""},
		{"Ada <ada@example.com>", "", ""},
		{"", "", ""},
	} {
		email, phone, ok := normalizeLogin(tc.in)
		if email != tc.email || phone != tc.phone || ok != (tc.email+tc.phone != "") {
			t.Errorf("normalizeLogin(%q) = %q, %q, %v; want %q, %q", tc.in, email, phone, ok, tc.email, tc.phone)
		}
	}
}
