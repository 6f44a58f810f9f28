package ui

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/password"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// TestApprovalPromptEndToEnd is the "once through the GUI": a real
// countersign-server in-process, a real approver.Manager paired with it as
// the window's Approvals, and a password sign-in made over HTTP. The prompt
// window comes up with the request; tapping the number the sign-in page
// shows approves it, and the sign-in then completes.
func TestApprovalPromptEndToEnd(t *testing.T) {
	srv := approvertest.Start(t)
	const email, pw = "ada@example.com", "Tangerine-Quasar-Lighthouse-1987"
	u := liveUser(t, srv, email, pw)

	m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, uri := srv.PairingCode(u)
	if _, err := m.Pair(context.Background(), uri, "", "Sam's desktop"); err != nil {
		t.Fatalf("pairing: %v", err)
	}
	h := newLiveApprovalsHarness(t, m, srv.Clock.Now())
	// Run starts after the window reads the events, so that every event
	// goes through h.queue.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	browser := webtest.New(t, srv.URL)
	n := browser.WaitForApproval(email, pw)

	var p *prompt
	deadline := time.After(10 * time.Second)
	for p == nil {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatal("no prompt came up within 10 s")
		}
		for _, q := range h.s.prompts {
			p = q
		}
	}
	if got := promptText(p); !strings.Contains(got, "Ada Lovelace") || !strings.Contains(got, "Pick the number shown in your browser") {
		t.Errorf("the prompt shows:\n%s", got)
	}
	if !slices.Contains(p.req.Numbers, n) {
		t.Fatalf("the prompt offers %v, the page shows %d", p.req.Numbers, n)
	}
	if len(h.windows) != 1 || h.windows[0].shown == 0 || h.windows[0].Title() != promptTitle {
		t.Errorf("%d prompt windows, want one, shown, titled %q", len(h.windows), promptTitle)
	}

	tapped := time.Now()
	pick(t, p, n)
	h.s.busy.Wait() // Decide returned; its result waits in the queue
	for p.state != promptDone {
		select {
		case f := <-h.queue:
			f()
		case <-time.After(10 * time.Second):
			t.Fatalf("the prompt did not finish; it shows:\n%s", promptText(p))
		}
	}
	t.Logf("the tap's decision came back %v after the tap", time.Since(tapped))
	if got := p.status.Text; got != "Approved" {
		t.Errorf("the prompt says %q, want Approved", got)
	}

	res := browser.Post("/signin/verify", "/signin/approval/complete", url.Values{})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/account/security" {
		t.Errorf("completing the sign-in: status %d to %q, want 303 to /account/security", res.StatusCode, loc)
	}
}

// liveUser makes an account with a real password and two-step on.
func liveUser(t *testing.T, srv *approvertest.Server, email, pw string) *store.User {
	t.Helper()
	hash, err := password.Hash(pw, password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	handle := make([]byte, 32)
	rand.Read(handle)
	u := &store.User{Email: email, Name: "Ada Lovelace", PasswordHash: hash, PasswordChangedAt: srv.Clock.Now(),
		TwoStep: true, WebAuthnID: handle, CreatedAt: srv.Clock.Now()}
	if err := srv.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// newLiveApprovalsHarness is newApprovalsHarness with a real Approvals.
func newLiveApprovalsHarness(t *testing.T, svc Approvals, now time.Time) *approvalsHarness {
	t.Helper()
	h := &approvalsHarness{app: newTestApp(t), clock: testkit.NewClock(now),
		tray: &fakeTray{}, queue: make(chan func(), 64)}
	sw := &shownWindow{Window: test.NewWindow(nil)}
	h.win = sw
	h.desk = &fakeDesktop{win: sw}
	t.Cleanup(func() {
		h.s.busy.Wait()
		h.win.Close()
	})
	h.main = NewMain(h.app, h.win, Deps{Vault: &fakeStore{}, Now: h.clock.Now, After: h.clock.After,
		Capture: h.desk.Capture, Clipboard: h.desk.Clipboard, Session: Session{Tray: h.tray}, Approvals: svc,
		NewWindow: func(title string) fyne.Window {
			w := &promptWindow{Window: h.app.NewWindow(title)}
			h.windows = append(h.windows, w)
			return w
		}})
	h.s = h.main.approvals
	h.s.ui = func(f func()) { h.queue <- f }
	h.main.nav.SelectIndex(slices.Index(h.main.screens, screen(h.s)))
	return h
}
