package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/approver"
)

// Step-up: before it moves a device to another member, invites a member's
// desktop, shares the authenticator or stops sharing it, the server asks
// this desktop to confirm that the account's person is at it
// (approver.NeedsStepUp). The window asks for the account's password, or a
// touch of the person's security key, then does the change again; the
// confirmation lasts five minutes and is forgotten when the window locks.

// stepUpDialog is the open "Confirm it's you" dialog.
type stepUpDialog struct {
	dlg      dialog.Dialog
	password *dialogEntry
	problem  *widget.Label // what went wrong with the last try, in the dialog
	confirm  *widget.Button
	useKey   *widget.Button
	busy     bool
}

// stepUp asks the person to confirm it is them on the account of src, then
// runs retry; cancelled runs (on the UI goroutine) when they do not.
func (d *dashboard) stepUp(src Dashboard, retry, cancelled func()) {
	s := &stepUpDialog{password: d.m.newDialogPasswordEntry(), problem: &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}}
	s.password.SetPlaceHolder("Password")
	s.problem.Hide()
	intro := &widget.Label{Wrapping: fyne.TextWrapWord,
		Text: "For your safety, confirm it's you before this change: the password of " + d.account.Email +
			", or a touch of your security key. You won't be asked again for 5 minutes."}
	finished := false
	check := func(op func(ctx context.Context) error) {
		if s.busy {
			return
		}
		s.setBusy(true)
		d.run(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), serverTimeout)
			defer cancel()
			return op(ctx)
		}, func(err error) {
			s.setBusy(false)
			if err == nil {
				finished = true
				s.dlg.Hide()
				retry()
				return
			}
			s.problem.SetText(stepUpProblem(err, d))
			s.problem.Importance = widget.DangerImportance
			s.problem.Show()
			s.password.SetText("")
			if c := d.m.win.Canvas(); c != nil {
				c.Focus(s.password)
			}
		})
	}
	byPassword := func() {
		if s.password.Text == "" {
			s.problem.SetText("Type the account's password, or use your security key.")
			s.problem.Show()
			return
		}
		pw := s.password.Text
		check(func(ctx context.Context) error { return src.StepUp(ctx, pw) })
	}
	s.confirm = &widget.Button{Text: "Confirm", Importance: widget.HighImportance, OnTapped: byPassword}
	s.useKey = widget.NewButton("Use security key", func() {
		s.problem.SetText("Touch your security key now.")
		s.problem.Importance = widget.MediumImportance
		s.problem.Show()
		check(func(ctx context.Context) error { return src.StepUpWithKey(ctx) })
	})
	content := container.NewVBox(intro, s.password, s.problem)
	s.dlg = dialog.NewCustomWithoutButtons("Confirm it's you", content, d.m.win)
	cancel := widget.NewButton("Cancel", func() { s.dlg.Hide() })
	s.dlg.(*dialog.CustomDialog).SetButtons([]fyne.CanvasObject{cancel, s.useKey, s.confirm})
	s.dlg.SetOnClosed(func() {
		s.password.SetText("")
		if !finished && cancelled != nil {
			cancelled()
		}
	})
	s.dlg.Resize(fyne.NewSize(440, s.dlg.MinSize().Height))
	d.dialog = s.dlg
	d.stepUpOpen = s
	// Enter confirms with the password typed; Esc cancels.
	d.m.showDialogKeys(s.dlg, pressButton(s.confirm), s.dlg.Hide)
	if c := d.m.win.Canvas(); c != nil {
		c.Focus(s.password)
	}
}

func (s *stepUpDialog) setBusy(busy bool) {
	s.busy = busy
	for _, b := range []*widget.Button{s.confirm, s.useKey} {
		if busy {
			b.Disable()
		} else {
			b.Enable()
		}
	}
}

// stepUpProblem says in the dialog why a confirmation did not work.
func stepUpProblem(err error, d *dashboard) string {
	if approver.WrongPassword(err) {
		return "That is not the account's password. Wrong passwords count as failed sign-ins: too many lock sign-in for a while."
	}
	return d.explain(err)
}
