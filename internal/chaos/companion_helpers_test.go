//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/testkit"
)

// needKeyringSession stops a companion case that would otherwise reach the
// keyring of the person running it: the cases lock, fill and empty it.
func needKeyringSession(t *testing.T) {
	t.Helper()
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Fatal("the companion's cases need the private Secret Service of .ci/keyring-session: run make chaos")
	}
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary is the countersign command to run: $COUNTERSIGN_BIN (make chaos
// builds bin/countersign), else one built now with go build.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		if p := os.Getenv("COUNTERSIGN_BIN"); p != "" {
			cliPath = p
			return
		}
		dir, err := os.MkdirTemp("", "countersign-chaos-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "countersign")
		if out, err := exec.Command(goTool(), "build", "-o", cliPath, "../../app/countersign").CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build countersign: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// liveServer is countersign-server as a child process (serverProc) on a
// SQLite database of the test's, with one account whose second step is an
// approval once a desktop is paired.
type liveServer struct {
	*serverProc
	login string
}

// startLiveServer starts it; the test's end stops it.
func startLiveServer(t *testing.T) *liveServer {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "countersign.db")
	s := &liveServer{login: seedAccounts(t, dsn, "companion", 1)[0]}
	s.serverProc = newServer(t, "companion", dsn, "")
	s.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("countersign-server's log:\n%s", s.logText())
		}
	})
	return s
}

// signal sends sig to the running server.
func (s *liveServer) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatal("the server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// uri makes a one-time pairing link for the account.
func (s *liveServer) uri() string { return s.pairingURI(s.login) }

// signIn starts a sign-in in a fresh browser, up to the page that waits for
// approval; it returns the browser and the number the page shows.
func (s *liveServer) signIn() (*webtest.Client, int) {
	s.t.Helper()
	b := webtest.New(s.t, s.public)
	return b, b.WaitForApproval(s.login, chaosPassword)
}

// signedIn reports whether the browser's sign-in completes now (the page's
// "I approved it" button): it lands outside /signin.
func signedIn(b *webtest.Client) (bool, string) {
	res := b.Post("/signin/verify", "/signin/approval/complete", url.Values{})
	loc := res.Header.Get("Location")
	return res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(loc, "/signin"), fmt.Sprintf("%d %s", res.StatusCode, loc)
}

// trip is one HTTP request the companion made.
type trip struct {
	at   time.Time
	path string
	err  error
}

// tripLog is an http.RoundTripper that notes every request the companion
// sends, over a transport with the companion's own timeouts.
type tripLog struct {
	mu    sync.Mutex
	trips []trip
	next  http.RoundTripper
}

func newTripLog() *tripLog {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 60 * time.Second
	return &tripLog{next: t}
}

func (l *tripLog) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	res, err := l.next.RoundTrip(req)
	l.mu.Lock()
	l.trips = append(l.trips, trip{at: at, path: req.URL.Path, err: err})
	l.mu.Unlock()
	return res, err
}

// since returns the requests to path made from index i on.
func (l *tripLog) since(i int, path string) []trip {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []trip
	for _, tr := range l.trips[min(i, len(l.trips)):] {
		if path == "" || tr.path == path {
			out = append(out, tr)
		}
	}
	return out
}

func (l *tripLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.trips)
}

// desktop is a companion: the real approver.Manager with its paired.json in
// a directory of its own and its device keys in the real keyring, run
// until the test ends, every event it emits kept.
type desktop struct {
	*approver.Manager
	t     *testing.T
	name  string
	dir   string
	trips *tripLog
	logs  *testkit.Buffer

	mu     sync.Mutex
	events []approver.Event
	times  []time.Time // when each event came
	stop   context.CancelFunc
	done   chan struct{}
}

// newDesktop opens a Manager; opts may change its Options (a clock, a keyring).
func newDesktop(t *testing.T, name string, opts ...func(*approver.Options)) *desktop {
	t.Helper()
	return openDesktop(t, name, t.TempDir(), opts...)
}

// openDesktop opens a Manager on dir, as the window opens it at start.
func openDesktop(t *testing.T, name, dir string, opts ...func(*approver.Options)) *desktop {
	t.Helper()
	d := &desktop{t: t, name: name, dir: dir, trips: newTripLog(), logs: &testkit.Buffer{}}
	o := approver.Options{
		Dir:     dir,
		Keyring: keyring.New(approver.KeyringService).WithTimeout(20 * time.Second),
		HTTP:    &http.Client{Transport: d.trips},
		Keys:    noKeys{},
		Log:     slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := approver.Open(o)
	if err != nil {
		t.Fatalf("opening %s's approver: %v", name, err)
	}
	d.Manager = m
	return d
}

// run starts Run and keeps every event, until the test ends.
func (d *desktop) run() {
	ctx, cancel := context.WithCancel(context.Background())
	d.stop, d.done = cancel, make(chan struct{})
	go func() {
		for {
			select {
			case e := <-d.Events():
				d.mu.Lock()
				d.events = append(d.events, e)
				d.times = append(d.times, time.Now())
				d.mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { defer close(d.done); d.Run(ctx) }()
	d.t.Cleanup(d.quit)
}

// quit stops Run (the window closing).
func (d *desktop) quit() {
	if d.stop == nil {
		return
	}
	d.stop()
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		d.t.Errorf("%s: Run did not return 15 s after its context ended", d.name)
	}
	d.stop = nil
	if d.t.Failed() {
		d.t.Logf("%s's log:\n%s", d.name, d.logs.String())
	}
}

// mark is where the event log stands now.
func (d *desktop) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.events)
}

// event waits up to within for an event after mark that ok accepts.
func (d *desktop) event(mark int, within time.Duration, what string, ok func(approver.Event) bool) (approver.Event, bool) {
	e, _, found := d.eventAt(mark, within, what, ok)
	return e, found
}

// eventAt is event, with when it came.
func (d *desktop) eventAt(mark int, within time.Duration, what string, ok func(approver.Event) bool) (approver.Event, time.Time, bool) {
	deadline := time.Now().Add(within)
	for {
		d.mu.Lock()
		for i := min(mark, len(d.events)); i < len(d.events); i++ {
			if e := d.events[i]; ok(e) {
				at := d.times[i]
				d.mu.Unlock()
				return e, at, true
			}
		}
		d.mu.Unlock()
		if time.Now().After(deadline) {
			d.t.Errorf("%s: no %s within %v", d.name, what, within)
			return approver.Event{}, time.Time{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// request waits for the sign-in request the next event after mark brings.
func (d *desktop) request(mark int, within time.Duration) (approver.Request, bool) {
	e, ok := d.event(mark, within, "sign-in request", func(e approver.Event) bool { return e.Kind == approver.EventRequest })
	if !ok {
		return approver.Request{}, false
	}
	return *e.Request, true
}

// online waits until the account's stream is connected (or not).
func (d *desktop) online(want bool, within time.Duration) (approver.Account, bool) {
	deadline := time.Now().Add(within)
	for {
		as := d.Accounts()
		if len(as) == 1 && as[0].Online == want {
			return as[0], true
		}
		if time.Now().After(deadline) {
			d.t.Errorf("%s: still not online=%v after %v: %+v", d.name, want, within, as)
			if len(as) == 1 {
				return as[0], false
			}
			return approver.Account{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pair pairs with the demo account through a link of the server's.
func (d *desktop) pair(s *liveServer) approver.Account {
	d.t.Helper()
	a, err := d.Pair(context.Background(), s.uri(), "", d.name)
	if err != nil {
		d.t.Fatalf("%s: pairing: %v", d.name, err)
	}
	return a
}

// approve picks number on the request and returns the server's status.
func (d *desktop) approve(r approver.Request, number int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.Decide(ctx, r.Account.ID, r.ID, approver.Approve, number)
}

// secs formats a duration as seconds with two decimals, for the table.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
