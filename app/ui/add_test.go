package ui

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/transfer"
	"github.com/countersign/countersign/internal/vault"
)

const githubURI = "otpauth://totp/GitHub:octocat?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub"

// migrationAccounts are the accounts of the corpus's migration QR code.
func migrationAccounts(t *testing.T) []vault.Account {
	t.Helper()
	codes, err := qr.DecodeFile("../../testdata/qr/migration.png")
	if err != nil || len(codes) != 1 {
		t.Fatalf("migration.png: %v, %v", codes, err)
	}
	as, err := transfer.ParseURI(codes[0].Text)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestAddMenuAndShortcut(t *testing.T) {
	h := newAddHarness(t, fixture())
	var labels []string
	for _, it := range h.add.menu().Items {
		labels = append(labels, it.Label)
	}
	want := []string{"Scan screen for QR code", "Open QR code image…", "Paste from clipboard",
		"Enter secret by hand…", "Import from another app…"}
	if !slices.Equal(labels, want) {
		t.Errorf("add menu %q, want %q", labels, want)
	}

	ctrlN := &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault}
	for name, press := range map[string]func(){
		"in the search field": func() { h.auth.search.TypedShortcut(ctrlN) },
		"on the window":       func() { h.win.Canvas().(fyne.Shortcutable).TypedShortcut(ctrlN) },
		"the Add button":      func() { test.Tap(h.add.button) },
	} {
		press()
		m := popUpMenu(h.win.Canvas())
		if m == nil {
			t.Fatalf("Ctrl+N %s shows %T, want the add menu", name, h.win.Canvas().Overlays().Top())
		}
		if len(m.Items) != len(want) {
			t.Errorf("Ctrl+N %s: menu of %d items, want %d", name, len(m.Items), len(want))
		}
		m.Hide()
	}
}

func TestEmptyVaultOffersAdd(t *testing.T) {
	h := newAddHarness(t, nil)
	if !h.auth.emptyAdd.Visible() {
		t.Fatal("the empty vault does not offer the ways to add accounts")
	}
	var buttons []*widget.Button
	for _, o := range laidOut(h.auth.emptyAdd) {
		if b, ok := o.(*widget.Button); ok {
			buttons = append(buttons, b)
		}
	}
	if len(buttons) != len(h.add.actions()) {
		t.Fatalf("empty vault offers %d buttons, want %d", len(buttons), len(h.add.actions()))
	}
	for _, b := range buttons {
		if b.Text == "Enter secret by hand…" {
			test.Tap(b)
		}
	}
	if h.add.form == nil {
		t.Error("Enter secret by hand… did not open the form")
	}

	test.Type(h.auth.search, "zzz")
	h.store.accounts = fixture()
	h.auth.load()
	if h.auth.emptyAdd.Visible() {
		t.Error("the add buttons show beside “No accounts match”")
	}
}

func TestAddFromImageFile(t *testing.T) {
	h := newAddHarness(t, fixture())
	h.add.chooseImage()
	if _, ok := h.add.dialog.(*dialog.FileDialog); !ok {
		t.Fatalf("Open QR code image… shows %T, want a file dialog", h.add.dialog)
	}
	h.add.dialog.Hide()

	h.add.onImageChosen(reader(t, qrFile(t, "github.png", githubURI)), nil)
	h.wait()
	for _, want := range []string{"GitHub", "octocat", "TOTP, 6 digits, 30 s"} {
		if !strings.Contains(h.shown(), want+"\n") {
			t.Errorf("the confirmation does not show %q:\n%s", want, h.shown())
		}
	}
	test.AssertObjectRendersToMarkup(t, "add/confirm.xml", h.win.Canvas().Overlays().Top())
	n := len(h.store.accounts)
	h.tapAdd(t)
	if len(h.store.accounts) != n+1 || h.store.accounts[n].Issuer != "GitHub" || h.store.accounts[n].Name != "octocat" {
		t.Fatalf("store holds %d accounts after adding, want %d ending with GitHub alice", len(h.store.accounts), n+1)
	}
	if got, want := h.main.toast.visibleText(), "Added GitHub (octocat)"; got != want {
		t.Errorf("toast %q, want %q", got, want)
	}
	if len(h.auth.all) != n+1 {
		t.Errorf("the list shows %d accounts, want %d", len(h.auth.all), n+1)
	}

	h.add.onImageChosen(nil, nil) // cancelled: nothing happens
	h.wait()
}

func TestAddDropChecklistWithDuplicate(t *testing.T) {
	batch := migrationAccounts(t)
	if len(batch) != 3 {
		t.Fatalf("migration.png holds %d accounts, want 3", len(batch))
	}
	have := batch[1]
	have.ID = "dup000000001"
	h := newAddHarness(t, []vault.Account{have})

	abs, _ := filepath.Abs("../../testdata/qr/migration.png")
	notes, _ := filepath.Abs("../../README.md")
	h.sw.dropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(abs), storage.NewFileURI(notes)})
	h.wait()

	r := h.add.review
	if r == nil || len(r.checks) != 3 {
		t.Fatalf("dropping a migration QR code shows no checklist of 3; the window shows:\n%s", h.shown())
	}
	for i, c := range r.checks {
		wantChecked := i != 1
		if c.Checked != wantChecked || c.Disabled() == wantChecked {
			t.Errorf("%s: checked %v, disabled %v; want checked %v", c.Text, c.Checked, c.Disabled(), wantChecked)
		}
	}
	if !strings.Contains(h.shown(), "already added\n") {
		t.Errorf("the duplicate is not marked “already added”:\n%s", h.shown())
	}
	if r.add.Text != "Add 2 accounts" {
		t.Errorf("Add button %q, want “Add 2 accounts”", r.add.Text)
	}
	test.AssertObjectRendersToMarkup(t, "add/checklist.xml", h.win.Canvas().Overlays().Top())

	test.Tap(r.checks[0])
	if r.add.Text != "Add 1 account" {
		t.Errorf("after unchecking one: Add button %q", r.add.Text)
	}
	test.Tap(r.checks[2])
	if !r.add.Disabled() {
		t.Error("Add is enabled with nothing checked")
	}
	test.Tap(r.checks[0])
	test.Tap(r.checks[2])
	h.tapAdd(t)
	var labels []string
	for _, a := range h.store.accounts[1:] {
		labels = append(labels, a.Label())
	}
	if want := []string{batch[0].Label(), batch[2].Label()}; !slices.Equal(labels, want) {
		t.Errorf("added %q, want %q", labels, want)
	}
	if got := h.main.toast.visibleText(); got != "Added 2 accounts" {
		t.Errorf("toast %q, want “Added 2 accounts”", got)
	}
}

func TestAddSingleDuplicate(t *testing.T) {
	k, err := otp.ParseURI(githubURI)
	if err != nil {
		t.Fatal(err)
	}
	h := newAddHarness(t, []vault.Account{{ID: "gh0000000009", Key: k}})
	h.add.onImageChosen(reader(t, qrFile(t, "github.png", githubURI)), nil)
	h.wait()
	if h.add.review != nil || !strings.Contains(h.shown(), "GitHub (octocat) is already in your accounts.") {
		t.Errorf("adding an account already there:\n%s", h.shown())
	}
	if len(h.store.accounts) != 1 {
		t.Errorf("store holds %d accounts, want 1", len(h.store.accounts))
	}
}

func TestAddFromScreen(t *testing.T) {
	h := newAddHarness(t, fixture())
	h.desk.screens = []capture.Screen{screenWith(t, githubURI)}
	h.add.scanScreen()
	h.wait()
	if h.desk.captured != 1 || !h.desk.hiddenThen {
		t.Errorf("captured %d times, window hidden then: %v; want once, hidden", h.desk.captured, h.desk.hiddenThen)
	}
	if h.sw.hidden.Load() {
		t.Error("the window stays hidden after the capture")
	}
	n := len(h.store.accounts)
	h.tapAdd(t)
	if len(h.store.accounts) != n+1 || h.store.accounts[n].Name != "octocat" {
		t.Errorf("the code on the screen was not added")
	}
}

func TestAddFromScreenProblems(t *testing.T) {
	h := newAddHarness(t, fixture())
	h.desk.captureErr = errors.New("cannot capture the screen: no graphical session (neither WAYLAND_DISPLAY nor DISPLAY is set)")
	h.add.scanScreen()
	h.wait()
	if got := h.shown(); !strings.Contains(got, "The screen could not be captured") ||
		!strings.Contains(got, "no graphical session (neither WAYLAND_DISPLAY nor DISPLAY is set)") {
		t.Errorf("capture failure shows:\n%s", got)
	}
	if h.sw.hidden.Load() {
		t.Error("the window stays hidden after a failed capture")
	}
	h.add.dialog.Hide()

	blank := screenWith(t, githubURI)
	blank.Image = blankImage()
	h.desk.captureErr, h.desk.screens = nil, []capture.Screen{blank}
	h.add.scanScreen()
	h.wait()
	if got := h.shown(); !strings.Contains(got, "No QR code was found on the screen, looked at as it is, at several contrasts") ||
		!strings.Contains(got, "not covered by another window") {
		t.Errorf("an empty screen shows:\n%s", got)
	}
}

func TestAddFromClipboard(t *testing.T) {
	for _, tc := range []struct {
		name      string
		clip      capture.Clip
		err       error
		wantAdded string // the label added, or ""
		wantShown []string
	}{
		{name: "otpauth text", clip: capture.Clip{Text: " " + githubURI + "\n"}, wantAdded: "GitHub (octocat)"},
		{name: "image", clip: capture.Clip{PNG: qrPNG(t, githubURI)}, wantAdded: "GitHub (octocat)"},
		{name: "other text and image", clip: capture.Clip{Text: "hello", PNG: qrPNG(t, githubURI)}, wantAdded: "GitHub (octocat)"},
		{name: "other text", clip: capture.Clip{Text: "my shopping list"},
			wantShown: []string{"No authenticator code in the clipboard", "not an otpauth:// link", "Copy the QR code's image"}},
		{name: "empty", err: capture.ErrClipboardEmpty, wantShown: []string{"The clipboard is empty"}},
		{name: "no session", err: errors.New("cannot read the clipboard: no graphical session (DISPLAY is unset)"),
			wantShown: []string{"The clipboard could not be read", "no graphical session (DISPLAY is unset)"}},
		{name: "image without code", clip: capture.Clip{PNG: readFile(t, noCodeFile(t, "no-code-screenshot.png"))},
			wantShown: []string{"No QR code found", "No QR code was found in the clipboard image, looked at as it is, "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newAddHarness(t, nil)
			h.desk.clip, h.desk.clipErr = tc.clip, tc.err
			h.add.pasteClipboard()
			h.wait()
			if tc.wantAdded != "" {
				h.tapAdd(t)
				if len(h.store.accounts) != 1 || h.store.accounts[0].Label() != tc.wantAdded {
					t.Errorf("added %v, want %s", h.store.accounts, tc.wantAdded)
				}
				return
			}
			for _, want := range tc.wantShown {
				if !strings.Contains(h.shown(), want) {
					t.Errorf("shows no %q:\n%s", want, h.shown())
				}
			}
			if len(h.store.accounts) != 0 {
				t.Errorf("added %d accounts", len(h.store.accounts))
			}
		})
	}
}

func TestAddImageProblems(t *testing.T) {
	notImage := filepath.Join(t.TempDir(), "notes.png")
	if err := os.WriteFile(notImage, []byte("not an image at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	badSecret := qrFile(t, "bad.png", "otpauth://totp/Site:bob?secret=NOT-BASE32-!!&issuer=Site")
	for _, tc := range []struct {
		file string
		want []string
	}{
		{noCodeFile(t, "no-code-photo.png"), []string{"No QR code found",
			"No QR code was found in no-code-photo.png, looked at as it is, ", "Zoom in", "crop the image", "Paste from clipboard"}},
		{"../../testdata/qr/other-url.png", []string{"Not an authenticator QR code",
			"“https://www.example.com/docs/getting-started?utm_source=qr”", "otpauth://"}},
		{notImage, []string{"The image could not be read", "notes.png: unsupported image format", "PNG, JPEG"}},
		{badSecret, []string{"This QR code cannot be added", "not valid", "Nothing was added"}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			h := newAddHarness(t, nil)
			h.add.onImageChosen(reader(t, tc.file), nil)
			h.wait()
			for _, want := range tc.want {
				if !strings.Contains(h.shown(), want) {
					t.Errorf("shows no %q:\n%s", want, h.shown())
				}
			}
			if h.add.review != nil || len(h.store.accounts) != 0 {
				t.Error("a failure offered or added accounts")
			}
		})
	}
}

func TestAddNoQRDialog(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.onImageChosen(reader(t, noCodeFile(t, "no-code-screenshot.png")), nil)
	h.wait()
	test.AssertObjectRendersToMarkup(t, "add/no-qr.xml", h.win.Canvas().Overlays().Top())
}

func TestAddByHandForm(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.enterByHand()
	f := h.add.form
	test.Type(f.issuer, "Example")
	test.Type(f.name, "alice")
	test.Type(f.secret, "secret1")
	if err := f.secret.Validate(); err == nil || err.Error() != "secret is not valid base32: unexpected '1' at character 7" {
		t.Errorf("bad secret: %v", err)
	}
	if f.preview.Text != "" || !f.next.Disabled() {
		t.Errorf("with a bad secret: preview %q, Next enabled %v", f.preview.Text, !f.next.Disabled())
	}
	f.secret.SetText("")
	test.Type(f.secret, "gezd gnbv gy3t qojq gezd gnbv gy3t qojq") // rfcSecret, lower case with spaces
	if err := f.secret.Validate(); err != nil {
		t.Fatalf("good secret refused: %v", err)
	}

	code := func(k otp.Key) string {
		c, err := otp.Code(k, start)
		if err != nil {
			t.Fatal(err)
		}
		return groupCode(c)
	}
	base := otp.Key{Type: otp.TOTP, Issuer: "Example", Name: "alice", Secret: rfcSecret}
	if want := code(base); f.preview.Text != want || want != "050 471" {
		t.Errorf("6-digit preview %q, want %q", f.preview.Text, want)
	}
	test.AssertObjectRendersToMarkup(t, "add/form.xml", h.win.Canvas().Overlays().Top())

	f.digits.SetSelected("8")
	if f.preview.Text != "14 050 471" {
		t.Errorf("8-digit preview %q, want 14 050 471 (RFC 6238)", f.preview.Text)
	}
	f.algorithm.SetSelected("SHA256")
	sha256 := base
	sha256.Digits, sha256.Algorithm = 8, otp.SHA256
	if want := code(sha256); f.preview.Text != want {
		t.Errorf("SHA256 preview %q, want %q", f.preview.Text, want)
	}
	f.algorithm.SetSelected("SHA1")

	f.step.SetText("0")
	if err := f.step.Validate(); !errors.Is(err, otp.ErrBadPeriod) || f.preview.Text != "" || !f.next.Disabled() {
		t.Errorf("period 0: %v, preview %q", err, f.preview.Text)
	}
	f.step.SetText("60")
	sixty := base
	sixty.Digits, sixty.Period = 8, 60
	if want := code(sixty); f.preview.Text != want {
		t.Errorf("60 s preview %q, want %q", f.preview.Text, want)
	}

	h.clock.Advance(60 * time.Second) // the preview follows the clock
	if c, _ := otp.Code(sixty, h.clock.Now()); f.preview.Text != groupCode(c) || f.preview.Text == code(sixty) {
		t.Errorf("preview %q a step later, want %q", f.preview.Text, groupCode(c))
	}

	f.kind.SetSelected(typeSteam)
	if !f.digits.Disabled() || len(f.preview.Text) != 5 {
		t.Errorf("Steam: digits enabled %v, preview %q; want five characters", !f.digits.Disabled(), f.preview.Text)
	}
	f.kind.SetSelected(typeHOTP)
	if f.stepItem.Text != "Counter" || f.previewItem.Text != "Next code" || f.step.Text != "0" || f.preview.Text != "84 755 224" {
		t.Errorf("HOTP: field %q = %q, preview %q; want Counter 0 and 84 755 224 (RFC 4226, 8 digits)",
			f.stepItem.Text, f.step.Text, f.preview.Text)
	}
	f.kind.SetSelected(typeTOTP)
	if f.stepItem.Text != "Period" || f.step.Text != "60" {
		t.Errorf("back to TOTP: field %q = %q, want Period 60", f.stepItem.Text, f.step.Text)
	}

	test.Tap(f.next)
	if h.add.form != nil || h.add.review == nil {
		t.Fatal("Next did not go on to the confirmation")
	}
	if !strings.Contains(h.shown(), "TOTP, 8 digits, 60 s\n") {
		t.Errorf("the confirmation shows:\n%s", h.shown())
	}
	h.tapAdd(t)
	if len(h.store.accounts) != 1 {
		t.Fatalf("store holds %d accounts, want 1", len(h.store.accounts))
	}
	got := h.store.accounts[0].Key
	if got.Issuer != "Example" || got.Name != "alice" || string(got.Secret) != string(rfcSecret) ||
		got.Digits != 8 || got.Period != 60 || got.Algorithm != otp.SHA1 || got.Type != otp.TOTP {
		t.Errorf("added %+v", got)
	}
	if got := h.main.toast.visibleText(); got != "Added Example (alice)" {
		t.Errorf("toast %q", got)
	}
}

func TestAddByHandSteam(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.enterByHand()
	f := h.add.form
	test.Type(f.name, "dave")
	test.Type(f.secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	f.kind.SetSelected(typeSteam)
	test.Tap(f.next)
	h.tapAdd(t)
	if len(h.store.accounts) != 1 || h.store.accounts[0].Encoder != otp.EncoderSteam || h.store.accounts[0].Digits != 5 {
		t.Errorf("added %+v, want a Steam key", h.store.accounts)
	}
}

func TestImportEncryptedAegis(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.chooseImport()
	if _, ok := h.add.dialog.(*dialog.FileDialog); !ok {
		t.Fatalf("Import from another app… shows %T, want a file dialog", h.add.dialog)
	}
	h.add.dialog.Hide()

	h.add.onImportChosen(reader(t, "../../testdata/transfer/aegis-encrypted.json"), nil)
	h.wait()
	passphrase := func(text string) {
		t.Helper()
		d, ok := h.add.dialog.(*dialog.ConfirmDialog)
		if !ok {
			t.Fatalf("shows %T, want the passphrase prompt; the window shows:\n%s", h.add.dialog, h.shown())
		}
		if !strings.Contains(h.shown(), "aegis-encrypted.json is encrypted.") {
			t.Errorf("the prompt does not say the file is encrypted:\n%s", h.shown())
		}
		focused, ok := h.win.Canvas().Focused().(*dialogEntry)
		if !ok || !focused.Password {
			t.Fatalf("focus on %T, want the password entry", h.win.Canvas().Focused())
		}
		test.Type(focused, text)
		d.Confirm()
		h.wait()
	}
	passphrase("wrong")
	if !strings.Contains(h.shown(), "That passphrase does not open aegis-encrypted.json.") {
		t.Errorf("a wrong passphrase is not reported:\n%s", h.shown())
	}
	passphrase("test")
	r := h.add.review
	if r == nil || len(r.checks) < 2 {
		t.Fatalf("no checklist after the right passphrase:\n%s", h.shown())
	}
	n := len(r.checks)
	h.tapAdd(t)
	if len(h.store.accounts) != n {
		t.Errorf("store holds %d accounts, want %d", len(h.store.accounts), n)
	}
}

// The window opens the other apps' files too: an encrypted andOTP backup
// asks for its passphrase, and Google Authenticator's database (binary)
// goes straight to the review.
func TestImportAppFiles(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.onImportChosen(reader(t, "../../testdata/transfer/andotp/andotp-encrypted.json.aes"), nil)
	h.wait()
	d, ok := h.add.dialog.(*dialog.ConfirmDialog)
	if !ok || !strings.Contains(h.shown(), "andotp-encrypted.json.aes is encrypted.") {
		t.Fatalf("an encrypted andOTP backup shows %T:\n%s", h.add.dialog, h.shown())
	}
	focused, ok := h.win.Canvas().Focused().(*dialogEntry)
	if !ok {
		t.Fatalf("focus on %T, want the password entry", h.win.Canvas().Focused())
	}
	test.Type(focused, "andOTP s\u00e4mple p\u00e4ssword")
	d.Confirm()
	h.wait()
	if r := h.add.review; r == nil || len(r.checks) != 4 {
		t.Fatalf("the right passphrase shows:\n%s", h.shown())
	}
	h.add.review.cancel.OnTapped()

	h.add.onImportChosen(reader(t, "../../testdata/transfer/google-authenticator/databases"), nil)
	h.wait()
	if r := h.add.review; r == nil || len(r.checks) != 3 {
		t.Fatalf("Google Authenticator's database shows:\n%s", h.shown())
	}
	h.tapAdd(t)
	if len(h.store.accounts) != 3 {
		t.Errorf("store holds %d accounts, want 3", len(h.store.accounts))
	}
}

func TestImportProblems(t *testing.T) {
	h := newAddHarness(t, nil)
	h.add.onImportChosen(reader(t, "../../testdata/transfer/aegis-bad-entry.json"), nil)
	h.wait()
	d, ok := h.add.dialog.(*dialog.ConfirmDialog)
	if !ok || !strings.Contains(h.shown(), "aegis-bad-entry.json: entry ") {
		t.Fatalf("a bad entry shows %T:\n%s", h.add.dialog, h.shown())
	}
	d.Confirm() // Import the others
	h.wait()
	if h.add.review == nil || !strings.Contains(h.shown(), "Skipped entry ") {
		t.Fatalf("importing the others shows:\n%s", h.shown())
	}
	h.add.review.cancel.OnTapped()
	if len(h.store.accounts) != 0 {
		t.Error("Cancel added accounts")
	}

	h.add.onImportChosen(reader(t, "../../README.md"), nil)
	h.wait()
	if !strings.Contains(h.shown(), "This file cannot be imported") || !strings.Contains(h.shown(), "Aegis, 2FAS") {
		t.Errorf("an unknown file shows:\n%s", h.shown())
	}
}

// failingStore refuses to add.
type failingStore struct{ fakeStore }

func (f *failingStore) Add(...vault.Account) ([]vault.Account, []vault.Account, error) {
	return nil, nil, errors.New("write vault: disk full")
}

func TestAddStoreFailure(t *testing.T) {
	h := newAddHarness(t, nil)
	fs := &failingStore{}
	h.main.deps.Vault = fs
	h.add.showReview(migrationAccounts(t), nil)
	h.tapAdd(t)
	if got := h.shown(); !strings.Contains(got, "The accounts could not be added") || !strings.Contains(got, "disk full") ||
		!strings.Contains(got, "Nothing was added") {
		t.Errorf("a failed add shows:\n%s", got)
	}
}

func TestAddWhileLocked(t *testing.T) {
	h := newAddHarness(t, nil)
	h.main.lock.locked = true
	h.win.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault})
	abs, _ := filepath.Abs("../../testdata/qr/migration.png")
	h.sw.dropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(abs)})
	h.wait()
	if top := h.win.Canvas().Overlays().Top(); top != nil || h.add.review != nil {
		t.Errorf("Ctrl+N or a drop on the locked window shows %T", top)
	}

	h.main.lock.locked = false
	h.desk.clip, h.desk.clipped = capture.Clip{Text: githubURI}, make(chan struct{})
	h.add.pasteClipboard()
	h.main.lock.locked = true // locks while the clipboard is read
	close(h.desk.clipped)
	h.wait()
	if h.add.review != nil {
		t.Error("the review shows over the lock")
	}
}

// TestChecklistNotesShowBesideLongNames: a long name is cut short, and the
// note beside each account (its type, "already added") stays whole inside
// the dialog.
func TestChecklistNotesShowBesideLongNames(t *testing.T) {
	long := strings.Repeat("a-very-long-account-name-", 8) + "@example.com"
	account := func(id, issuer, name string) vault.Account {
		return vault.Account{ID: id, Key: otp.Key{Type: otp.TOTP, Issuer: issuer, Name: name, Secret: rfcSecret,
			Digits: 6, Period: 30, Algorithm: otp.SHA1}}
	}
	have := account("dup000000001", "Example", long)
	h := newAddHarness(t, []vault.Account{have})
	h.win.Resize(defaultWindowSize)
	h.add.showReview([]vault.Account{have, account("", "Other", long), account("", "Short", "bob")}, nil)
	if h.add.review == nil {
		t.Fatalf("no checklist; the window shows:\n%s", h.shown())
	}
	width := h.win.Canvas().Size().Width
	notes := map[string]bool{}
	for _, o := range laidOut(h.win.Canvas().Overlays().Top()) {
		l, ok := o.(*widget.Label)
		if !ok || (l.Text != "already added" && l.Text != "TOTP, 6 digits, 30 s") {
			continue
		}
		notes[l.Text] = true
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(l)
		if !l.Visible() || l.Size().Width < l.MinSize().Width || pos.X < 0 || pos.X+l.Size().Width > width {
			t.Errorf("the note %q is cut off or outside the window: at x %v, %v wide of %v needed, window %v wide",
				l.Text, pos.X, l.Size().Width, l.MinSize().Width, width)
		}
	}
	if !notes["already added"] || !notes["TOTP, 6 digits, 30 s"] {
		t.Errorf("the checklist shows the notes %v; want “already added” and the type", notes)
	}
	if got := h.add.review.dialog.MinSize().Width; got > width {
		t.Errorf("the checklist needs %v of the window's %v width", got, width)
	}
	// A click on a name flips its check, unless the account cannot be chosen.
	for _, o := range laidOut(h.win.Canvas().Overlays().Top()) {
		if n, ok := o.(*checkName); ok {
			was := n.check.Checked
			test.Tap(n)
			if want := was != !n.check.Disabled(); n.check.Checked != want {
				t.Errorf("after a click on %q its check is %v, want %v", n.Text, n.check.Checked, want)
			}
		}
	}
	if got := h.add.review.add.Text; got != "Check an account to add" || !h.add.review.add.Disabled() {
		t.Errorf("after unchecking both by their names, the button says %q", got)
	}
}

// TestProblemsSpeakPlainly: what the QR decoder tried is said in plain
// words, not its own names, and no message ends in two full stops.
func TestProblemsSpeakPlainly(t *testing.T) {
	tried := []string{"downscaled ×1/2", "hybrid binarizer", "inverted", "histogram binarizer", "local contrast",
		"denoised", "upscaled ×2", "regions", "upscaled ×3", "tiles"}
	want := "made smaller, at several contrasts, with light and dark swapped, smoothed, enlarged and a part at a time"
	if got := triedWords(tried); got != want {
		t.Errorf("triedWords = %q, want %q", got, want)
	}
	h := newAddHarness(t, nil)
	h.add.showDecodeFailure([]decodeFailure{{source: "code.png", err: &qr.NotFoundError{Tried: tried}}}, "Try again.")
	shown := h.shown()
	for _, internal := range []string{"binarizer", "histogram", "denoised", "upscaled", "tried:"} {
		if strings.Contains(shown, internal) {
			t.Errorf("the dialog says %q:\n%s", internal, shown)
		}
	}
	h.add.dialog.Hide()
	h.add.showDecodeFailure([]decodeFailure{{source: "code.png", err: errors.New("the file is damaged.")}}, "Try another.")
	if shown := h.shown(); strings.Contains(shown, "..") || !strings.Contains(shown, "code.png: the file is damaged.\n") {
		t.Errorf("an error that ends in a full stop is shown as:\n%s", shown)
	}
	saved := failureText("The account could not be saved", fmt.Errorf("write vault: %w", fs.ErrPermission),
		storeAdvice(fs.ErrPermission))
	if want := "The account could not be saved. Write vault: permission denied. Check that you may write"; !strings.HasPrefix(saved, want) ||
		!strings.HasSuffix(saved, "then try again.") {
		t.Errorf("failureText = %q, want it to start %q and end with what to do", saved, want)
	}
	for in, want := range map[string]string{"done": "done.", "done.": "done.", "why?": "why?", "wait…": "wait…", "": ""} {
		if got := stop(in); got != want {
			t.Errorf("stop(%q) = %q, want %q", in, got, want)
		}
	}
}
