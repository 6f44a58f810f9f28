package approval

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/store/pgtest"
	"github.com/countersign/countersign/internal/testkit"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

// t0 is the tests' "now"; every test starts its clock there.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const publicURL = "http://accounts.example.test:8080"

// mailer keeps what it is asked to send.
type mailer struct {
	sent chan notify.Mail
}

func (m *mailer) SendMail(_ context.Context, mail notify.Mail) error {
	m.sent <- mail
	return nil
}

// places is a Locator from a map.
type places map[string]string

func (p places) Place(ip string) string { return p[ip] }

// env is a Service on a fresh database with one account, Ada.
type env struct {
	dsn  string
	db   *store.DB
	clk  *testkit.Clock
	svc  *Service
	keys *seckey.Service
	mail *mailer
	ada  *store.User
}

type backend struct {
	name string
	dsn  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "countersign.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// forEach runs f with a fresh env on every backend.
func forEach(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, b.dsn(t)))
		})
	}
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	e := &env{dsn: dsn, clk: testkit.NewClock(t0), mail: &mailer{sent: make(chan notify.Mail, 10)}}
	e.db = openDB(t, dsn, e.clk)
	var err error
	e.keys, err = seckey.New(seckey.Config{RPID: "accounts.example.test", RPName: "Countersign", Origins: []string{publicURL},
		Store: e.db, Now: e.clk.Now})
	must(t, "seckey.New", err)
	e.svc = e.newService(t, e.db)
	e.ada = e.newUser(t, "ada@example.com", "Ada Lovelace")
	return e
}

func openDB(t *testing.T, dsn string, clk *testkit.Clock) *store.DB {
	t.Helper()
	db, err := store.Open(ctx, dsn, store.WithClock(clk.Now))
	must(t, "store.Open", err)
	t.Cleanup(func() { db.Close() })
	return db
}

// newService starts another Service on db, sharing the env's clock.
func (e *env) newService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	svc, err := New(ctx, Config{Store: db, Keys: e.keys, PublicURL: publicURL, Now: e.clk.Now, Rand: rand.Reader,
		Locator: places{"203.0.113.7": "Paris, France"}, Mailer: e.mail})
	must(t, "New", err)
	t.Cleanup(func() { svc.Close() })
	return svc
}

func (e *env) newUser(t *testing.T, email, name string) *store.User {
	t.Helper()
	u := &store.User{Email: email, Name: name, PasswordHash: "$argon2id$x", TwoStep: true, CreatedAt: t0,
		WebAuthnID: []byte("handle-" + email + "-0123456789abcdef")}
	must(t, "CreateUser", e.db.CreateUser(ctx, u))
	return u
}

// device is a paired companion.
type device struct {
	*store.Approver
	priv ed25519.PrivateKey
}

// pair pairs a new device named name with u's account.
func (e *env) pair(t *testing.T, u *store.User, name string) *device {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, "GenerateKey", err)
	code, _, _, err := e.svc.NewPairingCode(ctx, u.ID)
	must(t, "NewPairingCode", err)
	res, err := e.svc.Redeem(ctx, api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: name, Platform: "linux"}, "198.51.100.2", "countersign/1.0")
	must(t, "Redeem", err)
	a, err := e.db.Approver(ctx, res.DeviceID)
	must(t, "Approver", err)
	return &device{Approver: a, priv: priv}
}

// decision is d's signed decision on r.
func (d *device) decision(r *store.ApprovalRequest, decision string, number int) api.Decision {
	sig := ed25519.Sign(d.priv, api.DecisionMessage(r.ID, r.Nonce, decision, number))
	return api.Decision{Decision: decision, Number: number, Nonce: r.Nonce, Signature: b64.EncodeToString(sig)}
}

// wrong returns a number r offers that is not the right one.
func wrong(r *store.ApprovalRequest) int { return r.Decoys[0] }

var sessionN atomic.Int64

// request makes a sign-in request for u from a new session.
func (e *env) request(t *testing.T, u *store.User) *store.ApprovalRequest {
	t.Helper()
	sid := fmt.Sprintf("session-%d", sessionN.Add(1))
	r, err := e.svc.Request(ctx, SignIn{UserID: u.ID, SessionID: sid, IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"})
	must(t, "Request", err)
	return r
}

func (e *env) activity(t *testing.T, u *store.User) map[string][]store.Activity {
	t.Helper()
	as, err := e.db.ActivityPage(ctx, u.ID, 0, 100)
	must(t, "ActivityPage", err)
	m := map[string][]store.Activity{}
	for _, a := range as {
		m[a.Kind] = append(m[a.Kind], a)
	}
	return m
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// next reads the next event of a stream within d.
func next(t *testing.T, ch <-chan api.StreamEvent, d time.Duration) api.StreamEvent {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return api.StreamEvent{}
}

// quiet checks that no event arrives on a stream for a short while.
func quiet(t *testing.T, ch <-chan api.StreamEvent) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %s %d %s", e.Event, e.ID, e.Data)
		}
		t.Fatal("the stream ended")
	case <-time.After(100 * time.Millisecond):
	}
}
