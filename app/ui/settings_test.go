package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"

	"github.com/countersign/countersign/internal/applock"
	"github.com/countersign/countersign/internal/vault"
)

// showSettings chooses the Settings screen in the navigation.
func (h *harness) showSettings() *settings {
	h.main.nav.SelectIndex(1)
	return h.main.settings
}

// storedVerifier is the passphrase verifier in the preferences.
func (h *harness) storedVerifier(t *testing.T) applock.Verifier {
	t.Helper()
	s := h.app.Preferences().String(prefLockVerifier)
	if s == "" {
		return applock.Verifier{}
	}
	v, err := applock.Parse(s)
	if err != nil {
		t.Fatalf("stored verifier %q: %v", s, err)
	}
	return v
}

// submitPassphrase fills the open passphrase dialog and submits it.
func (s *settings) submitPassphrase(t *testing.T, current, next, repeat string) {
	t.Helper()
	f := s.form
	if f == nil {
		t.Fatal("no passphrase dialog is open")
	}
	if f.current != nil {
		test.Type(f.current, current)
	}
	if f.next != nil {
		test.Type(f.next, next)
		test.Type(f.repeat, repeat)
	}
	s.dialog.(*dialog.FormDialog).Submit()
}

func TestSettingsScreen(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "")
	s := h.showSettings()
	test.AssertRendersToMarkup(t, "settings/no-passphrase.xml", h.win.Canvas())
	if !s.setPass.Visible() || s.changePass.Visible() || s.removePass.Visible() {
		t.Error("without a passphrase: want Set, not Change or Remove")
	}
	if !s.lockNow.Disabled() || !s.autoLock.Disabled() {
		t.Error("without a passphrase Lock now and auto-lock are enabled")
	}
	if !s.startHidden.Disabled() || !s.trayHint.Visible() {
		t.Error("without a tray, Start hidden in the tray is offered")
	}
}

func TestSetPassphraseNeedsItTwice(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "")
	s := h.showSettings()

	test.Tap(s.setPass)
	s.submitPassphrase(t, "", "open sesame", "open sesam")
	if !h.storedVerifier(t).IsZero() {
		t.Fatal("a passphrase was set although the two differ")
	}
	if s.form == nil {
		t.Fatal("the dialog closed although the two passphrases differ")
	}
	s.dialog.Hide()

	// The first one changed after the second was typed.
	test.Tap(s.setPass)
	test.Type(s.form.next, "open sesame")
	test.Type(s.form.repeat, "open sesame")
	test.Type(s.form.next, "!")
	s.dialog.(*dialog.FormDialog).Submit()
	if !h.storedVerifier(t).IsZero() {
		t.Fatal("a passphrase was set although the first was changed after the second was typed")
	}
	s.dialog.Hide()

	test.Tap(s.setPass)
	test.AssertRendersToMarkup(t, "settings/set-passphrase.xml", h.win.Canvas())
	s.submitPassphrase(t, "", "open sesame", "open sesame")
	v := h.storedVerifier(t)
	if !v.Check("open sesame") || v.Params() != cheapParams {
		t.Fatalf("stored verifier %v does not check the new passphrase", v)
	}
	if raw := h.app.Preferences().String(prefLockVerifier); strings.Contains(raw, "sesame") {
		t.Errorf("the preferences hold the passphrase: %q", raw)
	}
	if got := h.main.toast.visibleText(); got != "Passphrase set" {
		t.Errorf("toast %q, want Passphrase set", got)
	}
	if s.setPass.Visible() || !s.changePass.Visible() || s.lockNow.Disabled() || s.autoLock.Disabled() {
		t.Error("with a passphrase: want Change, Remove, Lock now and auto-lock")
	}
	test.Tap(s.lockNow)
	if !h.main.lock.locked {
		t.Error("Lock now did not lock")
	}
}

func TestChangeAndRemoveNeedTheCurrentPassphrase(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "old one")
	h.unlockWith("old one")
	s := h.showSettings()

	test.Tap(s.changePass)
	s.submitPassphrase(t, "not it", "a new one", "a new one")
	if v := h.storedVerifier(t); !v.Check("old one") {
		t.Fatal("the passphrase changed without the current one")
	}
	if !strings.Contains(visibleText(h.win.Canvas()), "The passphrase was not changed. Wrong passphrase.") {
		t.Errorf("a wrong current passphrase is not reported:\n%s", visibleText(h.win.Canvas()))
	}
	s.dialog.Hide()

	test.Tap(s.changePass)
	s.submitPassphrase(t, "old one", "a new one", "a new one")
	if v := h.storedVerifier(t); !v.Check("a new one") || v.Check("old one") {
		t.Fatal("the passphrase did not change")
	}

	test.Tap(s.removePass)
	if s.form.next != nil {
		t.Error("removing asks for a new passphrase")
	}
	s.submitPassphrase(t, "old one", "", "")
	if h.storedVerifier(t).IsZero() {
		t.Fatal("removed with the old passphrase")
	}
	s.dialog.Hide()
	test.Tap(s.removePass)
	s.submitPassphrase(t, "a new one", "", "")
	if !h.storedVerifier(t).IsZero() {
		t.Fatal("the passphrase was not removed")
	}
	if !s.setPass.Visible() {
		t.Error("after removing, Set passphrase is not offered")
	}
}

func TestAutoLockChoice(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "pass")
	h.unlockWith("pass")
	s := h.showSettings()
	if s.autoLock.Selected != "Never" {
		t.Errorf("auto-lock shows %q at first, want Never", s.autoLock.Selected)
	}
	s.autoLock.SetSelected("After 15 minutes")
	if got := h.app.Preferences().Int(prefLockMinutes); got != 15 {
		t.Errorf("stored %d minutes, want 15", got)
	}
	if got := h.main.lock.idle.Timeout().Minutes(); got != 15 {
		t.Errorf("idle timeout %v min, want 15", got)
	}
}

func TestStartOnLogin(t *testing.T) {
	config := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": config, "HOME": "/nonexistent"}
	h, _ := newSessionHarness(t, fixture(), Session{
		Getenv:     func(k string) string { return env[k] },
		Executable: "/opt/Counter Sign/countersign",
	}, "")
	s := h.showSettings()
	if s.startOnLogin.Checked {
		t.Fatal("Start when I log in is checked with no autostart entry")
	}
	path := filepath.Join(config, "autostart", "io.github.countersign.Countersign.desktop")

	test.Tap(s.startOnLogin)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no autostart entry: %v", err)
	}
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", "Name=Countersign\n",
		`Exec="/opt/Counter Sign/countersign"` + "\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("autostart entry lacks %q:\n%s", want, data)
		}
	}
	// Hidden or not is the Start hidden setting's to say, at login too.
	if strings.Contains(string(data), "--hidden") {
		t.Errorf("the autostart entry starts hidden whatever Start hidden says:\n%s", data)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("autostart entry mode %o, want 644", fi.Mode().Perm())
	}

	h.showSettings() // shown again: reads the file
	h.main.nav.SelectIndex(0)
	s = h.showSettings()
	if !s.startOnLogin.Checked {
		t.Error("the screen does not see the autostart entry")
	}
	test.Tap(s.startOnLogin)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the autostart entry is still there: %v", err)
	}

	// An autostart folder that cannot be made is reported, and the box unchecked.
	env["XDG_CONFIG_HOME"] = filepath.Join(config, "file")
	os.WriteFile(env["XDG_CONFIG_HOME"], nil, 0o600)
	test.Tap(s.startOnLogin)
	if s.startOnLogin.Checked || !s.problem.Visible() || !strings.Contains(s.problem.Text, "autostart folder") {
		t.Errorf("a failed write: checked %v, problem %q", s.startOnLogin.Checked, s.problem.Text)
	}
}

func TestStartHidden(t *testing.T) {
	tray := &fakeTray{}
	h, _ := newSessionHarness(t, fixture(), Session{Tray: tray}, "")
	s := h.showSettings()
	if s.startHidden.Disabled() || s.trayHint.Visible() {
		t.Fatal("with a tray, Start hidden in the tray is not offered")
	}
	test.Tap(s.startHidden)
	if !StartsHidden(h.app) {
		t.Error("StartsHidden is false after checking Start hidden in the tray")
	}
}

// TestPassphraseHasAMinimumLength: a new passphrase shorter than
// minPassphrase is refused, saying how long it must be.
func TestPassphraseHasAMinimumLength(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "")
	s := h.showSettings()
	test.Tap(s.setPass)
	if !slices.ContainsFunc(laidOut(h.win.Canvas().Overlays().Top()), func(o fyne.CanvasObject) bool {
		text, ok := o.(*canvas.Text)
		return ok && text.Text == "At least 8 characters"
	}) {
		t.Error("the dialog does not say the minimum length")
	}
	s.submitPassphrase(t, "", "sesame7", "sesame7")
	if !h.storedVerifier(t).IsZero() {
		t.Fatal("a 7-character passphrase was set")
	}
	if err := s.form.next.Validate(); err == nil || err.Error() != "use at least 8 characters (this one has 7)" {
		t.Errorf("the field says %v", err)
	}
	if err := h.main.lock.setPassphrase("sesame7"); err == nil {
		t.Error("the lock takes a 7-character passphrase")
	}
	s.dialog.Hide()
	test.Tap(s.setPass)
	s.submitPassphrase(t, "", "sesame78", "sesame78")
	if !h.storedVerifier(t).Check("sesame78") {
		t.Error("an 8-character passphrase was not set")
	}
}

// TestDisabledControlsSayWhy: a control that cannot be used says why
// beside it: Lock now and the automatic lock without a passphrase, Add in
// a checklist with nothing checked, Next in the form while the secret is
// missing, Digits for Steam.
func TestDisabledControlsSayWhy(t *testing.T) {
	h, _ := newSessionHarness(t, fixture(), Session{}, "")
	s := h.showSettings()
	if !s.lockNow.Disabled() || !s.autoLock.Disabled() {
		t.Fatal("without a passphrase Lock now and the automatic lock are enabled")
	}
	if !s.needsPass.Visible() || !strings.Contains(s.needsPass.Text, "need an app passphrase") {
		t.Errorf("nothing says why Lock now is disabled (%q, shown %v)", s.needsPass.Text, s.needsPass.Visible())
	}

	a := newAddHarness(t, nil)
	a.add.showReview([]vault.Account{fixture()[0], fixture()[3]}, nil)
	for _, c := range a.add.review.checks {
		test.Tap(c)
	}
	if r := a.add.review; !r.add.Disabled() || r.add.Text != "Check an account to add" {
		t.Errorf("with nothing checked Add says %q (disabled %v)", r.add.Text, r.add.Disabled())
	}
	a.add.review.dialog.Hide()

	a.add.enterByHand()
	f := a.add.form
	if !f.next.Disabled() || f.previewItem.HintText == "" {
		t.Errorf("with no secret Next is disabled %v, and the code's hint says %q", f.next.Disabled(), f.previewItem.HintText)
	}
	f.kind.SetSelected(typeSteam)
	if !f.digits.Disabled() || f.digitsItem.HintText == "" {
		t.Errorf("for Steam Digits is disabled %v, its hint %q", f.digits.Disabled(), f.digitsItem.HintText)
	}
}
