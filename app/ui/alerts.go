package ui

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// alertAnswerer answers a sign-in alert with "This wasn't me";
// *approver.Manager is the real one.
type alertAnswerer interface {
	NotMe(ctx context.Context, accountID, alertID string) (api.Disowned, error)
}

// signInAlerts tells of sign-ins to a paired account from a browser or
// place it had not used (approver.EventAlert): a desktop notification
// each, and a banner at the top of the Approvals screen with "This wasn't
// me" (notifications cannot carry buttons everywhere), which signs that
// sign-in out and then offers to change the password.
type signInAlerts struct {
	a       *approvals
	box     *fyne.Container      // the banners, newest last
	seen    map[string]bool      // alert ids already shown
	openURL func(*url.URL) error // nil: the app's, which opens the browser
}

func newSignInAlerts(a *approvals) *signInAlerts {
	al := &signInAlerts{a: a, box: container.NewVBox(), seen: map[string]bool{}}
	al.box.Hide() // until an alert comes: it takes no room
	return al
}

// handle takes in an event of the paired accounts.
func (al *signInAlerts) handle(ev approver.Event) {
	if ev.Kind != approver.EventAlert || ev.Alert == nil || al.seen[ev.Alert.ID] {
		return
	}
	al.seen[ev.Alert.ID] = true
	al.a.m.app.SendNotification(fyne.NewNotification("New sign-in to "+accountLabel(ev.Account),
		alertSummary(*ev.Alert)+". Wasn't you? Open Countersign's Approvals."))
	al.box.Add(al.banner(ev.Account, *ev.Alert))
	al.box.Show()
}

// alertSummary is what signed in, where from and when: "Firefox 133 on
// Windows 10 in Paris, France (IP address 203.0.113.5), 7 Dec 14:05".
func alertSummary(a api.SignInAlert) string {
	where := " (IP address " + orUnknown(a.IP, "unknown") + ")"
	if strings.TrimSpace(a.Place) != "" {
		where = " in " + orUnknown(a.Place, "") + where
	}
	return orUnknown(a.Browser, "An unknown browser") + where + ", " + a.At.Local().Format("2 Jan 15:04 MST")
}

// banner is one alert on the Approvals screen.
func (al *signInAlerts) banner(acc approver.Account, a api.SignInAlert) fyne.CanvasObject {
	title := &widget.Label{Text: "New sign-in to " + accountLabel(acc), TextStyle: fyne.TextStyle{Bold: true}}
	text := &widget.Label{Text: alertSummary(a) + ". If this was you, there is nothing to do.", Wrapping: fyne.TextWrapWord}
	status := &widget.Label{Wrapping: fyne.TextWrapWord}
	status.Hide()
	actions := container.NewHBox()
	card := container.NewVBox(title, text, status, actions, widget.NewSeparator())
	dismiss := func() {
		al.box.Remove(card)
		if len(al.box.Objects) == 0 {
			al.box.Hide()
		}
	}

	var notMe *widget.Button
	itWasMe := widget.NewButton("It was me", dismiss)
	notMe = widget.NewButtonWithIcon("This wasn't me", theme.WarningIcon(), func() {
		notMe.Disable()
		itWasMe.Disable()
		status.SetText("Signing it out…")
		status.Show()
		al.notMe(acc, a, func(out api.Disowned, err error) {
			if err != nil {
				status.SetText("It was not signed out. " + sentence(err) + " Try again, or end the session on the Dashboard.")
				status.Importance = widget.DangerImportance
				status.Refresh()
				notMe.Enable()
				itWasMe.Enable()
				return
			}
			status.Importance = widget.MediumImportance
			status.SetText(disownedText(a, out))
			change := widget.NewButtonWithIcon("Change password", theme.AccountIcon(), func() {
				if u, err := url.Parse(out.PasswordURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
					open := al.openURL
					if open == nil {
						open = al.a.m.app.OpenURL
					}
					if err := open(u); err != nil {
						status.SetText("The browser did not open. Change your password at " + u.String() + ".")
					}
				}
			})
			change.Importance = widget.HighImportance
			actions.Objects = []fyne.CanvasObject{change, widget.NewButton("Dismiss", dismiss)}
			actions.Refresh()
		})
	})
	notMe.Importance = widget.DangerImportance
	actions.Objects = []fyne.CanvasObject{notMe, itWasMe}
	return card
}

// disownedText says what "This wasn't me" ended and what to do next.
func disownedText(a api.SignInAlert, out api.Disowned) string {
	b := orUnknown(a.Browser, "That browser")
	s := b + " is signed out"
	if out.Sessions == 0 {
		s = b + " had signed out already"
	}
	if len(out.Apps) > 0 {
		names := make([]string, len(out.Apps))
		for i, n := range out.Apps {
			names[i] = orUnknown(n, "an app")
		}
		s += ", and so are the apps it signed in to (" + strings.Join(names, ", ") + ")"
	}
	return s + ". Whoever signed in may know your password: change it now."
}

// notMe asks the server off the UI goroutine and hands the answer back to
// it.
func (al *signInAlerts) notMe(acc approver.Account, a api.SignInAlert, done func(api.Disowned, error)) {
	ans, ok := al.a.svc.(alertAnswerer)
	if !ok {
		done(api.Disowned{}, errNoAnswer)
		return
	}
	al.a.busy.Add(1)
	go func() {
		defer al.a.busy.Done()
		ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
		defer cancel()
		out, err := ans.NotMe(ctx, acc.ID, a.ID)
		al.a.ui(func() { done(out, err) })
	}()
}

// errNoAnswer is what a window without a server connection says.
var errNoAnswer = errors.New("this window cannot reach the account's server")
