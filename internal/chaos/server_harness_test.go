//go:build chaos

package chaos

// The server side's scaffold: countersign-server as a child process,
// accounts, desktops running the companion's approver core, browsers that
// sign in as the pages would, and a load balancer in front of several
// instances.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// chaosPassword is every test account's password.
const chaosPassword = "chaos-correct-horse-7"

// ---- the server binary ----

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// serverBinary is the countersign-server to run: $COUNTERSIGN_SERVER_BIN
// (make chaos builds bin/countersign-server), else bin/countersign-server
// built now with go build.
func serverBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("COUNTERSIGN_SERVER_BIN"); p != "" {
			binPath = p
			return
		}
		out, err := exec.Command(goTool(), "env", "GOMOD").Output()
		if err != nil {
			binErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		binPath = filepath.Join(root, "bin", "countersign-server")
		build := exec.Command(goTool(), "build", "-o", binPath, "./app/countersign-server")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build countersign-server: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// ---- a server process ----

// chaosSecretsKey is the secrets key of every chaos server and of the
// harness's own look into their databases (32 bytes in base64).
const chaosSecretsKey = "Y2hhb3MtdGVzdHMtc2hhcmUtdGhpcy0zMkIta2V5ISE="

// secretsKeyFile writes chaosSecretsKey to a file for --secrets-key-file.
func secretsKeyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secrets.key")
	if err := os.WriteFile(p, []byte(chaosSecretsKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// secretsKey opens a chaos server's database as the server does.
func secretsKey(t *testing.T) store.Option {
	t.Helper()
	k, err := atrest.ParseKey([]byte(chaosSecretsKey))
	if err != nil {
		t.Fatal(err)
	}
	return store.WithSecretsKey(k)
}

// serverProc is countersign-server running as a child process.
type serverProc struct {
	t      *testing.T
	name   string // "A", "B" … in the log
	db     string
	public string // its --public-url
	addr   string // 127.0.0.1:port
	base   string // http://127.0.0.1:port, for health checks
	args   []string

	mu   sync.Mutex
	log  bytes.Buffer
	cmd  *exec.Cmd
	done chan struct{}
}

// newServer prepares an instance on a free loopback port with database db;
// public is its --public-url ("" for http://localhost:PORT). Start starts it.
func newServer(t *testing.T, name, db, public string) *serverProc {
	t.Helper()
	port := freePort(t)
	p := &serverProc{t: t, name: name, db: db, addr: "127.0.0.1:" + strconv.Itoa(port)}
	p.base = "http://" + p.addr
	p.public = public
	if p.public == "" {
		p.public = "http://localhost:" + strconv.Itoa(port)
	}
	p.args = []string{"--addr", p.addr, "--metrics-addr", "off", "--db", db, "--public-url", p.public, "--secrets-key-file", secretsKeyFile(t),
		"--outbox", filepath.Join(t.TempDir(), "outbox"), "--trust-proxy", "--log-level", "warn"}
	t.Cleanup(func() {
		p.stop()
		switch {
		case p.panicked():
			t.Errorf("countersign-server %s panicked:\n%s", p.name, p.logText())
		case t.Failed():
			t.Logf("countersign-server %s's log:\n%s", p.name, p.logText())
		}
	})
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the server (again, after kill) and returns when /healthz
// answers, with how long that took.
func (p *serverProc) start() time.Duration {
	p.t.Helper()
	begin := time.Now()
	cmd := exec.Command(serverBinary(p.t), p.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // a test binary killed takes it along
	w := &lockedWriter{mu: &p.mu, buf: &p.log}
	cmd.Stdout, cmd.Stderr = w, w
	fmt.Fprintf(w, "--- %s: start %s\n", p.name, time.Now().Format(time.TimeOnly))
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start countersign-server %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _, err := get(p.base + "/healthz"); err == nil && st == http.StatusOK {
			return time.Since(begin)
		}
		select {
		case <-done:
			p.t.Fatalf("countersign-server %s exited during start:\n%s", p.name, p.logText())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("countersign-server %s: no /healthz within 30 s:\n%s", p.name, p.logText())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serverProc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	fmt.Fprintf(&lockedWriter{mu: &p.mu, buf: &p.log}, "--- %s: SIGKILL %s\n", p.name, time.Now().Format(time.TimeOnly))
}

// stop ends the server with SIGTERM (SIGKILL after 20 s).
func (p *serverProc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || !p.alive() {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("countersign-server %s did not stop within 20 s of SIGTERM", p.name)
		cmd.Process.Kill()
		<-done
	}
}

func (p *serverProc) alive() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (p *serverProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// panicked says whether the server's log shows a panic.
func (p *serverProc) panicked() bool {
	return strings.Contains(p.logText(), "panic")
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// pairingURI makes a countersign://pair link for login with the real
// `countersign-server pairing-code`, on p's database.
func (p *serverProc) pairingURI(login string) string {
	p.t.Helper()
	cmd := exec.Command(serverBinary(p.t), "pairing-code", "--login", login, "--db", p.db, "--public-url", p.public, "--secrets-key-file", secretsKeyFile(p.t))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("countersign-server pairing-code --login %s: %v\n%s", login, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// get is a plain GET: status, body.
func get(u string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// ---- accounts ----

// seedAccounts makes n accounts with two-step verification on in the
// database at dsn, as an administrator's script would, and returns their
// logins. Pairing a desktop makes approval their second step.
func seedAccounts(t *testing.T, dsn, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, secretsKey(t))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	defer db.Close()
	hash, err := password.Hash(chaosPassword, password.OWASP, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logins := make([]string, n)
	for i := range logins {
		handle := make([]byte, 32)
		rand.Read(handle)
		now := time.Now().UTC()
		logins[i] = fmt.Sprintf("%s-%d@countersign.test", prefix, i+1)
		u := &store.User{Email: logins[i], Name: fmt.Sprintf("Chaos %s %d", prefix, i+1), PasswordHash: hash,
			PasswordChangedAt: now, TwoStep: true, WebAuthnID: handle, CreatedAt: now}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("create %s: %v", logins[i], err)
		}
	}
	return logins
}

// signIns counts the completed sign-ins in login's activity log.
func signIns(t *testing.T, dsn, login string) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, secretsKey(t))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	defer db.Close()
	u, err := db.UserByLogin(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := db.ActivityPage(ctx, u.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range acts {
		if a.Kind == store.ActSignIn {
			n++
		}
	}
	return n
}

// ---- desktops ----

// desk is a paired desktop: the companion's approver.Manager, its real
// streams, backoff and signed decisions, with an in-memory keyring.
type desk struct {
	t    *testing.T
	name string
	m    *approver.Manager
	acct approver.Account
	rec  *recorder
}

// recorder is the desktop's HTTP transport: it steers the desktop to its
// preferred instance behind the balancer and keeps what it sent, for
// replays.
type recorder struct {
	base   http.RoundTripper
	prefer string // X-Chaos-Backend

	mu        sync.Mutex
	decisions map[string]sent // by request id
	streams   []time.Time     // when each stream was asked for
}

type sent struct {
	url, auth string
	body      []byte
}

var decisionPath = regexp.MustCompile(`^/api/v1/approvals/([^/]+)/decision$`)

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if r.prefer != "" {
		req.Header.Set(backendHeader, r.prefer)
	}
	if m := decisionPath.FindStringSubmatch(req.URL.Path); m != nil && req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.decisions[m[1]] = sent{url: req.URL.String(), auth: req.Header.Get("Authorization"), body: b}
		r.mu.Unlock()
	}
	if req.URL.Path == "/api/v1/approvals/stream" {
		r.mu.Lock()
		r.streams = append(r.streams, time.Now())
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

// streamsSince counts the streams the desktop opened after t.
func (r *recorder) streamsSince(t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.streams {
		if s.After(t) {
			n++
		}
	}
	return n
}

type noKeys struct{}

func (noKeys) Touch(context.Context, json.RawMessage, string) (json.RawMessage, error) {
	return nil, errors.New("no security key in the chaos tests")
}

// pairDesk pairs a new desktop through uri and starts following the
// account; prefer names the instance it talks to behind a balancer ("" for
// none). It returns once the desktop's stream is up.
func pairDesk(t *testing.T, uri, name, prefer string) *desk {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = 60 * time.Second
	rec := &recorder{base: tr, prefer: prefer, decisions: map[string]sent{}}
	m, err := approver.Open(approver.Options{
		Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, HTTP: &http.Client{Transport: rec}, Keys: noKeys{},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acct, err := m.Pair(ctx, uri, "", name)
	if err != nil {
		t.Fatalf("pairing %s: %v", name, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("%s: Run did not return 15 s after it was stopped", name)
		}
	})
	d := &desk{t: t, name: name, m: m, acct: acct, rec: rec}
	if _, ok := d.waitOnline(15 * time.Second); !ok {
		t.Fatalf("%s: its stream is not up 15 s after pairing: %+v", name, m.Accounts())
	}
	return d
}

func (d *desk) online() bool {
	as := d.m.Accounts()
	return len(as) == 1 && as[0].Online
}

// waitOnline waits for the desktop's stream to be up.
func (d *desk) waitOnline(limit time.Duration) (time.Duration, bool) {
	return waitFor(limit, d.online)
}

// waitOffline waits for the desktop to notice its stream is gone.
func (d *desk) waitOffline(limit time.Duration) bool {
	_, ok := waitFor(limit, func() bool { return !d.online() })
	return ok
}

// returns reports, once the desktop is connected again on a stream opened
// after since, how long after since that was (-1 when not within a minute).
func (d *desk) returns(since time.Time) <-chan time.Duration {
	c := make(chan time.Duration, 1)
	go func() {
		_, ok := waitFor(time.Minute, func() bool { return d.rec.streamsSince(since) > 0 && d.online() })
		if !ok {
			c <- -1
			return
		}
		c <- time.Since(since)
	}()
	return c
}

// requestFrom waits for a pending request of a sign-in from ip.
func (d *desk) requestFrom(ip string, limit time.Duration) (*approver.Request, error) {
	var got *approver.Request
	_, ok := waitFor(limit, func() bool {
		for _, r := range d.m.Pending() {
			if r.IP == ip {
				got = &r
				return true
			}
		}
		return false
	})
	if !ok {
		return nil, fmt.Errorf("%s: no request from %s within %v (pending %d, accounts %+v)", d.name, ip, limit, len(d.m.Pending()), d.m.Accounts())
	}
	return got, nil
}

// approve answers r with number, as the person picking it would.
func (d *desk) approve(r *approver.Request, number int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.m.Decide(ctx, d.acct.ID, r.ID, approver.Approve, number)
}

// replay sends the decision the desktop sent on request id again, byte for
// byte with its token: what someone who captured it would try.
func (d *desk) replay(id string) (int, string, error) {
	d.rec.mu.Lock()
	s, ok := d.rec.decisions[id]
	d.rec.mu.Unlock()
	if !ok {
		return 0, "", fmt.Errorf("%s sent no decision on %s", d.name, id)
	}
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Content-Type", "application/json")
	if d.rec.prefer != "" {
		req.Header.Set(backendHeader, d.rec.prefer)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), nil
}

// waitFor polls ok every 20 ms for up to limit.
func waitFor(limit time.Duration, ok func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if ok() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- browsers ----

// browser is one person's browser: cookies, an address of its own (sent as
// X-Forwarded-For: the servers trust the proxy header) and, behind a
// balancer, the instance it prefers. Its methods never end the test: they
// return what happened, so that they may run while servers die.
type browser struct {
	base   string
	ip     string
	prefer string
	http   *http.Client
	number int // the number its approval page shows
}

var (
	csrfField      = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	approvalNumber = regexp.MustCompile(`id="approval-number"[^>]*>\s*(\d+)\s*<`)
	approvalStatus = regexp.MustCompile(`(?s)id="approval-status"[^>]*>(.*?)</p>`)
	formError      = regexp.MustCompile(`(?s)role="alert">(.*?)</p>`)
	pageTitle      = regexp.MustCompile(`(?s)<h1>(.*?)</h1>`)
	tags           = regexp.MustCompile(`<[^>]+>`)
)

func newBrowser(t *testing.T, base, ip, prefer string) *browser {
	return newBrowserFor(base, ip, prefer)
}

// newBrowserFor is newBrowser for goroutines other than the test's.
func newBrowserFor(base, ip, prefer string) *browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	b := &browser{base: base, ip: ip, prefer: prefer}
	b.http = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &headers{base: http.DefaultTransport, b: b},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return b
}

// copyOf is another browser holding this one's cookies as they are now:
// someone who copied them.
func (b *browser) copyOf(t *testing.T) *browser {
	c := newBrowser(t, b.base, b.ip, b.prefer)
	u, _ := url.Parse(b.base)
	c.http.Jar.SetCookies(u, b.http.Jar.Cookies(u))
	return c
}

type headers struct {
	base http.RoundTripper
	b    *browser
}

func (h *headers) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", webtest.FirefoxWindows)
	req.Header.Set("X-Forwarded-For", h.b.ip)
	if h.b.prefer != "" {
		req.Header.Set(backendHeader, h.b.prefer)
	}
	return h.base.RoundTrip(req)
}

// page is one answer: status, Location, body, and the words a person
// reads on it.
type page struct {
	status int
	loc    string
	body   string
}

// says is what the page tells people: its form error, the approval status
// or the title, as text.
func (p page) says() string {
	for _, re := range []*regexp.Regexp{formError, approvalStatus, pageTitle} {
		if m := re.FindStringSubmatch(p.body); m != nil {
			return strings.Join(strings.Fields(tags.ReplaceAllString(m[1], "")), " ")
		}
	}
	if p.loc != "" {
		return "redirect to " + p.loc
	}
	return strings.TrimSpace(p.body)
}

func (p page) String() string { return fmt.Sprintf("%d %q", p.status, p.says()) }

func (b *browser) do(method, path string, form url.Values) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	res, err := b.http.Do(req)
	if err != nil {
		return page{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return page{status: res.StatusCode, loc: res.Header.Get("Location"), body: string(raw)}, err
}

// post loads from for its CSRF token and posts form to action.
func (b *browser) post(from, action string, form url.Values) (page, error) {
	p, err := b.do(http.MethodGet, from, nil)
	if err != nil {
		return p, err
	}
	m := csrfField.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		return p, fmt.Errorf("GET %s: %v, no form", from, p)
	}
	form.Set("csrf", m[1])
	return b.do(http.MethodPost, action, form)
}

// signIn sends login's password and opens the second step, which asks the
// desktops; it returns the approval page (b.number is its number).
func (b *browser) signIn(login string) (page, error) {
	p, err := b.post("/signin", "/signin", url.Values{"login": {login}, "password": {chaosPassword}})
	if err != nil {
		return p, err
	}
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/signin/verify") {
		return p, fmt.Errorf("the password: %v, want the second step", p)
	}
	if p, err = b.do(http.MethodGet, "/signin/verify", nil); err != nil {
		return p, err
	}
	m := approvalNumber.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		return p, fmt.Errorf("the second step: %v, no approval number", p)
	}
	b.number, _ = strconv.Atoi(m[1])
	return p, nil
}

// approvalPage is the second-step page as it stands.
func (b *browser) approvalPage() (page, error) {
	return b.do(http.MethodGet, "/signin/verify", nil)
}

// complete presses "I approved it — continue" (what static/approval.js
// submits once told "approved").
func (b *browser) complete() (page, error) {
	return b.post("/signin/verify", "/signin/approval/complete", url.Values{})
}

// signedIn says whether the browser's session reaches the security page.
func (b *browser) signedIn() bool {
	p, err := b.do(http.MethodGet, "/account/security", nil)
	return err == nil && p.status == http.StatusOK
}

// following is what the waiting page's script saw of its stream.
type following struct {
	status string    // the "decided" event's status, "" when none came
	drops  int       // times the stream broke and was opened again
	at     time.Time // when the decision came
}

// follow does what static/approval.js does on the waiting page: it follows
// /signin/approval/stream until its "decided" event, opening it again when
// it breaks (every second, as long as the request may still be answered:
// until limit).
func (b *browser) follow(limit time.Duration) following {
	var f following
	start := time.Now()
	deadline := start.Add(limit)
	for time.Now().Before(deadline) {
		status := b.streamOnce(deadline)
		if status != "" {
			f.status, f.at = status, time.Now()
			return f
		}
		f.drops++
		time.Sleep(time.Second)
	}
	return f
}

// streamOnce reads one connection of the page's stream and returns the
// "decided" event's status, or "" when the connection broke or was refused
// first.
func (b *browser) streamOnce(deadline time.Time) string {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/signin/approval/stream", nil)
	if err != nil {
		return ""
	}
	client := *b.http
	client.Timeout = 0
	res, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return ""
	}
	sc := bufio.NewScanner(res.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:") && event == "decided":
			var d struct{ Status string }
			if json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "data:"))), &d) != nil {
				return ""
			}
			return d.Status
		case line == "":
			event = ""
		}
	}
	return ""
}

// ---- a load balancer ----

// backendHeader names the instance a client prefers behind the balancer.
const backendHeader = "X-Chaos-Backend"

// balancer is a reverse proxy in front of several instances, as a
// deployment has: a client goes to the instance it prefers
// (X-Chaos-Backend) while that one accepts connections, else to the next;
// it passes streams on at once. Its URL is every instance's public URL.
type balancer struct {
	URL string

	mu       sync.Mutex
	backends []backend
}

type backend struct{ name, addr string }

func newBalancer(t *testing.T) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{URL: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "balancer"
			if xff := pr.In.Header.Get("X-Forwarded-For"); xff != "" {
				pr.Out.Header.Set("X-Forwarded-For", xff)
			}
		},
		Transport:     b,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0), // a stream cut by a kill is expected here
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "no instance answers", http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *balancer) add(name string, p *serverProc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = append(b.backends, backend{name: name, addr: p.addr})
}

var lbTransport = &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	ResponseHeaderTimeout: 60 * time.Second,
	MaxIdleConnsPerHost:   32,
}

// RoundTrip sends req to the preferred instance, or to the next when a
// connection to it cannot be made.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	b.mu.Lock()
	order := make([]backend, 0, len(b.backends))
	pref := req.Header.Get(backendHeader)
	for _, be := range b.backends {
		if be.name == pref {
			order = append([]backend{be}, order...)
		} else {
			order = append(order, be)
		}
	}
	b.mu.Unlock()
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	var lastErr error
	for _, be := range order {
		out := req.Clone(req.Context())
		out.URL.Host = be.addr
		if len(body) > 0 {
			out.Body = io.NopCloser(bytes.NewReader(body))
		} else {
			out.Body = nil
		}
		res, err := lbTransport.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			lastErr = err
			continue
		}
		return res, err
	}
	return nil, lastErr
}

// apiCode is the "code" of an API error answer, or the answer itself.
func apiCode(body string) string {
	var e struct{ Code string }
	if json.Unmarshal([]byte(body), &e) == nil && e.Code != "" {
		return e.Code
	}
	return body
}

// apiToken issues login an API token ("cs_…") with scopes, as the Login &
// security page does.
func apiToken(t *testing.T, dsn, login string, scopes ...string) string {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, secretsKey(t))
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	defer db.Close()
	u, err := db.UserByLogin(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := "cs_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(tok))
	if err := db.AddAPIToken(ctx, &store.APIToken{UserID: u.ID, Name: "chaos", Hash: sum[:], Scopes: scopes, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return tok
}

// apiCall sends one API v1 request with a bearer token and a JSON body.
func apiCall(method, u, token, body string) (int, string, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), nil
}

// apiMessage is the "error" sentence of an API error answer, or the answer.
func apiMessage(body string) string {
	var e struct{ Error string }
	if json.Unmarshal([]byte(body), &e) == nil && e.Error != "" {
		return e.Error
	}
	return body
}
