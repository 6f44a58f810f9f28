package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// householdSection is the page's Household section, unescaped.
func householdSection(t *testing.T, body string) string {
	t.Helper()
	sec := sectionOf(body, "household")
	if sec == "" {
		t.Fatalf("no household section: %s", body)
	}
	return html.UnescapeString(sec)
}

// addMember adds a member through the page and returns them.
func (c *client) addMember(name string) *store.Member {
	c.t.Helper()
	c.get("/account/security")
	r := c.post("/account/household/members", url.Values{"name": {name}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("add %s: %d %s", name, r.status, r.body)
	}
	return c.e.member(name)
}

// member is the household member called name of the only account.
func (e *env) member(name string) *store.Member {
	e.t.Helper()
	ms, err := e.db.Members(context.Background(), e.user("ada@example.com").ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range ms {
		if ms[i].Name == name {
			return &ms[i]
		}
	}
	e.t.Fatalf("no member %q in %+v", name, ms)
	return nil
}

// companion is a desktop paired through API v1 with its device token.
type companion struct {
	d     *desktop
	token string
}

// inviteDesktop makes an invitation for m on its page and pairs a desktop
// with it through POST /api/v1/pairings, as the companion does.
func (c *client) inviteDesktop(m *store.Member, name string) *companion {
	c.t.Helper()
	r := c.get("/account/household/members/" + m.ID + "/invite")
	mustContain(c.t, r.body, "Invite "+m.Name+"&#39;s desktop", `id="pair-start-form"`)
	r = c.post("/account/household/members/"+m.ID+"/invite", nil)
	code := pairCodeRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || code == nil || !pairQRRe.MatchString(r.body) || !pairURIRe.MatchString(r.body) {
		c.t.Fatalf("no invitation code, QR code and link: %d %s", r.status, r.body)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := json.Marshal(api.Pairing{Code: code[1], PublicKey: base64.RawURLEncoding.EncodeToString(pub), Name: name, Platform: "linux"})
	res := c.e.client().do("POST", "/api/v1/pairings", strings.NewReader(string(body)), "application/json", nil)
	if res.status != http.StatusCreated {
		c.t.Fatalf("pairing with the invitation: %d %s", res.status, res.body)
	}
	var paired api.PairingResult
	if err := json.Unmarshal([]byte(res.body), &paired); err != nil {
		c.t.Fatal(err)
	}
	ctx := context.Background()
	a, err := c.e.db.Approver(ctx, paired.DeviceID)
	if err != nil {
		c.t.Fatal(err)
	}
	challenge, _, err := c.e.srv.approvals.Challenge(ctx, a.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	sig := ed25519.Sign(priv, api.AuthMessage(a.ID, challenge))
	tok, _, err := c.e.srv.approvals.Token(ctx, api.AuthTokenRequest{DeviceID: a.ID, Challenge: challenge, Signature: base64.RawURLEncoding.EncodeToString(sig)})
	if err != nil {
		c.t.Fatal(err)
	}
	return &companion{d: &desktop{priv: priv, a: a}, token: tok}
}

// household calls GET /api/v1/household with the device token.
func (co *companion) household(t *testing.T, e *env) (int, string, *api.Household) {
	t.Helper()
	r := e.client().do("GET", "/api/v1/household", nil, "", http.Header{"Authorization": {"Bearer " + co.token}})
	var h api.Household
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &h); err != nil {
			t.Fatal(err)
		}
	}
	return r.status, r.body, &h
}

func TestHouseholdSectionListsMembersAndDevices(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	c.pairDesktop("Ada's laptop")
	sam := c.addMember("Sam")
	c.inviteDesktop(sam, "Sam's desktop")

	r := c.sections()
	sec := householdSection(t, r.body)
	owner, member := strings.Index(sec, "Ada Lovelace <em class=\"tag role\">Owner</em>"), strings.Index(sec, "Sam <em class=\"tag role\">Member</em>")
	if owner < 0 || member < 0 || owner > member {
		t.Fatalf("owner at %d, member at %d; want the owner first:\n%s", owner, member, sec)
	}
	adas, sams := sec[owner:member], sec[member:]
	mustContain(t, adas, "1 paired desktop")
	mustContain(t, sams, "1 paired desktop", "Does not share the authenticator",
		"Share the authenticator", "Remove Sam", "Invite a desktop")
	if strings.Contains(adas, "Remove Ada") || strings.Contains(adas, "share the authenticator") {
		t.Errorf("the owner can be removed or shared with:\n%s", adas)
	}
	// Each device is listed once, on Devices, named with its member.
	devs := html.UnescapeString(c.get("/account/security/devices").body)
	mustContain(t, devs, "Ada's laptop <em class=\"tag\">Ada Lovelace</em>", "Sam's desktop <em class=\"tag\">Sam</em>")
	for _, name := range []string{"Ada's laptop", "Sam's desktop"} {
		if n := strings.Count(html.UnescapeString(r.body), name+" <em"); n != 1 {
			t.Errorf("%s is listed %d times over the sections, want once", name, n)
		}
	}
}

func TestHouseholdAddAndRenameMembers(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	sam := c.addMember("Sam")
	if sam.Role != api.RoleMember {
		t.Errorf("role %q, want %q", sam.Role, api.RoleMember)
	}
	r := c.follow(&resp{status: http.StatusSeeOther, loc: "/account/security/household"})
	mustContain(t, r.body, "Sam is in the household.")

	tests := []struct {
		name, path, value string
		back              string // where the refusal sends the form, "" for none
		want              string
	}{
		{"add a taken name", "/account/household/members", "sam", "/account/security/household#household", "The household already has a member called sam: choose another name."},
		{"add an empty name", "/account/household/members", "  ", "/account/security/household#household", "Give the member a name of 1 to 64 characters."},
		{"rename to a taken name", "/account/household/members/" + sam.ID + "/rename", "ADA LOVELACE", "/account/household/members/" + sam.ID + "/rename", "The household already has a member called ADA LOVELACE: choose another name."},
		{"rename to a long name", "/account/household/members/" + sam.ID + "/rename", strings.Repeat("x", 65), "/account/household/members/" + sam.ID + "/rename", "Give the member a name of 1 to 64 characters."},
		{"rename an unknown member", "/account/household/members/nobody/rename", "Kim", "", "There is nothing at this address."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.post(tt.path, url.Values{"name": {tt.value}})
			if tt.back == "" {
				if r.status != http.StatusNotFound {
					t.Errorf("status %d, want 404", r.status)
				}
			} else {
				r = c.refused(r, tt.back)
			}
			if !strings.Contains(html.UnescapeString(r.body), tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
			if tt.back != "" {
				mustContain(t, r.body, `aria-invalid="true"`)
			}
		})
	}
	if got := e.member("Sam").Name; got != "Sam" {
		t.Errorf("after refused renames the member is %q, want Sam", got)
	}

	r = c.post("/account/household/members/"+sam.ID+"/rename", url.Values{"name": {"Samantha"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	r = c.follow(r)
	mustContain(t, householdSection(t, r.body), "Samantha")
	if got := e.member("Samantha").ID; got != sam.ID {
		t.Errorf("renamed member %s, want %s", got, sam.ID)
	}
	if kinds := activityKinds(t, e, e.user("ada@example.com").ID); !hasActivity(kinds, store.ActMemberRenamed+": Renamed Sam to Samantha") {
		t.Errorf("no rename in the activity: %q", kinds)
	}
}

func TestHouseholdRemoveMemberAfterConfirm(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	sam := c.addMember("Sam")
	// With no devices yet the confirmation says so, not "Sam's 0 devices".
	kim := c.addMember("Kim")
	if r := c.post("/account/household/members/"+kim.ID+"/remove", nil); !strings.Contains(r.body, "Kim has no devices.") || strings.Contains(r.body, "0 devices") {
		t.Errorf("removing a member without devices asks: %s", sectionOf(r.body, "member-remove"))
	}
	co := c.inviteDesktop(sam, "Sam's desktop")
	if co.d.a.MemberID != sam.ID {
		t.Fatalf("the invited desktop belongs to %q, want Sam (%s)", co.d.a.MemberID, sam.ID)
	}
	status, body, h := co.household(t, e)
	if status != http.StatusOK || h.You != sam.ID {
		t.Fatalf("Sam's desktop token: %d %s", status, body)
	}

	c.get("/account/security")
	r := c.post("/account/household/members/"+sam.ID+"/remove", nil)
	if r.status != http.StatusOK {
		t.Fatalf("confirm page: %d %s", r.status, r.body)
	}
	mustContain(t, html.UnescapeString(r.body), "Remove Sam?", "Sam's 1 device is signed out and removed", `id="member-remove-confirm"`)
	if _, err := e.db.Member(context.Background(), e.user("ada@example.com").ID, sam.ID); err != nil {
		t.Fatalf("Sam is gone before the confirmation: %v", err)
	}

	r = c.post("/account/household/members/"+sam.ID+"/remove", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", r.status, r.body)
	}
	r = c.follow(r)
	mustContain(t, html.UnescapeString(r.body), "Sam is removed from the household: their 1 device is signed out and removed.")
	if strings.Contains(householdSection(t, r.body), "Sam <em") {
		t.Errorf("Sam is still listed")
	}
	a, err := e.db.Approver(context.Background(), co.d.a.ID)
	if err != nil || a.RemovedAt.IsZero() {
		t.Errorf("Sam's desktop is not removed: %+v, %v", a, err)
	}
	status, body, _ = co.household(t, e)
	if status != http.StatusUnauthorized || !strings.Contains(body, "device_revoked") {
		t.Errorf("Sam's desktop token after removal: %d %s, want 401 device_revoked", status, body)
	}
}

func TestHouseholdRemoveMemberOfThisBrowser(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	e.clock.Advance(30e9)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	c.submit("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}, "remember": {"1"}})
	devs, _ := e.db.Devices(context.Background(), e.user("ada@example.com").ID)
	if len(devs) != 1 {
		t.Fatalf("%d trusted browsers, want 1", len(devs))
	}
	sam := c.addMember("Sam")
	r := c.submit("/account/household/devices/"+devs[0].ID+"/move", url.Values{"member": {sam.ID}})
	mustContain(t, html.UnescapeString(sectionOf(r.body, "browsers")), "this browser</em> <em class=\"tag\">Sam</em>")

	r = c.post("/account/household/members/"+sam.ID+"/remove", nil)
	mustContain(t, html.UnescapeString(r.body), "This browser is Sam's: you will be signed out too.")
	r = c.post("/account/household/members/"+sam.ID+"/remove", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/signin" {
		t.Errorf("removing this browser's member: %d %q, want a redirect to /signin", r.status, r.loc)
	}
	if c.cookie(deviceCookie) != "" || c.cookie(sessionCookie) != "" {
		t.Error("the browser's cookies are still set")
	}
	if r := c.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("still signed in: %d", r.status)
	}
}

func TestHouseholdOwnerCannotBeRemoved(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	owner := e.member("Ada Lovelace")
	for _, method := range []string{"GET", "POST"} {
		var r *resp
		if method == "GET" {
			r = c.get("/account/household/members/" + owner.ID + "/remove")
		} else {
			r = c.post("/account/household/members/"+owner.ID+"/remove", url.Values{"confirm": {"1"}})
		}
		if r.status != http.StatusConflict || !strings.Contains(html.UnescapeString(r.body), "is the account's owner and cannot be removed") {
			t.Errorf("%s remove the owner: %d, want 409 with the reason", method, r.status)
		}
	}
	if _, err := e.db.OwnerMember(context.Background(), e.user("ada@example.com").ID); err != nil {
		t.Errorf("the owner is gone: %v", err)
	}
}

func TestHouseholdShareAuthenticator(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	sam := c.addMember("Sam")
	share := "/account/household/members/" + sam.ID + "/share"

	r := c.refused(c.post(share, nil), "/account/security/household#household")
	mustContain(t, html.UnescapeString(householdSection(t, r.body)), `id="form-error" role="alert">Turn on an authenticator app for the account first`)

	c.addTOTP()
	c.get("/account/security")
	r = c.refused(c.post(share, nil), "/account/security/household#household")
	mustContain(t, html.UnescapeString(r.body), `id="form-error" role="alert">Invite Sam's desktop first: Sam has no paired desktop to share with.`)
	if e.member("Sam").SharesAuthenticator {
		t.Fatal("shared with no desktop")
	}

	co := c.inviteDesktop(sam, "Sam's desktop")
	c.get("/account/security")
	r = c.post(share, nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("share: %d %s", r.status, r.body)
	}
	r = c.follow(r)
	mustContain(t, html.UnescapeString(r.body), "The authenticator is offered to Sam on their desktop", "Shares the authenticator", "Stop sharing the authenticator")
	if !e.member("Sam").SharesAuthenticator {
		t.Error("Sam does not share the authenticator")
	}
	offers, err := e.db.ShareOffers(context.Background(), co.d.a.ID)
	if err != nil || len(offers) != 1 {
		t.Fatalf("offers to Sam's desktop: %d, %v; want 1", len(offers), err)
	}

	r = c.post("/account/household/members/"+sam.ID+"/stop-sharing", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("stop sharing: %d %s", r.status, r.body)
	}
	if e.member("Sam").SharesAuthenticator {
		t.Error("Sam still shares the authenticator")
	}
	if offers, _ := e.db.ShareOffers(context.Background(), co.d.a.ID); len(offers) != 0 {
		t.Errorf("%d offers left after stopping, want 0", len(offers))
	}
}

func TestHouseholdMoveDevice(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	d := c.pairDesktop("Ada's laptop")
	sam := c.addMember("Sam")
	owner := e.member("Ada Lovelace")
	ctx := context.Background()
	move := "/account/household/devices/" + d.a.ID + "/move"

	// The security page links each device's move; the move has a page.
	r := c.sections()
	mustContain(t, r.body, `href="`+move+`"`, ">Move to…</a>")
	r = c.get(move)
	mustContain(t, r.body, `action="`+move+`"`, `<option value="`+sam.ID+`">Sam</option>`, `<option value="`+owner.ID+`" selected>Ada Lovelace</option>`)

	r = c.post(move, url.Values{"member": {sam.ID}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("move: %d %s", r.status, r.body)
	}
	if a, _ := e.db.Approver(ctx, d.a.ID); a.MemberID != sam.ID {
		t.Errorf("the desktop belongs to %q, want Sam (%s)", a.MemberID, sam.ID)
	}
	r = c.follow(r)
	mustContain(t, html.UnescapeString(r.body), "“Ada's laptop” is Sam's now.")
	if sec := html.UnescapeString(sectionOf(r.body, "approvers")); !strings.Contains(sec, `Ada's laptop <em class="tag">Sam</em>`) {
		t.Errorf("the desktop is not listed as Sam's:\n%s", sec)
	}
	kinds := activityKinds(t, e, e.user("ada@example.com").ID)
	if !hasActivity(kinds, store.ActDeviceMoved+`: Paired desktop "Ada's laptop" moved from Ada Lovelace to Sam`) {
		t.Errorf("no move in the activity: %q", kinds)
	}

	r = c.post(move, url.Values{"member": {owner.ID}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("move back: %d %s", r.status, r.body)
	}
	if a, _ := e.db.Approver(ctx, d.a.ID); a.MemberID != owner.ID {
		t.Errorf("the desktop belongs to %q, want the owner's %q", a.MemberID, owner.ID)
	}

	c.get("/account/security")
	c.refused(c.post(move, url.Values{"member": {"nobody"}}), move)
	if r := c.post("/account/household/devices/nothing/move", url.Values{"member": {sam.ID}}); r.status != http.StatusNotFound {
		t.Errorf("move an unknown device: %d, want 404", r.status)
	}
}

func TestHouseholdFormsNeedCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	d := c.pairDesktop("Ada's laptop")
	sam := c.addMember("Sam")
	for _, path := range []string{
		"/account/household/members",
		"/account/household/members/" + sam.ID + "/rename",
		"/account/household/members/" + sam.ID + "/remove",
		"/account/household/members/" + sam.ID + "/invite",
		"/account/household/members/" + sam.ID + "/share",
		"/account/household/members/" + sam.ID + "/stop-sharing",
		"/account/household/devices/" + d.a.ID + "/move",
	} {
		t.Run(path, func(t *testing.T) {
			r := c.post(path, url.Values{"csrf": {""}, "name": {"Kim"}, "member": {sam.ID}, "confirm": {"1"}})
			if r.status != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.status)
			}
		})
	}
	if ms, _ := e.db.Members(context.Background(), e.user("ada@example.com").ID); len(ms) != 2 {
		t.Errorf("%d members after refused forms, want 2", len(ms))
	}
	owner, _ := e.db.OwnerMember(context.Background(), e.user("ada@example.com").ID)
	if a, _ := e.db.Approver(context.Background(), d.a.ID); owner == nil || a.MemberID != owner.ID || !a.RemovedAt.IsZero() {
		t.Errorf("the desktop changed: %+v", a)
	}
}
