package apiv1

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

// TestPermissionMatrix walks every cell of the permission table that API v1
// serves: every route with a token, as every kind of caller (the owner's
// desktop, a member's desktop, a read token, a write token, an OAuth access
// token), and for an action a member may do to their own, once on the
// caller's own and once on the owner's ("act on yourself", "act on the
// owner"). A cell the table allows must get past the permission checks (any
// answer but 401 and 403); a cell it refuses must get 403 (401 for the
// OAuth token, which is no API token) and change nothing the caller could
// see. A PATCH of a device is also walked with a member_id, the move.
func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	h := e.household(t)
	app, secret, err := e.oauth.RegisterClient(ctx, e.alice.ID, oauth.NewClient{
		Name: "Matrix", Homepage: "https://notes.example/", RedirectURIs: []string{devRedirect}, Scopes: []string{"openid", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	access, _ := e.signInToAppAs(t, e.alice, app.ID, secret)
	e.steps.strict()

	type who struct {
		kind   household.Caller
		token  string
		member string // the member it acts as
	}
	callers := []who{
		{household.OwnerDesktop, h.aliceTok, h.owner.ID},
		{household.MemberDesktop, h.samTok, h.sam.ID},
		{household.ReadToken, e.ro, h.owner.ID},
		{household.WriteToken, e.wo, h.owner.ID},
		{household.OAuthToken, access, h.owner.ID},
	}

	// A fresh thing of member m for each cell, so that an allowed removal
	// does not take the next cell's target.
	n := 0
	fresh := func(prefix string) string { n++; return fmt.Sprintf("%s %d", prefix, n) }
	browser := func(m string) string { return e.memberDevice(t, e.alice, m, fresh("Browser")).ID }
	desktop := func(m string) string { // paired in the store: pairing through the API is rate-limited
		now := e.clock.Now()
		code := []byte(fresh("code"))
		if err := e.db.AddPairingCode(ctx, &store.PairingCode{Hash: code, UserID: e.alice.ID, MemberID: m, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		a := &store.Approver{Name: fresh("Desktop"), Platform: "linux", PublicKey: make([]byte, 32), CreatedAt: now, LastSeenAt: now}
		if err := e.db.RedeemPairingCode(ctx, code, now, a); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	key := func(m string) string {
		k := &store.SecurityKey{UserID: e.alice.ID, Name: fresh("Key"), CredentialID: []byte(fresh("cred")), Credential: []byte("{}"),
			MemberID: m, CreatedAt: e.clock.Now()}
		if err := e.db.AddSecurityKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	session := func(m string) string {
		id := strings.ReplaceAll(fresh("session"), " ", "-")
		e.session(t, e.alice, id, browser(m))
		return id
	}
	alert := func(m string) string {
		return e.alertOf(t, e.alice, m, strings.ReplaceAll(fresh("alerted"), " ", "-"))
	}
	self := func(m string) string { return m }
	other := func(string) string { return e.addMember(t, fresh("Member")).ID }
	none := func(string) string { return "no-such-id" }

	// target makes the {id} of a route for member m; own says the action
	// is done to something of m (nil: the action is done to the account).
	type cell struct {
		method, path string
		act          household.Action
		target       func(m string) string
		own          bool
		body         func(whose string) string
	}
	nobody := func(string) string { return "" }
	// moveAway gives the device to the other one of Sam and the owner.
	moveAway := func(whose string) string {
		to := h.sam.ID
		if whose == h.sam.ID {
			to = h.owner.ID
		}
		return jsonOf(t, api.DeviceUpdate{MemberID: to})
	}
	named := func(string) string { return `{"name":"` + fresh("Renamed") + `"}` }
	cells := []cell{
		{"GET", "/api/v1/account", household.See, nil, false, nobody},
		{"POST", "/api/v1/step-up", household.StepUp, nil, false, func(string) string { return `{"password":"` + testPassword + `"}` }},
		{"GET", "/api/v1/devices", household.See, nil, false, nobody},
		{"PATCH", "/api/v1/devices/{id}", household.RenameDevice, browser, true, named},
		{"PATCH", "/api/v1/devices/{id}", household.RenameDevice, desktop, true, named},
		{"PATCH", "/api/v1/devices/{id}", household.RenameDevice, key, true, named},
		{"PATCH", "/api/v1/devices/{id}", household.MoveDevice, browser, true, moveAway},
		{"PATCH", "/api/v1/devices/{id}", household.MoveDevice, desktop, true, moveAway},
		{"DELETE", "/api/v1/devices/{id}", household.RemoveDevice, browser, true, nobody},
		{"DELETE", "/api/v1/devices/{id}", household.RemoveDevice, desktop, true, nobody},
		{"POST", "/api/v1/devices/{id}/sign-out", household.SignOutDevice, browser, true, nobody},
		{"GET", "/api/v1/sessions", household.See, nil, false, nobody},
		{"DELETE", "/api/v1/sessions", household.EndAllSessions, nil, false, nobody},
		{"DELETE", "/api/v1/sessions/{id}", household.EndSession, session, true, nobody},
		{"POST", "/api/v1/alerts/{id}/not-me", household.DisownSignIn, alert, true, nobody},
		{"GET", "/api/v1/security-keys", household.See, nil, false, nobody},
		{"DELETE", "/api/v1/security-keys/{id}", household.RemoveDevice, key, true, nobody},
		{"POST", "/api/v1/security-keys/registrations", household.AddKey, nil, false, nobody},
		{"POST", "/api/v1/security-keys/registrations/{id}", household.AddKey, none, false, func(string) string { return `{"credential":{}}` }},
		{"POST", "/api/v1/security-keys/assertions", household.CheckKey, nil, false, nobody},
		{"POST", "/api/v1/security-keys/assertions/{id}", household.CheckKey, none, false, func(string) string { return `{"credential":{}}` }},
		{"GET", "/api/v1/activity", household.See, nil, false, nobody},
		{"GET", "/api/v1/apps", household.See, nil, false, nobody},
		{"DELETE", "/api/v1/apps/{id}", household.RevokeApp, none, false, nobody},
		{"GET", "/api/v1/developer/apps", household.SeeDeveloperApps, nil, false, nobody},
		{"POST", "/api/v1/developer/apps", household.DeveloperApps, nil, false, nobody},
		{"POST", "/api/v1/developer/apps/{id}/secret", household.DeveloperApps, none, false, nobody},
		{"DELETE", "/api/v1/developer/apps/{id}", household.DeveloperApps, none, false, nobody},
		{"GET", "/api/v1/approvers", household.See, nil, false, nobody},
		{"DELETE", "/api/v1/approvers/{id}", household.RemoveDevice, desktop, true, nobody},
		{"GET", "/api/v1/approvals", household.Approve, nil, false, nobody},
		{"GET", "/api/v1/approvals/poll?timeout=0", household.Approve, nil, false, nobody},
		{"POST", "/api/v1/approvals/{id}/decision", household.Approve, none, false, func(string) string { return `{"decision":"deny"}` }},
		{"GET", "/api/v1/household", household.See, nil, false, nobody},
		{"POST", "/api/v1/household/members", household.AddMember, nil, false, func(string) string { return `{"name":"` + fresh("New") + `"}` }},
		{"PATCH", "/api/v1/household/members/{id}", household.RenameMember, self, true, named},
		{"DELETE", "/api/v1/household/members/{id}", household.RemoveMember, other, false, nobody},
		{"POST", "/api/v1/household/members/{id}/invitations", household.Invite, other, false, nobody},
		{"POST", "/api/v1/household/members/{id}/authenticator", household.Share, other, false, nobody},
		{"DELETE", "/api/v1/household/members/{id}/authenticator", household.Share, other, false, nobody},
		{"GET", "/api/v1/shares", household.AnswerShare, nil, false, nobody},
		{"POST", "/api/v1/shares/{id}/accept", household.AnswerShare, none, false, nobody},
		{"DELETE", "/api/v1/shares/{id}", household.AnswerShare, none, false, nobody},
		{"GET", "/api/v1/sync", household.Sync, nil, false, nobody},
		{"DELETE", "/api/v1/sync", household.Sync, nil, false, nobody},
		{"POST", "/api/v1/sync/start", household.Sync, nil, false, func(string) string { return `{"generation":2,"sealed":"AA"}` }},
		{"GET", "/api/v1/sync/records", household.Sync, nil, false, nobody},
		{"POST", "/api/v1/sync/records", household.Sync, nil, false, func(string) string { return `{"generation":1,"records":[]}` }},
		{"POST", "/api/v1/sync/rotate", household.Sync, nil, false, func(string) string { return `{"generation":2,"keys":{},"records":[]}` }},
		{"GET", "/api/v1/sync/joins", household.Sync, nil, false, nobody},
		{"POST", "/api/v1/sync/joins", household.Sync, nil, false, func(string) string { return `{"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}` }},
		{"POST", "/api/v1/sync/joins/{id}/approve", household.Sync, none, false, func(string) string { return `{"generation":1,"sealed":"AA"}` }},
	}

	// Every route with a token is walked; the stream is the poll's twin.
	walked := map[string]bool{"GET /api/v1/approvals/stream": true}
	for _, c := range cells {
		p, _, _ := strings.Cut(c.path, "?")
		walked[c.method+" "+p] = true
	}
	for _, rt := range routes {
		p := rt.Pattern
		for _, name := range []string{"{client_id}", "{challenge_id}"} {
			p = strings.ReplaceAll(p, name, "{id}")
		}
		if rt.Act != public && !walked[rt.Method+" "+p] {
			t.Errorf("%s %s is not walked by the permission matrix", rt.Method, rt.Pattern)
		}
	}

	// Each caller that may confirm it is the account's person has, for the
	// actions that need a fresh sign-in, a mark of its own.
	marks := map[household.Caller]string{}
	for _, by := range callers {
		if household.RuleOf(by.kind, household.StepUp) == household.Yes {
			marks[by.kind] = e.stepUp(t, by.token)
		}
	}

	checked := 0
	for _, c := range cells {
		for _, by := range callers {
			// Whose thing it is done to: the caller's own, then the owner's
			// (the same for the owner), or the account's.
			targets := []string{""}
			if c.own {
				targets = []string{by.member, h.owner.ID}
				if by.member == h.owner.ID {
					targets = []string{h.owner.ID, h.sam.ID}
				}
			}
			for _, whose := range targets {
				path, id := c.path, ""
				if c.target != nil {
					id = c.target(whose)
					path = strings.ReplaceAll(path, "{id}", id)
				}
				name := fmt.Sprintf("%s %s as %s", c.method, c.path, by.kind)
				if c.own {
					name += " on " + map[bool]string{true: "their own", false: "another member's"}[whose == by.member]
				}
				want := household.Permits(by.kind, c.act, by.member, whose)
				if !c.own {
					want = household.Permits(by.kind, c.act, by.member, by.member)
				}
				if household.NeedsFreshSignIn(c.act) {
					// Without the mark: refused as the table says, or, where it
					// allows it, asked to confirm first, and nothing done.
					r := e.do(t, req{method: c.method, path: path, token: by.token, body: c.body(whose)})
					checked++
					switch {
					case want && (r.status != http.StatusForbidden || !strings.Contains(string(r.body), api.CodeStepUpRequired)):
						t.Errorf("%s without a fresh confirmation: %d %s, want 403 %s", name, r.status, r.body, api.CodeStepUpRequired)
					case !want && strings.Contains(string(r.body), api.CodeStepUpRequired):
						t.Errorf("%s: the table refuses it, the server asked for a confirmation: %s", name, r.body)
					}
				}
				r := e.do(t, req{method: c.method, path: path, token: by.token, body: c.body(whose), stepUp: marks[by.kind]})
				checked++
				switch {
				case want && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden):
					t.Errorf("%s: the table allows it (%s), the server answered %d: %s", name, household.RuleOf(by.kind, c.act), r.status, r.body)
				case !want && by.kind == household.OAuthToken && r.status != http.StatusUnauthorized:
					t.Errorf("%s: an OAuth access token got %d, want 401: %s", name, r.status, r.body)
				case !want && by.kind != household.OAuthToken && r.status != http.StatusForbidden:
					t.Errorf("%s: the table refuses it (%s), the server answered %d: %s", name, household.RuleOf(by.kind, c.act), r.status, r.body)
				}
			}
		}
	}
	t.Logf("%d cells walked", checked)
}
