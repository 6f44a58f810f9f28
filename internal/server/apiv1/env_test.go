package apiv1

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// The server's public URL as browsers and the companion see it.
const (
	publicOrigin = "https://countersign.test"
	rpID         = "countersign.test"
)

// env is a running API over a fresh SQLite store with two accounts.
type env struct {
	db    *store.DB
	clock *testkit.Clock
	keys  *seckey.Service
	// approvals is the service behind the approval endpoints; the tests
	// also use it as the browser side does (Request) and to make pairing
	// codes as the web page does.
	approvals *approval.Service
	oauth     *oauth.Provider    // behind the authorized-apps endpoints
	house     *household.Service // behind the household and share endpoints
	handler   http.Handler       // the API, as New returned it
	// steps is the step-up behind the API: lenient (every request counts as
	// freshly confirmed) unless a test makes it strict.
	steps *fakeStepUp
	srv   *httptest.Server
	log   *testkit.Buffer
	alice *store.User
	bob   *store.User
	// tokens of alice's: read+write, read only, write only.
	rw, ro, wo string
}

type envOption func(*Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second)), log: &testkit.Buffer{}}
	e.steps = &fakeStepUp{now: e.clock.Now, key: []byte("step-up test key"), lenient: true}
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db"), store.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.alice = e.user(t, "alice@example.com", "Alice")
	e.bob = e.user(t, "bob@example.com", "Bob")
	e.keys, err = seckey.New(seckey.Config{
		RPID: rpID, RPName: "Countersign", Origins: []string{publicOrigin},
		Store: db, Now: e.clock.Now, Rand: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.approvals, err = approval.New(ctx, approval.Config{
		Store: db, Keys: e.keys, PublicURL: publicOrigin, Now: e.clock.Now, Rand: rand.Reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.oauth, err = oauth.New(ctx, oauth.Config{Store: db, Issuer: publicOrigin, Now: e.clock.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.house, err = household.New(household.Options{Store: db, Approvals: e.approvals, Rand: rand.Reader, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Store: db, Keys: e.keys, Approvals: e.approvals, OAuth: e.oauth, Household: e.house, Now: e.clock.Now,
		StepUp: e.steps, Alerts: storeAlerts{db: db, now: e.clock.Now},
		Log: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, f := range opts {
		f(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	// Before the server closes (cleanups run last first): ending the
	// service ends the streams the server would wait for.
	t.Cleanup(func() { e.approvals.Close() })
	e.rw = e.token(t, e.alice, "rw", time.Time{}, api.ScopeRead, api.ScopeWrite)
	e.ro = e.token(t, e.alice, "ro", time.Time{}, api.ScopeRead)
	e.wo = e.token(t, e.alice, "wo", time.Time{}, api.ScopeWrite)
	return e
}

func (e *env) user(t *testing.T, email, name string) *store.User {
	t.Helper()
	handle := make([]byte, 32)
	if _, err := rand.Read(handle); err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: email, Name: name, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", WebAuthnID: handle, CreatedAt: e.clock.Now()}
	if err := e.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// token issues an API token to u the way the settings page does.
func (e *env) token(t *testing.T, u *store.User, name string, expires time.Time, scopes ...string) string {
	t.Helper()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	tok := "cs_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(tok))
	err := e.db.AddAPIToken(context.Background(), &store.APIToken{
		UserID: u.ID, Name: name, Hash: sum[:], Scopes: scopes, CreatedAt: e.clock.Now(), ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// apiErr decodes an error answer.
func (r response) apiErr(t *testing.T) api.Error {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error answer %q is not JSON: %v", r.body, err)
	}
	return e
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer %q: %v", r.body, err)
	}
}

// req is a request to send.
type req struct {
	method, path, token string
	stepUp              string // the Countersign-Step-Up header, if any
	contentType         string // "application/json" unless set; "-" sends none
	body                string
}

func (e *env) do(t *testing.T, q req) response {
	t.Helper()
	r, err := e.try(q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// try is do for other goroutines than the test's: it returns its error.
func (e *env) try(q req) (response, error) {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r, err := http.NewRequest(q.method, e.srv.URL+q.path, body)
	if err != nil {
		return response{}, err
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.stepUp != "" {
		r.Header.Set(api.StepUpHeader, q.stepUp)
	}
	switch q.contentType {
	case "":
		if q.body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
	case "-":
	default:
		r.Header.Set("Content-Type", q.contentType)
	}
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// get, send: shorthands with alice's read+write token.
func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, req{method: "GET", path: path, token: e.rw})
}

func (e *env) send(t *testing.T, method, path, body string) response {
	t.Helper()
	return e.do(t, req{method: method, path: path, token: e.rw, body: body})
}

// wantError checks an error answer's status, code and message.
func wantError(t *testing.T, r response, status int, code, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d (body %s)", r.status, status, r.body)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := r.apiErr(t)
	if e.Code != code || !strings.Contains(e.Error, msgPart) {
		t.Errorf("error %+v, want code %q and a message with %q", e, code, msgPart)
	}
}

// activity returns alice's newest events' kinds, newest first.
func (e *env) activity(t *testing.T, u *store.User) []store.Activity {
	t.Helper()
	as, err := e.db.ActivityPage(context.Background(), u.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// testPassword is every test account's password, as fakeStepUp knows it.
const testPassword = "correct horse battery staple"

// fakeStepUp is the server's step-up for this package's tests: one
// password for every account, a wrong one counted in fails and locking
// after lockAfter of them (0: never); HMAC marks. Lenient, every request
// counts as freshly confirmed, mark or not, so that the tests of other
// things need not confirm; the step-up tests and the permission matrix make
// it strict. The server's own, over the sign-in page's password check, is
// tested in package server.
type fakeStepUp struct {
	now       func() time.Time
	key       []byte
	lenient   bool
	mu        sync.Mutex
	fails     int
	lockAfter int
}

func (f *fakeStepUp) CheckPassword(_ *http.Request, _ *store.User, pw, _ string) (bool, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lockAfter > 0 && f.fails >= f.lockAfter {
		return false, f.now().Add(5 * time.Minute), nil
	}
	if pw == testPassword {
		return true, time.Time{}, nil
	}
	f.fails++
	return false, time.Time{}, nil
}

func (f *fakeStepUp) mac(purpose, n, bound string) string {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(purpose + "\x00" + n + "\x00" + bound))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (f *fakeStepUp) Mark(purpose, bound string, at time.Time) string {
	n := strconv.FormatInt(at.UnixNano(), 10)
	return n + "." + f.mac(purpose, n, bound)
}

func (f *fakeStepUp) OpenMark(purpose, mark, bound string, life time.Duration) (time.Time, bool) {
	f.mu.Lock()
	lenient := f.lenient
	f.mu.Unlock()
	if lenient {
		return f.now(), true
	}
	n, sig, ok := strings.Cut(mark, ".")
	ns, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || !hmac.Equal([]byte(sig), []byte(f.mac(purpose, n, bound))) {
		return time.Time{}, false
	}
	t := time.Unix(0, ns)
	if now := f.now(); t.After(now) || now.Sub(t) > life {
		return time.Time{}, false
	}
	return t, true
}

// strict makes every action that needs a fresh sign-in ask for a mark.
func (f *fakeStepUp) strict() {
	f.mu.Lock()
	f.lenient = false
	f.mu.Unlock()
}

// stepUp confirms with the password as the caller of token and returns the
// mark to send.
func (e *env) stepUp(t *testing.T, token string) string {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/api/v1/step-up", token: token, body: `{"password":"` + testPassword + `"}`})
	if r.status != http.StatusOK {
		t.Fatalf("step-up: %d %s", r.status, r.body)
	}
	var su api.StepUp
	if err := json.Unmarshal(r.body, &su); err != nil || su.Token == "" {
		t.Fatalf("step-up answer %s: %v", r.body, err)
	}
	return su.Token
}
