// Package bench_test measures countersign-server end to end over loopback:
// sign-in throughput and latency (password only, and password plus an
// authenticator code) with concurrent clients, as a ratio to this machine's
// Argon2id rate (the physical limit of password sign-ins), API reads of the
// trusted-devices list and the OAuth token and introspection endpoints
// (`make bench-server` prints them as a table), and sign-in approvals with a
// thousand companions streaming (`make bench-approvals`).
package bench_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/server"
	"github.com/countersign/countersign/internal/store"
)

// clients is how many sign-ins run at once (per GOMAXPROCS, as
// b.SetParallelism counts).
const clients = 4

const benchPassword = "correct horse battery staple"

type env struct {
	srv   *server.Server
	url   string
	store *store.DB
	dbURL string
	hash  string // one Argon2id hash (OWASP parameters) shared by every user
}

// newEnv starts countersign-server in-process on loopback over a fresh
// SQLite database.
func newEnv(b *testing.B) *env {
	b.Helper()
	return newEnvOn(b, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
}

// newEnvOn starts countersign-server in-process on loopback over the
// database at dbURL (sqlite:// or postgres://).
func newEnvOn(b *testing.B, dbURL string) *env {
	b.Helper()
	hash, err := password.Hash(benchPassword, password.OWASP, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	e := &env{dbURL: dbURL, hash: hash}
	e.start(b)
	return e
}

// instance starts another server on e's database with connections of its
// own, as a second process behind a load balancer would run.
func (e *env) instance(b *testing.B) *env {
	b.Helper()
	o := &env{dbURL: e.dbURL, hash: e.hash}
	o.start(b)
	return o
}

func (e *env) start(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, e.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	outbox, err := notify.NewOutbox(filepath.Join(dir, "outbox"), nil, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{
		PublicURL:  "http://" + ts.Listener.Addr().String(),
		Store:      db,
		Mailer:     outbox,
		SMS:        outbox,
		TrustProxy: true, // each simulated client comes from its own address
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	ts.Config.Handler = srv.Handler()
	ts.Start()
	b.Cleanup(ts.Close)
	e.srv, e.url, e.store = srv, ts.URL, db
}

var userSeq atomic.Int64

// users makes n accounts sharing one password hash; with twoStep each has a
// confirmed authenticator app (and a second one as the backup method).
func (e *env) users(b *testing.B, n int, twoStep bool) []benchUser {
	b.Helper()
	ctx := context.Background()
	out := make([]benchUser, n)
	for i := range out {
		id := userSeq.Add(1)
		u := &store.User{
			Email: fmt.Sprintf("user%d@bench.test", id), Name: "Bench", PasswordHash: e.hash,
			WebAuthnID: []byte(fmt.Sprintf("bench-user-%032d", id)), TwoStep: twoStep,
			CreatedAt: time.Now(), PasswordChangedAt: time.Now(),
		}
		if err := e.store.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		out[i] = benchUser{email: u.Email}
		if twoStep {
			for j := 0; j < 2; j++ {
				secret := make([]byte, 20)
				rand.Read(secret)
				m := &store.Method{UserID: u.ID, Kind: store.MethodTOTP, Label: "Authenticator app", Secret: secret, Confirmed: true, CreatedAt: time.Now()}
				if err := e.store.AddMethod(ctx, m); err != nil {
					b.Fatal(err)
				}
				if j == 0 {
					out[i].totp = otp.Key{Type: otp.TOTP, Name: u.Email, Secret: secret}
				}
			}
		}
	}
	return out
}

type benchUser struct {
	email string
	totp  otp.Key
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// client is one browser: its own cookies and its own address.
type client struct {
	http *http.Client
	ip   string
}

var ipSeq atomic.Int64

func newClient() *client {
	jar, _ := cookiejar.New(nil)
	n := ipSeq.Add(1)
	return &client{
		http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		ip:   fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255),
	}
}

func (c *client) do(method, u string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// csrf loads a page and returns its form's CSRF token.
func (c *client) csrf(u string) (string, error) {
	resp, page, err := c.do("GET", u, nil)
	if err != nil {
		return "", err
	}
	m := csrfRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		return "", fmt.Errorf("GET %s: %d, no CSRF token", u, resp.StatusCode)
	}
	return m[1], nil
}

// signIn signs a fresh browser in; with a TOTP key it answers the 2-step
// challenge too.
func (e *env) signIn(u benchUser, withCode bool) error {
	c := newClient()
	token, err := c.csrf(e.url + "/signin")
	if err != nil {
		return err
	}
	resp, _, err := c.do("POST", e.url+"/signin", url.Values{"csrf": {token}, "login": {u.email}, "password": {benchPassword}})
	if err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	if !withCode {
		if resp.StatusCode != http.StatusSeeOther || loc != "/account/security" {
			return fmt.Errorf("password sign-in: %d to %q", resp.StatusCode, loc)
		}
		return nil
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin/verify") {
		return fmt.Errorf("password step: %d to %q", resp.StatusCode, loc)
	}
	token, err = c.csrf(e.url + "/signin/verify?method=totp")
	if err != nil {
		return err
	}
	code, err := otp.Code(u.totp, time.Now())
	if err != nil {
		return err
	}
	resp, _, err = c.do("POST", e.url+"/signin/verify", url.Values{"csrf": {token}, "method": {"totp"}, "code": {code}})
	if err != nil {
		return err
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/account/security" {
		return fmt.Errorf("code step: %d to %q", resp.StatusCode, loc)
	}
	return nil
}

// argon2Rate measures how many OWASP-parameter Argon2id verifications this
// machine does per second with one goroutine per core (more only thrash the
// cache with 19 MiB each): the ceiling of password sign-ins. It is measured right before
// each round of sign-ins.
func argon2Rate(b *testing.B, d time.Duration) float64 {
	hash, err := password.Hash(benchPassword, password.OWASP, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	workers := runtimeProcs()
	var done atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if ok, _ := password.Verify(hash, benchPassword); ok {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func BenchmarkArgon2idVerify(b *testing.B) {
	hash, err := password.Hash(benchPassword, password.OWASP, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(clients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := password.Verify(hash, benchPassword); !ok || err != nil {
				b.Error("verify failed", err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// round is how many sign-ins run between two measurements of the Argon2id
// rate: on a shared machine the speed drifts by tens of percent within
// seconds, so each round's rate is compared with the reference measured just
// before it, and the median of the rounds' ratios is reported.
const round = 50

func BenchmarkSignIn(b *testing.B) {
	for _, tc := range []struct {
		name    string
		twoStep bool
	}{{"password", false}, {"password+totp", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			// Each account signs in once: the server allows an account only
			// so many attempts a minute and each authenticator code once.
			users := e.users(b, b.N, tc.twoStep)
			latencies := make([]time.Duration, 0, b.N)
			var ratios []float64
			var mu sync.Mutex
			workers := clients * runtimeProcs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(round, b.N-done)
				b.StopTimer()
				ref := argon2Rate(b, time.Second)
				b.StartTimer()
				jobs := make(chan benchUser)
				var wg sync.WaitGroup
				start := time.Now()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for u := range jobs {
							t0 := time.Now()
							if err := e.signIn(u, tc.twoStep); err != nil {
								b.Error(err)
								continue
							}
							d := time.Since(t0)
							mu.Lock()
							latencies = append(latencies, d)
							mu.Unlock()
						}
					}()
				}
				for _, u := range users[done : done+n] {
					jobs <- u
				}
				close(jobs)
				wg.Wait()
				if n >= round/2 {
					ratios = append(ratios, float64(n)/time.Since(start).Seconds()/ref)
				}
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
			if len(ratios) > 0 {
				slices.Sort(ratios)
				b.ReportMetric(ratios[len(ratios)/2], "ratio-to-argon2id")
			}
			slices.Sort(latencies)
			if len(latencies) > 0 {
				b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// BenchmarkDevicesList reads an account's 200 trusted devices through API v1
// with a bearer token, from concurrent clients.
func BenchmarkDevicesList(b *testing.B) {
	e := newEnv(b)
	token := e.readAccount(b, 200)
	b.SetParallelism(clients)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{}
		for pb.Next() {
			req, _ := http.NewRequest("GET", e.url+"/api/v1/devices", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Browser 199") {
				b.Errorf("GET /api/v1/devices: %d %.200s", resp.StatusCode, body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

// readAccount makes an account with n trusted browsers ("Browser 0" …) and
// returns an API token of it that may read.
func (e *env) readAccount(b *testing.B, n int) (token string) {
	b.Helper()
	ctx := context.Background()
	u := e.users(b, 1, false)[0]
	user, err := e.store.UserByLogin(ctx, u.email)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		d := &store.Device{UserID: user.ID, Name: fmt.Sprintf("Browser %d", i), Kind: "browser", Browser: "Firefox 133", OS: "Linux",
			IP: "192.0.2.7", UserAgent: "Mozilla/5.0", TokenHash: []byte(fmt.Sprintf("%s-%032d", user.ID, i)),
			CreatedAt: time.Now(), LastSeenAt: time.Now(), TrustedUntil: time.Now().Add(24 * time.Hour)}
		if err := e.store.AddDevice(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	token = "cs_bench-token-" + fmt.Sprint(time.Now().UnixNano())
	if err := e.store.AddAPIToken(ctx, &store.APIToken{UserID: user.ID, Name: "bench", Hash: sha256Sum(token), Scopes: []string{"read"}, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return token
}
