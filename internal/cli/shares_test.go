package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/vault"
)

// reshare offers the account's changed authenticator again, as the web
// server does after a new one is confirmed.
func reshare(t *testing.T, srv *approvertest.Server, userID string) {
	t.Helper()
	house, err := household.New(household.Options{Store: srv.Store, Approvals: srv.Approvals, Now: srv.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := house.Reshare(context.Background(), userID); err != nil {
		t.Fatal(err)
	}
}

// tagAccount tags an account of h's vault, as the window does.
func tagAccount(t *testing.T, h *harness, id, tag string) {
	t.Helper()
	v, err := vault.Open(h.home, vault.Options{Keys: h.keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Edit(id, func(a *vault.Account) error { a.Tags = append(a.Tags, tag); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestSharesCommands(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	ctx := context.Background()
	phone := &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "Phone",
		Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: srv.Clock.Now()}
	if err := srv.Store.AddMethod(ctx, phone); err != nil {
		t.Fatal(err)
	}
	_, uri := srv.PairingCode(ada)
	h, _ := pairedHarness(t, srv, uri, "Ada's desk")
	link := invitationLink(t, h.mustConfirm("household", "add", "Sam"))
	sam, _ := pairedHarness(t, srv, link, "Sam's laptop")

	// Nothing is offered before the owner shares.
	if out, errOut, err := sam.run("", "shares"); err != nil || out != "" || !strings.Contains(errOut, "no authenticators are offered") {
		t.Errorf("shares with none: %q, %q, %v", out, errOut, err)
	}
	if out := sam.mustRun("shares", "--json"); out != "{\n  \"offers\": []\n}\n" {
		t.Errorf("shares --json with none = %q", out)
	}

	// Listed, never with the secret.
	h.mustConfirm("household", "share", "Sam")
	secret := otp.Key{Secret: phone.Secret}.SecretBase32()
	list := decodeJSON[shareListJSON](t, sam.mustRun("shares", "--json"))
	if len(list.Offers) != 1 || list.Offers[0].From != "Ada" || list.Offers[0].Label != "Phone" ||
		list.Offers[0].Account.Email != "ada@example.com" || list.Offers[0].Rekeyed {
		t.Fatalf("shares --json = %+v, want Ada's authenticator offered", list)
	}
	offer := list.Offers[0].ID
	out, errOut, err := sam.run("", "shares")
	if err != nil || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "RE-KEYED") ||
		!strings.Contains(out, offer+"  Ada   Phone  ada@example.com  -") || !strings.Contains(errOut, "countersign shares accept ID") {
		t.Errorf("shares printed %q, %q, %v", out, errOut, err)
	}
	for _, args := range [][]string{{"shares"}, {"shares", "--json"}} {
		if out := sam.mustRun(args...); strings.Contains(out, secret) || strings.Contains(out, "otpauth") || strings.Contains(out, "sealed") {
			t.Errorf("countersign %s shows the secret:\n%s", strings.Join(args, " "), out)
		}
	}

	// Accepted by a prefix of its id: the vault computes the server's codes.
	out, errOut, err = sam.run("", "shares", "accept", offer[:6])
	if err != nil || !strings.HasPrefix(out, "added Countersign (ada@example.com) to the vault (id ") || strings.Contains(out+errOut, secret) {
		t.Fatalf("shares accept printed %q, %q, %v", out, errOut, err)
	}
	accounts := decodeJSON[[]accountJSON](t, sam.mustRun("list", "--json"))
	if len(accounts) != 1 || accounts[0].Issuer != "Countersign" || accounts[0].Name != "ada@example.com" {
		t.Fatalf("the vault after accepting: %+v", accounts)
	}
	// The server checks codes with the method's secret as SHA1, 6 digits, 30 s.
	server := otp.Key{Type: otp.TOTP, Name: "server", Secret: phone.Secret, Algorithm: otp.SHA1, Digits: 6, Period: 30}.Normalize()
	want, err := otp.Code(server, sam.now)
	if err != nil {
		t.Fatal(err)
	}
	if got := sam.mustRun("code", "countersign"); got != want+"\n" {
		t.Errorf("the vault's code is %q, the server's %q", got, want)
	}
	if out := sam.mustRun("shares", "--json"); out != "{\n  \"offers\": []\n}\n" {
		t.Errorf("shares --json after accepting = %q", out)
	}
	page := decodeJSON[api.ActivityPage](t, h.mustRun("activity", "--category", "changes", "--json"))
	if len(page.Events) == 0 || !strings.Contains(page.Events[0].Detail, "added on Sam's laptop") {
		t.Errorf("the newest change is %+v, want the authenticator added on Sam's laptop", page.Events)
	}

	// A new secret on the account is offered again, re-keyed, and replaces
	// the account's secret in the vault, keeping its tags.
	id := accounts[0].ID
	tagAccount(t, sam, id, "family")
	newer := &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "New phone",
		Secret: []byte("abcdefghijklmnopqrst"), Confirmed: true, CreatedAt: srv.Clock.Now().Add(time.Minute)}
	if err := srv.Store.AddMethod(ctx, newer); err != nil {
		t.Fatal(err)
	}
	reshare(t, srv, ada.ID)
	list = decodeJSON[shareListJSON](t, sam.mustRun("shares", "--json"))
	if len(list.Offers) != 1 || !list.Offers[0].Rekeyed || list.Offers[0].Label != "New phone" {
		t.Fatalf("shares --json after a re-key = %+v", list)
	}
	if out := sam.mustRun("shares"); !strings.Contains(out, "New phone  ada@example.com  yes") {
		t.Errorf("shares after a re-key printed:\n%s", out)
	}
	res := decodeJSON[acceptedJSON](t, sam.mustRun("shares", "accept", list.Offers[0].ID, "--json"))
	if !res.Replaced || res.Already || res.ID != id || res.Label != "Countersign (ada@example.com)" {
		t.Errorf("shares accept --json of the re-key = %+v, want %s replaced", res, id)
	}
	accounts = decodeJSON[[]accountJSON](t, sam.mustRun("list", "--json"))
	if len(accounts) != 1 || accounts[0].ID != id || len(accounts[0].Tags) != 1 || accounts[0].Tags[0] != "family" {
		t.Errorf("the vault after the re-key: %+v, want %s with its tag", accounts, id)
	}
	server.Secret = newer.Secret
	if want, _ := otp.Code(server, sam.now); sam.mustRun("code", "countersign") != want+"\n" {
		t.Errorf("after the re-key the vault's code is not the new secret's %q", want)
	}

	// Declined: the offer is gone and the vault unchanged.
	h.mustConfirm("household", "share", "Sam")
	list = decodeJSON[shareListJSON](t, sam.mustRun("shares", "--json"))
	if len(list.Offers) != 1 {
		t.Fatalf("shares --json after sharing again = %+v", list)
	}
	if out := sam.mustRun("shares", "decline", list.Offers[0].ID); out != "declined the authenticator Ada shared: the server forgets it\n" {
		t.Errorf("shares decline printed %q", out)
	}
	if out := sam.mustRun("shares", "--json"); out != "{\n  \"offers\": []\n}\n" {
		t.Errorf("shares --json after declining = %q", out)
	}
	if n := len(decodeJSON[[]accountJSON](t, sam.mustRun("list", "--json"))); n != 1 {
		t.Errorf("the vault holds %d accounts after declining, want 1", n)
	}
	if _, _, err := sam.run("", "shares", "accept", list.Offers[0].ID); err == nil || !strings.Contains(err.Error(), "no offer") {
		t.Errorf("accepting a declined offer: %v", err)
	}

	// Mistakes.
	for _, args := range [][]string{{"shares", "accept"}, {"shares", "decline", "a", "b"}, {"shares", "take", "x"}, {"shares", "x"}} {
		if _, _, err := sam.run("", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("countersign %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if help := strings.Join(strings.Fields(h.mustRun("--help")), " "); !strings.Contains(help, " shares "+sharesSynopsis+" ") {
		t.Errorf("help does not list shares:\n%s", help)
	}
}
