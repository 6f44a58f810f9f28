package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/applock"
	"github.com/countersign/countersign/internal/approver"
)

const lockedText = "Countersign is locked. Unlock it to answer."

// lockWith sets the app passphrase p and locks, as Ctrl+L does.
func (h *approvalsHarness) lockWith(t *testing.T, p string) {
	t.Helper()
	v, err := applock.New(p, cheapParams, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	h.app.Preferences().SetString(prefLockVerifier, v.String())
	h.main.lock.lockNow()
	if !h.main.lock.locked {
		t.Fatal("the app did not lock")
	}
}

// unlockWith types p into the lock screen and presses Unlock.
func (h *approvalsHarness) unlockWith(t *testing.T, p string) {
	t.Helper()
	l := h.main.lock
	l.entry.SetText(p)
	test.Tap(l.unlock)
	l.busy.Wait()
	if l.locked {
		t.Fatal("the app did not unlock")
	}
}

// checkAnswerable fails unless the prompt's answers are all enabled (want
// true), or all disabled with the locked message shown (want false).
func checkAnswerable(t *testing.T, p *prompt, want bool) {
	t.Helper()
	buttons := append(p.numbers[:len(p.numbers):len(p.numbers)], p.deny, p.report)
	for _, b := range buttons {
		if b.Disabled() == want {
			t.Errorf("button %q disabled %v, want %v", b.Text, b.Disabled(), !want)
		}
	}
	text := visibleText(p.win.Canvas())
	if got := strings.Contains(text, lockedText); got == want {
		t.Errorf("the prompt says %q: %v, want %v; it shows:\n%s", lockedText, got, !want, text)
	}
}

func TestPromptWhileLocked(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	h := newApprovalsHarness(t, svc)
	h.lockWith(t, "open sesame")
	h.tray.click(t, "Hide Countersign")

	var p *prompt
	test.AssertNotificationSent(t, fyne.NewNotification("Sign-in request",
		"ada@example.com — Firefox 133 on Windows 10, Paris, France"), func() { p = h.arrive(t, request("req-1")) })
	w := h.windows[0]
	if w.shown == 0 || w.focused == 0 {
		t.Errorf("while locked the prompt was shown %d times, focused %d", w.shown, w.focused)
	}
	if h.tray.icon.Name() != "countersign-pending-1.png" {
		t.Errorf("while locked with a request waiting the tray icon is %s", h.tray.icon.Name())
	}
	text := promptText(p)
	for _, want := range []string{"Ada Lovelace", "Firefox 133 on Windows 10", "Paris, France · IP 203.0.113.7"} {
		if !strings.Contains(text, want) {
			t.Errorf("the locked prompt lacks %q:\n%s", want, text)
		}
	}
	checkAnswerable(t, p, false)
	test.AssertRendersToMarkup(t, "approvals/prompt-locked.xml", p.win.Canvas())

	pick(t, p, 42)
	p.decide(approver.Approve, 42) // even past the disabled buttons
	p.confirmReport()
	if got := svc.decisions(); len(got) != 0 || p.state != promptOpen || p.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("answered while locked: decisions %+v, state %v", got, p.state)
	}

	tapIn(t, p.win.Canvas(), "Unlock…")
	if h.desk.win.hidden.Load() || h.main.tray.hidden {
		t.Error("Unlock… did not bring the main window back from the tray")
	}
	if got := h.win.Canvas().Focused(); got != h.main.lock.entry {
		t.Errorf("after Unlock… %T has the focus, want the passphrase", got)
	}

	h.unlockWith(t, "open sesame")
	if len(h.windows) != 1 || w.closed {
		t.Fatal("unlocking reopened the prompt")
	}
	checkAnswerable(t, p, true)

	// Auto-lock while the prompt is open takes the answers away again.
	h.main.lock.setIdleMinutes(1)
	h.clock.Advance(time.Minute)
	if !h.main.lock.locked {
		t.Fatal("auto-lock did not lock")
	}
	checkAnswerable(t, p, false)

	h.unlockWith(t, "open sesame")
	checkAnswerable(t, p, true)
	pick(t, p, 42)
	h.runOne(t)
	if got, want := svc.decisions(), (decision{"dev-ada", "req-1", approver.Approve, 42}); len(got) != 1 || got[0] != want {
		t.Errorf("decisions %+v, want %+v", got, want)
	}
	if text := visibleText(p.win.Canvas()); !strings.Contains(text, "Approved") || strings.Contains(text, lockedText) {
		t.Errorf("after approving the prompt shows:\n%s", text)
	}
}

func TestLockingClosesTheReportConfirmation(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	h := newApprovalsHarness(t, svc)
	p := h.arrive(t, request("req-1"))
	tapIn(t, p.win.Canvas(), "This wasn't me")
	if p.win.Canvas().Overlays().Top() == nil {
		t.Fatal("no confirmation")
	}
	h.lockWith(t, "open sesame")
	if p.win.Canvas().Overlays().Top() != nil {
		t.Error("the confirmation of This wasn't me stays open while locked")
	}
	checkAnswerable(t, p, false)
	if len(svc.decisions()) != 0 {
		t.Errorf("locking decided %+v", svc.decisions())
	}
}

// TestLockForgetsStepUps: locking the window forgets the confirmations
// that the account's person is here, so whoever unlocks confirms again.
func TestLockForgetsStepUps(t *testing.T) {
	svc := newFakeApprovals()
	h := newApprovalsHarness(t, svc)
	if svc.forgot != 0 {
		t.Fatalf("forgotten %d times before locking", svc.forgot)
	}
	h.lockWith(t, "pass")
	if svc.forgot != 1 {
		t.Errorf("forgotten %d times after locking, want 1", svc.forgot)
	}
}
