package ui

import (
	"context"
	"errors"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/shares"
	"github.com/countersign/countersign/internal/vault"
)

// shareTitle is the title of the dialog that offers a shared authenticator.
const shareTitle = "Shared authenticator"

// shareOffer is an authenticator offered to this desktop on a paired
// account. share.URI holds a secret: it goes to the vault and nowhere else.
type shareOffer struct {
	account approver.Account
	share   approver.Share
}

// shareOffers asks, in a dialog over the main window, about each
// authenticator a household's owner shared with this desktop: add it to
// the codes (package shares), not now, or decline it. It looks for offers
// at start, when an account's stream connects and when the server says one
// was made (approvals.go passes the events on), and asks one at a time,
// never while the app is locked.
type shareOffers struct {
	a *approvals // its ui, busy and svc

	queue    []shareOffer    // to ask about; the first is the one on display
	online   map[string]bool // accounts connected when last heard of
	putOff   map[string]int  // offer id → the last fetch started when it was put off ("Not now")
	answered map[string]bool // offers accepted or declined here
	notified map[string]bool // offers a notification was sent for
	fetches  int             // fetches started
	busy     bool            // an answer to the first offer is on its way
	dialog   *shareDialog    // what is on display about the first offer, or nil
	failed   string          // what went wrong while locked, to say once unlocked
	ctx      context.Context // ends when the window closes
	stop     context.CancelFunc
}

// shareDialog is one dialog on display; done once it was answered or taken
// away, so that its closing is not read as "Not now".
type shareDialog struct {
	d     dialog.Dialog
	offer string // the id of the offer it asks about, for an offer's dialogs
	err   string // what it says, for an error's
	done  bool
}

func newShareOffers(a *approvals) *shareOffers {
	o := &shareOffers{a: a, online: map[string]bool{}, putOff: map[string]int{},
		answered: map[string]bool{}, notified: map[string]bool{}}
	o.ctx, o.stop = context.WithCancel(context.Background())
	return o
}

// start looks for the offers waiting on the accounts already connected;
// the others are asked when they connect.
func (o *shareOffers) start() {
	for _, acc := range o.a.svc.Accounts() {
		o.online[acc.ID] = acc.Online
		if acc.Online {
			o.fetch(acc)
		}
	}
}

// shutdown drops what is under way, when the window closes for good.
func (o *shareOffers) shutdown() { o.stop() }

// handle takes in an event of the paired accounts.
func (o *shareOffers) handle(ev approver.Event) {
	switch ev.Kind {
	case approver.EventShare:
		o.fetch(ev.Account)
	case approver.EventConnection:
		was := o.online[ev.Account.ID]
		o.online[ev.Account.ID] = ev.Account.Online
		if ev.Account.Online && !was {
			o.fetch(ev.Account)
		}
	case approver.EventUnpaired:
		delete(o.online, ev.Account.ID)
		o.keep(func(s shareOffer) bool { return s.account.ID != ev.Account.ID })
	}
}

// fetch reads the account's offers off the UI goroutine. A failure is
// left unsaid: the next connection or share event looks again.
func (o *shareOffers) fetch(acc approver.Account) {
	if acc.Unpaired || o.ctx.Err() != nil {
		return
	}
	o.fetches++
	seq := o.fetches
	// With none offered and none asked about, there is nothing to do.
	asking := slices.ContainsFunc(o.queue, func(s shareOffer) bool { return s.account.ID == acc.ID })
	svc, ctx := o.a.svc, o.ctx
	o.a.busy.Add(1)
	go func() {
		defer o.a.busy.Done()
		ctx, cancel := context.WithTimeout(ctx, serverTimeout)
		defer cancel()
		list, err := svc.Shares(ctx, acc.ID)
		if err != nil || (len(list) == 0 && !asking) {
			return
		}
		o.a.ui(func() {
			if o.ctx.Err() == nil {
				o.offered(acc, list, seq)
			}
		})
	}()
}

// offered takes in the account's offers as read by fetch number seq:
// those answered elsewhere meanwhile go, new ones join the queue, and
// those put off since that fetch started wait for the next one.
func (o *shareOffers) offered(acc approver.Account, list []approver.Share, seq int) {
	o.keep(func(s shareOffer) bool {
		return s.account.ID != acc.ID || slices.ContainsFunc(list, func(n approver.Share) bool { return n.ID == s.share.ID })
	})
	for _, s := range list {
		queued := slices.ContainsFunc(o.queue, func(q shareOffer) bool { return q.share.ID == s.ID })
		if queued || o.answered[s.ID] || o.putOff[s.ID] >= seq {
			continue
		}
		delete(o.putOff, s.ID)
		o.queue = append(o.queue, shareOffer{account: acc, share: s})
		if !o.notified[s.ID] {
			o.notified[s.ID] = true
			o.a.m.app.SendNotification(fyne.NewNotification(shareTitle, shares.Describe(s)))
		}
	}
	o.showNext()
}

// keep keeps the queued offers for which ok holds. The one on display
// stays while its answer is on the way.
func (o *shareOffers) keep(ok func(shareOffer) bool) {
	if len(o.queue) == 0 {
		return
	}
	first := o.queue[0]
	o.queue = slices.DeleteFunc(o.queue, func(s shareOffer) bool { return !ok(s) && !(o.busy && s.share.ID == first.share.ID) })
	if len(o.queue) == 0 || o.queue[0].share.ID != first.share.ID {
		if o.dialog != nil && o.dialog.offer == first.share.ID {
			o.closeDialog()
		}
		o.showNext()
	}
}

// showNext asks about the first offer, unless something is already on
// display, an answer is on its way or the app is locked.
func (o *shareOffers) showNext() {
	if o.dialog != nil || o.busy || o.a.m.lock.locked {
		return
	}
	if o.failed != "" {
		msg := o.failed
		o.failed = ""
		o.showError(msg)
		return
	}
	if len(o.queue) == 0 {
		return
	}
	s := o.queue[0]

	text := &widget.Label{Text: shares.Describe(s.share), Wrapping: fyne.TextWrapWord}
	hint := "Add it to get its codes here, in your Authenticator list."
	if s.share.Rekeyed {
		hint = "Add it to replace the old secret in your codes with the new one."
	}
	note := &widget.Label{Text: hint, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText}

	sd := &shareDialog{offer: s.share.ID}
	add := widget.NewButtonWithIcon("Add to my codes", theme.ContentAddIcon(), func() { o.accept(sd, s) })
	add.Importance = widget.HighImportance
	later := widget.NewButton("Not now", func() { o.answer(sd); o.putOffFirst() })
	decline := widget.NewButton("Decline…", func() { o.answer(sd); o.confirmDecline(s) })

	d := dialog.NewCustomWithoutButtons(shareTitle, container.NewVBox(text, note), o.a.m.win)
	d.SetButtons([]fyne.CanvasObject{decline, later, add})
	// Closed without an answer (Escape): asked again later, as Not now.
	d.SetOnClosed(func() {
		if !sd.done {
			sd.done = true
			o.dialog = nil
			o.putOffFirst()
		}
	})
	d.Resize(fyne.NewSize(460, d.MinSize().Height))
	sd.d = d
	o.dialog = sd
	o.a.m.showDialogKeys(d, pressButton(add), d.Dismiss)
}

// hide takes the dialog away, not as an answer of its own.
func (sd *shareDialog) hide() {
	sd.done = true
	sd.d.Hide()
}

// answer takes sd away once one of its buttons was chosen.
func (o *shareOffers) answer(sd *shareDialog) {
	if o.dialog == sd {
		o.dialog = nil
	}
	sd.hide()
}

// closeDialog takes away what is on display about the first offer.
func (o *shareOffers) closeDialog() {
	if o.dialog != nil {
		sd := o.dialog
		o.dialog = nil
		sd.hide()
	}
}

// putOffFirst leaves the first offer until the next fetch: the next
// start, connection or share event.
func (o *shareOffers) putOffFirst() {
	if len(o.queue) > 0 {
		o.putOffOffer(o.queue[0])
	}
	o.showNext()
}

// putOffOffer leaves s until the next fetch.
func (o *shareOffers) putOffOffer(s shareOffer) {
	o.putOff[s.share.ID] = o.fetches
	o.queue = slices.DeleteFunc(o.queue, func(q shareOffer) bool { return q.share.ID == s.share.ID })
}

// done takes the first offer off the queue for good, once answered.
func (o *shareOffers) done(s shareOffer) {
	o.answered[s.share.ID] = true
	o.queue = slices.DeleteFunc(o.queue, func(q shareOffer) bool { return q.share.ID == s.share.ID })
}

func (o *shareOffers) confirmDecline(s shareOffer) {
	sd := &shareDialog{offer: s.share.ID}
	msg := "Decline " + offerWhat(s.share) + "?\n\nThe server forgets the secret it kept for this desktop. " +
		"The account's owner can share it again later."
	d := newDangerConfirm("Decline the shared authenticator", msg, "Decline", "Back", func(yes bool) {
		if sd.done {
			return
		}
		sd.done = true
		o.dialog = nil
		if yes {
			o.decline(s)
		} else {
			o.showNext() // asked again
		}
	}, o.a.m.win)
	sd.d = d
	o.dialog = sd
	o.a.m.showDialog(d)
}

// offerWhat names what an offer shares: "the authenticator of
// ada@example.com".
func offerWhat(s approver.Share) string {
	if who := orUnknown(s.Account.Email, s.Account.Phone); who != "" {
		return "the authenticator of " + who
	}
	return "the shared authenticator"
}

// accept adds the offer to the vault and tells the server, off the UI
// goroutine (*vault.Vault is safe for that); the Authenticator list and a
// toast show the result.
func (o *shareOffers) accept(sd *shareDialog, s shareOffer) {
	o.answer(sd)
	o.busy = true
	store, svc, ctx := o.a.m.deps.Vault, o.a.svc, o.ctx
	var (
		stored   string
		replaced bool
		already  bool
	)
	o.a.run(func() error {
		ctx, cancel := context.WithTimeout(ctx, serverTimeout)
		defer cancel()
		before := store.Accounts()
		a, rekeyed, err := shares.Accept(ctx, svc, s.account.ID, s.share, store)
		stored, replaced = a.Label(), rekeyed
		already = !rekeyed && slices.ContainsFunc(before, func(b vault.Account) bool { return b.ID == a.ID })
		return err
	}, func(err error) {
		o.busy = false
		if o.ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, shares.ErrNotTold):
			// In the vault, still offered: asked again later, and
			// accepting again changes nothing in the vault.
			o.a.m.auth.load()
			o.putOffOffer(s)
			o.fail(stored + " is in your codes, but " + serverName(s.account.Server) +
				" could not be told. " + shareReason(err, s.account) +
				" Countersign will ask again; adding it again changes nothing.")
		case err != nil:
			o.fail("The shared authenticator could not be added to your codes. " + sentence(err) +
				" It is still offered.")
		default:
			o.done(s)
			o.a.m.auth.load()
			switch {
			case replaced:
				o.toast("Replaced the secret of " + stored)
			case already:
				o.toast(stored + " is already in your codes")
			default:
				o.toast("Added " + stored)
			}
			o.showNext()
		}
	})
}

// decline turns the offer down on the server.
func (o *shareOffers) decline(s shareOffer) {
	o.busy = true
	svc, ctx := o.a.svc, o.ctx
	o.a.run(func() error {
		ctx, cancel := context.WithTimeout(ctx, serverTimeout)
		defer cancel()
		return shares.Decline(ctx, svc, s.account.ID, s.share)
	}, func(err error) {
		o.busy = false
		if o.ctx.Err() != nil {
			return
		}
		if err != nil {
			o.fail("The shared authenticator could not be declined. " + shareReason(err, s.account) +
				" It is still offered.")
			return
		}
		o.done(s)
		o.toast("Declined " + offerWhat(s.share))
		o.showNext()
	})
}

// toast shows text unless the app is locked: the lock hides which
// accounts there are.
func (o *shareOffers) toast(text string) {
	if !o.a.m.lock.locked {
		o.a.m.toast.show(text)
	}
}

// fail says what went wrong, now or once the app is unlocked; the offer
// still queued is asked about again after.
func (o *shareOffers) fail(msg string) {
	if o.a.m.lock.locked || o.dialog != nil {
		o.failed = msg
		return
	}
	o.showError(msg)
}

func (o *shareOffers) showError(msg string) {
	sd := &shareDialog{err: msg}
	d := dialog.NewError(errors.New(msg), o.a.m.win)
	d.SetOnClosed(func() {
		if sd.done {
			return
		}
		sd.done = true
		o.dialog = nil
		o.showNext()
	})
	sd.d = d
	o.dialog = sd
	o.a.m.showDialog(d)
}

// lockChanged asks again, and says again what went wrong, once unlocked:
// locking took every dialog away.
func (o *shareOffers) lockChanged() {
	if o.a.m.lock.locked {
		if sd := o.dialog; sd != nil {
			sd.done = true
			o.dialog = nil
			if sd.err != "" {
				o.failed = sd.err
			}
		}
		return
	}
	o.showNext()
}

// shareReason words why the server was not reached or said no.
func shareReason(err error, acc approver.Account) string {
	var apiErr *approver.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Message != "":
		return stop(apiErr.Message)
	case errors.Is(err, approver.ErrOffline):
		return "Can't reach " + serverName(acc.Server) + ". Check the network connection."
	case errors.Is(err, approver.ErrUnpaired):
		return "This desktop was removed from the account."
	case errors.Is(err, context.DeadlineExceeded):
		return serverName(acc.Server) + " takes too long to answer."
	}
	return sentence(err)
}
