package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/client"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/shares"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// Secrets of the offers: the RFC's, and a newer one after a re-key.
const (
	sharedSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	rekeySecret  = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U" // "abcdefghijklmnopqrst"
)

// adaShare is Ada's authenticator, shared by Ada with this desktop.
func adaShare(id, secret string, rekeyed bool) approver.Share {
	return approver.Share{
		ShareOffer: api.ShareOffer{ID: id, Account: api.AccountRef{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com"},
			From: "Ada", Label: "Phone", Rekeyed: rekeyed, CreatedAt: start},
		URI: "otpauth://totp/Countersign:ada@example.com?secret=" + secret +
			"&issuer=Countersign&algorithm=SHA1&digits=6&period=30",
	}
}

// newVault opens an empty vault in a temporary directory.
func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.Open(t.TempDir(), vault.Options{Keys: &testkit.FakeKeyring{}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newShareHarness is the window with a fake Approvals for Ada and the
// vault, once its look for offers at start found none.
func newShareHarness(t *testing.T, v Store) *approvalsHarness {
	t.Helper()
	h := newApprovalsHarnessWith(t, newFakeApprovals(adaAccount), v)
	h.s.busy.Wait()
	return h
}

// shareArrives offers s and sends the share event; the offers are read
// and handed to the UI goroutine.
func (h *approvalsHarness) shareArrives(t *testing.T, s approver.Share) {
	t.Helper()
	h.svc.offer(adaAccount.ID, s)
	h.send(t, approver.Event{Kind: approver.EventShare, Account: adaAccount,
		Share: &api.ShareOffered{ID: s.ID, DeviceID: adaAccount.ID}})
	h.runOne(t)
}

// answerShare taps label on the dialog and runs what comes back from the
// server.
func (h *approvalsHarness) answerShare(t *testing.T, label string) {
	t.Helper()
	tapIn(t, h.win.Canvas(), label)
	h.s.busy.Wait()
	h.runOne(t)
}

// asking reports whether a dialog over the window asks about s; it
// fails the test when another dialog is on display.
func (h *approvalsHarness) asking(t *testing.T, s approver.Share) bool {
	t.Helper()
	if h.win.Canvas().Overlays().Top() == nil {
		return false
	}
	text := h.shown()
	if !strings.Contains(text, shareTitle) || !strings.Contains(text, shares.Describe(s)) {
		t.Fatalf("the dialog on display is not the offer of %s; the window shows:\n%s", s.ID, text)
	}
	return true
}

// noDialog fails unless no dialog is over the window.
func (h *approvalsHarness) noDialog(t *testing.T) {
	t.Helper()
	if h.win.Canvas().Overlays().Top() != nil {
		t.Fatalf("a dialog is on display; the window shows:\n%s", h.shown())
	}
}

// secretOf is the base32 secret of the vault's only account.
func secretOf(t *testing.T, v Store) (vault.Account, string) {
	t.Helper()
	as := v.Accounts()
	if len(as) != 1 {
		t.Fatalf("the vault holds %d accounts, want 1", len(as))
	}
	return as[0], as[0].Key.SecretBase32()
}

func TestShareAdd(t *testing.T) {
	v := newVault(t)
	h := newShareHarness(t, v)
	h.win.Resize(defaultWindowSize)
	s := adaShare("sh1", sharedSecret, false)
	h.shareArrives(t, s)
	if !h.asking(t, s) {
		t.Fatalf("no dialog came up; the window shows:\n%s", h.shown())
	}
	if want := "Ada shared the authenticator of ada@example.com (Countersign) with this desktop."; !strings.Contains(h.shown(), want) {
		t.Errorf("the dialog does not say %q:\n%s", want, h.shown())
	}
	capturePNG(t, h.win, "/tmp/h6-share.png")

	h.answerShare(t, "Add to my codes")
	h.noDialog(t)
	if accepted, declined := h.svc.answers(); !slices.Equal(accepted, []string{"sh1"}) || len(declined) != 0 {
		t.Errorf("accepted %v, declined %v; want sh1 accepted", accepted, declined)
	}
	a, secret := secretOf(t, v)
	if secret != sharedSecret || a.Issuer != "Countersign" || a.Name != "ada@example.com" {
		t.Errorf("the vault holds %s with secret %s…, want the offered one", a.Label(), secret[:4])
	}
	if got, want := h.main.toast.visibleText(), "Added Countersign (ada@example.com)"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if ids := viewIDs(h.main.auth); !slices.Equal(ids, []string{a.ID}) {
		t.Errorf("the Authenticator list shows %v, want %s", ids, a.ID)
	}

	// Answered: the next event does not ask again.
	h.send(t, approver.Event{Kind: approver.EventShare, Account: adaAccount, Share: &api.ShareOffered{ID: "sh1"}})
	h.s.busy.Wait()
	h.noDialog(t)
}

// viewIDs are the ids the Authenticator list shows.
func viewIDs(s *authenticator) []string {
	var ids []string
	for _, a := range s.view {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestShareRekeyed(t *testing.T) {
	v := newVault(t)
	old, err := transferAccount(adaShare("old", sharedSecret, false).URI)
	if err != nil {
		t.Fatal(err)
	}
	old.Tags = []string{"family"}
	if _, _, err := v.Add(old); err != nil {
		t.Fatal(err)
	}
	before, _ := secretOf(t, v)
	h := newShareHarness(t, v)
	s := adaShare("sh2", rekeySecret, true)
	h.shareArrives(t, s)
	if !h.asking(t, s) || !strings.Contains(h.shown(), "re-keyed") {
		t.Fatalf("no dialog about the re-key; the window shows:\n%s", h.shown())
	}
	h.answerShare(t, "Add to my codes")
	a, secret := secretOf(t, v)
	if a.ID != before.ID || secret != rekeySecret || !slices.Equal(a.Tags, []string{"family"}) {
		t.Errorf("after the re-key the vault holds %s (%s, tags %v, new secret %v), want %s with the new secret and its tag",
			a.Label(), a.ID, a.Tags, secret == rekeySecret, before.ID)
	}
	if got, want := h.main.toast.visibleText(), "Replaced the secret of Countersign (ada@example.com)"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if accepted, _ := h.svc.answers(); !slices.Equal(accepted, []string{"sh2"}) {
		t.Errorf("accepted %v, want sh2", accepted)
	}
}

// transferAccount reads an otpauth:// URI as the vault's account.
func transferAccount(uri string) (vault.Account, error) {
	k, err := otp.ParseURI(uri)
	if err != nil {
		return vault.Account{}, err
	}
	return vault.Account{Key: k}, nil
}

func TestShareNotNow(t *testing.T) {
	v := newVault(t)
	h := newShareHarness(t, v)
	s := adaShare("sh3", sharedSecret, false)
	h.shareArrives(t, s)
	tapIn(t, h.win.Canvas(), "Not now")
	h.noDialog(t)
	h.s.busy.Wait()
	if accepted, declined := h.svc.answers(); len(accepted)+len(declined) != 0 {
		t.Errorf("accepted %v, declined %v after Not now; want nothing", accepted, declined)
	}
	if n := len(v.Accounts()); n != 0 {
		t.Errorf("the vault holds %d accounts after Not now", n)
	}

	// Asked again on the next event.
	h.send(t, approver.Event{Kind: approver.EventShare, Account: adaAccount, Share: &api.ShareOffered{ID: "other"}})
	h.runOne(t)
	if !h.asking(t, s) {
		t.Fatal("the offer put off was not asked about again on the next event")
	}
}

func TestShareDecline(t *testing.T) {
	v := newVault(t)
	h := newShareHarness(t, v)
	s := adaShare("sh4", sharedSecret, false)
	h.shareArrives(t, s)

	// Back from the confirmation asks again.
	tapIn(t, h.win.Canvas(), "Decline…")
	if text := h.shown(); !strings.Contains(text, "Decline the authenticator of ada@example.com?") {
		t.Fatalf("no confirmation; the window shows:\n%s", text)
	}
	tapIn(t, h.win.Canvas(), "Back")
	if !h.asking(t, s) {
		t.Fatal("Back did not ask about the offer again")
	}

	tapIn(t, h.win.Canvas(), "Decline…")
	h.answerShare(t, "Decline")
	h.noDialog(t)
	if accepted, declined := h.svc.answers(); len(accepted) != 0 || !slices.Equal(declined, []string{"sh4"}) {
		t.Errorf("accepted %v, declined %v; want sh4 declined", accepted, declined)
	}
	if n := len(v.Accounts()); n != 0 {
		t.Errorf("the vault holds %d accounts after declining", n)
	}
	if got, want := h.main.toast.visibleText(), "Declined the authenticator of ada@example.com"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
}

func TestShareWhileLocked(t *testing.T) {
	h := newShareHarness(t, newVault(t))
	h.lockWith(t, "hunter2")
	s := adaShare("sh5", sharedSecret, false)
	h.shareArrives(t, s)
	h.noDialog(t)
	h.unlockWith(t, "hunter2")
	if !h.asking(t, s) {
		t.Fatal("the offer was not asked about once unlocked")
	}

	// Locking takes the dialog away; unlocking brings it back.
	h.main.lock.lockNow()
	h.noDialog(t)
	h.unlockWith(t, "hunter2")
	if !h.asking(t, s) {
		t.Fatal("the offer was not asked about again once unlocked")
	}
	if accepted, declined := h.svc.answers(); len(accepted)+len(declined) != 0 {
		t.Errorf("accepted %v, declined %v; want nothing", accepted, declined)
	}
}

// brokenVault is a vault that cannot be written.
type brokenVault struct{ Store }

var errVaultBroken = errors.New("write the vault: permission denied")

func (brokenVault) Add(...vault.Account) (added, dups []vault.Account, err error) {
	return nil, nil, errVaultBroken
}

func (brokenVault) Edit(string, func(*vault.Account) error) (vault.Account, error) {
	return vault.Account{}, errVaultBroken
}

func TestShareVaultFails(t *testing.T) {
	v := newVault(t)
	h := newShareHarness(t, brokenVault{v})
	s := adaShare("sh6", sharedSecret, false)
	h.shareArrives(t, s)
	h.answerShare(t, "Add to my codes")
	text := h.shown()
	if !strings.Contains(text, "The shared authenticator could not be added to your codes.") ||
		!strings.Contains(text, "permission denied") || !strings.Contains(text, "It is still offered.") {
		t.Errorf("the error dialog says:\n%s", text)
	}
	if strings.Contains(text, sharedSecret) {
		t.Error("the error dialog shows the secret")
	}
	if accepted, _ := h.svc.answers(); len(accepted) != 0 {
		t.Errorf("accepted %v although the vault failed", accepted)
	}
	if n := len(v.Accounts()); n != 0 {
		t.Errorf("the vault holds %d accounts", n)
	}
	// Nothing is lost: closing the error asks again.
	tapIn(t, h.win.Canvas(), "OK")
	if !h.asking(t, s) {
		t.Fatal("the offer was not asked about again after the error")
	}
}

func TestShareServerNotTold(t *testing.T) {
	v := newVault(t)
	h := newShareHarness(t, v)
	h.svc.answerErr = fmt.Errorf("%w: dial tcp: connection refused", approver.ErrOffline)
	s := adaShare("sh7", sharedSecret, false)
	h.shareArrives(t, s)
	h.answerShare(t, "Add to my codes")
	text := h.shown()
	if !strings.Contains(text, "Countersign (ada@example.com) is in your codes, but accounts.example.com could not be told.") ||
		!strings.Contains(text, "Can't reach accounts.example.com.") {
		t.Errorf("the error dialog says:\n%s", text)
	}
	if _, secret := secretOf(t, v); secret != sharedSecret {
		t.Error("the vault does not hold the offered secret")
	}
	tapIn(t, h.win.Canvas(), "OK")
	h.noDialog(t)

	// Still offered: asked again when the server is back, and accepting
	// again leaves the vault as it is.
	h.svc.mu.Lock()
	h.svc.answerErr = nil
	h.svc.mu.Unlock()
	h.send(t, approver.Event{Kind: approver.EventShare, Account: adaAccount, Share: &api.ShareOffered{ID: "sh7"}})
	h.runOne(t)
	h.answerShare(t, "Add to my codes")
	if accepted, _ := h.svc.answers(); !slices.Equal(accepted, []string{"sh7", "sh7"}) {
		t.Errorf("accepted %v, want sh7 twice", accepted)
	}
	if n := len(v.Accounts()); n != 1 {
		t.Errorf("the vault holds %d accounts, want 1", n)
	}
	if got, want := h.main.toast.visibleText(), "Countersign (ada@example.com) is already in your codes"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
}

// TestShareAtStart: offers waiting when the window opens are asked about.
func TestShareAtStart(t *testing.T) {
	svc := newFakeApprovals(adaAccount)
	s := adaShare("sh8", sharedSecret, false)
	svc.offer(adaAccount.ID, s)
	svc.sharesGate = make(chan struct{})
	h := newApprovalsHarnessWith(t, svc, newVault(t))
	close(svc.sharesGate) // the harness reads h.s.ui from now on
	h.runOne(t)
	if !h.asking(t, s) {
		t.Fatal("the offer waiting at start was not asked about")
	}
}

// capturePNG writes what the window shows to path.
func capturePNG(t *testing.T, w fyne.Window, path string) {
	t.Helper()
	if os.Getenv("COUNTERSIGN_SCREENSHOTS") == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, w.Canvas().Capture()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Log(err)
	}
}

// TestShareEndToEnd: a real countersign-server in-process and a real
// approver.Manager paired as Sam, a member of Ada's household. The owner
// shares the authenticator with Sam; the offer comes through the stream,
// the window asks, and "Add to my codes" puts the account's secret in the
// window's vault: its codes are the server's.
func TestShareEndToEnd(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	ctx := context.Background()
	secret := []byte("12345678901234567890")
	if err := srv.Store.AddMethod(ctx, &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "Phone",
		Secret: secret, Confirmed: true, CreatedAt: srv.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	owner := client.New(tokenCaller{base: srv.URL, token: srv.APIToken(ada, api.ScopeRead, api.ScopeWrite)})
	sam, err := owner.AddMember(ctx, "Sam")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := owner.Invite(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := approver.Open(approver.Options{Dir: t.TempDir(), Keyring: &testkit.FakeKeyring{}, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := m.Pair(ctx, inv.URI, "", "Sam's laptop")
	if err != nil {
		t.Fatalf("pairing: %v", err)
	}

	v := newVault(t)
	h := newLiveApprovalsHarness(t, m, srv.Clock.Now())
	// The window's vault: a real one in place of the harness's fake, set
	// before anything reads it.
	h.main.deps.Vault = v
	h.main.auth.store = v
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	// Once connected, the owner shares.
	h.until(t, "the stream connects", func() bool { return h.s.shares.online[acc.ID] })
	if n, err := owner.ShareAuthenticator(ctx, sam.ID); err != nil || n != 1 {
		t.Fatalf("sharing: %d offered, %v", n, err)
	}
	h.until(t, "the offer is asked about", func() bool { return h.s.shares.dialog != nil })
	text := h.shown()
	if !strings.Contains(text, "Ada shared the authenticator of ada@example.com (Countersign) with this desktop.") {
		t.Errorf("the dialog says:\n%s", text)
	}

	tapIn(t, h.win.Canvas(), "Add to my codes")
	h.until(t, "the offer is accepted", func() bool { return !h.s.shares.busy && h.main.toast.visibleText() != "" })
	if got, want := h.main.toast.visibleText(), "Added Countersign (ada@example.com)"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	a, _ := secretOf(t, v)
	server := otp.Key{Type: otp.TOTP, Name: "server", Secret: secret, Algorithm: otp.SHA1, Digits: 6, Period: 30}.Normalize()
	now := srv.Clock.Now()
	want, err := otp.Code(server, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := otp.Code(a.Key, now); err != nil || got != want {
		t.Errorf("the vault's code is %q (%v), the server's %q", got, err, want)
	}
	if left, err := m.Shares(ctx, acc.ID); err != nil || len(left) != 0 {
		t.Errorf("offers left on the server: %d, %v; want none", len(left), err)
	}
}

// until runs what comes back to the UI goroutine until ok holds.
func (h *approvalsHarness) until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for !ok() {
		select {
		case f := <-h.queue:
			f()
		case <-deadline:
			t.Fatalf("%s: not within 15 s; the window shows:\n%s", what, h.shown())
		}
	}
}
