package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// review is the last step of every way of adding: the accounts found, each
// to be added or not. Accounts already in the vault are shown, unchecked and
// marked, and cannot be chosen.
type review struct {
	dialog   *dialog.CustomDialog
	accounts []vault.Account
	dup      []string        // why the account cannot be added, or ""
	checks   []*widget.Check // nil for a single account
	add      *widget.Button
	cancel   *widget.Button
}

// showReview asks which of accounts to add. notes (QR codes that were not
// authenticator codes, entries skipped) are shown beneath.
func (a *adder) showReview(accounts []vault.Account, notes []string) {
	r := &review{accounts: accounts, dup: make([]string, len(accounts))}
	have := a.m.deps.Vault.Accounts()
	fresh := 0
	for i, acc := range accounts {
		for _, h := range have {
			if h.SameAs(acc) {
				r.dup[i] = "already added"
				break
			}
		}
		for _, earlier := range accounts[:i] {
			if r.dup[i] == "" && earlier.SameAs(acc) {
				r.dup[i] = "listed twice"
			}
		}
		if r.dup[i] == "" {
			fresh++
		}
	}
	if len(accounts) == 1 && fresh == 0 {
		a.showProblem("Already added", accounts[0].Label()+" is already in your accounts.", "Nothing was added.")
		return
	}

	var body fyne.CanvasObject
	title := "Add this account?"
	if len(accounts) == 1 {
		body = accountDetails(accounts[0])
	} else {
		title = "Choose the accounts to add"
		body = r.checklist()
	}
	box := container.NewVBox()
	for _, n := range notes {
		box.Add(&widget.Label{Text: n, Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance})
	}
	content := container.NewBorder(nil, box, nil, nil, body)

	r.add = widget.NewButtonWithIcon("Add", theme.ConfirmIcon(), func() {
		r.dialog.Hide()
		a.review = nil
		a.commit(r.chosen())
	})
	r.add.Importance = widget.HighImportance
	r.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		r.dialog.Hide()
		a.review = nil
	})
	r.dialog = dialog.NewCustomWithoutButtons(title, content, a.m.win)
	r.dialog.SetButtons([]fyne.CanvasObject{r.cancel, r.add})
	r.updateAdd()
	size := fyne.NewSize(480, r.dialog.MinSize().Height)
	if len(accounts) > 1 {
		size.Height = min(560, size.Height)
	}
	r.dialog.Resize(size)
	a.review, a.dialog = r, r.dialog
	a.m.showDialogKeys(r.dialog, pressButton(r.add), pressButton(r.cancel))
}

// checklist is one row per account: a check, the account's name, and a
// note of its type or of why it cannot be chosen. A long name is cut short,
// never the note.
func (r *review) checklist() fyne.CanvasObject {
	rows := container.NewVBox()
	r.checks = make([]*widget.Check, len(r.accounts))
	for i, acc := range r.accounts {
		c := widget.NewCheck("", func(bool) { r.updateAdd() })
		name := newCheckName(acc.Label(), c)
		note := &widget.Label{Text: describeKey(acc.Key), SizeName: theme.SizeNameCaptionText}
		if r.dup[i] != "" {
			c.Disable()
			name.Importance = widget.LowImportance // greyed, as a disabled check's own label is
			note.Text = r.dup[i]
			note.Importance = widget.WarningImportance
		} else {
			c.Checked = true
		}
		r.checks[i] = c
		rows.Add(container.NewBorder(nil, nil, c, container.NewCenter(note), name))
	}
	scroll := container.NewVScroll(rows)
	scroll.SetMinSize(fyne.NewSize(0, min(rows.MinSize().Height, 360)))
	return scroll
}

// checkName is the name beside a check of the checklist: cut short with an
// ellipsis when long, and a click on it flips the check, as a click on a
// check's own label does.
type checkName struct {
	widget.Label
	check *widget.Check
}

func newCheckName(text string, c *widget.Check) *checkName {
	n := &checkName{check: c}
	n.Text, n.Truncation = text, fyne.TextTruncateEllipsis
	n.ExtendBaseWidget(n)
	return n
}

func (n *checkName) Tapped(*fyne.PointEvent) {
	if !n.check.Disabled() {
		n.check.SetChecked(!n.check.Checked)
	}
}

// chosen are the accounts to add.
func (r *review) chosen() []vault.Account {
	if r.checks == nil {
		return r.accounts
	}
	var out []vault.Account
	for i, c := range r.checks {
		if c.Checked && r.dup[i] == "" {
			out = append(out, r.accounts[i])
		}
	}
	return out
}

// updateAdd names how many accounts the Add button adds.
func (r *review) updateAdd() {
	n := len(r.chosen())
	switch {
	case r.checks == nil:
		r.add.SetText("Add")
	case n == 0:
		r.add.SetText("Check an account to add")
	case n == 1:
		r.add.SetText("Add 1 account")
	default:
		r.add.SetText(fmt.Sprintf("Add %d accounts", n))
	}
	if n == 0 {
		r.add.Disable()
	} else {
		r.add.Enable()
	}
}

// accountDetails shows one account's issuer, name and type.
func accountDetails(acc vault.Account) fyne.CanvasObject {
	value := func(s string) *widget.Label {
		if s == "" {
			s = "—"
		}
		return &widget.Label{Text: s, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis}
	}
	return widget.NewForm(
		widget.NewFormItem("Issuer", value(acc.Issuer)),
		widget.NewFormItem("Account", value(acc.Name)),
		widget.NewFormItem("Type", value(describeKey(acc.Key))),
	)
}

// describeKey says what kind of codes a key makes: "TOTP, 6 digits, 30 s".
func describeKey(k otp.Key) string {
	k = k.Normalize()
	switch {
	case k.IsSteam():
		return "Steam Guard"
	case k.Type == otp.HOTP:
		return fmt.Sprintf("HOTP, %d digits", k.Digits)
	}
	s := fmt.Sprintf("TOTP, %d digits, %d s", k.Digits, k.Period)
	if k.Algorithm != otp.SHA1 {
		s += ", " + string(k.Algorithm)
	}
	return s
}

// commit adds accounts to the vault, all or none, and says how many were added.
func (a *adder) commit(accounts []vault.Account) {
	added, dups, err := a.m.deps.Vault.Add(accounts...)
	if err != nil {
		a.showProblem("The accounts could not be added", err.Error(),
			"Nothing was added. Check that the vault's folder is writable and the keyring unlocked, then try again.")
		return
	}
	a.m.auth.load()
	var msg string
	switch len(added) {
	case 0:
		msg = "Nothing added"
	case 1:
		msg = "Added " + added[0].Label()
	default:
		msg = fmt.Sprintf("Added %d accounts", len(added))
	}
	if len(dups) > 0 {
		msg += fmt.Sprintf(" (%d already there)", len(dups))
	}
	a.m.toast.show(msg)
}
