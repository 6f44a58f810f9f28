package approver

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store"
)

// TestSignInAlert: a sign-in from a browser the account has not used
// reaches the owner's paired desktop as EventAlert (not a member's,
// whose sign-in it is not), and "This wasn't me" there signs that browser
// out.
func TestSignInAlert(t *testing.T) {
	srv := approvertest.Start(t)
	ctx := context.Background()
	ada := srv.User("ada@example.com", "Ada Lovelace")
	ada.TwoStep = false // the password alone signs in: the sign-in is the test's, not the approval's
	if err := srv.Store.UpdateUser(ctx, ada); err != nil {
		t.Fatal(err)
	}
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "Ada's laptop")
	sam := &store.Member{UserID: ada.ID, Name: "Sam"}
	if err := srv.Store.AddMember(ctx, sam); err != nil {
		t.Fatal(err)
	}
	_, samURI, _, err := srv.Approvals.NewMemberPairingCode(ctx, ada.ID, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	samDesk := newCompanion(t, srv)
	samDesk.pair(srv, samURI, "Sam's laptop")
	for _, d := range []*companion{c, samDesk} {
		d.run()
		d.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	}

	signIn := func(ua string) *webtest.Client {
		b := webtest.New(t, srv.URL)
		b.UserAgent = ua
		res := b.Post("/signin", "/signin", url.Values{"login": {"ada@example.com"}, "password": {approvertest.Password}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/security" {
			t.Fatalf("sign-in with %s: %d to %q", ua, res.StatusCode, res.Header.Get("Location"))
		}
		return b
	}
	signedIn := func(b *webtest.Client) bool {
		res, _ := b.Do(ctx, http.MethodGet, "/account/security", nil)
		return res.StatusCode == http.StatusOK
	}
	home := signIn(webtest.ChromeLinux) // the account's first sign-in: no alert
	away := signIn(webtest.FirefoxWindows)

	e := c.wait(EventAlert, nil)
	al := e.Alert
	if e.Account.ID != a.ID || al.Browser != "Firefox 133 on Windows 10" || al.IP != "127.0.0.1" || al.ID == "" {
		t.Fatalf("alert = %+v of %s", al, e.Account.ID)
	}
	if len(al.New) != 1 || al.New[0] != "browser" {
		t.Errorf("alert says %v is new, want the browser", al.New)
	}
	for _, ev := range c.drain(200 * time.Millisecond) {
		if ev.Kind == EventAlert {
			t.Errorf("a second alert: %+v", ev.Alert)
		}
	}
	for _, ev := range samDesk.drain(200 * time.Millisecond) {
		if ev.Kind == EventAlert {
			t.Errorf("Sam's desktop got the alert of the owner's sign-in: %+v", ev.Alert)
		}
	}

	got, err := c.NotMe(ctx, a.ID, al.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sessions != 1 || got.PasswordURL != srv.URL+"/account/password" {
		t.Errorf("NotMe = %+v", got)
	}
	if signedIn(away) {
		t.Error("the alerted browser is still signed in")
	}
	if !signedIn(home) {
		t.Error("the account's own browser was signed out too")
	}
	if _, err := c.NotMe(ctx, a.ID, al.ID); err == nil {
		t.Error("NotMe twice: no error")
	}
}
