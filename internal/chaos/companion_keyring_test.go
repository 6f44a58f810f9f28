//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/vault"
)

// The Secret Service of .ci/keyring-session: gnome-keyring's login
// collection, unlocked at start with this password.
const (
	secretsName      = "org.freedesktop.secrets"
	secretsPath      = dbus.ObjectPath("/org/freedesktop/secrets")
	loginCollection  = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	keyringPassword  = "countersign-test-session" // .ci/keyring-session's
	gnomeKeyringIntf = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
)

// secretService is a D-Bus connection to the session's Secret Service.
func secretService(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatalf("the session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	// An unlock prompt must fail at once rather than open on a display
	// someone may be looking at: prompters started from now on get none.
	if err := conn.BusObject().Call("org.freedesktop.DBus.UpdateActivationEnvironment", 0,
		map[string]string{"DISPLAY": "", "WAYLAND_DISPLAY": ""}).Err; err != nil {
		t.Fatalf("clearing the prompter's display: %v", err)
	}
	return conn
}

// lockKeyring locks the login collection, as the screen locker or
// "Lock keyring" in Passwords and Keys does.
func lockKeyring(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := conn.Object(secretsName, secretsPath).Call("org.freedesktop.Secret.Service.Lock", 0,
		[]dbus.ObjectPath{loginCollection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("locking the keyring: %v", err)
	}
	if !keyringLocked(t, conn) {
		t.Fatal("the login collection is not locked after Lock")
	}
}

func keyringLocked(t *testing.T, conn *dbus.Conn) bool {
	t.Helper()
	v, err := conn.Object(secretsName, loginCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		t.Fatalf("reading Locked: %v", err)
	}
	locked, _ := v.Value().(bool)
	return locked
}

// unlockKeyring unlocks the login collection with its password, without a
// prompt: the way the PAM module does at login (gnome-keyring's
// UnlockWithMasterPassword over a plain session).
func unlockKeyring(t *testing.T, conn *dbus.Conn) string {
	t.Helper()
	svc := conn.Object(secretsName, secretsPath)
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("opening a Secret Service session: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(keyringPassword), "text/plain"}
	how := "gnome-keyring's UnlockWithMasterPassword (what PAM uses at login)"
	if err := svc.Call(gnomeKeyringIntf+".UnlockWithMasterPassword", 0, loginCollection, secret).Err; err != nil {
		// Another Secret Service: start gnome-keyring again, unlocked.
		t.Logf("UnlockWithMasterPassword: %v; replacing the daemon instead", err)
		cmd := exec.Command("gnome-keyring-daemon", "--replace", "--unlock", "--components=secrets", "--daemonize")
		cmd.Stdin = strings.NewReader(keyringPassword)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gnome-keyring-daemon --replace --unlock: %v\n%s", err, out)
		}
		how = "gnome-keyring-daemon --replace --unlock"
	}
	conn.Object(secretsName, session).Call("org.freedesktop.Secret.Session.Close", 0)
	if keyringLocked(t, conn) {
		t.Fatal("the login collection is still locked")
	}
	return how
}

// cliRun runs the real countersign binary with its data in home.
type cliResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func runCLI(t *testing.T, home string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), args...)
	cmd.Env = append(os.Environ(), "COUNTERSIGN_HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: strings.TrimSpace(errb.String()), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("countersign %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// snapshot is a directory's files and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// pairedIDs lists the accounts in dir's paired.json, and whether each is
// unpaired, in one string.
func pairedIDs(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, approver.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return "none"
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Accounts []struct {
			ID       string `json:"id"`
			Unpaired bool   `json:"unpaired"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("paired.json: %v", err)
	}
	var ids []string
	for _, a := range f.Accounts {
		ids = append(ids, fmt.Sprintf("%s unpaired=%v", a.ID, a.Unpaired))
	}
	return strings.Join(ids, ", ")
}

// tempFiles lists the temporary files (atomicfile's .NAME.tmp-…) in dirs.
func tempFiles(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

func testKey(issuer, name, secret string) otp.Key {
	s, err := otp.DecodeSecret(secret)
	if err != nil {
		panic(err)
	}
	return otp.Key{Type: otp.TOTP, Issuer: issuer, Name: name, Secret: s}
}

// TestCompanionKeyringLocked: the keyring is locked while the window runs.
// What needs the keyring (opening the vault, a device key not read yet,
// pairing) fails at once with an error saying it is locked and what to
// do, nothing is written, nothing crashes; what read its key before goes
// on. Unlocked again, everything works, the approver reconnecting by
// itself.
func TestCompanionKeyringLocked(t *testing.T) {
	needKeyringSession(t)
	row := Begin(t, "C2. companion: keyring locked while running")
	row.Done = "window running (vault open, Desk A connected); the login collection locked over D-Bus (Secret.Service.Lock); then the countersign CLI (list, add, approvals), a fresh vault.Open, the window started again (new approver), pairing Desk B; then unlocked"

	conn := secretService(t)
	srv := startLiveServer(t)
	home := t.TempDir()
	keys := keyring.New(keyring.Service).WithTimeout(20 * time.Second)
	v, err := vault.Open(home, vault.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []otp.Key{testKey("GitHub", "sam", "JBSWY3DPEHPK3PXP"), testKey("Proton", "sam@proton.me", "GEZDGNBVGY3TQOJQ"), testKey("AWS", "root", "MFRGGZDFMZTWQ2LK")} {
		if _, _, err := v.Add(vault.Account{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	before := v.Accounts()
	deskA := openDesktop(t, "Desk A", home)
	deskA.pair(srv)
	deskA.run()
	if _, ok := deskA.online(true, 15*time.Second); !ok {
		return
	}

	lockKeyring(t, conn)
	unlocked := false
	t.Cleanup(func() {
		if !unlocked {
			unlockKeyring(t, conn)
		}
	})
	vaultBefore := snapshot(t, home)[vault.FileName]
	pairedBefore := pairedIDs(t, home)
	var saw, lost []string

	// The command line.
	list := runCLI(t, home, "list")
	add := runCLI(t, home, "add", "otpauth://totp/Example:new?secret=KRSXG5CTMVRXEZLU&issuer=Example")
	apps := runCLI(t, home, "approvals")
	for _, r := range []struct {
		what string
		res  cliResult
	}{{"list", list}, {"add", add}, {"approvals", apps}} {
		switch {
		case r.res.code != 1:
			t.Errorf("countersign %s with the keyring locked: exit %d, want 1\n%s", r.what, r.res.code, r.res.stderr)
			lost = append(lost, "countersign "+r.what+" did not fail cleanly")
		case !strings.Contains(r.res.stderr, "locked") || strings.Contains(r.res.stderr, "panic"):
			t.Errorf("countersign %s: %q, want it to say the keyring is locked", r.what, r.res.stderr)
			lost = append(lost, "countersign "+r.what+" did not say why")
		case r.res.took > 15*time.Second:
			t.Errorf("countersign %s took %v", r.what, r.res.took)
		}
	}
	saw = append(saw, fmt.Sprintf("countersign list/add/approvals: exit 1 in %s/%s/%s, %q", secs(list.took), secs(add.took), secs(apps.took), list.stderr))

	// The window opened again: the vault, and a new approver.
	_, err = vault.Open(home, vault.Options{Keys: keys})
	if !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("vault.Open with the keyring locked: %v, want keyring.ErrUnavailable saying it is locked", err)
		lost = append(lost, "vault.Open's error")
	}
	again := openDesktop(t, "Desk A (window started again)", home)
	again.run()
	acct, _ := again.event(0, 20*time.Second, "connection error", func(e approver.Event) bool {
		return e.Kind == approver.EventConnection && e.Account.LastError != ""
	})
	if !strings.Contains(acct.Account.LastError, "locked") {
		t.Errorf("the restarted approver's account: %q, want it to say the keyring is locked", acct.Account.LastError)
		lost = append(lost, "the approver's banner")
	}
	saw = append(saw, fmt.Sprintf("the restarted window's banner: %q", sameAdvice(acct.Account.LastError)))

	// Pairing another desktop: its key cannot be stored.
	deskB := newDesktop(t, "Desk B")
	_, err = deskB.Pair(context.Background(), srv.uri(), "", "Desk B")
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("pairing with the keyring locked: %v, want an error saying it is locked", err)
		lost = append(lost, "pairing's error")
	}
	if _, statErr := os.Stat(filepath.Join(deskB.dir, approver.FileName)); statErr == nil {
		lost = append(lost, "Desk B's paired.json was written")
	}
	var list2 api.ApproverList
	if err := deskA.Call(context.Background(), deskA.Accounts()[0].ID, "GET", "/api/v1/approvers", nil, &list2); err != nil {
		t.Errorf("listing the approvers: %v", err)
	}
	approvers := list2.Approvers
	for _, a := range approvers {
		if a.Name == "Desk B" {
			lost = append(lost, "Desk B stayed paired on the server without its key")
		}
	}
	saw = append(saw, fmt.Sprintf("pairing Desk B: %q, undone on the server (%d approver left)", sameAdvice(errText(err)), len(approvers)))

	// Desk A keeps writing where its stream stands in paired.json; the
	// accounts in it and the vault must not change.
	if snapshot(t, home)[vault.FileName] != vaultBefore {
		lost = append(lost, "the vault file changed while locked")
	}
	if got := pairedIDs(t, home); got != pairedBefore {
		lost = append(lost, fmt.Sprintf("paired.json's accounts changed while locked: %s, were %s", got, pairedBefore))
	}

	// What read its key before the lock goes on: the open vault and Desk A.
	if _, _, err := v.Add(vault.Account{Key: testKey("Example", "while-locked", "KRSXG5CTMVRXEZLU")}); err != nil {
		t.Errorf("the open vault, key read before the lock: %v", err)
	}
	if !approveRound(t, srv, []*desktop{deskA}, deskA) {
		lost = append(lost, "Desk A's approval while locked")
	}
	saw = append(saw, "the running window (keys read at start) kept adding accounts and approving")

	// Unlocked.
	how := unlockKeyring(t, conn)
	unlocked = true
	unlockedAt := time.Now()
	// The three accounts, the one the open window added, a header line.
	if r := runCLI(t, home, "list"); r.code != 0 || strings.Count(r.stdout, "\n") != len(before)+2 {
		t.Errorf("countersign list after unlocking: exit %d, %d lines, %s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
		lost = append(lost, "accounts after unlocking")
	}
	if r := runCLI(t, home, "add", "otpauth://totp/Example:new?secret=KRSXG5CTMVRXEZLU&issuer=Example"); r.code != 0 {
		t.Errorf("countersign add after unlocking: exit %d, %s", r.code, r.stderr)
	}
	v2, err := vault.Open(home, vault.Options{Keys: keys})
	if err != nil {
		t.Errorf("vault.Open after unlocking: %v", err)
	} else if n := len(v2.Accounts()); n != len(before)+2 {
		t.Errorf("%d accounts after unlocking, want %d", n, len(before)+2)
		lost = append(lost, "accounts")
	}
	if _, ok := again.online(true, 35*time.Second); !ok {
		lost = append(lost, "the restarted approver did not reconnect")
	}
	back := time.Since(unlockedAt)
	if _, err := deskB.Pair(context.Background(), srv.uri(), "", "Desk B"); err != nil {
		t.Errorf("pairing after unlocking: %v", err)
		lost = append(lost, "pairing after unlocking")
	}
	saw = append(saw, fmt.Sprintf("unlocked with %s: the CLI, the vault and pairing worked at once, the restarted approver reconnected by itself in %s", how, secs(back)))

	deskA.quit()
	again.quit()
	deskB.quit()
	if tmp := tempFiles(t, home, deskB.dir); len(tmp) > 0 {
		lost = append(lost, "temporary files left: "+strings.Join(tmp, ", "))
	}

	row.Saw = strings.Join(saw, "; ")
	if len(lost) > 0 {
		row.Lost = strings.Join(lost, "; ")
		return
	}
	row.Lost = Nothing
}

// sameAdvice shortens a keyring error whose advice the row gave already.
func sameAdvice(msg string) string {
	if i := strings.Index(msg, ": the OS keyring is not available: the keyring is locked"); i > 0 {
		return msg[:i] + ": the OS keyring is not available: the keyring is locked … (the same advice)"
	}
	return msg
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
