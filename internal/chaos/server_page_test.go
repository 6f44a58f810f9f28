//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/browsertest"
)

// tab is a real Chromium tab on the sign-in pages, running their script
// (static/approval.js): what a person waiting for an approval sees.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab starts a headless Chromium for the test.
func newTab(t *testing.T) *tab {
	t.Helper()
	return &tab{t: t, ctx: browsertest.Start(t)}
}

// signIn signs in to base as login with the password, up to the page that
// waits for an approval, and returns the number it shows.
func (b *tab) signIn(base, login string) int {
	b.t.Helper()
	if _, err := browsertest.Open(b.ctx, base+"/signin"); err != nil {
		b.t.Fatal(err)
	}
	if _, err := browsertest.Submit(b.ctx, "form#signin-form", map[string]string{"login": login, "password": chaosPassword}); err != nil {
		b.t.Fatal(err)
	}
	text, err := browsertest.Text(b.ctx, "#approval-number")
	if err != nil {
		b.t.Fatalf("Chromium: no approval number after the password: %v", err)
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		b.t.Fatalf("Chromium: approval number %q", text)
	}
	return n
}

// press presses "I approved it — continue" and says whether that signed in.
func (b *tab) press() bool {
	if _, err := browsertest.Click(b.ctx, "#approval-check"); err != nil {
		b.t.Logf("Chromium: pressing the button: %v", err)
		return false
	}
	p, err := browsertest.Path(b.ctx)
	return err == nil && p == "/account/security"
}

// pageWatch reads the waiting page's status line as it changes, until the
// page lands signed in.
type pageWatch struct {
	b     *tab
	start time.Time
	quit  chan struct{}
	done  chan struct{}

	mu   sync.Mutex
	seen pageSeen
}

// pageSeen is what the page said, in order, and whether (and when) it
// signed in by itself.
type pageSeen struct {
	said   []string
	landed bool
	after  time.Duration // from the start of the watch to landing
}

func (s pageSeen) outcome() string {
	if s.landed {
		return fmt.Sprintf("signed in by itself %.1f s after the kill", s.after.Seconds())
	}
	return "did not sign in by itself"
}

// watch starts reading the page every 100 ms.
func (b *tab) watch() *pageWatch {
	w := &pageWatch{b: b, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := ""
		for {
			if p, err := browsertest.Path(b.ctx); err == nil && p == "/account/security" {
				w.mu.Lock()
				w.seen.landed, w.seen.after = true, time.Since(w.start)
				w.mu.Unlock()
				return
			}
			if text, err := browsertest.Text(b.ctx, "#approval-status"); err == nil && text != last {
				last = text
				w.mu.Lock()
				w.seen.said = append(w.seen.said, text)
				w.mu.Unlock()
			}
			select {
			case <-w.quit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop waits up to limit for the page to land, then stops watching.
func (w *pageWatch) stop(limit time.Duration) pageSeen {
	select {
	case <-w.done:
	case <-time.After(limit):
		close(w.quit)
		<-w.done
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// quoteAll lists what a page said: "a", then "b".
func quoteAll(said []string) string {
	q := make([]string, len(said))
	for i, s := range said {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 0 {
		return "nothing"
	}
	return strings.Join(q, ", then ")
}
