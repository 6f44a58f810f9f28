package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/store"
)

// TestPermissionMatrix walks the web pages' cells of the permission table:
// every signed-in page (Server.actions) as the owner's browser and as a
// member's (signed in by the member's desktop's approval), and for an
// action a member may do to their own, once on the caller's own device,
// session or self and once on the other's. A cell the table allows must get
// past the checks (any answer but 403 and a trip to the sign-in page); a
// refused one must get 403 with the table's sentence. Forms are sent empty
// or with a wrong password where a right one would change the account under
// the next cells (the checks come before the form is read).
func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, adaDesk := approverUser(t, e)
	u := e.user("ada@example.com")
	own, err := e.db.OwnerMember(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sam, err := e.srv.house.AddMember(ctx, u.ID, "Sam")
	if err != nil {
		t.Fatal(err)
	}
	code, _, _, err := e.srv.house.Invite(ctx, u.ID, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	res, err := e.srv.approvals.Redeem(ctx, api.Pairing{Code: code, PublicKey: base64.RawURLEncoding.EncodeToString(pub), Name: "Sam's desktop"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	samApprover, _ := e.db.Approver(ctx, res.DeviceID)
	samDesk := &desktop{priv: priv, a: samApprover}

	// signIn signs c in with d's approval: the session acts as d's member.
	signIn := func(c *client, d *desktop) {
		t.Helper()
		req, n := waitingRequest(t, e, c)
		d.decide(t, e, req, api.DecisionApprove, n)
		if r := c.post("/signin/approval/complete", nil); r.status != http.StatusSeeOther {
			t.Fatalf("sign-in approved on %s: %d %s", d.a.Name, r.status, r.body)
		}
		c.get("/account/security") // the form token
	}
	member := e.client()
	signIn(owner, adaDesk)
	signIn(member, samDesk)

	type who struct {
		kind household.Caller
		c    *client
		self string
		d    *desktop
	}
	callers := []who{{household.MemberBrowser, member, sam.ID, samDesk}, {household.OwnerBrowser, owner, own.ID, adaDesk}}

	// Fresh targets, so that an allowed removal leaves the next cell one.
	n := 0
	fresh := func(prefix string) string { n++; return fmt.Sprintf("%s %d", prefix, n) }
	now := e.clock.Now()
	browser := func(m string) string {
		d := &store.Device{UserID: u.ID, Name: fresh("Browser"), Kind: "laptop", MemberID: m, CreatedAt: now, LastSeenAt: now, TrustedUntil: now.Add(time.Hour)}
		if err := e.db.AddDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	desk := func(m string) string {
		h := []byte(fresh("code"))
		if err := e.db.AddPairingCode(ctx, &store.PairingCode{Hash: h, UserID: u.ID, MemberID: m, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		a := &store.Approver{Name: fresh("Desktop"), Platform: "linux", PublicKey: make([]byte, 32), CreatedAt: now, LastSeenAt: now}
		if err := e.db.RedeemPairingCode(ctx, h, now, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	key := func(m string) string {
		k := &store.SecurityKey{UserID: u.ID, Name: fresh("Key"), CredentialID: []byte(fresh("cred")), Credential: []byte("{}"), MemberID: m, CreatedAt: now}
		if err := e.db.AddSecurityKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	passkey := func(m string) string {
		k := &store.SecurityKey{UserID: u.ID, Name: fresh("Passkey"), CredentialID: []byte(fresh("cred")), Credential: []byte("{}"), MemberID: m, Discoverable: true, CreatedAt: now}
		if err := e.db.AddSecurityKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	session := func(m string) string {
		s := &store.Session{ID: strings.ReplaceAll(fresh("session"), " ", "-"), UserID: u.ID, MemberID: m, Stage: store.StageFull,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := e.db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	self := func(m string) string { return m }
	other := func(string) string {
		m, err := e.srv.house.AddMember(ctx, u.ID, fresh("Member"))
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	none := func(string) string { return "no-such-id" }

	type cell struct {
		target func(m string) string // fills {id} and {client_id}; nil: none
		own    bool                  // done to something of the target's member
		form   url.Values
	}
	wrongPassword := url.Values{"current": {"not the password"}, "password": {"not the password"}, "new": {"x"}, "confirm": {"x"}}
	cells := map[string]cell{
		"GET /account/security":                             {},
		"GET /account/security/sign-in":                     {},
		"GET /account/security/devices":                     {},
		"GET /account/security/apps":                        {},
		"GET /account/security/household":                   {},
		"GET /account/activity":                             {},
		"GET /account/password":                             {},
		"POST /account/password":                            {form: wrongPassword},
		"GET /account/two-step":                             {},
		"GET /account/two-step/totp":                        {},
		"POST /account/two-step/totp":                       {form: url.Values{"code": {"000000"}}},
		"GET /account/two-step/phone":                       {},
		"POST /account/two-step/phone":                      {form: url.Values{"phone": {"not a number"}}},
		"POST /account/two-step/phone/verify":               {form: url.Values{"code": {"000000"}}},
		"POST /account/two-step/enable":                     {},
		"POST /account/two-step/disable":                    {form: wrongPassword},
		"POST /account/methods/{id}/remove":                 {target: none},
		"POST /account/backup-codes":                        {form: wrongPassword},
		"POST /account/security-keys/begin":                 {},
		"POST /account/security-keys/finish":                {},
		"POST /account/security-keys/{id}/remove":           {target: key, own: true},
		"POST /account/passkeys/begin":                      {},
		"POST /account/passkeys/finish":                     {},
		"POST /account/passkeys/{id}/remove":                {target: passkey, own: true},
		"GET /account/approvers/pair":                       {},
		"POST /account/approvers/pair":                      {},
		"POST /account/approvers/{id}/remove":               {target: desk, own: true},
		"POST /account/approvers/require-key":               {form: url.Values{"require": {"0"}}},
		"GET /account/devices/{id}/rename":                  {target: browser, own: true},
		"POST /account/devices/{id}/rename":                 {target: browser, own: true},
		"POST /account/devices/{id}/remove":                 {target: browser, own: true},
		"POST /account/sessions/{id}/revoke":                {target: session, own: true},
		"POST /account/sessions/others":                     {}, // last: the owner's ends the member's session
		"POST /account/household/members":                   {},
		"GET /account/household/members/{id}/rename":        {target: self, own: true},
		"POST /account/household/members/{id}/rename":       {target: self, own: true},
		"GET /account/household/members/{id}/remove":        {target: other},
		"POST /account/household/members/{id}/remove":       {target: other},
		"GET /account/household/members/{id}/invite":        {target: other},
		"POST /account/household/members/{id}/invite":       {target: other},
		"POST /account/household/members/{id}/share":        {target: other},
		"POST /account/household/members/{id}/stop-sharing": {target: other},
		"GET /account/household/devices/{id}/move":          {target: browser},
		"POST /account/household/devices/{id}/move":         {target: browser},
		"POST /account/api-tokens":                          {},
		"POST /account/api-tokens/{id}/revoke":              {target: none},
		"POST /account/alerts":                              {form: url.Values{"mail": {"1"}, "desktop": {"1"}}},
		"POST /oauth/consent":                               {},
		"GET /developer/apps":                               {},
		"POST /developer/apps":                              {},
		"POST /developer/apps/{id}/rotate":                  {target: none},
		"GET /developer/apps/{id}/delete":                   {target: none},
		"POST /developer/apps/{id}/delete":                  {target: none},
		"POST /account/apps/{client_id}/revoke":             {target: none},
	}
	for pattern := range e.srv.actions {
		if _, ok := cells[pattern]; !ok {
			t.Errorf("%s is not walked by the permission matrix", pattern)
		}
	}
	patterns := slices.Sorted(func(yield func(string) bool) {
		for p := range cells {
			if p != "POST /account/sessions/others" && !yield(p) {
				return
			}
		}
	})
	patterns = append(patterns, "POST /account/sessions/others")

	// The pages offer only what the session may do.
	for _, by := range callers {
		page := by.c.sections().body
		for _, form := range []string{`id="member-add-form"`, `id="api-token-form"`, `action="/account/backup-codes"`, `id="signout-others-form"`, `href="/account/password"`} {
			if owner := by.kind == household.OwnerBrowser; strings.Contains(page, form) != owner {
				t.Errorf("the %s's security page shows %s: %v, want %v", by.kind, form, !owner, owner)
			}
		}
		if strings.Contains(page, `id="acting-as"`) != (by.kind == household.MemberBrowser) {
			t.Errorf("the %s's security page says whom it acts as: %v", by.kind, by.kind != household.MemberBrowser)
		}
	}

	checked := 0
	for _, pattern := range patterns {
		c := cells[pattern]
		act, ok := e.srv.actions[pattern]
		if !ok {
			t.Errorf("%s is walked but not served", pattern)
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		for _, by := range callers {
			targets := []string{by.self}
			if c.own {
				targets = []string{by.self, own.ID}
				if by.self == own.ID {
					targets = []string{own.ID, sam.ID}
				}
			}
			for _, whose := range targets {
				p := path
				if c.target != nil {
					id := url.PathEscape(c.target(whose))
					p = strings.NewReplacer("{id}", id, "{client_id}", id).Replace(p)
				}
				form := url.Values{}
				for k, v := range c.form {
					form[k] = v
				}
				var r *resp
				switch {
				case method == "GET":
					r = by.c.get(p)
				case strings.HasSuffix(p, "keys/begin") || strings.HasSuffix(p, "keys/finish"):
					r = by.c.postJSON(p, "{}")
				default:
					r = by.c.post(p, form)
				}
				checked++
				want := household.Permits(by.kind, act, by.self, whose)
				name := fmt.Sprintf("%s as %s", pattern, by.kind)
				if c.own {
					name += map[bool]string{true: " on their own", false: " on another's"}[whose == by.self]
				}
				body := html.UnescapeString(r.body)
				switch {
				case r.status == http.StatusSeeOther && strings.HasPrefix(r.loc, "/signin"):
					t.Errorf("%s: signed out (%s); the cells before it changed the session", name, r.loc)
				case want && r.status == http.StatusForbidden:
					t.Errorf("%s: the table allows it (%s), the page answered 403: %s", name, household.RuleOf(by.kind, act), body)
				case !want && r.status != http.StatusForbidden:
					t.Errorf("%s: the table refuses it (%s), the page answered %d", name, household.RuleOf(by.kind, act), r.status)
				case !want && !strings.Contains(body, "owner") && !strings.Contains(body, "cannot"):
					t.Errorf("%s: refused without saying who may: %s", name, body)
				}
			}
		}
	}
	t.Logf("%d cells walked", checked)
}
