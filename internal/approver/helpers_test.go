package approver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/testkit"
)

// recorder counts and keeps the requests a Manager sends.
type recorder struct {
	mu    sync.Mutex
	reqs  []*http.Request
	next  http.RoundTripper
	delay map[string]time.Duration // path → how long its requests are held before they go
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	d := r.delay[req.URL.Path]
	r.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	return r.next.RoundTrip(req)
}

// count counts requests to path.
func (r *recorder) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.reqs {
		if q.URL.Path == path {
			n++
		}
	}
	return n
}

// headers returns a header of every request to path, in order.
func (r *recorder) headers(path, name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var hs []string
	for _, q := range r.reqs {
		if q.URL.Path == path {
			hs = append(hs, q.Header.Get(name))
		}
	}
	return hs
}

// companion is a Manager under test with what it was opened with.
type companion struct {
	*Manager
	t       *testing.T
	dir     string
	secrets *testkit.FakeKeyring
	rec     *recorder
	stop    context.CancelFunc
	done    chan struct{}
}

type companionOption func(*Options)

// newCompanion opens a Manager on a fresh directory with an in-memory keyring.
func newCompanion(t *testing.T, srv *approvertest.Server, opts ...companionOption) *companion {
	t.Helper()
	c := &companion{t: t, dir: t.TempDir(), secrets: &testkit.FakeKeyring{}, rec: &recorder{next: http.DefaultTransport}}
	c.open(srv, opts...)
	return c
}

// hasKey reports whether the keyring holds the device key of id.
func (c *companion) hasKey(id string) bool {
	_, err := c.secrets.Get(id)
	return err == nil
}

func (c *companion) open(srv *approvertest.Server, opts ...companionOption) {
	c.t.Helper()
	o := Options{Dir: c.dir, Keyring: c.secrets, HTTP: &http.Client{Transport: c.rec}, Keys: noKeys{}}
	if srv != nil {
		o.Now = srv.Clock.Now
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := Open(o)
	if err != nil {
		c.t.Fatal(err)
	}
	m.backoffBase = 20 * time.Millisecond
	c.Manager = m
}

// run starts Run until the test ends (or stopRun).
func (c *companion) run() {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go func() { defer close(c.done); c.Run(ctx) }()
	c.t.Cleanup(c.stopRun)
}

func (c *companion) stopRun() {
	if c.stop == nil {
		return
	}
	c.stop()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.t.Error("Run did not return 10 s after its context ended")
	}
	c.stop = nil
}

// pair pairs with a fresh code of u's, by its link.
func (c *companion) pair(srv *approvertest.Server, uri, name string) Account {
	c.t.Helper()
	a, err := c.Pair(context.Background(), uri, "", name)
	if err != nil {
		c.t.Fatalf("pairing: %v", err)
	}
	return a
}

// wait returns the next event of kind that matches ok, failing the test
// after a while; other events are skipped.
func (c *companion) wait(kind EventKind, ok func(Event) bool) Event {
	c.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-c.Events():
			if e.Kind == kind && (ok == nil || ok(e)) {
				return e
			}
		case <-timeout:
			c.t.Fatalf("no %v event came within 15 s", kind)
		}
	}
}

// drain returns the events that came within d.
func (c *companion) drain(d time.Duration) []Event {
	var evs []Event
	timeout := time.After(d)
	for {
		select {
		case e := <-c.Events():
			evs = append(evs, e)
		case <-timeout:
			return evs
		}
	}
}

// noKeys is a KeyToucher for accounts that never ask for a key.
type noKeys struct{}

func (noKeys) Touch(context.Context, json.RawMessage, string) (json.RawMessage, error) {
	return nil, errors.New("no key in this test")
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 15 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
