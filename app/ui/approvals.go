package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/names"
)

// Approvals are the sign-in approvals of the accounts this desktop is
// paired with as an approver device. *approver.Manager is the real one.
// Pair, Unpair and Decide talk to the server, so the window calls them off
// the UI goroutine; Accounts and Pending answer from memory.
type Approvals interface {
	Accounts() []approver.Account
	Pair(ctx context.Context, uriOrServer, code, name string) (approver.Account, error)
	Unpair(ctx context.Context, id string) error
	// Events delivers requests, their resolutions, unpairings and
	// connection changes; the window is its only reader.
	Events() <-chan approver.Event
	Pending() []approver.Request
	Decide(ctx context.Context, accountID, requestID string, c approver.Choice, number int) (status string, err error)
	// Shares lists the authenticators offered to this desktop on the
	// account, opened; AcceptShare and DeclineShare answer one (shares.go).
	Shares(ctx context.Context, accountID string) ([]approver.Share, error)
	AcceptShare(ctx context.Context, accountID, id string) error
	DeclineShare(ctx context.Context, accountID, id string) error
	// ForgetStepUps forgets the confirmations that the account's person is
	// here (the password or key touch the server asked for before a
	// sensitive change): the window calls it when it locks.
	ForgetStepUps()
}

const (
	// serverTimeout bounds a call to the server that needs no person.
	serverTimeout = 30 * time.Second
	// resolvedLinger is how long a prompt stays once its request is decided.
	resolvedLinger = 3 * time.Second
)

// approvals is the Sign-in approvals screen: the accounts this desktop is
// paired with, pairing and unpairing, and the requests waiting. It also
// owns what requests bring up while the window is hidden: a prompt window
// each, a desktop notification and the tray's mark. It reads the events
// for the whole life of the window, whichever screen is on display.
type approvals struct {
	m   *Main
	svc Approvals
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui   func(f func())
	busy sync.WaitGroup // calls to the server under way
	stop context.CancelFunc

	accounts []approver.Account
	pending  []approver.Request // waiting for an answer, oldest first
	prompts  map[string]*prompt // open, by request id

	status      *widget.Label
	list        *fyne.Container
	pairButton  *widget.Button
	waitingHead *widget.Label
	waiting     *fyne.Container
	root        fyne.CanvasObject

	dialog dialog.Dialog // the last dialog shown
	pair   *pairForm     // the pairing dialog while it is open
	shares *shareOffers  // the authenticators shared with this desktop
	alerts *signInAlerts // new browsers and places that signed in (alerts.go)
}

func newApprovals(m *Main) *approvals {
	s := &approvals{m: m, svc: m.deps.Approvals, ui: fyne.Do, prompts: map[string]*prompt{}}
	s.shares = newShareOffers(s)
	s.alerts = newSignInAlerts(s)
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.list = container.NewVBox()
	s.pairButton = widget.NewButtonWithIcon("Pair with an account…", theme.ContentAddIcon(), s.showPair)
	s.pairButton.Importance = widget.HighImportance
	s.waitingHead = heading("Waiting for your answer")
	s.waiting = container.NewVBox()
	intro := &widget.Label{Wrapping: fyne.TextWrapWord, Text: "When someone signs in to a paired account with its " +
		"password, this desktop asks you to confirm it was you."}
	s.root = container.NewVScroll(container.NewPadded(container.NewVBox(
		heading("Sign-in approvals"),
		intro,
		s.alerts.box,
		s.status,
		container.NewHBox(s.pairButton),
		s.waitingHead,
		s.waiting,
		s.list,
	)))
	if s.svc != nil {
		s.accounts = s.svc.Accounts()
	}
	s.update()
	return s
}

// title is short, so that the navigation rail keeps its width; the
// screen's heading says "Sign-in approvals".
func (s *approvals) title() string              { return "Approvals" }
func (s *approvals) icon() fyne.Resource        { return theme.ConfirmIcon() }
func (s *approvals) content() fyne.CanvasObject { return s.root }
func (s *approvals) shown()                     { s.reload() }
func (s *approvals) hidden()                    {}

// start brings up the requests already waiting and reads the events until
// stopped, when the window closes for good.
func (s *approvals) start() {
	if s.svc == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	events := s.svc.Events()
	for _, r := range s.svc.Pending() {
		s.onRequest(r)
	}
	s.shares.start()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				s.ui(func() {
					if ctx.Err() == nil {
						s.handle(ev)
					}
				})
			}
		}
	}()
}

// shutdown stops reading events and closes the prompts, when the window
// closes for good.
func (s *approvals) shutdown() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	s.shares.shutdown()
	for _, p := range s.prompts {
		p.close()
	}
}

func (s *approvals) handle(ev approver.Event) {
	switch ev.Kind {
	case approver.EventRequest:
		if ev.Request != nil {
			s.onRequest(*ev.Request)
		}
	case approver.EventResolved:
		if ev.Resolved != nil {
			s.onResolved(*ev.Resolved)
		}
	case approver.EventUnpaired:
		s.onUnpaired(ev.Account)
		s.m.dashboard.handle(ev)
	case approver.EventConnection:
		s.reload()
		s.m.dashboard.handle(ev)
	case approver.EventChanged, approver.EventShare:
		s.m.dashboard.handle(ev)
	case approver.EventAlert:
		s.alerts.handle(ev)
	}
	s.shares.handle(ev)
	s.m.sync.handle(ev)
}

// onRequest brings up a new request: its prompt, a notification, the
// tray's mark.
func (s *approvals) onRequest(r approver.Request) {
	if i := slices.IndexFunc(s.pending, func(q approver.Request) bool { return q.ID == r.ID }); i >= 0 {
		// Sent again: the desktop's clock was set and its times moved.
		s.pending[i].CreatedAt, s.pending[i].ExpiresAt = r.CreatedAt, r.ExpiresAt
		if p, open := s.prompts[r.ID]; open {
			p.moved(r)
		}
		return
	}
	if _, open := s.prompts[r.ID]; open || !r.ExpiresAt.After(s.m.deps.Now()) {
		return
	}
	s.pending = append(s.pending, r)
	p := newPrompt(s, r)
	s.prompts[r.ID] = p
	p.bringForward()
	s.m.app.SendNotification(fyne.NewNotification("Sign-in request",
		accountLabel(r.Account)+" — "+requestSummary(r)))
	s.changed()
}

// onResolved ends a request decided elsewhere, or expired.
func (s *approvals) onResolved(res api.Resolved) {
	if p, open := s.prompts[res.ID]; open {
		p.resolvedElsewhere(res.Status, res.DecidedBy)
	}
	s.forget(res.ID)
}

// onUnpaired says that the server removed this desktop from an account,
// and ends that account's requests.
func (s *approvals) onUnpaired(a approver.Account) {
	s.m.app.SendNotification(fyne.NewNotification("Countersign",
		"This desktop was unpaired from "+accountLabel(a)))
	for _, r := range slices.Clone(s.pending) {
		if r.Account.ID == a.ID {
			if p, open := s.prompts[r.ID]; open {
				p.finish("This desktop was removed from the account", widget.WarningImportance)
			}
			s.forget(r.ID)
		}
	}
	s.reload()
}

func (s *approvals) isPending(id string) bool {
	return slices.ContainsFunc(s.pending, func(r approver.Request) bool { return r.ID == id })
}

// forget takes a request off the waiting list.
func (s *approvals) forget(id string) {
	if !s.isPending(id) {
		return
	}
	s.pending = slices.DeleteFunc(s.pending, func(r approver.Request) bool { return r.ID == id })
	s.changed()
}

// changed shows a change of the waiting requests on the screen, in the
// navigation and on the tray.
func (s *approvals) changed() {
	s.update()
	s.showCount()
	s.m.refreshTray()
}

// lockChanged has every prompt take or give back the answers as the app
// locks or unlocks.
func (s *approvals) lockChanged() {
	for _, p := range s.prompts {
		p.lockChanged()
	}
	s.shares.lockChanged()
}

// waitingCount is how many requests wait for an answer, for the tray.
func (s *approvals) waitingCount() int { return len(s.pending) }

// showPrompts brings every waiting request's prompt forward.
func (s *approvals) showPrompts() {
	for _, r := range s.pending {
		if p, ok := s.prompts[r.ID]; ok {
			p.bringForward()
		}
	}
}

// reload reads the accounts again and shows them.
func (s *approvals) reload() {
	if s.svc != nil {
		s.accounts = s.svc.Accounts()
	}
	s.update()
}

// update sets the widgets from the accounts and the requests waiting.
func (s *approvals) update() {
	switch {
	case s.svc == nil:
		why := "This build of Countersign cannot receive them."
		if err := s.m.deps.ApprovalsErr; err != nil {
			why = sentence(err)
		}
		s.status.SetText("Sign-in approvals are not available. " + why)
	case len(s.accounts) == 0:
		s.status.SetText("This desktop is not paired with any account yet. Pair it to approve your " +
			"sign-ins from here.")
	default:
		s.status.SetText("")
	}
	show(s.status, s.status.Text != "")
	show(s.pairButton, s.svc != nil)

	s.waiting.RemoveAll()
	for _, r := range s.pending {
		id := r.ID
		line := &widget.Label{Text: accountLabel(r.Account) + " — " + requestSummary(r), Wrapping: fyne.TextWrapWord}
		answer := widget.NewButtonWithIcon("Answer…", theme.ConfirmIcon(), func() {
			if p, ok := s.prompts[id]; ok {
				p.bringForward()
			}
		})
		s.waiting.Add(container.NewBorder(nil, nil, nil, answer, line))
	}
	show(s.waitingHead, len(s.pending) > 0)
	show(s.waiting, len(s.pending) > 0)

	s.list.RemoveAll()
	for _, a := range s.accounts {
		s.list.Add(s.accountCard(a))
	}
	s.root.Refresh()
}

// accountCard shows one paired account and its state.
func (s *approvals) accountCard(a approver.Account) fyne.CanvasObject {
	title := &widget.Label{Text: names.Show(a.Name), TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText,
		Truncation: fyne.TextTruncateEllipsis}
	email := &widget.Label{Text: names.Show(a.Email), Truncation: fyne.TextTruncateEllipsis}
	if a.Name == "" {
		title.Text = email.Text
		email.Hide()
	}
	grid := container.New(layout.NewFormLayout())
	row := func(name, value string, imp widget.Importance) {
		grid.Add(&widget.Label{Text: name, TextStyle: fyne.TextStyle{Bold: true}})
		grid.Add(&widget.Label{Text: value, Wrapping: fyne.TextWrapWord, Importance: imp})
	}
	row("Server", a.Server, widget.MediumImportance)
	row("This desktop", a.DeviceName, widget.MediumImportance)
	state, imp := accountState(a)
	row("State", state, imp)

	id, label, server := a.ID, accountLabel(a), a.Server
	var button *widget.Button
	if a.Unpaired {
		button = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
			s.unpair(id, "Removed "+label, "The account could not be removed")
		})
	} else {
		button = widget.NewButtonWithIcon("Unpair…", theme.DeleteIcon(), func() { s.confirmUnpair(id, label, server) })
	}
	return widget.NewCard("", "", container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewVBox(button), container.NewVBox(title, email)),
		grid))
}

// accountState says, in words, whether an account's requests can arrive.
func accountState(a approver.Account) (string, widget.Importance) {
	switch {
	case a.Unpaired:
		return "This desktop was removed from the account on the server", widget.DangerImportance
	case a.Online:
		return "Connected: sign-in requests arrive here", widget.SuccessImportance
	case a.LastError != "":
		return "Offline. " + plainError(a.LastError), widget.WarningImportance
	}
	return "Connecting…", widget.MediumImportance
}

// plainError words a connection problem for people, as sentences; what it
// does not recognise it gives as it is.
func plainError(msg string) string {
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "connection refused"):
		return "The server does not answer. It may be down, or the address may be wrong."
	case strings.Contains(low, "no such host"), strings.Contains(low, "server misbehaving"):
		return "The server's name cannot be found. Check the network connection."
	case strings.Contains(low, "network is unreachable"), strings.Contains(low, "no route to host"):
		return "There is no network connection."
	case strings.Contains(low, "timeout"), strings.Contains(low, "deadline exceeded"):
		return "The server takes too long to answer."
	case strings.Contains(low, "certificate"), strings.Contains(low, "x509"):
		return "The server's certificate is not trusted."
	}
	return sentence(errors.New(msg))
}

// accountLabel names an account in one line: its email, else its name.
func accountLabel(a approver.Account) string {
	if a.Email != "" {
		return names.Show(a.Email)
	}
	return names.Show(a.Name)
}

// requestSummary is where a sign-in comes from: "Firefox 133 on Windows 10,
// Paris, France".
func requestSummary(r approver.Request) string {
	return orUnknown(r.Browser, "An unknown browser") + " on " + orUnknown(r.OS, "an unknown system") +
		", " + orUnknown(r.Place, "Unknown place")
}

// orUnknown is a word from the server fit to show (names.Show), or unknown
// when there is none.
func orUnknown(s, unknown string) string {
	if strings.TrimSpace(s) == "" {
		return unknown
	}
	return names.Show(s)
}

func (s *approvals) confirmUnpair(id, label, server string) {
	msg := fmt.Sprintf("Unpair this desktop from %s on %s?\n\nIt will stop getting sign-in requests "+
		"for that account. You can pair it again later.", label, server)
	d := newDangerConfirm("Unpair", msg, "Unpair", "Keep", func(ok bool) {
		if ok {
			s.unpair(id, "Unpaired from "+label, "This desktop could not be unpaired")
		}
	}, s.m.win)
	s.dialog = d
	s.m.showDialog(d)
}

// unpair removes this desktop from the account on the server and forgets
// the account.
func (s *approvals) unpair(id, done, failed string) {
	s.run(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		return s.svc.Unpair(ctx, id)
	}, func(err error) {
		s.reload()
		if err != nil {
			d := dialog.NewError(errors.New(failed+". "+sentence(err)), s.m.win)
			s.dialog = d
			s.m.showDialog(d)
			return
		}
		s.m.toast.show(done)
	})
}

// run calls op off the UI goroutine and done with its error on it.
func (s *approvals) run(op func() error, done func(error)) {
	s.busy.Add(1)
	go func() {
		defer s.busy.Done()
		err := op()
		s.ui(func() { done(err) })
	}()
}
