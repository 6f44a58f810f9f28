package ui

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/assets"
	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/testkit"
)

// decision is one call of Decide.
type decision struct {
	account, request string
	choice           approver.Choice
	number           int
}

// pairCall is one call of Pair.
type pairCall struct{ server, code, name string }

// fakeApprovals is an Approvals whose events the test sends and whose
// server answers it sets. Pair, Unpair and Decide run off the UI
// goroutine, hence the lock.
type fakeApprovals struct {
	mu       sync.Mutex
	accounts []approver.Account
	pending  []approver.Request
	events   chan approver.Event

	pairAccount approver.Account
	pairErr     error
	status      string // Decide's answer
	decideErr   error

	paired   []pairCall
	unpaired []string
	decided  []decision

	offers     map[string][]approver.Share // by account id: what Shares lists
	sharesErr  error                       // Shares's answer when set
	answerErr  error                       // AcceptShare's and DeclineShare's
	sharesGate chan struct{}               // Shares waits for it to close when set
	accepted   []string                    // offer ids AcceptShare was called with
	declined   []string                    // and DeclineShare
	forgot     int                         // ForgetStepUps calls
}

func (f *fakeApprovals) ForgetStepUps() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgot++
}

func newFakeApprovals(accounts ...approver.Account) *fakeApprovals {
	return &fakeApprovals{accounts: accounts, events: make(chan approver.Event, 16), status: api.StatusApproved}
}

func (f *fakeApprovals) Accounts() []approver.Account {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accounts)
}

func (f *fakeApprovals) Pair(_ context.Context, server, code, name string) (approver.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paired = append(f.paired, pairCall{server, code, name})
	if f.pairErr != nil {
		return approver.Account{}, f.pairErr
	}
	f.accounts = append(f.accounts, f.pairAccount)
	return f.pairAccount, nil
}

func (f *fakeApprovals) Unpair(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unpaired = append(f.unpaired, id)
	f.accounts = slices.DeleteFunc(f.accounts, func(a approver.Account) bool { return a.ID == id })
	return nil
}

func (f *fakeApprovals) Events() <-chan approver.Event { return f.events }

func (f *fakeApprovals) Pending() []approver.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pending)
}

func (f *fakeApprovals) Decide(_ context.Context, account, request string, c approver.Choice, n int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decided = append(f.decided, decision{account, request, c, n})
	if f.decideErr != nil {
		return "", f.decideErr
	}
	return f.status, nil
}

func (f *fakeApprovals) Shares(ctx context.Context, account string) ([]approver.Share, error) {
	f.mu.Lock()
	gate := f.sharesGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sharesErr != nil {
		return nil, f.sharesErr
	}
	return slices.Clone(f.offers[account]), nil
}

func (f *fakeApprovals) AcceptShare(_ context.Context, account, id string) error {
	return f.answer(account, id, &f.accepted)
}

func (f *fakeApprovals) DeclineShare(_ context.Context, account, id string) error {
	return f.answer(account, id, &f.declined)
}

// answer records an answer to an offer and, unless it fails, takes the
// offer off the list, as the server does.
func (f *fakeApprovals) answer(account, id string, calls *[]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*calls = append(*calls, id)
	if f.answerErr != nil {
		return f.answerErr
	}
	if f.offers != nil {
		f.offers[account] = slices.DeleteFunc(f.offers[account], func(s approver.Share) bool { return s.ID == id })
	}
	return nil
}

// offer puts a share on the account's list.
func (f *fakeApprovals) offer(account string, s approver.Share) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.offers == nil {
		f.offers = map[string][]approver.Share{}
	}
	f.offers[account] = append(f.offers[account], s)
}

// answers are the offer ids accepted and declined so far.
func (f *fakeApprovals) answers() (accepted, declined []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accepted), slices.Clone(f.declined)
}

func (f *fakeApprovals) decisions() []decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.decided)
}

// Accounts of the fixtures: paired online, paired offline, unpaired.
var (
	adaAccount = approver.Account{ID: "dev-ada", Server: "https://accounts.example.com", AccountID: "u1",
		Name: "Ada Lovelace", Email: "ada@example.com", DeviceName: "Sam's desktop",
		PairedAt: start.Add(-48 * time.Hour), Online: true}
	bobAccount = approver.Account{ID: "dev-bob", Server: "http://127.0.0.1:8080", AccountID: "u2",
		Name: "Bob Lovelace", Email: "bob@example.com", DeviceName: "Sam's desktop",
		PairedAt:  start.Add(-24 * time.Hour),
		LastError: "dial tcp 127.0.0.1:8080: connect: connection refused"}
	carolAccount = approver.Account{ID: "dev-carol", Server: "https://id.example.org", AccountID: "u3",
		Name: "Carol", Email: "carol@example.org", DeviceName: "Sam's desktop",
		PairedAt: start.Add(-time.Hour), Unpaired: true}
)

// request is a sign-in of Ada's from Paris that came just now; the right
// number is 42.
func request(id string) approver.Request {
	return approver.Request{Account: adaAccount, Approval: api.Approval{
		ID: id, Nonce: "bm9uY2U", Numbers: []int{17, 42, 88},
		Account: api.AccountRef{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com"},
		Browser: "Firefox 133", OS: "Windows 10", IP: "203.0.113.7", Place: "Paris, France",
		CreatedAt: start, ExpiresAt: start.Add(2 * time.Minute),
	}}
}

// approvalsHarness is the window with a fake Approvals, on the Sign-in
// approvals screen. Results the screen hands back to the UI goroutine wait
// in queue until the test runs them (pump, waitFor).
type approvalsHarness struct {
	app     fyne.App
	win     fyne.Window
	main    *Main
	s       *approvals
	svc     *fakeApprovals
	clock   *testkit.Clock
	tray    *fakeTray
	desk    *fakeDesktop
	queue   chan func()
	windows []*promptWindow
	closed  bool
}

// close closes the main window, once.
func (h *approvalsHarness) close() {
	h.closed = true
	h.win.Close()
}

// iconApp is the test app with an icon, which the test driver's ignores.
type iconApp struct {
	fyne.App
	icon fyne.Resource
}

func (a iconApp) Icon() fyne.Resource { return a.icon }

// promptWindow is a prompt's window, counting what was asked of it.
type promptWindow struct {
	fyne.Window
	shown, focused int
	hidden, closed bool
	intercept      func()
}

func (w *promptWindow) SetCloseIntercept(f func()) { w.intercept = f; w.Window.SetCloseIntercept(f) }

// intercepted is the person closing the window from its title bar.
func (w *promptWindow) intercepted() { w.intercept() }

func (w *promptWindow) Show()         { w.shown++; w.hidden = false; w.Window.Show() }
func (w *promptWindow) Hide()         { w.hidden = true; w.Window.Hide() }
func (w *promptWindow) RequestFocus() { w.focused++; w.Window.RequestFocus() }
func (w *promptWindow) Close()        { w.closed = true; w.Window.Close() }

func newApprovalsHarness(t *testing.T, svc *fakeApprovals) *approvalsHarness {
	t.Helper()
	return newApprovalsHarnessWith(t, svc, &fakeStore{})
}

// newApprovalsHarnessWith is newApprovalsHarness with the window's vault.
func newApprovalsHarnessWith(t *testing.T, svc *fakeApprovals, vault Store) *approvalsHarness {
	t.Helper()
	h := &approvalsHarness{app: newTestApp(t), svc: svc, clock: testkit.NewClock(start),
		tray: &fakeTray{}, queue: make(chan func(), 64)}
	icon, err := assets.IconPNG(64)
	if err != nil {
		t.Fatal(err)
	}
	h.app = iconApp{App: h.app, icon: fyne.NewStaticResource("countersign.png", icon)}
	sw := &shownWindow{Window: test.NewWindow(nil)}
	h.win = sw
	h.desk = &fakeDesktop{win: sw}
	t.Cleanup(func() {
		h.main.add.busy.Wait()
		h.s.busy.Wait()
		if !h.closed {
			h.win.Close()
		}
	})
	deps := Deps{Vault: vault, Now: h.clock.Now, After: h.clock.After,
		Capture: h.desk.Capture, Clipboard: h.desk.Clipboard,
		Session: Session{Tray: h.tray},
		NewWindow: func(title string) fyne.Window {
			w := &promptWindow{Window: h.app.NewWindow(title)}
			h.windows = append(h.windows, w)
			return w
		}}
	if svc != nil {
		deps.Approvals = svc // a nil *fakeApprovals is not a nil Approvals
	}
	h.main = NewMain(h.app, h.win, deps)
	h.main.lock.background = checkNow
	h.s = h.main.approvals
	h.main.add.settle = 0
	// Set before any event is sent, so the events goroutine sees it.
	h.s.ui = func(f func()) { h.queue <- f }
	h.main.nav.SelectIndex(slices.Index(h.main.screens, screen(h.s)))
	return h
}

// send delivers an event and runs what it brings to the UI goroutine.
func (h *approvalsHarness) send(t *testing.T, ev approver.Event) {
	t.Helper()
	h.svc.events <- ev
	h.runOne(t)
}

// runOne runs the next result handed to the UI goroutine.
func (h *approvalsHarness) runOne(t *testing.T) {
	t.Helper()
	select {
	case f := <-h.queue:
		f()
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for the UI goroutine's work")
	}
}

// arrive sends a new request.
func (h *approvalsHarness) arrive(t *testing.T, r approver.Request) *prompt {
	t.Helper()
	h.send(t, approver.Event{Kind: approver.EventRequest, Account: r.Account, Request: &r})
	p := h.s.prompts[r.ID]
	if p == nil {
		t.Fatalf("request %s brought up no prompt", r.ID)
	}
	return p
}

func (h *approvalsHarness) shown() string { return shownText(h.win.Canvas()) }

// promptText is the text of a prompt's labels.
func promptText(p *prompt) string { return shownText(p.win.Canvas()) }

// tapIn taps the visible, enabled button labelled label in c, dialogs
// first.
func tapIn(t *testing.T, c fyne.Canvas, label string) {
	t.Helper()
	tapVia(t, c, label, test.LaidOutObjects)
}

// tapVia is tapIn looking through walk: laidOut, the renderers the window
// draws with, is the cheap one; test.LaidOutObjects makes them anew (the
// prompts' goldens were drawn after it).
func tapVia(t *testing.T, c fyne.Canvas, label string, walk func(fyne.CanvasObject) []fyne.CanvasObject) {
	t.Helper()
	roots := append(c.Overlays().List(), c.Content())
	for i := len(roots) - 1; i >= 0; i-- {
		for _, o := range walk(roots[i]) {
			if b, ok := o.(*widget.Button); ok && b.Text == label && b.Visible() && !b.Disabled() {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("no button %q; shown:\n%s", label, shownText(c))
}

// pick taps the number n on the prompt.
func pick(t *testing.T, p *prompt, n int) {
	t.Helper()
	i := slices.Index(p.req.Numbers, n)
	if i < 0 {
		t.Fatalf("the prompt offers no %d", n)
	}
	test.Tap(p.numbers[i])
}
