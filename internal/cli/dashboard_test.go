package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/store"
)

// pairedHarness is a command line paired with u's account on srv as name.
func pairedHarness(t *testing.T, srv *approvertest.Server, uri, name string) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	h.now = srv.Clock.Now()
	out := h.mustRun("pair", uri, "--name", name)
	id := strings.TrimSuffix(strings.TrimSpace(out[strings.LastIndex(out, " ")+1:]), ")")
	return h, id
}

// mustConfirm runs a command that needs the account's password (the
// server asks to confirm it is you), giving it on stdin.
func (h *harness) mustConfirm(args ...string) string {
	h.t.Helper()
	args = append(args, "--password-file", "-")
	out, errOut, err := h.run(approvertest.Password+"\n", args...)
	if err != nil {
		h.t.Fatalf("countersign %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// invitationLink finds the link household add and invite print, and
// checks that the QR code beside it carries it.
func invitationLink(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "  link  ")
	if i < 0 {
		t.Fatalf("no link in %q", out)
	}
	link, _, _ := strings.Cut(out[i+len("  link  "):], "\n")
	var drawing []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, qrColours) {
			drawing = append(drawing, line)
		}
	}
	if len(drawing) == 0 {
		t.Fatalf("no QR code in %q", out)
	}
	codes, err := qr.Decode(readTerminalQR(strings.Join(drawing, "\n")))
	if err != nil || len(codes) != 1 || codes[0].Text != link {
		t.Errorf("the QR code reads %+v, %v; want %q", codes, err, link)
	}
	return link
}

func TestDashboardCommands(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	ctx := context.Background()
	if err := srv.Store.AddMethod(ctx, &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "Phone",
		Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: srv.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	err := srv.Store.CreateSession(ctx, &store.Session{ID: "sess-firefox-1", UserID: ada.ID, Stage: store.StageFull, IP: "203.0.113.9",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		CreatedAt: srv.Clock.Now().Add(-3 * time.Hour), LastSeenAt: srv.Clock.Now().Add(-time.Hour), ExpiresAt: srv.Clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, uri := srv.PairingCode(ada)
	h, deskID := pairedHarness(t, srv, uri, "Ada's desk")

	// Devices: the desktop itself, current.
	devs := decodeJSON[api.DeviceList](t, h.mustRun("devices", "--json"))
	if len(devs.Devices) != 1 || devs.Devices[0].ID != deskID || !devs.Devices[0].Current || devs.Devices[0].Type != api.DeviceApprover {
		t.Fatalf("devices --json = %+v, want this desktop", devs)
	}
	out := h.mustRun("devices")
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "NAME") || !strings.Contains(out, "LAST SEEN") ||
		!strings.Contains(out, deskID+"  Ada's desk (this desktop)  Desktop") || !strings.Contains(out, "  Ada  ") {
		t.Errorf("devices printed:\n%s", out)
	}

	// The household: Sam is added with an invitation his desktop pairs with.
	out = h.mustConfirm("household", "add", "Sam")
	if !strings.HasPrefix(out, "added Sam to the household (member ") || !strings.Contains(out, "invitation for Sam's desktop, valid for 10 minutes") {
		t.Errorf("household add printed:\n%s", out)
	}
	link := invitationLink(t, out)
	if i := strings.Index(out, "  code  "); i < 0 || !strings.Contains(link, "code="+api.NormalizePairCode(out[i+8:i+17])) {
		t.Errorf("the code and the link differ:\n%s", out)
	}
	sam, samDesk := pairedHarness(t, srv, link, "Sam's laptop")
	house := decodeJSON[api.Household](t, h.mustRun("household", "--json"))
	if len(house.Members) != 2 || house.Members[0].Name != "Ada" || house.Members[0].Role != api.RoleOwner ||
		house.Members[1].Name != "Sam" || house.You != house.Members[0].ID {
		t.Fatalf("household --json = %+v", house)
	}
	samID := house.Members[1].ID
	out = h.mustRun("household")
	if !strings.Contains(out, "Ada (you)") || !strings.Contains(out, samID+"  Sam ") || !strings.Contains(out, "Sam's laptop") {
		t.Errorf("household printed:\n%s", out)
	}
	if you := decodeJSON[api.Household](t, sam.mustRun("household", "--json")).You; you != samID {
		t.Errorf("Sam's desktop is member %q, want %q", you, samID)
	}

	// Devices by name or id: renamed, moved to another member and back.
	if out := h.mustRun("devices", "rename", "sam's laptop", "Sam's old laptop"); out != "renamed \"Sam's laptop\" to \"Sam's old laptop\"\n" {
		t.Errorf("devices rename printed %q", out)
	}
	if out := h.mustConfirm("devices", "move", samDesk, "ada"); out != "moved \"Sam's old laptop\" to Ada\n" {
		t.Errorf("devices move printed %q", out)
	}
	moved := decodeJSON[api.Device](t, h.mustConfirm("devices", "move", samDesk[:8], "Sam", "--json"))
	if moved.ID != samDesk || moved.MemberID != samID || moved.Name != "Sam's old laptop" {
		t.Errorf("devices move --json = %+v", moved)
	}
	if _, _, err := h.run("", "devices", "sign-out", deskID); err == nil {
		t.Error("signing a desktop out as if it were a browser worked")
	}

	// Sharing the authenticator, by name in any case.
	if out := h.mustConfirm("household", "share", "sam"); out != "the authenticator is shared with Sam: offered to 1 desktop\n" {
		t.Errorf("household share printed %q", out)
	}
	if out := h.mustRun("household"); !strings.Contains(out, "shared") {
		t.Errorf("household after sharing:\n%s", out)
	}
	if out := h.mustConfirm("household", "unshare", samID); out != "the authenticator is no longer shared with Sam\n" {
		t.Errorf("household unshare printed %q", out)
	}
	if _, _, err := h.run("", "household", "share", "nobody"); err == nil || !strings.Contains(err.Error(), `no member "nobody"`) {
		t.Errorf("sharing with nobody: %v", err)
	}
	// A member may not do the owner's part.
	if _, _, err := sam.run("", "household", "add", "Kim"); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("Sam adding a member: %v, want the server's refusal", err)
	}
	if out := h.mustRun("household", "rename", "Sam", "Samuel"); out != "renamed Sam to Samuel\n" {
		t.Errorf("household rename printed %q", out)
	}
	out = h.mustConfirm("household", "invite", "samuel")
	if !strings.Contains(out, "invitation for Samuel's desktop") {
		t.Errorf("household invite printed:\n%s", out)
	}
	invitationLink(t, out)

	// Sessions: listed, one ended by id, all ended with confirmation.
	sessions := decodeJSON[api.SessionList](t, h.mustRun("sessions", "--json"))
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].Browser != "Firefox 133" {
		t.Fatalf("sessions --json = %+v", sessions)
	}
	out = h.mustRun("sessions")
	if !strings.Contains(out, "Firefox 133 on Linux  203.0.113.9  3 hours ago  1 hour ago") {
		t.Errorf("sessions printed:\n%s", out)
	}
	if _, _, err := h.run("", "sessions", "revoke", "--all"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("sessions revoke --all without a terminal: %v, want a call for --yes", err)
	}
	if out := h.mustRun("sessions", "revoke", sessions.Sessions[0].ID[:6]); out != "signed out Firefox 133 on Linux\n" {
		t.Errorf("sessions revoke printed %q", out)
	}
	if out := h.mustRun("sessions", "revoke", "--all", "--yes"); out != "0 sessions ended\n" {
		t.Errorf("sessions revoke --all printed %q", out)
	}
	if out := h.mustRun("sessions", "--json"); out != "{\n  \"sessions\": []\n}\n" {
		t.Errorf("sessions --json with none = %q", out)
	}

	// Apps: none.
	if out, errOut, err := h.run("", "apps"); err != nil || out != "" || !strings.Contains(errOut, "no apps") {
		t.Errorf("apps with none: %q, %q, %v", out, errOut, err)
	}
	if out := h.mustRun("apps", "--json"); out != "{\n  \"apps\": []\n}\n" {
		t.Errorf("apps --json = %q", out)
	}

	// Activity: the changes above, by category.
	page := decodeJSON[api.ActivityPage](t, h.mustRun("activity", "--category", "changes", "--json"))
	if len(page.Events) == 0 {
		t.Fatal("activity --category changes is empty")
	}
	for _, e := range page.Events {
		if e.Category != api.ActivityChanges {
			t.Errorf("activity --category changes holds %+v", e)
		}
	}
	out, errOut, err := h.run("", "activity", "--limit", "1")
	if err != nil || !strings.HasPrefix(out, "WHEN ") || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "older activity: countersign activity --before ") {
		t.Errorf("activity --limit 1: %v\n%s\n%s", err, out, errOut)
	}

	// Removing Samuel asks first, and takes his desktop with him.
	if _, _, err := h.run("", "household", "remove", "Samuel"); err == nil || !strings.Contains(err.Error(), "add --yes") {
		t.Errorf("household remove without a terminal: %v", err)
	}
	h.terminal = true
	out, errOut, err = h.run("n\n", "household", "remove", "Samuel")
	if !errors.Is(err, errCancelled) || out != "" || !strings.Contains(errOut, "remove Samuel and their 1 device from the household? [y/N]") {
		t.Errorf("answering no: %q, %q, %v", out, errOut, err)
	}
	out, _, err = h.run("y\n", "household", "remove", "Samuel")
	if err != nil || out != "removed Samuel and their 1 device\n" {
		t.Errorf("answering yes: %q, %v", out, err)
	}
	if _, _, err := sam.run("", "devices"); err == nil || !strings.Contains(err.Error(), "removed from the account") {
		t.Errorf("Sam's desktop after removal: %v", err)
	}
	if devs := decodeJSON[api.DeviceList](t, h.mustRun("devices", "--json")); len(devs.Devices) != 1 {
		t.Errorf("devices after removing Samuel: %+v", devs)
	}
	// This desktop removes itself.
	out, errOut, err = h.run("y\n", "devices", "remove", deskID)
	if err != nil || out != "removed \"Ada's desk\"\n" || !strings.Contains(errOut, "(this desktop: it will stop approving sign-ins)?") {
		t.Errorf("devices remove of this desktop: %q, %q, %v", out, errOut, err)
	}
	if _, _, err := h.run("", "devices"); err == nil {
		t.Error("devices still work after this desktop was removed")
	}

	// Mistakes.
	for _, args := range [][]string{
		{"devices", "x"}, {"devices", "rename", "a"}, {"apps", "revoke"}, {"sessions", "--all"}, {"sessions", "revoke"},
		{"activity", "--category", "logins"}, {"activity", "--limit", "500"}, {"household", "add"}, {"household", "dance"},
	} {
		if _, _, err := h.run("", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("countersign %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func TestDashboardAccounts(t *testing.T) {
	h := newHarness(t)
	help := strings.Join(strings.Fields(h.mustRun("--help")), " ")
	for _, c := range []string{"devices " + devicesSynopsis, "apps " + appsSynopsis, "sessions " + sessionsSynopsis,
		"activity " + activitySynopsis, "household " + householdSynopsis} {
		if !strings.Contains(help, " "+c+" ") {
			t.Errorf("help does not list %q:\n%s", c, help)
		}
	}
	if _, _, err := h.run("", "devices"); err == nil || !strings.Contains(err.Error(), "no paired accounts") {
		t.Errorf("devices with nothing paired: %v", err)
	}
	srv1, srv2 := approvertest.Start(t), approvertest.Start(t)
	ada, bob := srv1.User("ada@example.com", "Ada"), srv2.User("bob@example.com", "Bob")
	h.now = srv1.Clock.Now()
	_, uri := srv1.PairingCode(ada)
	h.mustRun("pair", uri, "--name", "desk")
	_, uri = srv2.PairingCode(bob)
	h.mustRun("pair", uri, "--name", "desk")
	accounts := decodeJSON[[]pairedJSON](t, h.mustRun("accounts", "--json"))

	_, _, err := h.run("", "household")
	if err == nil || !strings.Contains(err.Error(), "2 accounts are paired: choose one with --account ID") ||
		!strings.Contains(err.Error(), accounts[0].ID+"  ada@example.com on "+srv1.URL) || !strings.Contains(err.Error(), accounts[1].ID+"  bob@example.com") {
		t.Errorf("household with two accounts: %v", err)
	}
	house := decodeJSON[api.Household](t, h.mustRun("household", "--json", "--account", accounts[1].ID[:8]))
	if len(house.Members) != 1 || house.Members[0].Name != "Bob" {
		t.Errorf("household --account of Bob's = %+v", house)
	}
	if _, _, err := h.run("", "devices", "--account", "nope"); err == nil || !strings.Contains(err.Error(), "no paired account") {
		t.Errorf("an unknown --account: %v", err)
	}
	srv2.RemoveApprover(bob, accounts[1].ID)
	if _, _, err := h.run("", "devices", "--account", accounts[1].ID); err == nil || !strings.Contains(err.Error(), "removed from the account") {
		t.Errorf("a removed --account: %v", err)
	}
	// Bob's is gone: Ada's is the only one now.
	if devs := decodeJSON[api.DeviceList](t, h.mustRun("devices", "--json")); len(devs.Devices) != 1 || devs.Devices[0].Name != "desk" {
		t.Errorf("devices with one account left: %+v", devs)
	}
}

// TestDashboardRealKeyring runs a dashboard command with the device key in
// a real Secret Service; it runs under .ci/keyring-session
// (COUNTERSIGN_TEST_KEYRING).
func TestDashboardRealKeyring(t *testing.T) {
	if os.Getenv("COUNTERSIGN_TEST_KEYRING") != "secret-service" {
		t.Skip("needs a Secret Service: run under .ci/keyring-session")
	}
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	home := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		env := Env{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(""), Now: srv.Clock.Now, Keys: keyring.New(keyring.Service),
			Getenv: func(k string) string { return map[string]string{"COUNTERSIGN_HOME": home}[k] }}
		if err := Run(env, args); err != nil {
			t.Fatalf("countersign %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	code, _ := srv.PairingCode(ada)
	out := run("pair", srv.URL, "--code", code, "--name", "desk")
	id := strings.TrimSuffix(strings.TrimSpace(out[strings.LastIndex(out, " ")+1:]), ")")
	t.Cleanup(func() { keyring.New(approver.KeyringService).Delete(id) })
	devs := decodeJSON[api.DeviceList](t, run("devices", "--json"))
	if len(devs.Devices) != 1 || devs.Devices[0].ID != id || !devs.Devices[0].Current {
		t.Errorf("devices --json with the key in the keyring = %+v", devs)
	}
	run("unpair", id)
}

// TestConfirmItIsYou: inviting, sharing and moving devices need the
// account's password (the server's step-up): from --password-file, or typed
// on a terminal; a wrong one changes nothing and says so, and without a
// terminal or a file the command says how to give it.
func TestConfirmItIsYou(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	_, uri := srv.PairingCode(ada)
	h, _ := pairedHarness(t, srv, uri, "Ada's desk")
	out, _, err := h.run("", "household", "add", "Sam")
	if err == nil || !strings.Contains(err.Error(), "Sam was added, but no invitation was made") || !strings.Contains(err.Error(), "--password-file FILE") {
		t.Fatalf("household add without a password: %q, %v", out, err)
	}
	invitations := func() int {
		n := 0
		for _, ev := range decodeJSON[api.ActivityPage](t, h.mustRun("activity", "--json")).Events {
			if ev.Kind == store.ActInvited {
				n++
			}
		}
		return n
	}
	if _, _, err := h.run("wrong horse\n", "household", "invite", "sam", "--password-file", "-"); err == nil ||
		!strings.Contains(err.Error(), "not the account's password; nothing was changed") {
		t.Errorf("a wrong password: %v", err)
	}
	if n := invitations(); n != 0 {
		t.Fatalf("%d invitations without the password, want 0", n)
	}
	h.terminal, h.typed = true, approvertest.Password
	out, errOut, err := h.run("", "household", "invite", "sam")
	if err != nil || !strings.Contains(out, "invitation for Sam's desktop") {
		t.Fatalf("invite with the password typed: %q, %v", out, err)
	}
	if !strings.Contains(errOut, "For your safety, confirm it is you (ada@example.com on "+srv.URL+").") || !strings.Contains(errOut, "the account's password") {
		t.Errorf("the prompt: %q", errOut)
	}
	if n := invitations(); n != 1 {
		t.Errorf("%d invitations, want 1", n)
	}
}
