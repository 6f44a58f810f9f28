package apiv1

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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
	srv       *httptest.Server
	log       *testkit.Buffer
	alice     *store.User
	bob       *store.User
	// tokens of alice's: read+write, read only, write only.
	rw, ro, wo string
}

type envOption func(*Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second)), log: &testkit.Buffer{}}
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
