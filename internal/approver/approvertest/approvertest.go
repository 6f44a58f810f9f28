// Package approvertest runs a real countersign-server in-process for tests
// of the companion's approvals (package approver, the command line, the
// window): SQLite in a temporary directory, served on a loopback port, with
// helpers to make accounts, pairing codes and sign-in requests the way the
// web pages would. It is imported only by tests.
//
// Requests and codes are made by a second approval.Service on the same
// store, as another server instance would; the store is wrapped so that
// every approval event written wakes both, as PostgreSQL's LISTEN/NOTIFY
// does between instances.
package approvertest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/server"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// Server is a running countersign-server.
type Server struct {
	URL       string            // its public URL, "http://localhost:PORT"
	Store     store.Store       // the store it runs on
	Approvals *approval.Service // another instance's approval service on the same store
	Keys      *seckey.Service   // that instance's WebAuthn service
	Clock     *testkit.Clock    // the time of the server, its store and Approvals; stopped at the real time of Start
	DSN       string            // the database it runs on: sqlite://FILE, or PostgreSQL's (StartOn)

	t    testing.TB
	addr string
	db   *store.DB
	http *http.Server
	srv  *server.Server
	done chan struct{}
}

// Start runs a server on SQLite until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, "sqlite://"+filepath.Join(t.TempDir(), "countersign.db"))
}

// StartOn runs a server on the database dsn (e.g. pgtest.DSN's) until the
// test ends.
func StartOn(t testing.TB, dsn string) *Server {
	t.Helper()
	ctx := context.Background()
	s := &Server{t: t, Clock: testkit.NewClock(time.Now().UTC().Truncate(time.Second)), DSN: dsn}
	db, err := store.Open(ctx, dsn, store.WithClock(s.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db
	s.Store = &notifyingStore{Store: db}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	_, port, _ := net.SplitHostPort(s.addr)
	s.URL = "http://localhost:" + port
	s.Keys, err = seckey.New(seckey.Config{
		RPID: "localhost", RPName: "Countersign", Origins: []string{s.URL},
		Store: s.Store, Now: s.Clock.Now, Timeout: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Approvals, err = approval.New(ctx, approval.Config{Store: s.Store, Keys: s.Keys, PublicURL: s.URL, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Approvals.Close() })
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

// serve starts server.New on ln.
func (s *Server) serve(ln net.Listener) {
	s.t.Helper()
	outbox, err := notify.NewOutbox(filepath.Join(s.t.TempDir(), "outbox"), nil, s.Clock.Now)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv, err = server.New(server.Config{
		PublicURL: s.URL, Store: s.Store, Mailer: outbox, SMS: outbox, Now: s.Clock.Now,
		Log:            slog.New(slog.DiscardHandler),
		PasswordParams: &testParams,
	})
	if err != nil {
		ln.Close()
		s.t.Fatal(err)
	}
	// Each answer leaves once the work it queued (a failed sign-in's
	// activity, a mail) is done, so that a test reads it right after.
	srv := s.srv
	settled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Handler().ServeHTTP(w, r)
		srv.WaitIdle()
	})
	s.http = &http.Server{Handler: settled, ReadHeaderTimeout: 10 * time.Second}
	s.http.RegisterOnShutdown(s.srv.EndStreams)
	s.done = make(chan struct{})
	go func(h *http.Server, done chan struct{}) {
		defer close(done)
		if err := h.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Errorf("serving: %v", err)
		}
	}(s.http, s.done)
}

// stop closes the server and every connection to it at once, streams too.
func (s *Server) stop() {
	if s.http == nil {
		return
	}
	s.http.Close()
	<-s.done
	s.srv.Close()
	s.http = nil
}

// Restart stops the server, dropping every connection, and starts a new
// one on the same store and address, as a deploy would.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.serve(ln)
}

// Password is the password of every account User makes.
const Password = "correct horse battery staple"

// testParams are the server's and User's password hashing: cheap, for tests.
var testParams = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// User makes an account with two-step verification on and Password.
func (s *Server) User(email, name string) *store.User {
	s.t.Helper()
	handle := make([]byte, 32)
	rand.Read(handle)
	hash, err := password.Hash(Password, testParams, rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	u := &store.User{Email: email, Name: name, PasswordHash: hash,
		WebAuthnID: handle, TwoStep: true, CreatedAt: s.Clock.Now()}
	if err := s.Store.CreateUser(context.Background(), u); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// PairingCode makes a code (grouped, "K7Q9-M2XD") and its countersign:// link.
func (s *Server) PairingCode(u *store.User) (code, uri string) {
	s.t.Helper()
	code, uri, _, err := s.Approvals.NewPairingCode(context.Background(), u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return code, uri
}

// SignIn starts a sign-in that waits for approval, from a Firefox on
// Windows at 203.0.113.7, and returns its request (Number is the right one).
func (s *Server) SignIn(u *store.User) *store.ApprovalRequest {
	s.t.Helper()
	sid := make([]byte, 16)
	rand.Read(sid)
	r, err := s.Approvals.Request(context.Background(), approval.SignIn{
		UserID: u.ID, SessionID: base64.RawURLEncoding.EncodeToString(sid), IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// Request reads a request's state now.
func (s *Server) Request(id string) *store.ApprovalRequest {
	s.t.Helper()
	r, err := s.Store.ApprovalRequest(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// RemoveApprover removes a device as the security page would.
func (s *Server) RemoveApprover(u *store.User, deviceID string) {
	s.t.Helper()
	if err := s.Approvals.RemoveApprover(context.Background(), u.ID, deviceID, "127.0.0.1", "test"); err != nil {
		s.t.Fatal(err)
	}
}

// APIToken issues an API token ("cs_…") with scopes, as the settings page does.
func (s *Server) APIToken(u *store.User, scopes ...string) string {
	s.t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := "cs_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(tok))
	err := s.Store.AddAPIToken(context.Background(), &store.APIToken{
		UserID: u.ID, Name: fmt.Sprintf("test %d", len(scopes)), Hash: sum[:], Scopes: scopes, CreatedAt: s.Clock.Now(),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// notifyingStore announces every approval event written, to every
// listener, as PostgreSQL's NOTIFY does.
type notifyingStore struct {
	store.Store
	mu   sync.Mutex
	subs []chan string
}

func (n *notifyingStore) Listen(ctx context.Context, channel string) (<-chan string, error) {
	ch := make(chan string, 64)
	n.mu.Lock()
	n.subs = append(n.subs, ch)
	n.mu.Unlock()
	go func() {
		<-ctx.Done()
		n.mu.Lock()
		defer n.mu.Unlock()
		for i, c := range n.subs {
			if c == ch {
				n.subs = append(n.subs[:i], n.subs[i+1:]...)
				close(ch)
				return
			}
		}
	}()
	return ch, nil
}

func (n *notifyingStore) notify(userID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.subs {
		select {
		case c <- userID:
		default:
		}
	}
}

func (n *notifyingStore) CreateApprovalRequest(ctx context.Context, r *store.ApprovalRequest, maxPending int, ev *store.ApprovalEvent) error {
	err := n.Store.CreateApprovalRequest(ctx, r, maxPending, ev)
	if err == nil {
		n.notify(r.UserID)
	}
	return err
}

func (n *notifyingStore) ResolveApprovalRequest(ctx context.Context, res store.Resolution, ev *store.ApprovalEvent) error {
	err := n.Store.ResolveApprovalRequest(ctx, res, ev)
	if err == nil {
		n.notify("")
	}
	return err
}

func (n *notifyingStore) RemoveApprover(ctx context.Context, userID, id string, at time.Time, ev *store.ApprovalEvent) error {
	err := n.Store.RemoveApprover(ctx, userID, id, at, ev)
	if err == nil {
		n.notify(userID)
	}
	return err
}

func (n *notifyingStore) RemoveMember(ctx context.Context, userID, id string, at time.Time, evs []*store.ApprovalEvent) error {
	err := n.Store.RemoveMember(ctx, userID, id, at, evs)
	if err == nil {
		n.notify(userID)
	}
	return err
}

func (n *notifyingStore) AddShareOffer(ctx context.Context, o *store.ShareOffer, ev *store.ApprovalEvent) error {
	err := n.Store.AddShareOffer(ctx, o, ev)
	if err == nil {
		n.notify(o.UserID)
	}
	return err
}

func (n *notifyingStore) AppendEvent(ctx context.Context, userID string, ev *store.ApprovalEvent) error {
	err := n.Store.AppendEvent(ctx, userID, ev)
	if err == nil {
		n.notify(userID)
	}
	return err
}
