package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/notify"
)

// TestQueueCloseRunsWhatIsQueued: close runs every queued job before it
// returns, and refuses work after.
func TestQueueCloseRunsWhatIsQueued(t *testing.T) {
	q := newQueue(slog.New(slog.DiscardHandler))
	var ran atomic.Int64
	const n = 200
	for range n {
		if err := q.add(job{what: "count", run: func(context.Context) error { ran.Add(1); return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	q.close()
	if got := ran.Load(); got != n {
		t.Errorf("close returned after %d of %d jobs", got, n)
	}
	if err := q.add(job{what: "late", run: func(context.Context) error { return nil }}); !errors.Is(err, errShuttingDown) {
		t.Errorf("add after close = %v, want errShuttingDown", err)
	}
	q.close() // a second close is harmless
}

// TestQueueCloseCancelsStuckWork: a job still running after the drain
// timeout sees its context cancelled, and its failure is logged.
func TestQueueCloseCancelsStuckWork(t *testing.T) {
	var logs bytes.Buffer
	q := newQueue(slog.New(slog.NewTextHandler(&logs, nil)))
	q.drain = 10 * time.Millisecond
	started := make(chan struct{})
	if err := q.add(job{what: "send a stuck mail", run: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	<-started
	q.close()
	for _, want := range []string{"cancelled", "background: send a stuck mail", "context canceled"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// failingMailer refuses every mail, as a relay that is down.
type failingMailer struct {
	mu   sync.Mutex
	sent []notify.Mail
}

func (m *failingMailer) SendMail(_ context.Context, mail notify.Mail) error {
	m.mu.Lock()
	m.sent = append(m.sent, mail)
	m.mu.Unlock()
	return errors.New("relay said 451 try later")
}

// TestServerCloseSendsQueuedMail: the reset link asked for just before the
// server closes is still sent; a mail that fails is logged without its
// link.
func TestServerCloseSendsQueuedMail(t *testing.T) {
	var logs bytes.Buffer
	mailer := &failingMailer{}
	e := newEnv(t, func(c *Config) { c.Mailer = mailer; c.Log = slogTo(&logs) })
	if _, err := e.srv.newUser(context.Background(), "Ada", "ada@example.com", "", pw); err != nil {
		t.Fatal(err)
	}
	rec := e.markedPost("/password/forgot", "198.51.100.1", url.Values{"login": {"ada@example.com"}})
	if !strings.Contains(rec.Body.String(), "we sent it a link") {
		t.Fatalf("forgot: %d %s", rec.Code, rec.Body.String())
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	mailer.mu.Lock()
	defer mailer.mu.Unlock()
	if len(mailer.sent) != 1 || !strings.Contains(mailer.sent[0].Text, "/password/reset?token=") {
		t.Fatalf("mails tried by Close: %+v", mailer.sent)
	}
	if !strings.Contains(logs.String(), "background: send a reset link") || !strings.Contains(logs.String(), "451 try later") {
		t.Errorf("the failure is not logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "token=") {
		t.Errorf("the log holds the link:\n%s", logs.String())
	}
}
