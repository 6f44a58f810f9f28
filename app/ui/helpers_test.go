package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// rfcSecret is the key of the RFC 4226 and RFC 6238 (SHA-1) test vectors.
var rfcSecret = []byte("12345678901234567890")

// start is an RFC 6238 test time: 1 s into a 30 s step, whose SHA-1 code
// is 14050471 (8 digits; 6 digits: 050471).
var start = time.Unix(1111111111, 0)

// fixture holds one account of each kind the list shows, stored out of
// order so that the screen's own sorting shows.
func fixture() []vault.Account {
	totp := func(id, issuer, name string, digits int, tags []string) vault.Account {
		return vault.Account{ID: id, Key: otp.Key{Type: otp.TOTP, Issuer: issuer, Name: name, Secret: rfcSecret,
			Digits: digits, Period: 30, Algorithm: otp.SHA1}, Tags: tags}
	}
	github := totp("gh0000000001", "GitHub", "alice@example.com", 6, []string{"Work"})
	github.Pinned = true
	steam := totp("st0000000004", "Steam", "dave", 5, nil)
	steam.Encoder = otp.EncoderSteam
	return []vault.Account{
		totp("bk0000000002", "Example Bank", "alice", 8, []string{"Finance", "Personal"}),
		{ID: "ac0000000005", Key: otp.Key{Type: otp.HOTP, Issuer: "Acme", Name: "carol", Secret: rfcSecret, Digits: 6}},
		steam,
		github,
		totp("vp0000000003", "Corp VPN", "bob", 7, []string{"work"}),
	}
}

// fakeStore is an in-memory Store that keeps accounts in the order given.
type fakeStore struct {
	accounts  []vault.Account
	nextHOTP  []string // ids NextHOTP was called with
	reloadErr error
}

func (f *fakeStore) Accounts() []vault.Account { return slices.Clone(f.accounts) }

func (f *fakeStore) Add(accounts ...vault.Account) (added, dups []vault.Account, err error) {
	f.accounts = append(f.accounts, accounts...)
	return accounts, nil, nil
}

func (f *fakeStore) find(ref string) (int, error) {
	i := slices.IndexFunc(f.accounts, func(a vault.Account) bool { return a.ID == ref })
	if i < 0 {
		return -1, vault.ErrNotFound
	}
	return i, nil
}

func (f *fakeStore) Edit(ref string, fn func(*vault.Account) error) (vault.Account, error) {
	i, err := f.find(ref)
	if err != nil {
		return vault.Account{}, err
	}
	a := f.accounts[i]
	a.Tags = slices.Clone(a.Tags)
	if err := fn(&a); err != nil {
		return vault.Account{}, err
	}
	a.Modified = a.Modified.Add(time.Second)
	f.accounts[i] = a
	return a, nil
}

func (f *fakeStore) Remove(ref string) (vault.Account, error) {
	i, err := f.find(ref)
	if err != nil {
		return vault.Account{}, err
	}
	gone := f.accounts[i]
	f.accounts = slices.Delete(f.accounts, i, i+1)
	return gone, nil
}

func (f *fakeStore) NextHOTP(ref string) (string, vault.Account, error) {
	f.nextHOTP = append(f.nextHOTP, ref)
	i, err := f.find(ref)
	if err != nil {
		return "", vault.Account{}, err
	}
	code, err := otp.CodeAtCounter(f.accounts[i].Key.Normalize(), f.accounts[i].Counter)
	if err != nil {
		return "", vault.Account{}, err
	}
	f.accounts[i].Counter++
	return code, f.accounts[i], nil
}

// Reload reports a change every time, so the screen always looks again.
func (f *fakeStore) Reload() (bool, error) { return f.reloadErr == nil, f.reloadErr }

type harness struct {
	app   fyne.App
	win   fyne.Window
	main  *Main
	auth  *authenticator
	store *fakeStore
	clock *testkit.Clock

	closed bool
}

func newHarness(t *testing.T, accounts []vault.Account) *harness {
	t.Helper()
	h := &harness{
		app:   newTestApp(t),
		store: &fakeStore{accounts: accounts},
		clock: testkit.NewClock(start),
	}
	h.win = test.NewWindow(nil)
	t.Cleanup(func() {
		if !h.closed { // the test driver's windows do not survive a second Close
			h.win.Close()
		}
	})
	h.main = NewMain(h.app, h.win, Deps{Vault: h.store, Now: h.clock.Now, After: h.clock.After})
	h.auth = h.main.auth
	return h
}

// close closes the window, as the person would.
func (h *harness) close() {
	h.closed = true
	h.win.Close()
}

// viewIDs are the ids of the accounts the list shows, in order.
func (h *harness) viewIDs() []string {
	var ids []string
	for _, a := range h.auth.view {
		ids = append(ids, a.ID)
	}
	return ids
}

// row is the row on screen that shows the account id.
func (h *harness) row(t *testing.T, id string) *accountRow {
	t.Helper()
	for _, o := range laidOut(h.win.Canvas().Content()) {
		if r, ok := o.(*accountRow); ok && r.Visible() && r.state.id == id {
			return r
		}
	}
	t.Fatalf("no row on screen shows %s", id)
	return nil
}

// selected is the id of the selected account.
func (h *harness) selected() string { return h.auth.selectedID }

func (h *harness) clipboard() string { return h.app.Clipboard().Content() }

// code is the code of the fixture account id at the clock's time.
func (h *harness) code(t *testing.T, id string, at time.Time) string {
	t.Helper()
	for _, a := range h.store.accounts {
		if a.ID == id {
			c, err := otp.Code(a.Key, at)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("no account %s", id)
	return ""
}

// menuAction runs the item labelled label of the account's menu.
func (h *harness) menuAction(t *testing.T, id, label string) {
	t.Helper()
	for _, it := range h.auth.menuFor(id).Items {
		if it.Label == label {
			it.Action()
			return
		}
	}
	t.Fatalf("the menu of %s has no %q", id, label)
}

// laidOut is o and every object under it, laid out as the window's next
// frame would: each widget through the renderer it is drawn with, lists as
// a fresh layout binds their rows. (Fyne's test.LaidOutObjects makes every
// widget's renderer anew, which under the race detector cost a third of
// this package's test time.)
func laidOut(o fyne.CanvasObject) []fyne.CanvasObject {
	var all []fyne.CanvasObject
	var visit func(o fyne.CanvasObject, size fyne.Size)
	visit = func(o fyne.CanvasObject, size fyne.Size) {
		if _, ok := o.(interface{ RefreshItem(widget.ListItemID) }); ok {
			// A list's rows on screen are those a fresh layout would
			// bind; its renderer may still hold rows it has let go of.
			all = append(all, test.LaidOutObjects(o)...)
			return
		}
		all = append(all, o)
		switch c := o.(type) {
		case fyne.Widget:
			r := test.WidgetRenderer(c)
			r.Layout(size)
			for _, child := range r.Objects() {
				visit(child, child.Size())
			}
		case *fyne.Container:
			if c.Layout != nil {
				c.Layout.Layout(c.Objects, size)
			}
			for _, child := range c.Objects {
				visit(child, child.Size())
			}
		}
	}
	if o != nil {
		visit(o, o.MinSize().Max(o.Size()))
	}
	return all
}

// shownText is the text of every label in the window and its overlays
// (dialogs), one per line, whatever the wrapping.
func shownText(c fyne.Canvas) string {
	var b strings.Builder
	roots := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	for _, root := range roots {
		for _, o := range laidOut(root) {
			switch o := o.(type) {
			case *widget.Label:
				b.WriteString(o.Text + "\n")
			case *widget.RichText:
				b.WriteString(o.String() + "\n")
			}
		}
	}
	return b.String()
}
