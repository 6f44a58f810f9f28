package approvertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// Fill is how much Server.Fill adds to an account: a dashboard of the size
// the benchmarks and the screenshots need.
type Fill struct {
	Members  []string // household members besides the owner; devices are dealt out to them and the owner in turn
	Browsers int      // trusted browsers
	Keys     int      // security keys
	Apps     int      // apps granted the account's consent
	Events   int      // activity events
}

// the browsers Fill trusts, in turn: user agent, browser, OS, kind.
var fillBrowsers = []struct{ ua, browser, os, kind string }{
	{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox 133", "Linux", "desktop"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131", "Windows", "desktop"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18", "iOS", "phone"},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari 18", "macOS", "laptop"},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131", "Android", "phone"},
	{"Mozilla/5.0 (Linux; Android 12; BRAVIA 4K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120", "Android TV", "tv"},
}

// the activity Fill writes, in turn.
var fillEvents = []struct {
	kind string
	ok   bool
	text string
}{
	{store.ActSignIn, true, "Signed in"},
	{store.ActTwoStepUsed, true, "Authenticator app"},
	{store.ActSignInFailed, false, "Wrong password"},
	{store.ActApprovalApproved, true, "Approved on a paired desktop"},
	{store.ActApprovalDenied, false, "Denied on a paired desktop"},
	{store.ActDeviceRenamed, true, "Trusted device renamed"},
	{store.ActSignOut, true, "Signed out"},
	{store.ActOAuthGranted, true, "An app was allowed to sign in"},
}

// Fill adds f's members, devices, apps and activity to u's account, straight
// into the store, spread over the last two years of the server's clock.
func (s *Server) Fill(u *store.User, f Fill) {
	s.t.Helper()
	ctx := context.Background()
	now := s.Clock.Now()
	members := []string{""} // the owner
	for i, name := range f.Members {
		m := &store.Member{ID: fmt.Sprintf("fill-member-%d", i), UserID: u.ID, Name: name, Role: api.RoleMember,
			CreatedAt: now.Add(time.Duration(i-len(f.Members)) * time.Minute)}
		if err := s.Store.AddMember(ctx, m); err != nil {
			s.t.Fatal(err)
		}
		members = append(members, m.ID)
	}
	ago := func(i, n int) time.Time { // the i-th of n, newest first
		return now.Add(-time.Duration(i) * 2 * 365 * 24 * time.Hour / time.Duration(max(n, 1)))
	}
	for i := range f.Browsers {
		b := fillBrowsers[i%len(fillBrowsers)]
		d := &store.Device{
			ID: fmt.Sprintf("fill-browser-%d", i), UserID: u.ID, Name: fmt.Sprintf("%s on %s #%d", b.browser, b.os, i+1),
			Kind: b.kind, Browser: b.browser, OS: b.os, IP: fmt.Sprintf("198.51.100.%d", i%250+1), UserAgent: b.ua,
			TokenHash: random(32), MemberID: members[i%len(members)],
			CreatedAt: ago(i, f.Browsers).Add(-time.Hour), LastSeenAt: ago(i, f.Browsers), TrustedUntil: now.Add(30 * 24 * time.Hour),
		}
		if err := s.Store.AddDevice(ctx, d); err != nil {
			s.t.Fatal(err)
		}
	}
	for i := range f.Keys {
		k := &store.SecurityKey{
			ID: fmt.Sprintf("fill-key-%d", i), UserID: u.ID, Name: fmt.Sprintf("Security key #%d", i+1),
			CredentialID: random(32), MemberID: members[(i+1)%len(members)],
			CreatedAt: ago(i, f.Keys).Add(-time.Hour), LastUsedAt: ago(i, f.Keys),
		}
		if err := s.Store.AddSecurityKey(ctx, k); err != nil {
			s.t.Fatal(err)
		}
	}
	scopes := [][]string{{"openid"}, {"openid", "email"}, {"openid", "email", "profile"}, {"openid", "profile", "offline_access"}}
	for i := range f.Apps {
		c := &store.OAuthClient{
			ID: fmt.Sprintf("fill-app-%d", i), OwnerID: u.ID, Name: fmt.Sprintf("App %d", i+1),
			RedirectURIs: []string{fmt.Sprintf("https://app%d.example/callback", i+1)}, Scopes: []string{"openid", "email", "profile", "offline_access"},
			Public: true, CreatedAt: ago(i, f.Apps),
		}
		if err := s.Store.CreateOAuthClient(ctx, c); err != nil {
			s.t.Fatal(err)
		}
		g := &store.OAuthGrant{UserID: u.ID, ClientID: c.ID, Scopes: scopes[i%len(scopes)], GrantedAt: ago(i, f.Apps), LastUsedAt: ago(i/2, f.Apps)}
		if err := s.Store.SaveOAuthGrant(ctx, g); err != nil {
			s.t.Fatal(err)
		}
	}
	for i := range f.Events {
		e := fillEvents[i%len(fillEvents)]
		b := fillBrowsers[i%len(fillBrowsers)]
		a := &store.Activity{UserID: u.ID, At: ago(f.Events-1-i, f.Events), Kind: e.kind, OK: e.ok,
			IP: fmt.Sprintf("203.0.113.%d", i%250+1), UserAgent: b.ua, Detail: e.text}
		if err := s.Store.AddActivity(ctx, a); err != nil {
			s.t.Fatal(err)
		}
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
