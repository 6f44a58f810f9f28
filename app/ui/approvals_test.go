package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

func TestApprovalsScreen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		svc      *fakeApprovals
		golden   string
		wantText []string
	}{
		{name: "unavailable", golden: "approvals/unavailable.xml",
			wantText: []string{"Sign-in approvals are not available."}},
		{name: "no accounts", svc: newFakeApprovals(), golden: "approvals/none.xml",
			wantText: []string{"This desktop is not paired with any account yet."}},
		{name: "one account", svc: newFakeApprovals(adaAccount), golden: "approvals/one.xml",
			wantText: []string{"Ada Lovelace", "ada@example.com", "https://accounts.example.com", "Sam's desktop",
				"Connected: sign-in requests arrive here"}},
		{name: "three accounts", svc: newFakeApprovals(adaAccount, bobAccount, carolAccount), golden: "approvals/three.xml",
			wantText: []string{"Offline. The server does not answer. It may be down, or the address may be wrong.",
				"This desktop was removed from the account on the server"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newApprovalsHarness(t, tc.svc)
			h.win.Resize(fyne.NewSize(640, 820))
			test.AssertRendersToMarkup(t, tc.golden, h.win.Canvas())
			for _, want := range tc.wantText {
				if !strings.Contains(h.shown(), want) {
					t.Errorf("the screen lacks %q; it shows:\n%s", want, h.shown())
				}
			}
		})
	}
}

func TestApprovalsUnavailableSaysWhy(t *testing.T) {
	h := newApprovalsHarness(t, nil)
	h.main.deps.ApprovalsErr = errors.New("the OS keyring is not available")
	h.s.update()
	if want := "Sign-in approvals are not available. The OS keyring is not available."; !strings.Contains(h.shown(), want) {
		t.Errorf("the screen shows\n%s\nwant %q", h.shown(), want)
	}
}

func TestUnpairConfirmsThenUnpairs(t *testing.T) {
	svc := newFakeApprovals(adaAccount, carolAccount)
	h := newApprovalsHarness(t, svc)
	tapIn(t, h.win.Canvas(), "Unpair…")
	want := "Unpair this desktop from ada@example.com on https://accounts.example.com?"
	if !strings.Contains(h.shown(), want) {
		t.Fatalf("the confirmation lacks %q:\n%s", want, h.shown())
	}
	tapIn(t, h.win.Canvas(), "Unpair")
	h.runOne(t)
	if len(svc.unpaired) != 1 || svc.unpaired[0] != "dev-ada" {
		t.Errorf("unpaired %q, want dev-ada", svc.unpaired)
	}
	if got := h.main.toast.visibleText(); got != "Unpaired from ada@example.com" {
		t.Errorf("toast %q", got)
	}
	if strings.Contains(h.shown(), "Ada Lovelace") {
		t.Error("the unpaired account is still listed")
	}

	// The account the server removed goes with Remove, unasked.
	tapIn(t, h.win.Canvas(), "Remove")
	h.runOne(t)
	if len(svc.unpaired) != 2 || svc.unpaired[1] != "dev-carol" {
		t.Errorf("unpaired %q, want dev-carol second", svc.unpaired)
	}
	if !strings.Contains(h.shown(), "not paired with any account yet") {
		t.Errorf("with no account left the screen shows:\n%s", h.shown())
	}
}

func TestPairFromClipboardLink(t *testing.T) {
	svc := newFakeApprovals()
	svc.pairAccount = adaAccount
	h := newApprovalsHarness(t, svc)
	tapIn(t, h.win.Canvas(), "Pair with an account…")
	f := h.s.pair
	if f == nil {
		t.Fatal("no pairing dialog")
	}
	if f.name.Text != approver.DefaultDeviceName() {
		t.Errorf("the desktop's name is %q, want %q", f.name.Text, approver.DefaultDeviceName())
	}
	h.desk.clip.Text = api.PairURI("https://accounts.example.com", "K7Q9M2XD")
	tapIn(t, h.win.Canvas(), "From clipboard")
	h.main.add.busy.Wait()
	if f.server.Text != "https://accounts.example.com" || f.code.Text != "K7Q9-M2XD" {
		t.Fatalf("the link filled server %q and code %q", f.server.Text, f.code.Text)
	}
	if !strings.Contains(h.shown(), "Read the pairing code in the clipboard.") {
		t.Errorf("the dialog does not say where the code came from:\n%s", h.shown())
	}
	f.name.SetText("Sam's laptop")
	h.win.Resize(fyne.NewSize(640, 700))
	test.AssertRendersToMarkup(t, "approvals/pair-filled.xml", h.win.Canvas())

	tapIn(t, h.win.Canvas(), "Pair")
	if !f.progress.Visible() || !f.pair.Disabled() {
		t.Error("no progress while pairing")
	}
	h.runOne(t)
	if want := (pairCall{"https://accounts.example.com", "K7Q9-M2XD", "Sam's laptop"}); len(svc.paired) != 1 || svc.paired[0] != want {
		t.Errorf("Pair calls %+v, want %+v", svc.paired, want)
	}
	if h.s.pair != nil {
		t.Error("the dialog stays open after pairing")
	}
	if got := h.main.toast.visibleText(); got != "Paired with ada@example.com" {
		t.Errorf("toast %q, want Paired with ada@example.com", got)
	}
	if !strings.Contains(h.shown(), "Connected: sign-in requests arrive here") {
		t.Errorf("the new account is not listed:\n%s", h.shown())
	}
}

func TestPairFromImageAndScreen(t *testing.T) {
	link := api.PairURI("http://localhost:8080", "ABCD2345")
	h := newApprovalsHarness(t, newFakeApprovals())
	h.s.showPair()
	f := h.s.pair
	f.onImageChosen(reader(t, qrFile(t, "pair.png", link)), nil)
	h.main.add.busy.Wait()
	if f.server.Text != "http://localhost:8080" || f.code.Text != "ABCD-2345" {
		t.Errorf("the image filled server %q and code %q", f.server.Text, f.code.Text)
	}

	f.server.SetText("")
	f.code.SetText("")
	h.desk.screens = nil
	tapIn(t, h.win.Canvas(), "Scan screen")
	h.main.add.busy.Wait()
	if !strings.Contains(f.note.Text, "No pairing QR code was found") {
		t.Errorf("a screen without a code says %q", f.note.Text)
	}
	h.desk.screens = append(h.desk.screens, screenWith(t, githubURI))
	tapIn(t, h.win.Canvas(), "Scan screen")
	h.main.add.busy.Wait()
	if !strings.Contains(f.note.Text, "is not a pairing code") {
		t.Errorf("an authenticator code on the screen says %q", f.note.Text)
	}
	h.desk.screens = append(h.desk.screens[:0], screenWith(t, link))
	tapIn(t, h.win.Canvas(), "Scan screen")
	h.main.add.busy.Wait()
	if f.code.Text != "ABCD-2345" || !strings.Contains(f.note.Text, "on the screen") {
		t.Errorf("the screen filled code %q and says %q", f.code.Text, f.note.Text)
	}
}

func TestPairShowsServerError(t *testing.T) {
	svc := newFakeApprovals()
	svc.pairErr = errors.New("this pairing code is wrong, used or expired: make a new one on the Login & security page")
	h := newApprovalsHarness(t, svc)
	h.s.showPair()
	f := h.s.pair
	tapIn(t, h.win.Canvas(), "Pair")
	if !strings.Contains(f.note.Text, "Type the server's address") || len(svc.paired) != 0 {
		t.Fatalf("pairing with no server says %q, calls %d", f.note.Text, len(svc.paired))
	}
	f.server.SetText("https://accounts.example.com")
	f.code.SetText("k7q9-m2xd")
	f.name.SetText("Sam's laptop") // not the test machine's name, for the golden file
	tapIn(t, h.win.Canvas(), "Pair")
	h.runOne(t)
	want := "This desktop was not paired. This pairing code is wrong, used or expired: make a new one on the Login & security page."
	if f.note.Text != want {
		t.Errorf("the dialog says %q, want %q", f.note.Text, want)
	}
	if h.s.pair != f || f.pair.Disabled() || f.progress.Visible() {
		t.Error("after a failure the dialog should stay open, ready to try again")
	}
	h.win.Resize(fyne.NewSize(640, 700))
	test.AssertRendersToMarkup(t, "approvals/pair-error.xml", h.win.Canvas())
}

func TestPromptRightNumberApproves(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	h := newApprovalsHarness(t, svc)
	r := request("req-1")
	var p *prompt
	test.AssertNotificationSent(t, fyne.NewNotification("Sign-in request",
		"ada@example.com — Firefox 133 on Windows 10, Paris, France"), func() { p = h.arrive(t, r) })
	w := h.windows[0]
	if w.Title() != "Is this you trying to sign in?" || w.shown == 0 || w.focused == 0 {
		t.Errorf("prompt window %q shown %d focused %d", w.Title(), w.shown, w.focused)
	}
	h.clock.Advance(12 * time.Second)
	text := promptText(p)
	for _, want := range []string{"Ada Lovelace", "ada@example.com", "Firefox 133 on Windows 10",
		"Paris, France · IP 203.0.113.7", "just now", "in 1:48", "Pick the number shown in your browser"} {
		if !strings.Contains(text, want) {
			t.Errorf("the prompt lacks %q:\n%s", want, text)
		}
	}
	test.AssertRendersToMarkup(t, "approvals/prompt.xml", p.win.Canvas())
	h.clock.Advance(time.Minute)
	if text := promptText(p); !strings.Contains(text, "1 min ago") || !strings.Contains(text, "in 0:48") {
		t.Errorf("a minute later the prompt shows:\n%s", text)
	}

	// Keys choose nothing: nothing has the focus for Enter to press, and
	// Escape and Enter on the prompt do not answer.
	if f := p.win.Canvas().Focused(); f != nil {
		t.Errorf("%T has the focus when the prompt opens", f)
	}
	for _, k := range []fyne.KeyName{fyne.KeyEscape, fyne.KeyReturn, fyne.KeyEnter} {
		if on := p.win.Canvas().OnTypedKey(); on != nil {
			on(&fyne.KeyEvent{Name: k})
		}
	}
	if len(svc.decisions()) != 0 || p.state != promptOpen || w.closed || w.hidden {
		t.Fatal("a key answered or dismissed the prompt")
	}

	pick(t, p, 42)
	if !strings.Contains(promptText(p), "Sending your answer…") || !p.numbers[0].Disabled() {
		t.Errorf("while deciding the prompt shows:\n%s", promptText(p))
	}
	h.runOne(t)
	if got, want := svc.decisions(), (decision{"dev-ada", "req-1", approver.Approve, 42}); len(got) != 1 || got[0] != want {
		t.Errorf("decisions %+v, want %+v", got, want)
	}
	if !strings.Contains(promptText(p), "Approved") {
		t.Errorf("after approving the prompt shows:\n%s", promptText(p))
	}
	// The server's own resolved event for this decision changes nothing.
	h.send(t, approver.Event{Kind: approver.EventResolved, Account: adaAccount,
		Resolved: &api.Resolved{ID: "req-1", Status: api.StatusApproved, DecidedBy: "Sam's desktop"}})
	if strings.Contains(promptText(p), "Approved on") {
		t.Error("this desktop's own decision is shown as made elsewhere")
	}
	h.clock.Advance(resolvedLinger)
	if !w.closed || h.s.prompts["req-1"] != nil {
		t.Error("the prompt did not close 3 s after approving")
	}
}

func TestPromptWrongNumberIsDenied(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	svc.status = api.StatusDenied
	h := newApprovalsHarness(t, svc)
	p := h.arrive(t, request("req-1"))
	pick(t, p, 17)
	h.runOne(t)
	if got := svc.decisions(); len(got) != 1 || got[0].choice != approver.Approve || got[0].number != 17 {
		t.Errorf("decisions %+v, want approve 17", got)
	}
	if !strings.Contains(promptText(p), "Denied: wrong number picked") {
		t.Errorf("after a wrong pick the prompt shows:\n%s", promptText(p))
	}
}

func TestPromptSecurityKeyTouch(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	r := request("req-1")
	r.RequireKey = true
	p := h.arrive(t, r)
	pick(t, p, 42)
	if !strings.Contains(promptText(p), "Touch your security key…") {
		t.Errorf("while a key is needed the prompt shows:\n%s", promptText(p))
	}
	h.runOne(t)
}

func TestPromptDenyAndReport(t *testing.T) {
	t.Run("deny", func(t *testing.T) {
		svc := newFakeApprovals(adaAccount)
		svc.status = api.StatusDenied
		h := newApprovalsHarness(t, svc)
		p := h.arrive(t, request("req-1"))
		tapIn(t, p.win.Canvas(), "Deny")
		h.runOne(t)
		if got := svc.decisions(); len(got) != 1 || got[0] != (decision{"dev-ada", "req-1", approver.Deny, 0}) {
			t.Errorf("decisions %+v, want deny", got)
		}
		if !strings.Contains(promptText(p), "Denied") || strings.Contains(promptText(p), "wrong number") {
			t.Errorf("after Deny the prompt shows:\n%s", promptText(p))
		}
	})
	t.Run("report", func(t *testing.T) {
		svc := newFakeApprovals(adaAccount)
		svc.status = api.StatusReported
		h := newApprovalsHarness(t, svc)
		p := h.arrive(t, request("req-1"))
		tapIn(t, p.win.Canvas(), "This wasn't me")
		if !strings.Contains(promptText(p), "The sign-in will be blocked and you will be asked to change your password.") {
			t.Fatalf("This wasn't me does not confirm:\n%s", promptText(p))
		}
		if len(svc.decisions()) != 0 {
			t.Fatal("reported before the confirmation")
		}
		tapIn(t, p.win.Canvas(), "Block the sign-in")
		h.runOne(t)
		if got := svc.decisions(); len(got) != 1 || got[0] != (decision{"dev-ada", "req-1", approver.Report, 0}) {
			t.Errorf("decisions %+v, want report", got)
		}
		if !strings.Contains(promptText(p), "Blocked and reported") {
			t.Errorf("after reporting the prompt shows:\n%s", promptText(p))
		}
	})
}

func TestPromptResolvedElsewhere(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	p := h.arrive(t, request("req-1"))
	h.send(t, approver.Event{Kind: approver.EventResolved, Account: adaAccount,
		Resolved: &api.Resolved{ID: "req-1", Status: api.StatusApproved, DecidedBy: "Sam's laptop"}})
	if !strings.Contains(promptText(p), "Approved on Sam's laptop") || !p.numbers[1].Disabled() {
		t.Errorf("after another device approved, the prompt shows:\n%s", promptText(p))
	}
	h.clock.Advance(resolvedLinger - time.Millisecond)
	if h.windows[0].closed {
		t.Fatal("the prompt closed before 3 s")
	}
	h.clock.Advance(time.Millisecond)
	if !h.windows[0].closed {
		t.Error("the prompt stays after 3 s")
	}
}

func TestPromptDecidedErrorAndExpiry(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	svc.decideErr = &approver.DecidedError{Status: api.StatusDenied, DecidedBy: "Sam's phone"}
	h := newApprovalsHarness(t, svc)
	p := h.arrive(t, request("req-1"))
	pick(t, p, 42)
	h.runOne(t)
	if !strings.Contains(promptText(p), "Denied on Sam's phone") {
		t.Errorf("after another device came first, the prompt shows:\n%s", promptText(p))
	}

	// A request nobody answers: at its time the prompt waits a few seconds
	// for the approver's word, then closes itself as expired.
	p2 := h.arrive(t, request("req-2"))
	h.clock.Advance(2 * time.Minute)
	if !strings.Contains(promptText(p2), "in 0:00") || p2.state != promptOpen {
		t.Errorf("at its expiry the prompt shows:\n%s", promptText(p2))
	}
	h.clock.Advance(overdueTicks * time.Second)
	if !strings.Contains(promptText(p2), "Expired") || p2.state != promptDone {
		t.Errorf("%d s after its expiry without the approver's word the prompt shows:\n%s", overdueTicks, promptText(p2))
	}
}

// TestPromptFollowsClockStep: the desktop's clock set while a request
// waits; the approver sends the request again with moved times and the
// prompt follows it, neither closing a live request nor counting too long.
func TestPromptFollowsClockStep(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	r := request("req-1")
	p := h.arrive(t, r)
	h.clock.Advance(30 * time.Second)
	for _, step := range []time.Duration{20 * time.Minute, -30 * time.Minute} {
		h.clock.Step(step)
		h.clock.Advance(time.Second) // the prompt ticks before the approver has looked
		r.CreatedAt, r.ExpiresAt = r.CreatedAt.Add(step), r.ExpiresAt.Add(step)
		h.send(t, approver.Event{Kind: approver.EventRequest, Account: r.Account, Request: &r})
		left := r.ExpiresAt.Sub(h.clock.Now())
		if want := "in " + clockTime(left); p.state != promptOpen || !strings.Contains(promptText(p), want) || left < 80*time.Second {
			t.Errorf("clock set %v, the request moved: want %q, the prompt shows\n%s", step, want, promptText(p))
		}
		h.clock.Advance(time.Second)
	}
	if len(h.s.pending) != 1 || !h.s.pending[0].ExpiresAt.Equal(r.ExpiresAt) || len(h.windows) != 1 {
		t.Errorf("after the steps: %d waiting (expiring %v, want %v), %d prompts; want the one moved", len(h.s.pending), h.s.pending[0].ExpiresAt, r.ExpiresAt, len(h.windows))
	}
	h.clock.Advance(r.ExpiresAt.Sub(h.clock.Now()) - time.Second)
	if p.state != promptOpen {
		t.Error("the prompt closed before its moved expiry")
	}
}

func TestPromptNetworkErrorLetsRetry(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	svc.decideErr = errors.New("post decision: dial tcp: connection refused")
	h := newApprovalsHarness(t, svc)
	p := h.arrive(t, request("req-1"))
	pick(t, p, 42)
	h.runOne(t)
	if !strings.Contains(promptText(p), "Your answer was not sent.") || p.numbers[1].Disabled() {
		t.Errorf("after a failed send the prompt shows:\n%s", promptText(p))
	}
	svc.mu.Lock()
	svc.decideErr = nil
	svc.mu.Unlock()
	pick(t, p, 42)
	h.runOne(t)
	if !strings.Contains(promptText(p), "Approved") {
		t.Errorf("the retry shows:\n%s", promptText(p))
	}
}

func TestTrayMarksWaitingRequests(t *testing.T) {
	h := newApprovalsHarness(t, newFakeApprovals(adaAccount))
	plain := h.tray.icon
	if plain == nil || plain.Name() != "countersign.png" {
		t.Fatalf("tray icon %v, want the app's", plain)
	}
	rail := func() string { return h.main.nav.Items[h.main.screenIndex(h.s)].Text }
	if got := rail(); got != "Approvals" {
		t.Errorf("with nothing waiting the navigation says %q", got)
	}
	h.arrive(t, request("req-1"))
	if h.tray.icon.Name() != "countersign-pending-1.png" || rail() != "Approvals (1)" {
		t.Errorf("with a request waiting the tray icon is %s, the navigation says %q", h.tray.icon.Name(), rail())
	}
	h.arrive(t, request("req-2"))
	h.arrive(t, request("req-3"))
	if h.tray.icon.Name() != "countersign-pending-3.png" || rail() != "Approvals (3)" {
		t.Errorf("with 3 requests waiting the tray icon is %s, the navigation says %q", h.tray.icon.Name(), rail())
	}
	if got := h.tray.labels(); len(got) < 3 || got[2] != "3 sign-in requests waiting" {
		t.Errorf("tray menu %q, want 3 sign-in requests waiting", got)
	}
	if len(h.windows) != 3 {
		t.Errorf("%d prompt windows for 3 requests", len(h.windows))
	}
	if !strings.Contains(h.shown(), "Waiting for your answer") {
		t.Errorf("the screen does not list the requests:\n%s", h.shown())
	}

	// A hidden prompt comes back from the tray.
	h.windows[0].intercepted()
	if !h.windows[0].hidden || h.windows[0].closed {
		t.Fatal("closing a waiting prompt should hide it")
	}
	h.tray.click(t, "3 sign-in requests waiting")
	if h.windows[0].hidden {
		t.Error("the tray did not bring the prompt back")
	}

	for _, id := range []string{"req-1", "req-2"} {
		h.send(t, approver.Event{Kind: approver.EventResolved, Account: adaAccount,
			Resolved: &api.Resolved{ID: id, Status: api.StatusExpired}})
	}
	if got := h.tray.labels()[2]; got != "1 sign-in request waiting" {
		t.Errorf("tray item %q, want 1 sign-in request waiting", got)
	}
	if h.tray.icon.Name() != "countersign-pending-1.png" || rail() != "Approvals (1)" {
		t.Errorf("with 1 request left the tray icon is %s, the navigation says %q", h.tray.icon.Name(), rail())
	}
	h.send(t, approver.Event{Kind: approver.EventResolved, Account: adaAccount,
		Resolved: &api.Resolved{ID: "req-3", Status: api.StatusCancelled}})
	if h.tray.icon != plain || rail() != "Approvals" {
		t.Errorf("with nothing waiting the tray icon is %s, the navigation says %q", h.tray.icon.Name(), rail())
	}
	for _, l := range h.tray.labels() {
		if strings.Contains(l, "waiting") {
			t.Errorf("with nothing waiting the tray menu has %q", l)
		}
	}
}

func TestUnpairedAndConnectionEvents(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	h := newApprovalsHarness(t, svc)
	p := h.arrive(t, request("req-1"))

	svc.mu.Lock()
	svc.accounts[0].Online = false
	svc.accounts[0].LastError = "context deadline exceeded"
	svc.mu.Unlock()
	h.send(t, approver.Event{Kind: approver.EventConnection, Account: svc.Accounts()[0]})
	if !strings.Contains(h.shown(), "Offline. The server takes too long to answer.") {
		t.Errorf("after the connection dropped the screen shows:\n%s", h.shown())
	}

	gone := adaAccount
	gone.Unpaired = true
	svc.mu.Lock()
	svc.accounts[0] = gone
	svc.mu.Unlock()
	test.AssertNotificationSent(t, fyne.NewNotification("Countersign", "This desktop was unpaired from ada@example.com"),
		func() { h.send(t, approver.Event{Kind: approver.EventUnpaired, Account: gone}) })
	if !strings.Contains(h.shown(), "This desktop was removed from the account on the server") {
		t.Errorf("after unpairing the screen shows:\n%s", h.shown())
	}
	if p.state != promptDone || h.s.waitingCount() != 0 {
		t.Error("the unpaired account's request still waits")
	}
}

func TestPendingAtStartAndClosing(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	svc.pending = []approver.Request{request("req-1")}
	h := newApprovalsHarness(t, svc)
	if h.s.prompts["req-1"] == nil || h.s.waitingCount() != 1 {
		t.Fatal("a request waiting at start brought up no prompt")
	}
	// The same request arriving by the stream is not shown twice.
	h.arrive(t, request("req-1"))
	if len(h.windows) != 1 {
		t.Errorf("%d prompts for one request", len(h.windows))
	}
	h.close()
	if !h.windows[0].closed {
		t.Error("closing the main window for good leaves the prompt open")
	}
}

func TestAgoAndClock(t *testing.T) {
	for _, tc := range []struct {
		d         time.Duration
		ago, left string
	}{
		{0, "just now", "0:00"},
		{59 * time.Second, "just now", "0:59"},
		{60 * time.Second, "1 min ago", "1:00"},
		{119*time.Second + time.Millisecond, "1 min ago", "2:00"},
		{5 * time.Minute, "5 min ago", "5:00"},
	} {
		if got := ago(tc.d); got != tc.ago {
			t.Errorf("ago(%v) = %q, want %q", tc.d, got, tc.ago)
		}
		if got := clockTime(tc.d); got != tc.left {
			t.Errorf("clockTime(%v) = %q, want %q", tc.d, got, tc.left)
		}
	}
}
