package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/countersign/countersign/internal/backup"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/portal"
	"github.com/countersign/countersign/internal/recovery"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// fakeFiles is the desktop's file dialog answering with the paths set.
type fakeFiles struct {
	mu         sync.Mutex
	open, save string // "" cancels
}

func (f *fakeFiles) answer(path string) (string, error) {
	if path == "" {
		return "", portal.ErrCancelled
	}
	return path, nil
}

func (f *fakeFiles) OpenFile(context.Context, string, []portal.Filter) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answer(f.open)
}

func (f *fakeFiles) SaveFile(context.Context, string, string, []portal.Filter) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answer(f.save)
}

// recordingKeys is a test keyring that remembers the names it stored, to
// empty the keyring as a new machine's is.
type recordingKeys struct {
	testkit.Secrets
	mu    sync.Mutex
	names []string
}

func (k *recordingKeys) Set(name, secret string) error {
	k.mu.Lock()
	k.names = append(k.names, name)
	k.mu.Unlock()
	return k.Secrets.Set(name, secret)
}

// forget empties the keyring of what it stored.
func (k *recordingKeys) forget(t *testing.T) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.names {
		if err := k.Delete(n); err != nil {
			t.Fatal(err)
		}
	}
}

// slotHarness is the window over a real vault in a temporary folder.
type slotHarness struct {
	*harness
	dir   string
	keys  *recordingKeys
	v     *vault.Vault
	files *fakeFiles
}

// openVault opens (or makes) the vault in dir with accounts.
func openVault(t *testing.T, dir string, keys vault.KeyStore, now func() time.Time, accounts []vault.Account) *vault.Vault {
	t.Helper()
	v, err := vault.Open(dir, vault.Options{Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) > 0 {
		if _, _, err := v.Add(accounts...); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// newSlotHarness opens the window on a vault holding accounts; setup runs
// on the vault's folder before the window opens.
func newSlotHarness(t *testing.T, at time.Time, accounts []vault.Account, setup func(dir string, v *vault.Vault)) *slotHarness {
	t.Helper()
	return newSlotHarnessWith(t, at, accounts, setup, Deps{})
}

// newSlotHarnessWith is newSlotHarness with more of the window's
// dependencies (the security keys, say).
func newSlotHarnessWith(t *testing.T, at time.Time, accounts []vault.Account, setup func(dir string, v *vault.Vault), more Deps) *slotHarness {
	t.Helper()
	h := &slotHarness{
		harness: &harness{app: newTestApp(t), clock: testkit.NewClock(at)},
		dir:     t.TempDir(),
		keys:    &recordingKeys{Secrets: testkit.Keyring(t)},
		files:   &fakeFiles{},
	}
	h.v = openVault(t, h.dir, h.keys, h.clock.Now, accounts)
	if setup != nil {
		setup(h.dir, h.v)
	}
	h.win = test.NewWindow(nil)
	more.Vault, more.Now, more.After, more.DataDir, more.Files = h.v, h.clock.Now, h.clock.After, h.dir, h.files
	h.main = NewMain(h.app, h.win, more)
	h.auth = h.main.auth
	t.Cleanup(func() {
		h.wait()
		if !h.closed {
			h.win.Close()
		}
	})
	h.wait()
	return h
}

// wait lets the work off the UI goroutine finish.
func (h *slotHarness) wait() {
	h.main.pending.Wait()
	h.main.backups.busy.Wait()
	if r := h.main.restore; r != nil {
		r.busy.Wait()
	}
}

// openSettings shows Settings, and what it read of the backups.
func (h *slotHarness) openSettings() {
	h.showSettings()
	h.wait()
}

// recipient is the vault's recovery key's public half, "" for none.
func (h *slotHarness) recipient(t *testing.T) string {
	t.Helper()
	r, err := vault.RecoveryRecipient(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tapDialog taps the button labelled label in the dialog on top.
func tapDialog(t *testing.T, c fyne.Canvas, label string) {
	t.Helper()
	if top := c.Overlays().Top(); top != nil {
		for _, o := range laidOut(top) {
			if b, ok := o.(*widget.Button); ok && b.Text == label && b.Visible() && !b.Disabled() {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("no button %q in the dialog on top; shown:\n%s", label, shownText(c))
}

// typeCheck types chars into the check's four fields and taps Finish.
func typeCheck(t *testing.T, h *slotHarness, chars string) {
	t.Helper()
	st := h.main.recovery.setup
	if st == nil || len(st.fields) != 4 {
		t.Fatalf("no check is asked; shown:\n%s", shownText(h.win.Canvas()))
	}
	for i, f := range st.fields {
		f.SetText(string(chars[i]))
	}
	tapDialog(t, h.win.Canvas(), "Finish")
	h.wait()
}

// checkChars are the characters a check asks of id.
func checkChars(id *age.X25519Identity, c recovery.Check) string {
	s := id.String()
	var b strings.Builder
	for _, p := range c.At {
		b.WriteByte(s[p-1])
	}
	return b.String()
}

func TestRecoveryKeySetup(t *testing.T) {
	h := newSlotHarness(t, start, fixture(), nil)
	h.openSettings()
	r := h.main.recovery
	if !strings.Contains(shownText(h.win.Canvas()), "No recovery key") {
		t.Fatalf("Settings does not say there is no recovery key:\n%s", shownText(h.win.Canvas()))
	}
	test.Tap(r.setUp)
	st := r.setup
	if st == nil {
		t.Fatal("Set up recovery key… made no key")
	}
	if shown := shownText(h.win.Canvas()); !strings.Contains(shown, recovery.Groups(st.id)) {
		t.Fatalf("the key is not shown in groups:\n%s", shown)
	}

	// The kit, as a PDF of a sane size.
	h.files.save = filepath.Join(t.TempDir(), "kit.pdf")
	tapDialog(t, h.win.Canvas(), "Save the emergency kit…")
	h.wait()
	kit, err := os.ReadFile(h.files.save)
	if err != nil {
		t.Fatalf("no kit saved: %v", err)
	}
	if !strings.HasPrefix(string(kit), "%PDF-") || len(kit) < 2_000 || len(kit) > 2_000_000 {
		t.Errorf("the kit is %d bytes starting %q, want a PDF of 2 kB to 2 MB", len(kit), kit[:min(len(kit), 8)])
	}
	if h.recipient(t) != "" {
		t.Fatal("the key was stored before it was checked")
	}

	// A wrong check is refused and stores nothing.
	tapDialog(t, h.win.Canvas(), "Next: check you kept it")
	right := checkChars(st.id, st.check)
	wrong := []byte(right)
	wrong[0] = map[bool]byte{true: 'Q', false: 'P'}[wrong[0] == 'P']
	typeCheck(t, h, strings.ToLower(string(wrong)))
	if !st.wrong.Visible() {
		t.Error("a wrong check says nothing")
	}
	if h.recipient(t) != "" {
		t.Fatal("a wrong check stored the key")
	}

	// The right one, typed in lower case, sets the slot.
	typeCheck(t, h, strings.ToLower(right))
	if got, want := h.recipient(t), st.id.Recipient().String(); got != want {
		t.Fatalf("recovery slot %q, want %q", got, want)
	}
	if r.setup != nil || h.win.Canvas().Overlays().Top() != nil {
		t.Error("the setup is still open after the right check")
	}
	if !strings.Contains(shownText(h.win.Canvas()), "A recovery key is set up") {
		t.Error("Settings does not say a recovery key is set up")
	}

	// Replacing warns; a cancelled replacement keeps the old key.
	old := h.recipient(t)
	test.Tap(r.setUp)
	if !strings.Contains(shownText(h.win.Canvas()), "stop opening your accounts") {
		t.Fatalf("replacing does not warn the old kits stop working:\n%s", shownText(h.win.Canvas()))
	}
	tapDialog(t, h.win.Canvas(), "Replace")
	tapDialog(t, h.win.Canvas(), "Next: check you kept it")
	tapDialog(t, h.win.Canvas(), "Cancel")
	if got := h.recipient(t); got != old {
		t.Fatalf("a cancelled setup changed the recovery key: %q, want %q", got, old)
	}

	// Remove asks, and Keep keeps.
	test.Tap(r.remove)
	tapDialog(t, h.win.Canvas(), "Keep it")
	if h.recipient(t) != old {
		t.Fatal("Keep it removed the key")
	}
	test.Tap(r.remove)
	tapDialog(t, h.win.Canvas(), "Remove")
	h.wait()
	if h.recipient(t) != "" {
		t.Fatal("Remove kept the key")
	}
}

func TestOpenWithRecoveryKey(t *testing.T) {
	a := newTestApp(t)
	dir := t.TempDir()
	keys := &recordingKeys{Secrets: testkit.Keyring(t)}
	v := openVault(t, dir, keys, nil, fixture())
	id, err := recovery.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	keys.forget(t) // a new machine: the keyring lacks the vault's key
	_, err = vault.Open(dir, vault.Options{Keys: keys})
	if !errors.Is(err, vault.ErrKeyMissing) {
		t.Fatalf("opening without the key: %v, want ErrKeyMissing", err)
	}

	w := test.NewTempWindow(t, nil)
	var opened *vault.Vault
	o := showOpenError(a, w, err, func() {}, nil, &Recovery{Dir: dir, Options: vault.Options{Keys: keys},
		Opened: func(v *vault.Vault) { opened = v }})
	if o == nil {
		t.Fatalf("the opening screen offers no recovery key:\n%s", shownText(w.Canvas()))
	}
	if shown := shownText(w.Canvas()); strings.Contains(shown, "countersign import") {
		t.Errorf("the opening screen still points at countersign import:\n%s", shown)
	}

	// Not a key: said beside the field.
	o.input.entry.SetText("AGE-SECRET-KEY-1 QQQQ")
	tapDialog(t, w.Canvas(), "Open")
	o.busy.Wait()
	if !o.input.problem.Visible() || !strings.Contains(o.input.problem.Text, "characters") {
		t.Errorf("a short key says %q", o.input.problem.Text)
	}
	// Another vault's key: said beside the field, nothing opened.
	other, _ := recovery.New()
	o.input.entry.SetText(other.String())
	tapDialog(t, w.Canvas(), "Open")
	o.busy.Wait()
	if opened != nil || !o.input.problem.Visible() {
		t.Fatalf("another key: opened %v, problem %q", opened != nil, o.input.problem.Text)
	}

	// The kit's key as typed: lower case, in groups.
	o.input.entry.SetText(strings.ToLower(recovery.Groups(id)))
	tapDialog(t, w.Canvas(), "Open")
	o.busy.Wait()
	if opened == nil {
		t.Fatalf("the vault did not open; shown:\n%s", shownText(w.Canvas()))
	}
	if got, want := len(opened.Accounts()), len(fixture()); got != want {
		t.Errorf("%d accounts open, want %d", got, want)
	}
	if _, err := vault.Open(dir, vault.Options{Keys: keys}); err != nil {
		t.Errorf("the key is not in the keyring after: %v", err)
	}
}

// refusingKeys is a keyring that takes nothing new.
type refusingKeys struct{ testkit.Secrets }

func (refusingKeys) Set(string, string) error { return errors.New("the keyring is read-only") }

// TestOpenWithRecoveryKeyNotResealed: a keyring that refuses the key
// leaves the vault open, and the window says the next start needs the key
// again.
func TestOpenWithRecoveryKeyNotResealed(t *testing.T) {
	a := newTestApp(t)
	dir := t.TempDir()
	keys := &recordingKeys{Secrets: testkit.Keyring(t)}
	v := openVault(t, dir, keys, nil, fixture())
	id, _ := recovery.New()
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	keys.forget(t)
	_, err := vault.Open(dir, vault.Options{Keys: keys})
	w := test.NewTempWindow(t, nil)
	var opened *vault.Vault
	o := showOpenError(a, w, err, nil, nil, &Recovery{Dir: dir, Options: vault.Options{Keys: refusingKeys{keys}},
		Opened: func(v *vault.Vault) { opened = v }})
	o.input.entry.SetText(id.String())
	tapDialog(t, w.Canvas(), "Open")
	o.busy.Wait()
	if opened == nil {
		t.Fatalf("the vault did not open; shown:\n%s", shownText(w.Canvas()))
	}
	if shown := shownText(w.Canvas()); !strings.Contains(shown, "The next start needs the recovery key again") {
		t.Errorf("the window does not say the next start needs the key:\n%s", shown)
	}
}

// lockedKeys is a Secret Service that is there but locked: nothing reads
// or writes.
type lockedKeys struct{ testkit.Secrets }

func (lockedKeys) Get(string) (string, error) {
	return "", fmt.Errorf("%w: the Secret Service is locked", keyring.ErrUnavailable)
}
func (lockedKeys) Set(string, string) error {
	return fmt.Errorf("%w: the Secret Service is locked", keyring.ErrUnavailable)
}

// TestOpenWithRecoveryKeyKeyringLocked: a locked keyring (no key can be
// read) offers the recovery key too; the vault opens for this run, and the
// window says the next start needs the key again.
func TestOpenWithRecoveryKeyKeyringLocked(t *testing.T) {
	a := newTestApp(t)
	dir := t.TempDir()
	keys := testkit.Keyring(t)
	v := openVault(t, dir, keys, nil, fixture())
	id, _ := recovery.New()
	if err := v.SetRecovery(id.Recipient()); err != nil {
		t.Fatal(err)
	}
	locked := lockedKeys{keys}
	_, err := vault.Open(dir, vault.Options{Keys: locked})
	if !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Open with a locked keyring: %v", err)
	}
	w := test.NewTempWindow(t, nil)
	var opened *vault.Vault
	o := showOpenError(a, w, err, func() {}, nil, &Recovery{Dir: dir, Options: vault.Options{Keys: locked},
		Opened: func(v *vault.Vault) { opened = v }})
	if o == nil {
		t.Fatal("a locked keyring does not offer the recovery key")
	}
	o.input.entry.SetText(id.String())
	tapDialog(t, w.Canvas(), "Open")
	o.busy.Wait()
	if opened == nil || len(opened.Accounts()) != len(fixture()) {
		t.Fatalf("the vault did not open; shown:\n%s", shownText(w.Canvas()))
	}
	if shown := shownText(w.Canvas()); !strings.Contains(shown, "The next start needs the recovery key again") {
		t.Errorf("the window does not say the next start needs the key:\n%s", shown)
	}
}

// TestOpenWithoutRecoveryKey: a vault with no recovery key offers none.
func TestOpenWithoutRecoveryKey(t *testing.T) {
	a := newTestApp(t)
	dir := t.TempDir()
	keys := &recordingKeys{Secrets: testkit.Keyring(t)}
	openVault(t, dir, keys, nil, fixture())
	keys.forget(t)
	_, err := vault.Open(dir, vault.Options{Keys: keys})
	w := test.NewTempWindow(t, nil)
	if o := showOpenError(a, w, err, func() {}, nil, &Recovery{Dir: dir}); o != nil {
		t.Error("a vault without a recovery key offers one")
	}
}

// withRecoveryKey gives the vault a recovery key, returned through id.
func withRecoveryKey(t *testing.T, id **age.X25519Identity) func(string, *vault.Vault) {
	return func(_ string, v *vault.Vault) {
		k, err := recovery.New()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.SetRecovery(k.Recipient()); err != nil {
			t.Fatal(err)
		}
		*id = k
	}
}

// backups lists the backups in the vault's backup folder.
func (h *slotHarness) backups(t *testing.T) []backup.Info {
	t.Helper()
	c, err := backup.LoadConfig(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	all, err := backup.List(c.Folder(h.dir))
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestBackUpNow(t *testing.T) {
	t.Run("no recovery key", func(t *testing.T) {
		h := newSlotHarness(t, start, fixture(), nil)
		h.openSettings()
		test.Tap(h.main.backups.now)
		h.wait()
		if n := len(h.backups(t)); n != 0 {
			t.Fatalf("%d backups without a recovery key", n)
		}
		if shown := shownText(h.win.Canvas()); !strings.Contains(shown, "set one up") {
			t.Errorf("the window does not say a recovery key is needed:\n%s", shown)
		}
	})
	var id *age.X25519Identity
	h := newSlotHarness(t, start, fixture(), withRecoveryKey(t, &id))
	h.openSettings()
	test.Tap(h.main.backups.now)
	h.wait()
	all := h.backups(t)
	if len(all) != 1 {
		t.Fatalf("%d backups, want 1", len(all))
	}
	f, err := os.Open(all[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := backup.Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fixture()) {
		t.Errorf("the backup holds %d accounts, want %d", len(got), len(fixture()))
	}
	if !strings.Contains(h.main.backups.status.Text, "Last backup") {
		t.Errorf("the section says %q, not the last backup", h.main.backups.status.Text)
	}
}

func TestAutomaticBackups(t *testing.T) {
	t.Run("after a change", func(t *testing.T) {
		var id *age.X25519Identity
		h := newSlotHarness(t, start, fixture(), withRecoveryKey(t, &id))
		h.openSettings() // the codes' countdowns rest meanwhile
		b := h.main.backups
		b.afterChange.SetChecked(true)
		h.wait()
		if n := len(h.backups(t)); n != 0 {
			t.Fatalf("turning it on made %d backups", n)
		}
		ref := h.v.Accounts()[0].ID
		for _, name := range []string{"one", "two"} {
			if _, err := h.main.deps.Vault.Edit(ref, func(a *vault.Account) error { a.Notes = name; return nil }); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(backupDebounce - time.Second)
			h.wait()
		}
		if n := len(h.backups(t)); n != 0 {
			t.Fatalf("%d backups while changes were still coming", n)
		}
		h.clock.Advance(time.Second)
		h.wait()
		if n := len(h.backups(t)); n != 1 {
			t.Fatalf("%d backups after the changes settled, want 1", n)
		}
	})
	t.Run("daily", func(t *testing.T) {
		evening := time.Date(2026, 12, 7, 22, 10, 0, 0, time.Local)
		var id *age.X25519Identity
		h := newSlotHarness(t, evening, fixture(), func(dir string, v *vault.Vault) {
			withRecoveryKey(t, &id)(dir, v)
			if err := backup.SaveConfig(dir, backup.Config{Daily: true}); err != nil {
				t.Fatal(err)
			}
		})
		if n := len(h.backups(t)); n != 1 {
			t.Fatalf("%d backups at the day's first start, want 1", n)
		}
		h.openSettings()
		h.clock.Advance(20 * time.Minute)
		h.wait()
		if n := len(h.backups(t)); n != 1 {
			t.Fatalf("%d backups later the same day, want 1", n)
		}
		h.clock.Advance(backupTick) // 23:30: the tick at 23:10 made none
		h.wait()
		if n := len(h.backups(t)); n != 1 {
			t.Fatalf("%d backups at the day's first tick, want 1", n)
		}
		h.clock.Advance(backupTick) // 00:30: the tick at 00:10 is a new day
		h.wait()
		all := h.backups(t)
		if len(all) != 2 || all[0].At.Local().Day() != 8 {
			t.Fatalf("backups %v after midnight, want a second one on the 8th", all)
		}
	})
}

func TestBackupReminder(t *testing.T) {
	var id *age.X25519Identity
	old := start.Add(-8 * 24 * time.Hour)
	h := newSlotHarness(t, start, fixture(), func(dir string, v *vault.Vault) {
		withRecoveryKey(t, &id)(dir, v)
		if err := backup.SaveConfig(dir, backup.Config{AfterChange: true}); err != nil {
			t.Fatal(err)
		}
		r, _ := vault.RecoveryRecipient(dir)
		if _, err := backup.Write(filepath.Join(dir, "backups"), r, v.Accounts(), old); err != nil {
			t.Fatal(err)
		}
	})
	b := h.main.backups
	if !b.banner.Visible() || !strings.Contains(b.bannerText.Text, "8 days old") {
		t.Fatalf("an 8-day-old backup: reminder shown %v, %q", b.banner.Visible(), b.bannerText.Text)
	}
	h.win.Resize(defaultWindowSize)
	if y := h.auth.root.Position().Y; y <= 0 {
		t.Errorf("the accounts start at %v under the reminder", y)
	}
	tapDialogIn(t, b.banner, "Not today")
	if b.banner.Visible() {
		t.Fatal("Not today left the reminder")
	}
	if y := h.auth.root.Position().Y; y != 0 {
		t.Errorf("the reminder gone, the accounts start at %v, not at the top", y)
	}
	h.openSettings()
	h.clock.Advance(reminderPause + backupTick)
	h.wait()
	if !b.banner.Visible() {
		t.Fatal("the reminder did not come back the next day")
	}
	tapDialogIn(t, b.banner, "Back up now")
	h.wait()
	if b.banner.Visible() {
		t.Errorf("a new backup left the reminder: %q", b.bannerText.Text)
	}

	// On without a recovery key: reminded to set one up.
	if err := h.v.RemoveRecovery(); err != nil {
		t.Fatal(err)
	}
	b.start(backupLook)
	h.wait()
	if !b.banner.Visible() || !strings.Contains(b.bannerText.Text, "recovery key") {
		t.Errorf("no recovery key: reminder shown %v, %q", b.banner.Visible(), b.bannerText.Text)
	}
}

// tapDialogIn taps the button labelled label within o.
func tapDialogIn(t *testing.T, o fyne.CanvasObject, label string) {
	t.Helper()
	for _, c := range laidOut(o) {
		if b, ok := c.(*widget.Button); ok && b.Text == label {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no button %q", label)
}

func TestRestoreFromBackup(t *testing.T) {
	var id *age.X25519Identity
	have := fixture()[:3]
	h := newSlotHarness(t, start, have, withRecoveryKey(t, &id))
	// The backup: two accounts the vault has, and two it lacks.
	incoming := append(h.v.Accounts()[:2], fixture()[3:]...)
	path, err := backup.Write(t.TempDir(), id.Recipient().String(), incoming, start)
	if err != nil {
		t.Fatal(err)
	}
	before := h.v.Accounts()
	h.openSettings()
	h.files.open = path
	h.main.showRestore()
	h.wait()
	r := h.main.restore
	if r == nil {
		t.Fatalf("no restore after the file was chosen:\n%s", shownText(h.win.Canvas()))
	}
	other, _ := recovery.New()
	r.input.entry.SetText(other.String())
	tapDialog(t, h.win.Canvas(), "Next")
	if !r.input.problem.Visible() || !strings.Contains(r.input.problem.Text, "another recovery key") {
		t.Fatalf("another key: %q", r.input.problem.Text)
	}
	r.input.entry.SetText(strings.ToLower(recovery.Groups(id)))
	tapDialog(t, h.win.Canvas(), "Next")
	if shown := shownText(h.win.Canvas()); !strings.Contains(shown, "4 accounts: 2 accounts to add, 2 accounts already here") {
		t.Fatalf("the preview does not count what the backup adds:\n%s", shown)
	}
	if got := len(h.v.Accounts()); got != len(before) {
		t.Fatalf("the preview changed the vault: %d accounts", got)
	}
	tapDialog(t, h.win.Canvas(), "Restore")
	after := h.v.Accounts()
	if len(after) != len(before)+2 {
		t.Fatalf("%d accounts after the restore, want %d", len(after), len(before)+2)
	}
	for _, a := range before {
		if _, err := h.v.Find(a.ID); err != nil {
			t.Errorf("the restore removed %s: %v", a.Label(), err)
		}
	}
	shown := shownText(h.win.Canvas())
	for _, want := range []string{"Restored 2 accounts", "Already here, left as they were: 2 accounts", "Corp VPN"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the result does not say %q:\n%s", want, shown)
		}
	}
}

// TestRecoveryScreensDrawTextInCheckedColours walks the recovery key's
// and the backups' screens as TestScreensDrawTextInCheckedColours walks
// the others.
func TestRecoveryScreensDrawTextInCheckedColours(t *testing.T) {
	for _, variant := range variants {
		t.Run(variant.name, func(t *testing.T) {
			th := variantTheme{Theme(), variant.v}
			a := newTestApp(t)
			old := a.Settings().Theme()
			a.Settings().SetTheme(th)
			t.Cleanup(func() { a.Settings().SetTheme(old) })
			allowed := allowedTextColors(th, variant.v)

			h := newSlotHarness(t, start, fixture(), func(dir string, _ *vault.Vault) {
				if err := backup.SaveConfig(dir, backup.Config{Daily: true}); err != nil {
					t.Fatal(err)
				}
			})
			h.win.Resize(defaultWindowSize)
			if !h.main.backups.banner.Visible() {
				t.Fatal("no reminder to check")
			}
			checkTextColors(t, "the backup reminder", h.win.Canvas(), allowed)
			h.openSettings()
			checkTextColors(t, "Settings with backups and no recovery key", h.win.Canvas(), allowed)
			test.Tap(h.main.recovery.setUp)
			checkTextColors(t, "the new recovery key", h.win.Canvas(), allowed)
			tapDialog(t, h.win.Canvas(), "Next: check you kept it")
			typeCheck(t, h, "0000")
			checkTextColors(t, "a wrong check", h.win.Canvas(), allowed)
		})
	}
}
