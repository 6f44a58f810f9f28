package seckey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/browsertest"
	"github.com/countersign/countersign/internal/store"
)

// TestBrowser drives internal/server/static/webauthn.js in Chromium with its
// virtual authenticator against this package, behind stand-ins for the four
// endpoints the web server builds on it (same paths, bodies and CSRF header),
// under a CSP that allows scripts from the site only.
func TestBrowser(t *testing.T) {
	js, err := os.ReadFile(filepath.Join("..", "server", "static", "webauthn.js"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &store.User{Email: "dora@example.com", Name: "Dora", WebAuthnID: []byte("dora-handle-0123456789abcdefghij"), CreatedAt: time.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{RPID: "localhost", RPName: "Countersign", Origins: []string{origin}, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	site := &site{t: t, svc: svc, db: db, user: u, js: js}
	srv := httptest.NewUnstartedServer(site.handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	tab := browsertest.Start(t)
	if _, err := browsertest.AddVirtualAuthenticator(tab); err != nil {
		t.Fatal(err)
	}

	// Register, named.
	if _, err := browsertest.Open(tab, origin+"/account/security"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Eval(tab, `document.getElementById("security-key-name").value = "  Chrome key "`, nil); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ClickScript(tab, "#add-security-key", "#security-key-error"); err != nil {
		t.Fatal(err)
	}
	if got, err := browsertest.Text(tab, "#keys"); err != nil || got != "Chrome key" {
		t.Fatalf("keys after registering: %q, %v; want Chrome key", got, err)
	}

	// The same authenticator again: excluded by the browser, said in words,
	// and the button works again.
	if err := browsertest.Eval(tab, `document.getElementById("add-security-key").click()`, nil); err != nil {
		t.Fatal(err)
	}
	msg := waitText(t, tab, "#security-key-error")
	if !strings.Contains(msg, "already registered") {
		t.Errorf("error shown %q, want already registered", msg)
	}
	var disabled bool
	if err := browsertest.Eval(tab, `document.getElementById("add-security-key").disabled`, &disabled); err != nil || disabled {
		t.Errorf("button disabled = %v (%v) after an error, want enabled", disabled, err)
	}

	// The server's message reaches the page: another browser profile with
	// a fresh authenticator, and a name the server refuses.
	other := browsertest.NewProfile(t, tab)
	if _, err := browsertest.AddVirtualAuthenticator(other); err != nil {
		t.Fatal(err)
	}
	if _, err := browsertest.Open(other, origin+"/account/security"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Eval(other, `document.getElementById("security-key-name").value = "`+strings.Repeat("x", 70)+`"; document.getElementById("add-security-key").click()`, nil); err != nil {
		t.Fatal(err)
	}
	if msg := waitText(t, other, "#security-key-error"); msg != ErrName.Error() {
		t.Errorf("error shown %q, want the server's %q", msg, ErrName.Error())
	}

	// Sign in with the key, remembering the browser.
	if _, err := browsertest.Open(tab, origin+"/signin/key"); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.Eval(tab, `document.getElementById("remember").checked = true`, nil); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ClickScript(tab, "#use-security-key", "#security-key-error"); err != nil {
		t.Fatal(err)
	}
	if p, err := browsertest.Path(tab); err != nil || p != "/account/security" {
		t.Errorf("after signing in at %q (%v), want /account/security", p, err)
	}
	if !site.remembered() {
		t.Error("the remember checkbox did not reach the server")
	}
	keys, err := db.SecurityKeys(ctx, u.ID)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Errorf("keys after signing in: %+v, %v; want one, used", keys, err)
	}
}

// waitText waits for the element's text to be non-empty.
func waitText(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	deadline := time.Now().Add(browsertest.Timeout)
	for time.Now().Before(deadline) {
		if s, err := browsertest.Text(tab, sel); err == nil && s != "" {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s stayed empty", sel)
	return ""
}

const csrf = "csrf-token-for-the-test"

// site stands in for the web server's pages and endpoints.
type site struct {
	t    *testing.T
	svc  *Service
	db   store.Store
	user *store.User
	js   []byte

	mu       sync.Mutex
	remember bool
}

func (s *site) remembered() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.remember }

var pages = template.Must(template.New("").Parse(`
{{define "security"}}<!doctype html><html><head><meta name="csrf-token" content="{{.CSRF}}"><title>Security</title>
<script src="/static/webauthn.js"></script></head><body>
<ul id="keys">{{range .Keys}}<li>{{.Name}}</li>{{end}}</ul>
<input id="security-key-name"><button id="add-security-key" type="button">Add a security key</button>
<p id="security-key-error" role="alert"></p></body></html>{{end}}
{{define "signin"}}<!doctype html><html><head><meta name="csrf-token" content="{{.CSRF}}"><title>Security key</title>
<script src="/static/webauthn.js"></script></head><body>
<label><input type="checkbox" id="remember"> Don't ask again on this browser</label>
<button id="use-security-key" type="button">Use your security key</button>
<p id="security-key-error" role="alert"></p></body></html>{{end}}`))

func (s *site) handler() http.Handler {
	mux := http.NewServeMux()
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			keys, err := s.db.SecurityKeys(r.Context(), s.user.ID)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			pages.ExecuteTemplate(w, name, map[string]any{"CSRF": csrf, "Keys": keys})
		}
	}
	mux.HandleFunc("GET /account/security", page("security"))
	mux.HandleFunc("GET /signin/key", page("signin"))
	mux.HandleFunc("GET /static/webauthn.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(s.js)
	})
	mux.HandleFunc("POST /account/security-keys/begin", s.post(func(r *http.Request, _ json.RawMessage) (any, error) {
		id, opts, err := s.svc.BeginRegistration(r.Context(), s.user)
		return map[string]any{"challenge_id": id, "options": opts}, err
	}))
	mux.HandleFunc("POST /account/security-keys/finish", s.post(func(r *http.Request, body json.RawMessage) (any, error) {
		var req struct {
			ChallengeID string          `json:"challenge_id"`
			Name        string          `json:"name"`
			Credential  json.RawMessage `json:"credential"`
		}
		if err := strict(body, &req); err != nil {
			return nil, err
		}
		_, err := s.svc.FinishRegistration(r.Context(), s.user, req.ChallengeID, req.Name, req.Credential)
		return map[string]any{}, err
	}))
	mux.HandleFunc("POST /signin/key/begin", s.post(func(r *http.Request, _ json.RawMessage) (any, error) {
		id, opts, err := s.svc.BeginLogin(r.Context(), s.user)
		return map[string]any{"challenge_id": id, "options": opts}, err
	}))
	mux.HandleFunc("POST /signin/key/finish", s.post(func(r *http.Request, body json.RawMessage) (any, error) {
		var req struct {
			ChallengeID string          `json:"challenge_id"`
			Credential  json.RawMessage `json:"credential"`
			Remember    bool            `json:"remember"`
		}
		if err := strict(body, &req); err != nil {
			return nil, err
		}
		if _, err := s.svc.FinishLogin(r.Context(), s.user, req.ChallengeID, req.Credential); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.remember = req.Remember
		s.mu.Unlock()
		return map[string]string{"redirect": "/account/security"}, nil
	}))
	return mux
}

// post checks the CSRF header and JSON body, and answers f's value or
// {"error": …} with the sentinel's message.
func (s *site) post(f func(r *http.Request, body json.RawMessage) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-CSRF-Token") != csrf || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"error": "bad CSRF token or content type"})
			return
		}
		var body json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "not JSON"})
			return
		}
		v, err := f(r, body)
		if err != nil {
			msg := err.Error()
			for _, sentinel := range []error{ErrName, ErrChallenge, ErrCloned, ErrVerify, ErrRegistered, ErrNoKeys} {
				if errors.Is(err, sentinel) {
					msg = sentinel.Error()
					break
				}
			}
			s.t.Logf("%s: %v", r.URL.Path, err)
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
		json.NewEncoder(w).Encode(v)
	}
}

// strict decodes what the page posted, refusing fields the web server
// would not know.
func strict(body json.RawMessage, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
