package ui

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/assets"
	"github.com/countersign/countersign/internal/fido"
)

// keyIcon is a security key, coloured by the theme like Fyne's own icons.
var keyIcon = theme.NewThemedResource(fyne.NewStaticResource("key.svg", assets.KeySVG()))

// KeyService is the FIDO2 security keys the Keys screen shows and manages,
// each named by its device path. Every method talks to a key or lists the
// keys, so the screen calls them off the UI goroutine. FidoKeys is the real
// one.
type KeyService interface {
	// Watch sends the keys present now and again whenever they change,
	// until ctx ends.
	Watch(ctx context.Context) (<-chan []fido.Location, error)
	Info(path string) (*fido.Info, error)
	SetPIN(path, pin string) error
	ChangePIN(path, old, pin string) error
	Passkeys(path, pin string) ([]fido.RelyingParty, error)
	DeleteCredential(path, pin string, id []byte) error
	// Reset calls onTouch when the key waits for its touch; ending ctx
	// cancels the reset on the key.
	Reset(ctx context.Context, path string, onTouch func()) error
	Fingerprints(path, pin string) ([]fido.Fingerprint, error)
	// EnrollFingerprint calls progress after each touch of the sensor;
	// ending ctx cancels the enrollment on the key.
	EnrollFingerprint(ctx context.Context, path, pin, name string, progress func(fido.EnrollProgress)) (fido.Fingerprint, error)
	RenameFingerprint(path, pin string, id []byte, name string) error
	DeleteFingerprint(path, pin string, id []byte) error
}

// keyState is one key present and what it said about itself.
type keyState struct {
	loc  fido.Location
	info *fido.Info
	err  error // why info could not be read
}

// keys is the Security keys screen: the keys plugged in, the chosen one's
// info card, its PIN, its passkeys and its reset.
type keys struct {
	m   *Main
	svc KeyService
	// ui runs f on the UI goroutine: fyne.Do, replaced in tests.
	ui func(f func())

	stopWatch context.CancelFunc
	present   []keyState
	path      string // the key on display, "" for none

	status  *widget.Label
	hint    *widget.Label
	admin   *adminNotice // Windows: what needs an administrator
	picker  *widget.Select
	card    *widget.Card
	fields  map[string]*widget.Label
	setPIN  *widget.Button
	chgPIN  *widget.Button
	showPK  *widget.Button
	showFP  *widget.Button
	reset   *widget.Button
	check   *widget.Button // Refresh
	actions *fyne.Container
	body    *fyne.Container
	root    fyne.CanvasObject

	pk *passkeyList
	fp *fingerList

	dialog dialog.Dialog // the last dialog shown
	form   *pinForm      // the PIN dialog's fields while it is open
	resetF *resetFlow    // the reset under way, nil for none
	held   *heldPIN      // the PIN that proved right, for a while; nil for none
}

// infoRows are the info card's lines, in order.
var infoRows = []string{"Versions", "Features", "PIN", "Free passkey slots", "Firmware", "AAGUID"}

func newKeys(m *Main) *keys {
	k := &keys{m: m, svc: m.deps.Keys, ui: fyne.Do, fields: map[string]*widget.Label{}}
	k.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	k.hint = &widget.Label{Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText}
	k.hint.Hide()
	k.admin = newAdminNotice(m.deps.Session.Admin, runtime.GOOS)
	k.picker = widget.NewSelect(nil, k.onPick)
	k.picker.Hide()

	grid := container.New(layout.NewFormLayout())
	for _, name := range infoRows {
		v := &widget.Label{Wrapping: fyne.TextWrapWord, Selectable: true}
		k.fields[name] = v
		grid.Add(&widget.Label{Text: name, TextStyle: fyne.TextStyle{Bold: true}})
		grid.Add(v)
	}
	k.card = widget.NewCard("", "", grid)

	k.setPIN = widget.NewButtonWithIcon("Set PIN…", theme.AccountIcon(), func() { k.showPIN(false) })
	k.setPIN.Importance = widget.HighImportance
	k.chgPIN = widget.NewButtonWithIcon("Change PIN…", theme.AccountIcon(), func() { k.showPIN(true) })
	k.showPK = widget.NewButtonWithIcon("Passkeys…", theme.ListIcon(), k.askPasskeys)
	k.showFP = widget.NewButtonWithIcon("Fingerprints…", fingerprintIcon, k.askFingerprints)
	k.check = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), k.refresh)
	k.check.Importance = widget.LowImportance
	k.reset = widget.NewButtonWithIcon("Reset…", theme.DeleteIcon(), k.showReset)
	k.reset.Importance = widget.DangerImportance
	k.actions = container.NewHBox(k.setPIN, k.chgPIN, k.showPK, k.showFP, k.reset)

	k.pk = newPasskeyList(k)
	k.fp = newFingerList(k)
	k.body = container.NewVBox(k.picker, k.card, k.actions, k.pk.root, k.fp.root)
	k.root = container.NewVScroll(container.NewPadded(container.NewVBox(
		container.NewBorder(nil, nil, nil, k.check, heading("Security keys")),
		k.admin.root,
		k.status,
		k.hint,
		k.body,
	)))
	k.update()
	return k
}

func (k *keys) title() string              { return "Security keys" }
func (k *keys) icon() fyne.Resource        { return keyIcon }
func (k *keys) content() fyne.CanvasObject { return k.root }

// shown starts watching for keys, which reads what each one says about
// itself (a PIN set elsewhere, say); hidden stops, and forgets the PIN and
// what it showed.
func (k *keys) shown() {
	if k.svc == nil || k.stopWatch != nil {
		k.update()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	k.stopWatch = cancel
	go k.watch(ctx)
}

func (k *keys) hidden() {
	if k.resetF != nil {
		k.resetF.dialog.Hide() // cancels the reset: it follows the keys present
	}
	if k.stopWatch != nil {
		k.stopWatch()
		k.stopWatch = nil
	}
	k.clearLists()
	k.forgetPIN()
}

// typedKey is F5: read the keys' info again.
func (k *keys) typedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyF5 {
		k.refresh()
	}
}

func (k *keys) typedRune(rune)              {}
func (k *keys) typedShortcut(fyne.Shortcut) {}

// refresh reads again what every key present says about itself, for a
// change made elsewhere (another program, another computer).
func (k *keys) refresh() {
	if k.svc == nil || k.stopWatch == nil {
		return
	}
	var locs []fido.Location
	for _, s := range k.present {
		locs = append(locs, s.loc)
	}
	go func() {
		states := k.readInfo(locs)
		k.ui(func() {
			// Unless the keys changed meanwhile: the watch has the newer list.
			same := slices.EqualFunc(states, k.present, func(a, b keyState) bool { return a.loc.Path == b.loc.Path })
			if k.stopWatch != nil && same {
				k.setPresent(states)
			}
		})
	}()
}

// watch runs off the UI goroutine: it reads the info of every key present
// whenever the keys change and hands the result to the screen.
func (k *keys) watch(ctx context.Context) {
	ch, err := k.svc.Watch(ctx)
	if err != nil {
		k.ui(func() { k.watchFailed(err) })
		return
	}
	var locs []fido.Location
	var again <-chan time.Time
	tries := 0
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				return
			}
			locs, tries = l, 0
		case <-again:
			tries++
		}
		states := k.readInfo(locs)
		failed := slices.ContainsFunc(states, func(s keyState) bool { return s.loc.Err == nil && s.err != nil })
		k.ui(func() {
			if ctx.Err() == nil {
				k.setPresent(states)
			}
		})
		again = nil
		if failed && tries < infoRetries {
			again = time.After(infoRetryAfter)
		}
	}
}

// A key that does not answer just after it is plugged in (still starting,
// its permissions still being set) is asked again, infoRetries times
// infoRetryAfter apart.
const (
	infoRetries    = 3
	infoRetryAfter = 500 * time.Millisecond
)

// readInfo asks each usable key of locs what it is, off the UI goroutine.
func (k *keys) readInfo(locs []fido.Location) []keyState {
	states := make([]keyState, len(locs))
	for i, l := range locs {
		states[i] = keyState{loc: l, err: l.Err}
		if l.Err == nil {
			states[i].info, states[i].err = k.svc.Info(l.Path)
		}
	}
	return states
}

func (k *keys) watchFailed(err error) {
	k.present = nil
	k.path = ""
	k.update()
	k.status.SetText("Security keys cannot be listed. " + sentence(err))
}

// setPresent shows the keys present, keeping the one on display if it is
// still there.
func (k *keys) setPresent(states []keyState) {
	k.present = states
	if k.held != nil && k.find(k.held.path) < 0 {
		k.forgetPIN() // the key went
	}
	if k.find(k.path) < 0 {
		k.path = ""
		k.clearLists()
		for _, s := range states {
			if s.err == nil {
				k.path = s.loc.Path
				break
			}
		}
	}
	k.update()
	k.resetSaw(states)
}

func (k *keys) find(path string) int {
	return slices.IndexFunc(k.present, func(s keyState) bool { return s.loc.Path == path && path != "" })
}

func (k *keys) current() (keyState, bool) {
	i := k.find(k.path)
	if i < 0 {
		return keyState{}, false
	}
	return k.present[i], true
}

func (k *keys) onPick(label string) {
	for _, s := range k.present {
		if keyLabel(s) == label && s.loc.Path != k.path {
			k.path = s.loc.Path
			k.clearLists()
			k.update()
			return
		}
	}
}

// keyLabel names a key in the picker.
func keyLabel(s keyState) string {
	name := s.loc.Product
	if s.info != nil && s.info.Model != fido.UnknownModel {
		name = s.info.Model
	}
	if name == "" {
		name = "Security key"
	}
	return name + " — " + s.loc.Path
}

// update sets the widgets from the keys present.
func (k *keys) update() {
	var problems []string
	for _, s := range k.present {
		if s.err != nil {
			problems = append(problems, sentence(s.err))
		}
	}
	show(k.hint, len(problems) > 0)
	k.hint.SetText(strings.Join(problems, "\n"))

	cur, ok := k.current()
	switch {
	case k.svc == nil:
		k.status.SetText("Security keys are not available in this build of Countersign.")
		k.check.Hide()
	case !ok && len(k.present) > 0:
		k.status.SetText("A security key is plugged in but cannot be used:")
	case !ok:
		k.status.SetText("No security key found. Plug one in: it shows up here by itself.")
	default:
		k.status.SetText("")
	}
	show(k.status, k.status.Text != "")
	show(k.body, ok)
	if !ok {
		k.root.Refresh()
		return
	}

	var labels []string
	for _, s := range k.present {
		if s.err == nil {
			labels = append(labels, keyLabel(s))
		}
	}
	k.picker.SetOptions(labels)
	k.picker.SetSelected(keyLabel(cur))
	show(k.picker, len(labels) > 1)

	k.fillCard(cur)
	in := cur.info
	show(k.setPIN, in.SupportsPIN() && !in.PINSet())
	show(k.chgPIN, in.PINSet())
	show(k.showPK, in.Options["credMgmt"] || in.Options["credentialMgmtPreview"])
	enable(k.showPK, in.PINSet())
	show(k.showFP, hasSensor(in))
	enable(k.showFP, in.PINSet())
	k.root.Refresh()
}

func (k *keys) fillCard(s keyState) {
	in := s.info
	k.card.SetTitle(in.Model)
	sub := s.loc.Path
	if p := strings.TrimSpace(s.loc.Manufacturer + " " + s.loc.Product); p != "" {
		sub = p + " · " + sub
	}
	k.card.SetSubTitle(sub)
	set := func(name, v string) {
		if v == "" {
			v = "—"
		}
		k.fields[name].SetText(v)
	}
	set("Versions", strings.Join(in.Versions, ", "))
	set("Features", strings.Join(in.Features(), "\n"))
	set("PIN", pinText(in))
	slots := "not reported"
	if in.RemainingDiscoverable >= 0 {
		slots = fmt.Sprint(in.RemainingDiscoverable)
	}
	set("Free passkey slots", slots)
	set("Firmware", in.FirmwareString())
	set("AAGUID", in.AAGUID)
}

func pinText(in *fido.Info) string {
	switch {
	case !in.SupportsPIN():
		return "not supported"
	case !in.PINSet():
		return fmt.Sprintf("not set (at least %d characters)", minPIN(in))
	case in.PINRetries == 1:
		return "set, 1 try left"
	case in.PINRetries >= 0:
		return fmt.Sprintf("set, %d tries left", in.PINRetries)
	}
	return "set"
}

func minPIN(in *fido.Info) int {
	if in.MinPINLength < 1 {
		return fido.DefaultMinPINLength
	}
	return in.MinPINLength
}

// run calls op off the UI goroutine and done with its error on it.
func (k *keys) run(op func() error, done func(error)) {
	go func() {
		err := op()
		k.ui(func() { done(err) })
	}()
}

// refreshInfo reads the info of the key on display again, after a change.
func (k *keys) refreshInfo() {
	path := k.path
	var info *fido.Info
	k.run(func() (err error) {
		info, err = k.svc.Info(path)
		return err
	}, func(err error) {
		i := k.find(path)
		if i < 0 {
			return
		}
		k.present[i].info, k.present[i].err = info, err
		if err != nil {
			k.present[i].info = nil
			if path == k.path {
				k.path = ""
			}
		}
		k.update()
	})
}

// keyError is the library's message for err: what happened and what to do.
// A wrong PIN says only how many tries are left, and a key not touched
// only that, without the operation's prefix.
func keyError(err error) string {
	var wrong *fido.WrongPINError
	var untouched *fido.TouchTimeoutError
	for _, target := range []error{fido.ErrPINAuthBlocked, fido.ErrPINBlocked, fido.ErrPINNotSet, fido.ErrResetNotAllowed, fido.ErrNoDevice} {
		if errors.Is(err, target) {
			return sentence(target)
		}
	}
	if errors.As(err, &wrong) {
		return sentence(wrong)
	}
	if errors.As(err, &untouched) {
		return sentence(untouched)
	}
	return sentence(err)
}

func (k *keys) showError(what string, err error) {
	d := dialog.NewError(errors.New(what+". "+keyError(err)), k.m.win)
	k.dialog = d
	k.m.showDialog(d)
}

// showPIN asks for a new PIN (and the current one when change is true),
// checked against the key's rules as it is typed.
func (k *keys) showPIN(change bool) {
	cur, ok := k.current()
	if !ok {
		return
	}
	path, minLen := cur.loc.Path, minPIN(cur.info)
	f := &pinForm{next: k.m.newDialogPasswordEntry(), repeat: k.m.newDialogPasswordEntry()}
	form := widget.NewForm()
	if change {
		f.current = k.m.newDialogPasswordEntry()
		f.current.Validator = func(p string) error {
			if p == "" {
				return errors.New("type the key's current PIN")
			}
			return nil
		}
		form.Append("Current PIN", f.current)
	}
	f.next.Validator = func(p string) error { return fido.CheckPIN(p, minLen) }
	f.repeat.Validator = func(p string) error {
		if p != f.next.Text {
			return errors.New("the two PINs differ")
		}
		return nil
	}
	f.next.OnChanged = func(string) {
		if f.repeat.Text != "" {
			f.repeat.Validate()
		}
	}
	form.AppendItem(&widget.FormItem{Text: "New PIN", Widget: f.next,
		HintText: fmt.Sprintf("At least %d characters; letters and digits are both fine", minLen)})
	form.AppendItem(&widget.FormItem{Text: "Repeat it", Widget: f.repeat, HintText: "Type the new PIN again"})

	title, action, what, done := "Set the key's PIN", "Set PIN", "The PIN was not set", "PIN set"
	if change {
		title, action, what, done = "Change the key's PIN", "Change PIN", "The PIN was not changed", "PIN changed"
	}
	var next string
	k.pinDialog(title, action, f, form, func() func() error {
		next = f.next.Text
		if change {
			old := f.current.Text
			return func() error { return k.svc.ChangePIN(path, old, next) }
		}
		return func() error { return k.svc.SetPIN(path, next) }
	}, func(err error) {
		if err != nil {
			k.showError(what, err)
			return
		}
		k.holdPIN(path, next)
		k.m.toast.show(done)
	})
}

// clearLists forgets the passkeys and fingerprints read and the PIN they
// were read with.
func (k *keys) clearLists() {
	k.pk.clear()
	k.fp.clear()
}
