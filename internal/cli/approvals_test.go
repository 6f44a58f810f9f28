package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/keyring"
)

func TestApprovalCommands(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada Lovelace")
	h := newHarness(t)
	h.now = srv.Clock.Now()

	// Pair by link, then a second device by URL and code.
	_, uri := srv.PairingCode(ada)
	out := h.mustRun("pair", uri, "--name", "Ada's laptop")
	var id string
	if _, err := fmt.Sscanf(out[strings.LastIndex(out, "(device ")+len("(device "):], "%s", &id); err != nil {
		t.Fatalf("pair printed %q", out)
	}
	id = strings.TrimSuffix(id, ")")
	if want := fmt.Sprintf("paired with ada@example.com on %s as \"Ada's laptop\" (device %s)\n", srv.URL, id); out != want {
		t.Errorf("pair printed %q, want %q", out, want)
	}
	// The same account again is refused, and nothing is kept of it.
	_, again := srv.PairingCode(ada)
	if _, _, err := h.run("", "pair", again, "--name", "again"); err == nil || !strings.Contains(err.Error(), `paired with this account already (ada@example.com on `) {
		t.Errorf("pairing ada@example.com again: %v", err)
	}
	bob := srv.User("bob@example.com", "Bob")
	code, _ := srv.PairingCode(bob)
	h.mustRun("pair", srv.URL, "--code", strings.ToLower(code), "--name", "second")

	var accounts []pairedJSON
	if err := json.Unmarshal([]byte(h.mustRun("accounts", "--json")), &accounts); err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 2 || accounts[0].ID != id || accounts[0].Email != "ada@example.com" || accounts[0].State != "paired" ||
		accounts[0].DeviceName != "Ada's laptop" || accounts[1].DeviceName != "second" || accounts[0].Server != srv.URL {
		t.Fatalf("accounts --json = %+v", accounts)
	}
	if out := h.mustRun("accounts"); !strings.Contains(out, id+"\tada@example.com\t"+srv.URL+"\tpaired\t\"Ada's laptop\"\n") {
		t.Errorf("accounts printed %q", out)
	}

	// Pending requests of the paired accounts.
	r := srv.SignIn(ada)
	var pending []approvalJSON
	if err := json.Unmarshal([]byte(h.mustRun("approvals", "--json")), &pending); err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != r.ID || !slices.Contains(pending[0].Numbers, r.Number) ||
		pending[0].Browser != "Firefox 133" || pending[0].Email != "ada@example.com" {
		t.Errorf("approvals --json = %+v, want request %s", pending, r.ID)
	}
	if out := h.mustRun("approvals"); !strings.Contains(out, r.ID+"\tada@example.com\tFirefox 133 on Windows 10\t203.0.113.7 (Unknown place)\tnumbers ") ||
		!strings.Contains(out, "expires in 2m0s") {
		t.Errorf("approvals printed %q", out)
	}

	// Unpair by a prefix of the id.
	out = h.mustRun("unpair", id[:6])
	if want := fmt.Sprintf("unpaired from ada@example.com on %s (device %s)\n", srv.URL, id); out != want {
		t.Errorf("unpair printed %q, want %q", out, want)
	}
	if as, _ := srv.Approvals.Approvers(context.Background(), ada.ID); len(as) != 0 {
		t.Errorf("ada's approvers on the server after unpair: %+v", as)
	}
	if as, _ := srv.Approvals.Approvers(context.Background(), bob.ID); len(as) != 1 || as[0].Name != "second" {
		t.Errorf("bob's approvers on the server after ada's unpair: %+v", as)
	}
	if _, err := h.keys.Get(id); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the device key is still in the keyring: %v", err)
	}

	// A device removed on the server shows as unpaired once the CLI hears of it.
	accounts = nil
	if err := json.Unmarshal([]byte(h.mustRun("accounts", "--json")), &accounts); err != nil || len(accounts) != 1 {
		t.Fatalf("accounts --json = %+v, %v", accounts, err)
	}
	srv.RemoveApprover(bob, accounts[0].ID)
	if _, _, err := h.run("", "approvals"); err == nil || !strings.Contains(err.Error(), "removed from the account") {
		t.Errorf("approvals with a removed device: %v", err)
	}
	if out := h.mustRun("accounts"); !strings.Contains(out, "\tunpaired\t") {
		t.Errorf("accounts after removal printed %q", out)
	}

	// Mistakes.
	for _, args := range [][]string{{"pair"}, {"pair", "a", "b"}, {"unpair"}, {"accounts", "x"}, {"approvals", "x"}} {
		if _, _, err := h.run("", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("countersign %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, _, err := h.run("", "unpair", "nope"); err == nil || !strings.Contains(err.Error(), "no paired account") {
		t.Errorf("unpair of an unknown id: %v", err)
	}
	if _, _, err := h.run("", "pair", srv.URL, "--code", "AAAA-AAAA"); err == nil || !strings.Contains(err.Error(), "pairing code is wrong") {
		t.Errorf("pair with a wrong code: %v", err)
	}
	if _, errOut, err := h.run("", "accounts", "-h"); !IsHelp(err) || !strings.Contains(errOut, "usage: countersign accounts [--json]") {
		t.Errorf("accounts -h: %v, %q", err, errOut)
	}
}

func TestApprovalsNoAccounts(t *testing.T) {
	h := newHarness(t)
	out, errOut, err := h.run("", "accounts")
	if err != nil || out != "" || !strings.Contains(errOut, "no paired accounts") {
		t.Errorf("accounts with none: %q, %q, %v", out, errOut, err)
	}
	if out := h.mustRun("approvals", "--json"); out != "[]\n" {
		t.Errorf("approvals --json with none = %q", out)
	}
	help := strings.Join(strings.Fields(h.mustRun("help")), " ")
	for _, c := range []string{"pair URI_OR_URL [--code CODE] [--name NAME]", "accounts [--json]", "unpair ID", "approvals [--json]"} {
		if !strings.Contains(help, " "+c+" ") {
			t.Errorf("help does not list %q:\n%s", c, help)
		}
	}
}

// TestApprovalCommandsRealKeyring pairs and unpairs with the device key in
// a real Secret Service, under its own keyring service; it runs under
// .ci/keyring-session (COUNTERSIGN_TEST_KEYRING).
func TestApprovalCommandsRealKeyring(t *testing.T) {
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
	_, uri := srv.PairingCode(ada)
	out := run("pair", uri, "--name", "desk")
	id := strings.TrimSuffix(strings.TrimSpace(out[strings.LastIndex(out, " ")+1:]), ")")
	devices := keyring.New(approver.KeyringService)
	if s, err := devices.Get(id); err != nil || s == "" {
		t.Fatalf("the device key of %s in the keyring: %q, %v", id, s, err)
	}
	if _, err := keyring.New(keyring.Service).Get(id); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the device key landed in the vault's keyring service: %v", err)
	}
	run("unpair", id)
	if _, err := devices.Get(id); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("after unpair: %v, want ErrNotFound", err)
	}
}
