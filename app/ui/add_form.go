package ui

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// Choices of the by-hand form's Type.
const (
	typeTOTP  = "Time-based (TOTP)"
	typeHOTP  = "Counter-based (HOTP)"
	typeSteam = "Steam Guard"
)

// addForm is the form for an account whose secret is typed by hand. The
// preview shows the code the account would make now while every field is
// valid, so that it can be compared with what the site expects.
type addForm struct {
	a *adder

	issuer, name, secret *dialogEntry
	kind, algorithm      *widget.Select
	digits               *widget.Select
	step                 *dialogEntry // the period of a TOTP key, the counter of a HOTP key
	stepItem             *widget.FormItem
	previewItem          *widget.FormItem
	digitsItem           *widget.FormItem // says why Digits is disabled for Steam
	form                 *widget.Form
	preview              *widget.Label
	next                 *widget.Button
	dialog               *dialog.CustomDialog
	cancelTick           func() bool

	shownKind       string // the type the fields are laid out for
	period, counter string // the step field's text for each type, kept while the other shows
}

func (a *adder) enterByHand() {
	f := &addForm{a: a, period: strconv.Itoa(otp.DefaultPeriod), counter: "0"}
	f.issuer = a.m.newDialogEntry()
	f.issuer.SetPlaceHolder("GitHub")
	f.name = a.m.newDialogEntry()
	f.name.SetPlaceHolder("you@example.com")
	f.name.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("an account needs a name")
		}
		return nil
	}
	f.secret = a.m.newDialogEntry()
	f.secret.SetPlaceHolder("JBSW Y3DP EHPK 3PXP")
	f.secret.Validator = func(s string) error {
		_, err := otp.DecodeSecret(s)
		if errors.Is(err, otp.ErrMissingSecret) {
			return errors.New("type the secret the site shows (letters A–Z and digits 2–7)")
		}
		return err
	}
	f.kind = widget.NewSelect([]string{typeTOTP, typeHOTP, typeSteam}, func(string) { f.onKindChanged() })
	f.algorithm = widget.NewSelect([]string{string(otp.SHA1), string(otp.SHA256), string(otp.SHA512)}, func(string) { f.update() })
	f.digits = widget.NewSelect([]string{"6", "7", "8"}, func(string) { f.update() })
	f.digitsItem = widget.NewFormItem("Digits", f.digits)
	f.step = a.m.newDialogEntry()
	f.step.Validator = f.validateStep
	f.preview = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}

	f.stepItem = &widget.FormItem{Text: "Period", Widget: f.step, HintText: "Seconds each code lasts"}
	f.previewItem = widget.NewFormItem("Code now", f.preview)
	f.form = widget.NewForm(
		widget.NewFormItem("Issuer", f.issuer),
		widget.NewFormItem("Account", f.name),
		&widget.FormItem{Text: "Secret", Widget: f.secret, HintText: "Base32, as the site shows it; spaces are fine"},
		widget.NewFormItem("Type", f.kind),
		widget.NewFormItem("Algorithm", f.algorithm),
		f.digitsItem,
		f.stepItem,
		f.previewItem,
	)
	for _, e := range []*dialogEntry{f.issuer, f.name, f.secret, f.step} {
		e.OnChanged = func(string) { f.update() }
	}
	f.kind.SetSelected(typeTOTP)
	f.algorithm.SetSelected(string(otp.SHA1))
	f.digits.SetSelected("6")

	f.next = widget.NewButtonWithIcon("Next", theme.NavigateNextIcon(), f.submit)
	f.next.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), f.close)
	f.dialog = dialog.NewCustomWithoutButtons("Enter an account by hand", container.NewPadded(f.form), a.m.win)
	f.dialog.SetButtons([]fyne.CanvasObject{cancel, f.next})
	f.update()
	f.dialog.Resize(fyne.NewSize(500, f.dialog.MinSize().Height))
	a.form, a.dialog = f, f.dialog
	a.m.showDialogKeys(f.dialog, pressButton(f.next), pressButton(cancel))
	a.m.win.Canvas().Focus(f.issuer)
	f.scheduleTick()
}

// scheduleTick keeps the preview current: it is computed again just after
// each second begins, while the form is open.
func (f *addForm) scheduleTick() {
	now := f.a.m.deps.Now()
	wait := time.Second - time.Duration(now.Nanosecond()) + 5*time.Millisecond
	f.cancelTick = f.a.m.deps.After(wait, func() {
		if f.a.form != f || f.a.m.lock.locked {
			f.a.form = nil // closed, or taken off the screen by the lock
			return
		}
		f.update()
		f.scheduleTick()
	})
}

// onKindChanged shows the fields the chosen type has: a period or a
// counter, and digits only for codes that are digits.
func (f *addForm) onKindChanged() {
	if f.stepItem == nil {
		return // still being built
	}
	switch f.shownKind {
	case typeHOTP:
		f.counter = f.step.Text
	case typeTOTP, typeSteam:
		f.period = f.step.Text
	}
	f.shownKind = f.kind.Selected
	if f.kind.Selected == typeHOTP {
		f.stepItem.Text, f.stepItem.HintText = "Counter", "The counter of the next code; 0 for a new account"
		f.previewItem.Text = "Next code"
		f.step.SetText(f.counter)
	} else {
		f.stepItem.Text, f.stepItem.HintText = "Period", "Seconds each code lasts"
		f.previewItem.Text = "Code now"
		f.step.SetText(f.period)
	}
	if f.kind.Selected == typeSteam {
		f.digits.Disable()
		f.digitsItem.HintText = "Steam Guard codes always have 5 characters"
	} else {
		f.digits.Enable()
		f.digitsItem.HintText = ""
	}
	f.form.Refresh()
	f.update()
}

func (f *addForm) validateStep(s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if f.kind.Selected == typeHOTP {
		if err != nil {
			return otp.ErrBadCounter
		}
		return nil
	}
	if err != nil || n < 1 || n > 86400 {
		return otp.ErrBadPeriod
	}
	return nil
}

// key is the key the fields describe, or the first thing wrong with them.
func (f *addForm) key() (otp.Key, error) {
	for _, e := range []*dialogEntry{f.name, f.secret, f.step} {
		if err := e.Validator(e.Text); err != nil {
			return otp.Key{}, err
		}
	}
	secret, _ := otp.DecodeSecret(f.secret.Text)
	k := otp.Key{
		Type:      otp.TOTP,
		Issuer:    f.issuer.Text,
		Name:      f.name.Text,
		Secret:    secret,
		Algorithm: otp.Algorithm(f.algorithm.Selected),
	}
	k.Digits, _ = strconv.Atoi(f.digits.Selected)
	n, _ := strconv.ParseUint(strings.TrimSpace(f.step.Text), 10, 64)
	switch f.kind.Selected {
	case typeHOTP:
		k.Type, k.Counter = otp.HOTP, n
	case typeSteam:
		k.Encoder = otp.EncoderSteam
		k.Period = int(n)
	default:
		k.Period = int(n)
	}
	k = k.Normalize()
	return k, k.Validate()
}

// update refreshes the preview and whether Next may be pressed.
func (f *addForm) update() {
	if f.next == nil {
		return // still being built
	}
	k, err := f.key()
	var code string
	if err == nil {
		code, err = otp.Code(k, f.a.m.deps.Now())
	}
	// Next is disabled until there is a code to show; the preview's hint
	// says what is missing meanwhile.
	hint := ""
	if err != nil {
		f.preview.SetText("")
		f.next.Disable()
		hint = sentence(err)
	} else {
		f.preview.SetText(groupCode(code))
		f.next.Enable()
	}
	if hint != f.previewItem.HintText {
		f.previewItem.HintText = hint
		f.form.Refresh()
	}
}

// submit goes on to the review with the account the form describes.
func (f *addForm) submit() {
	k, err := f.key()
	if err != nil {
		f.a.showProblem("The account is not complete", sentence(err), "Correct the field and try again.")
		return
	}
	f.close()
	f.a.showReview([]vault.Account{{Key: k}}, nil)
}

func (f *addForm) close() {
	f.dialog.Hide()
	f.a.form = nil
	if f.cancelTick != nil {
		f.cancelTick()
	}
}
