package apiv1

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/sealed"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// house is alice's household in a test: Sam, a member, with a paired
// desktop and a trusted browser; Alice, the owner, with a paired desktop
// and a trusted browser of her own.
type house struct {
	owner, sam       api.Member
	samLaptop        *device
	samTok           string // the device token of Sam's laptop: acts as Sam
	aliceDesk        *device
	aliceTok         string // the device token of Alice's desk: acts as the owner
	samPhone, office *store.Device
}

func (e *env) household(t *testing.T) *house {
	t.Helper()
	h := &house{}
	h.owner = e.members(t, e.rw).Members[0]
	h.sam = e.addMember(t, "Sam")
	h.samLaptop = e.pairAs(t, h.sam.ID, "Sam's Laptop")
	h.samTok = e.signIn(t, h.samLaptop)
	h.aliceDesk = e.pair(t, e.alice, "Desk")
	h.aliceTok = e.signIn(t, h.aliceDesk)
	h.samPhone = e.memberDevice(t, e.alice, h.sam.ID, "Sam's phone")
	h.office = e.device(t, e.alice, "Office PC", e.clock.Now().Add(-time.Hour))
	return h
}

// members reads the household with token.
func (e *env) members(t *testing.T, token string) api.Household {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/api/v1/household", token: token})
	if r.status != http.StatusOK {
		t.Fatalf("GET household: status %d: %s", r.status, r.body)
	}
	var hh api.Household
	r.decode(t, &hh)
	return hh
}

// addMember adds a member to alice's household through the API.
func (e *env) addMember(t *testing.T, name string) api.Member {
	t.Helper()
	r := e.send(t, "POST", "/api/v1/household/members", jsonOf(t, api.MemberName{Name: name}))
	if r.status != http.StatusCreated {
		t.Fatalf("add member: status %d: %s", r.status, r.body)
	}
	var m api.Member
	r.decode(t, &m)
	// Members made in the same instant are ordered by id: the next one is
	// a second later.
	e.clock.Advance(time.Second)
	return m
}

// pairAs pairs a new desktop with alice's account as the member's, through
// an invitation made with the API.
func (e *env) pairAs(t *testing.T, memberID, name string) *device {
	t.Helper()
	r := e.send(t, "POST", "/api/v1/household/members/"+memberID+"/invitations", "")
	if r.status != http.StatusCreated {
		t.Fatalf("invitation: status %d: %s", r.status, r.body)
	}
	var inv api.Invitation
	r.decode(t, &inv)
	pub, priv := newKey(t)
	r = e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, inv.Code, pub, name)})
	if r.status != http.StatusCreated {
		t.Fatalf("pairing: status %d: %s", r.status, r.body)
	}
	var res api.PairingResult
	r.decode(t, &res)
	return &device{id: res.DeviceID, name: name, priv: priv}
}

// memberDevice adds a trusted browser of the member's to u's account.
func (e *env) memberDevice(t *testing.T, u *store.User, memberID, name string) *store.Device {
	t.Helper()
	d := e.device(t, u, name, e.clock.Now())
	if err := e.db.SetDeviceMember(context.Background(), u.ID, api.DeviceBrowser, d.ID, memberID); err != nil {
		t.Fatal(err)
	}
	d.MemberID = memberID
	return d
}

// listDevices reads GET devices with token, by id.
func (e *env) listDevices(t *testing.T, token string) map[string]api.Device {
	t.Helper()
	r := e.do(t, req{method: "GET", path: "/api/v1/devices", token: token})
	if r.status != http.StatusOK {
		t.Fatalf("GET devices: status %d: %s", r.status, r.body)
	}
	var list api.DeviceList
	r.decode(t, &list)
	out := map[string]api.Device{}
	for _, d := range list.Devices {
		out[d.ID] = d
	}
	return out
}

// changes is what the "changed" events of u's stream named, in order.
func (e *env) changes(t *testing.T, u *store.User) []string {
	t.Helper()
	evs, err := e.db.ApprovalEvents(context.Background(), u.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind != api.EventChanged {
			continue
		}
		var c api.Changed
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c.What)
	}
	return out
}

// lastActivity is u's newest activity entry.
func (e *env) lastActivity(t *testing.T, u *store.User) store.Activity {
	t.Helper()
	as := e.activity(t, u)
	if len(as) == 0 {
		t.Fatal("no activity")
	}
	return as[0]
}

// TestDevicesEveryType: GET devices lists trusted browsers, paired desktops
// and security keys, each with its member.
func TestDevicesEveryType(t *testing.T) {
	e := newEnv(t)
	h := e.household(t)
	e.session(t, e.alice, "s-phone-1", h.samPhone.ID)
	e.session(t, e.alice, "s-phone-2", h.samPhone.ID)
	e.session(t, e.alice, "s-loose", "")
	key := e.registerKeyAs(t, h.samTok, seckeytest.New(t, publicOrigin), "Sam's key")
	ownKey := e.registerKey(t, seckeytest.New(t, publicOrigin), "Alice's key")
	bobs := e.pair(t, e.bob, "Bob's desktop")

	ds := e.listDevices(t, h.samTok)
	if len(ds) != 6 {
		t.Errorf("%d devices, want 6: %+v", len(ds), ds)
	}
	if _, ok := ds[bobs.id]; ok {
		t.Error("bob's desktop is listed")
	}
	tests := []struct {
		id                          string
		typ, kind, member, os, name string
		current                     bool
		sessions                    int
	}{
		{h.samLaptop.id, api.DeviceApprover, "laptop", h.sam.ID, "Linux", "Sam's Laptop", true, 0},
		{h.aliceDesk.id, api.DeviceApprover, "desktop", h.owner.ID, "Linux", "Desk", false, 0},
		{h.samPhone.ID, api.DeviceBrowser, "laptop", h.sam.ID, "Linux", "Sam's phone", false, 2},
		{h.office.ID, api.DeviceBrowser, "laptop", h.owner.ID, "Linux", "Office PC", false, 0},
		{key.ID, api.DeviceSecurityKey, api.DeviceSecurityKey, h.sam.ID, "", "Sam's key", false, 0},
		{ownKey.ID, api.DeviceSecurityKey, api.DeviceSecurityKey, h.owner.ID, "", "Alice's key", false, 0},
	}
	for _, tt := range tests {
		d, ok := ds[tt.id]
		if !ok {
			t.Errorf("%s is not listed", tt.name)
			continue
		}
		if d.Type != tt.typ || d.Kind != tt.kind || d.MemberID != tt.member || d.OS != tt.os || d.Name != tt.name ||
			d.Current != tt.current || d.Sessions != tt.sessions {
			t.Errorf("%s = %+v\nwant type %s, kind %s, member %s, OS %q, current %v, %d sessions", tt.name, d, tt.typ, tt.kind, tt.member, tt.os, tt.current, tt.sessions)
		}
	}
	if d := e.listDevices(t, h.aliceTok)[h.aliceDesk.id]; !d.Current {
		t.Errorf("the desk's own token: %+v, want current", d)
	}
	if d := e.listDevices(t, e.rw)[h.samLaptop.id]; d.Current {
		t.Errorf("an API token: %+v, want no current device", d)
	}

	// Most recently seen first.
	var list api.DeviceList
	e.get(t, "/api/v1/devices").decode(t, &list)
	if !slices.IsSortedFunc(list.Devices, func(a, b api.Device) int { return b.LastSeenAt.Compare(a.LastSeenAt) }) {
		t.Errorf("devices not sorted by last seen: %+v", list.Devices)
	}
}

// TestDevicePermissions: a member changes only their own devices; the
// owner any.
func TestDevicePermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	h := e.household(t)
	aliceKey := e.registerKey(t, seckeytest.New(t, publicOrigin), "Alice's key")
	e.session(t, e.alice, "s-office", h.office.ID)
	e.session(t, e.alice, "s-phone", h.samPhone.ID)
	e.session(t, e.alice, "s-loose", "")
	const ownerOnly = "This device belongs to Alice, the account's owner: only Alice can change it."
	const moveOnly = "Only the account's owner can move a device to another member."

	refused := []struct {
		name, method, path, body, msg string
	}{
		{"rename the owner's browser", "PATCH", "/api/v1/devices/" + h.office.ID, `{"name":"Mine"}`, ownerOnly},
		{"move the owner's browser", "PATCH", "/api/v1/devices/" + h.office.ID, jsonOf(t, api.DeviceUpdate{MemberID: h.sam.ID}), moveOnly},
		{"rename and move the owner's browser", "PATCH", "/api/v1/devices/" + h.office.ID, jsonOf(t, api.DeviceUpdate{Name: "Mine", MemberID: h.sam.ID}), ownerOnly},
		{"move their own desktop to the owner", "PATCH", "/api/v1/devices/" + h.samLaptop.id, jsonOf(t, api.DeviceUpdate{MemberID: h.owner.ID}), moveOnly},
		{"rename and move their own desktop to the owner", "PATCH", "/api/v1/devices/" + h.samLaptop.id, jsonOf(t, api.DeviceUpdate{Name: "Boss", MemberID: h.owner.ID}), moveOnly},
		{"move their own browser", "PATCH", "/api/v1/devices/" + h.samPhone.ID, jsonOf(t, api.DeviceUpdate{MemberID: h.owner.ID}), moveOnly},
		{"remove the owner's browser", "DELETE", "/api/v1/devices/" + h.office.ID, "", ownerOnly},
		{"sign out the owner's browser", "POST", "/api/v1/devices/" + h.office.ID + "/sign-out", "", ownerOnly},
		{"rename the owner's desktop", "PATCH", "/api/v1/devices/" + h.aliceDesk.id, `{"name":"Mine"}`, ownerOnly},
		{"remove the owner's desktop", "DELETE", "/api/v1/devices/" + h.aliceDesk.id, "", ownerOnly},
		{"unpair the owner's desktop", "DELETE", "/api/v1/approvers/" + h.aliceDesk.id, "", ownerOnly},
		{"rename the owner's key", "PATCH", "/api/v1/devices/" + aliceKey.ID, `{"name":"Mine"}`, ownerOnly},
		{"remove the owner's key", "DELETE", "/api/v1/devices/" + aliceKey.ID, "", ownerOnly},
		{"remove the owner's key by its own address", "DELETE", "/api/v1/security-keys/" + aliceKey.ID, "", ownerOnly},
		{"end a session on the owner's browser", "DELETE", "/api/v1/sessions/s-office", "", "only the account's owner, Alice, can end it"},
		{"end a session on no trusted browser", "DELETE", "/api/v1/sessions/s-loose", "", "only the account's owner, Alice, can end it"},
		{"end every session", "DELETE", "/api/v1/sessions", "", "Only the account's owner can end every session."},
	}
	for _, tt := range refused {
		t.Run("member may not "+tt.name, func(t *testing.T) {
			before := len(e.activity(t, e.alice))
			wantError(t, e.do(t, req{method: tt.method, path: tt.path, token: h.samTok, body: tt.body}), http.StatusForbidden, api.CodeForbidden, tt.msg)
			if n := len(e.activity(t, e.alice)); n != before {
				t.Errorf("%d activity entries after a refusal, want %d", n, before)
			}
		})
	}
	if d, err := e.db.Device(ctx, e.alice.ID, h.office.ID); err != nil || d.Name != "Office PC" || d.MemberID != h.owner.ID {
		t.Errorf("the owner's browser after the refusals: %+v, %v", d, err)
	}
	// Who Sam's desktop is did not change: it still acts as Sam.
	if a, err := e.db.Approver(ctx, h.samLaptop.id); err != nil || a.Name != "Sam's Laptop" || a.MemberID != h.sam.ID {
		t.Errorf("Sam's desktop after the refusals: %+v, %v", a, err)
	}
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/household/members", token: h.samTok, body: `{"name":"Eve"}`}),
		http.StatusForbidden, api.CodeForbidden, "Only the account's owner can add household members.")
	for _, id := range []string{"s-office", "s-loose"} {
		if _, err := e.db.Session(ctx, id); err != nil {
			t.Errorf("session %s after the refusals: %v", id, err)
		}
	}
	if n := e.keyCount(t, e.alice); n != 1 {
		t.Errorf("%d keys after the refusals, want 1", n)
	}

	// Sam changes his own devices.
	r := e.do(t, req{method: "PATCH", path: "/api/v1/devices/" + h.samPhone.ID, token: h.samTok, body: `{"name":"Sam's Pixel"}`})
	var got api.Device
	if r.status != http.StatusOK {
		t.Fatalf("rename own browser: status %d: %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.Name != "Sam's Pixel" || got.MemberID != h.sam.ID || got.Sessions != 1 || got.Type != api.DeviceBrowser {
		t.Errorf("renamed = %+v", got)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActDeviceRenamed || a.Member != "Sam" ||
		a.Detail != `Trusted browser "Sam's phone" of Sam renamed to "Sam's Pixel" from approver device "Sam's Laptop"` {
		t.Errorf("activity = %+v", a)
	}
	r = e.do(t, req{method: "DELETE", path: "/api/v1/sessions/s-phone", token: h.samTok})
	if r.status != http.StatusNoContent {
		t.Errorf("end a session on own browser: status %d: %s", r.status, r.body)
	}
	e.session(t, e.alice, "s-phone-2", h.samPhone.ID)
	e.session(t, e.alice, "s-phone-3", h.samPhone.ID)
	r = e.do(t, req{method: "POST", path: "/api/v1/devices/" + h.samPhone.ID + "/sign-out", token: h.samTok})
	var out api.SignedOut
	if r.status != http.StatusOK {
		t.Fatalf("sign out own browser: status %d: %s", r.status, r.body)
	}
	r.decode(t, &out)
	if out.Ended != 2 {
		t.Errorf("signed out %d sessions, want 2", out.Ended)
	}
	for _, id := range []string{"s-phone-2", "s-phone-3"} {
		if _, err := e.db.Session(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session %s after sign-out: %v", id, err)
		}
	}
	if _, err := e.db.Device(ctx, e.alice.ID, h.samPhone.ID); err != nil {
		t.Errorf("a signed-out browser stays trusted: %v", err)
	}
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/devices/" + h.samLaptop.id + "/sign-out", token: h.samTok}),
		http.StatusConflict, api.CodeConflict, "Only a trusted browser has sessions")

	// The owner moves Sam's phone to herself: then it is no longer his.
	r = e.send(t, "PATCH", "/api/v1/devices/"+h.samPhone.ID, jsonOf(t, api.DeviceUpdate{MemberID: h.owner.ID}))
	if r.status != http.StatusOK {
		t.Fatalf("the owner moves Sam's browser: status %d: %s", r.status, r.body)
	}
	r.decode(t, &got)
	if got.MemberID != h.owner.ID {
		t.Errorf("moved = %+v, want the owner's", got)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActDeviceMoved ||
		!strings.HasPrefix(a.Detail, `Trusted browser "Sam's Pixel" moved from Sam to Alice`) {
		t.Errorf("activity = %+v", a)
	}
	wantError(t, e.do(t, req{method: "PATCH", path: "/api/v1/devices/" + h.samPhone.ID, token: h.samTok, body: `{"name":"Back"}`}),
		http.StatusForbidden, api.CodeForbidden, ownerOnly)

	// The owner gives her browser to Sam; then he may change it.
	r = e.send(t, "PATCH", "/api/v1/devices/"+h.office.ID, jsonOf(t, api.DeviceUpdate{Name: "Sam's PC", MemberID: h.sam.ID}))
	if r.status != http.StatusOK {
		t.Fatalf("owner moves a browser: status %d: %s", r.status, r.body)
	}
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/devices/" + h.office.ID, token: h.samTok}); r.status != http.StatusNoContent {
		t.Errorf("remove a browser given to him: status %d: %s", r.status, r.body)
	}
	if _, err := e.db.Session(ctx, "s-office"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a removed browser's session: %v", err)
	}

	// Moving to an unknown member, or to another account's, is refused.
	bobsOwner, err := e.db.OwnerMember(ctx, e.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, member := range []string{"no-such-member", bobsOwner.ID} {
		wantError(t, e.send(t, "PATCH", "/api/v1/devices/"+h.samLaptop.id, jsonOf(t, api.DeviceUpdate{MemberID: member})),
			http.StatusBadRequest, api.CodeInvalidRequest, "no such member")
	}

	// The owner moves a member's desktop and key; Sam removes his own key.
	samKey := e.registerKeyAs(t, h.samTok, seckeytest.New(t, publicOrigin), "Sam's key")
	if d := e.listDevices(t, e.rw)[samKey.ID]; d.MemberID != h.sam.ID {
		t.Errorf("a key registered from Sam's desktop: %+v, want Sam's", d)
	}
	r = e.send(t, "PATCH", "/api/v1/devices/"+samKey.ID, jsonOf(t, api.DeviceUpdate{Name: "Blue key"}))
	if r.status != http.StatusOK {
		t.Errorf("owner renames a member's key: status %d: %s", r.status, r.body)
	}
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/devices/" + samKey.ID, token: h.samTok}); r.status != http.StatusNoContent {
		t.Errorf("member removes own key: status %d: %s", r.status, r.body)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActKeyRemoved || a.Member != "Sam" || !strings.Contains(a.Detail, `"Blue key"`) {
		t.Errorf("activity = %+v", a)
	}
	r = e.send(t, "PATCH", "/api/v1/devices/"+h.aliceDesk.id, jsonOf(t, api.DeviceUpdate{MemberID: h.sam.ID}))
	if r.status != http.StatusOK {
		t.Fatalf("owner moves her desktop to Sam: status %d: %s", r.status, r.body)
	}
	if d := e.listDevices(t, h.aliceTok)[h.aliceDesk.id]; d.MemberID != h.sam.ID {
		t.Errorf("moved desktop = %+v", d)
	}
	// The desk now acts as Sam: it may no longer end every session.
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/sessions", token: h.aliceTok}), http.StatusForbidden, api.CodeForbidden, "Only the account's owner")

	// Sam unpairs his laptop through DELETE devices: its token fails at once.
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/devices/" + h.samLaptop.id, token: h.samTok}); r.status != http.StatusNoContent {
		t.Fatalf("member removes own desktop: status %d: %s", r.status, r.body)
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account", token: h.samTok}), http.StatusUnauthorized, api.CodeDeviceRevoked, "")

	changes := e.changes(t, e.alice)
	for _, what := range []string{api.ChangedDevices, api.ChangedSessions, api.ChangedAccount} {
		if !slices.Contains(changes, what) {
			t.Errorf("no %q change event among %v", what, changes)
		}
	}
}

// TestEndAllSessions: the owner ends every session at once.
func TestEndAllSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.device(t, e.alice, "Desk", e.clock.Now())
	e.session(t, e.alice, "s-1", d.ID)
	e.session(t, e.alice, "s-2", "")
	e.session(t, e.bob, "s-bob", "")
	h := e.household(t)
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/sessions", token: h.samTok}), http.StatusForbidden, api.CodeForbidden, "Only the account's owner can end every session.")

	before := len(e.changes(t, e.alice))
	r := e.do(t, req{method: "DELETE", path: "/api/v1/sessions", token: h.aliceTok})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var out api.SignedOut
	r.decode(t, &out)
	if out.Ended != 2 {
		t.Errorf("ended %d, want 2", out.Ended)
	}
	for id, want := range map[string]bool{"s-1": false, "s-2": false, "s-bob": true} {
		if _, err := e.db.Session(ctx, id); (err == nil) != want {
			t.Errorf("session %s: %v, want kept %v", id, err, want)
		}
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActSessionRevoked || a.Member != "Alice" || !strings.Contains(a.Detail, "Every session ended (2 sessions)") {
		t.Errorf("activity = %+v", a)
	}
	if changes := e.changes(t, e.alice)[before:]; !slices.Contains(changes, api.ChangedSessions) {
		t.Errorf("change events %v, want sessions", changes)
	}
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/sessions", token: e.ro}), http.StatusForbidden, api.CodeInsufficientScope, `"write"`)
}

// TestRevokeAppOwnerOnly: only the owner removes an app's access, and its
// tokens fail at once.
func TestRevokeAppOwnerOnly(t *testing.T) {
	e := newEnv(t)
	app := e.register(t, e.rw, false)
	access, _ := e.signInToAppAs(t, e.alice, app.ClientID, app.ClientSecret)
	h := e.household(t)

	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/apps/" + app.ClientID, token: h.samTok}),
		http.StatusForbidden, api.CodeForbidden, "Only the account's owner can remove an app's access.")
	if got := e.userinfo(t, access); got != http.StatusOK {
		t.Fatalf("userinfo after a refused revocation: status %d, want 200", got)
	}
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/apps/" + app.ClientID, token: h.aliceTok}); r.status != http.StatusNoContent {
		t.Fatalf("owner's desktop revokes: status %d: %s", r.status, r.body)
	}
	if got := e.userinfo(t, access); got != http.StatusUnauthorized {
		t.Errorf("userinfo right after the revocation: status %d, want 401", got)
	}
	if !slices.Contains(e.changes(t, e.alice), api.ChangedApps) {
		t.Error("no apps change event")
	}
	if !e.hasActivity(t, e.alice, store.ActOAuthRevoked) {
		t.Error("no oauth.revoked activity")
	}
}

// TestHouseholdMembers: reading, adding, renaming and the owner's rules.
func TestHouseholdMembers(t *testing.T) {
	e := newEnv(t)
	h := e.household(t)
	alex := e.addMember(t, "Alex")

	hh := e.members(t, e.rw)
	var names []string
	for _, m := range hh.Members {
		names = append(names, m.Name+"/"+m.Role)
	}
	if got := strings.Join(names, ","); got != "Alice/owner,Sam/member,Alex/member" {
		t.Errorf("members %s, want the owner first, then oldest first", got)
	}
	if hh.You != h.owner.ID {
		t.Errorf("you = %q for an API token, want the owner %q", hh.You, h.owner.ID)
	}
	if len(hh.Devices) != 4 {
		t.Errorf("%d devices in the household, want 4", len(hh.Devices))
	}
	if hh := e.members(t, h.samTok); hh.You != h.sam.ID {
		t.Errorf("you = %q for Sam's desktop, want %q", hh.You, h.sam.ID)
	}

	// Adding.
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActMemberAdded || !strings.Contains(a.Detail, "Alex") {
		t.Errorf("activity = %+v", a)
	}
	if !slices.Contains(e.changes(t, e.alice), api.ChangedHousehold) {
		t.Error("no household change event")
	}
	members := "/api/v1/household/members"
	for _, tt := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"taken name", `{"name":"sam"}`, http.StatusConflict, api.CodeConflict, "already has a member called sam"},
		{"blank name", `{"name":"  "}`, http.StatusBadRequest, api.CodeInvalidRequest, "1 to 64 characters"},
		{"long name", `{"name":"` + strings.Repeat("x", 65) + `"}`, http.StatusBadRequest, api.CodeInvalidRequest, "1 to 64 characters"},
		{"control character", `{"name":"a\u0007"}`, http.StatusBadRequest, api.CodeInvalidRequest, "without control characters"},
		{"unknown field", `{"name":"Kim","role":"owner"}`, http.StatusBadRequest, api.CodeInvalidRequest, `"role" is not known`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.send(t, "POST", members, tt.body), tt.status, tt.code, tt.msg)
		})
	}
	if n := len(e.members(t, e.rw).Members); n != 3 {
		t.Errorf("%d members after refused additions, want 3", n)
	}

	// What a member may not do.
	for _, tt := range []struct {
		name, method, path, body, msg string
	}{
		{"add a member", "POST", members, `{"name":"Kim"}`, "Only the account's owner can add household members."},
		{"remove a member", "DELETE", members + "/" + alex.ID, "", "Only the account's owner can remove household members."},
		{"remove themselves", "DELETE", members + "/" + h.sam.ID, "", "Only the account's owner can remove household members."},
		{"invite", "POST", members + "/" + h.sam.ID + "/invitations", "", "Only the account's owner can invite"},
		{"share", "POST", members + "/" + h.sam.ID + "/authenticator", "", "Only the account's owner can share"},
		{"stop sharing", "DELETE", members + "/" + h.sam.ID + "/authenticator", "", "Only the account's owner can share"},
		{"rename another member", "PATCH", members + "/" + alex.ID, `{"name":"Al"}`, "Only Alex or the account's owner can rename Alex."},
		{"rename the owner", "PATCH", members + "/" + h.owner.ID, `{"name":"Mum"}`, "Only Alice, the account's owner, can rename Alice."},
	} {
		t.Run("member may not "+tt.name, func(t *testing.T) {
			wantError(t, e.do(t, req{method: tt.method, path: tt.path, token: h.samTok, body: tt.body}), http.StatusForbidden, api.CodeForbidden, tt.msg)
		})
	}
	if n := len(e.members(t, e.rw).Members); n != 3 {
		t.Errorf("%d members after refusals, want 3", n)
	}

	// Renaming: a member themselves, the owner anyone.
	r := e.do(t, req{method: "PATCH", path: members + "/" + h.sam.ID, token: h.samTok, body: `{"name":"Samuel"}`})
	var m api.Member
	if r.status != http.StatusOK {
		t.Fatalf("member renames themselves: status %d: %s", r.status, r.body)
	}
	r.decode(t, &m)
	if m.ID != h.sam.ID || m.Name != "Samuel" || m.Role != api.RoleMember {
		t.Errorf("renamed = %+v", m)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActMemberRenamed || !strings.Contains(a.Detail, "Samuel") {
		t.Errorf("activity = %+v", a)
	}
	if r := e.send(t, "PATCH", members+"/"+alex.ID, `{"name":"Alexandra"}`); r.status != http.StatusOK {
		t.Errorf("owner renames a member: status %d: %s", r.status, r.body)
	}
	wantError(t, e.send(t, "PATCH", members+"/"+alex.ID, `{"name":"SAMUEL"}`), http.StatusConflict, api.CodeConflict, "already has a member")
	wantError(t, e.send(t, "PATCH", members+"/no-such-member", `{"name":"X"}`), http.StatusNotFound, api.CodeNotFound, "no such member")

	// Nobody removes the owner; another account's member is unknown.
	wantError(t, e.send(t, "DELETE", members+"/"+h.owner.ID, ""), http.StatusConflict, api.CodeConflict, "cannot be removed")
	bobs := e.token(t, e.bob, "bob", time.Time{}, api.ScopeRead, api.ScopeWrite)
	for _, q := range []req{
		{method: "DELETE", path: members + "/" + alex.ID, token: bobs},
		{method: "PATCH", path: members + "/" + alex.ID, token: bobs, body: `{"name":"Mine"}`},
		{method: "POST", path: members + "/" + alex.ID + "/invitations", token: bobs},
		{method: "DELETE", path: members + "/no-such-member"},
	} {
		if q.token == "" {
			q.token = e.rw
		}
		wantError(t, e.do(t, q), http.StatusNotFound, api.CodeNotFound, "no such member")
	}
	if n := len(e.members(t, e.rw).Members); n != 3 {
		t.Errorf("%d members, want 3", n)
	}
}

// TestInvitation: a member's invitation pairs a desktop as theirs.
func TestInvitation(t *testing.T) {
	e := newEnv(t)
	kim := e.addMember(t, "Kim")
	r := e.send(t, "POST", "/api/v1/household/members/"+kim.ID+"/invitations", "")
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var inv api.Invitation
	r.decode(t, &inv)
	if inv.MemberID != kim.ID || len(api.NormalizePairCode(inv.Code)) != api.PairCodeLen || !strings.HasPrefix(inv.URI, "countersign://pair") ||
		!inv.ExpiresAt.Equal(e.clock.Now().Add(10*time.Minute)) {
		t.Errorf("invitation = %+v", inv)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActInvited || !strings.Contains(a.Detail, "Kim") {
		t.Errorf("activity = %+v", a)
	}
	pub, _ := newKey(t)
	r = e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, inv.Code, pub, "Kim's MacBook")})
	if r.status != http.StatusCreated {
		t.Fatalf("pairing: status %d: %s", r.status, r.body)
	}
	var res api.PairingResult
	r.decode(t, &res)
	d := e.listDevices(t, e.rw)[res.DeviceID]
	if d.MemberID != kim.ID || d.Kind != "laptop" || d.Type != api.DeviceApprover {
		t.Errorf("paired device = %+v, want Kim's laptop", d)
	}
	// Single use.
	pub, _ = newKey(t)
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, inv.Code, pub, "Again")}), http.StatusBadRequest, api.CodeInvalidCode, "")
	wantError(t, e.send(t, "POST", "/api/v1/household/members/no-such-member/invitations", ""), http.StatusNotFound, api.CodeNotFound, "no such member")
}

// TestRemoveMember: a member goes with every device at once.
func TestRemoveMember(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	h := e.household(t)
	e.session(t, e.alice, "s-phone", h.samPhone.ID)
	e.session(t, e.alice, "s-office", h.office.ID)
	key := e.registerKeyAs(t, h.samTok, seckeytest.New(t, publicOrigin), "Sam's key")
	if r := e.do(t, req{method: "GET", path: "/api/v1/account", token: h.samTok}); r.status != http.StatusOK {
		t.Fatalf("Sam's token before: status %d", r.status)
	}

	r := e.send(t, "DELETE", "/api/v1/household/members/"+h.sam.ID, "")
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/account", token: h.samTok}), http.StatusUnauthorized, api.CodeDeviceRevoked, "no longer paired")
	ds := e.listDevices(t, e.rw)
	for _, id := range []string{h.samLaptop.id, h.samPhone.ID, key.ID} {
		if _, ok := ds[id]; ok {
			t.Errorf("device %s of the removed member is still listed", id)
		}
	}
	if _, ok := ds[h.office.ID]; !ok {
		t.Error("the owner's browser went too")
	}
	if _, err := e.db.Session(ctx, "s-phone"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the removed member's session: %v", err)
	}
	if _, err := e.db.Session(ctx, "s-office"); err != nil {
		t.Errorf("the owner's session: %v", err)
	}
	for _, m := range e.members(t, e.rw).Members {
		if m.ID == h.sam.ID {
			t.Error("Sam is still a member")
		}
	}
	if !e.hasActivity(t, e.alice, store.ActMemberRemoved) {
		t.Error("no member_removed activity")
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/household/members/"+h.sam.ID, ""), http.StatusNotFound, api.CodeNotFound, "no such member")
}

// TestShareAuthenticator: offers go to the member's desktops only, sealed
// to their keys, and are answered once.
func TestShareAuthenticator(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	h := e.household(t)
	share := "/api/v1/household/members/" + h.sam.ID + "/authenticator"

	wantError(t, e.send(t, "POST", share, ""), http.StatusConflict, api.CodeConflict, "Turn on an authenticator app for the account first")
	totp := &store.Method{UserID: e.alice.ID, Kind: store.MethodTOTP, Label: "Phone app", Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: e.clock.Now()}
	if err := e.db.AddMethod(ctx, totp); err != nil {
		t.Fatal(err)
	}
	kim := e.addMember(t, "Kim")
	wantError(t, e.send(t, "POST", "/api/v1/household/members/"+kim.ID+"/authenticator", ""), http.StatusConflict, api.CodeConflict, "Invite Kim's desktop first: Kim has no paired desktop")
	wantError(t, e.do(t, req{method: "POST", path: share, token: h.samTok}), http.StatusForbidden, api.CodeForbidden, "Only the account's owner")

	r := e.send(t, "POST", share, "")
	if r.status != http.StatusOK {
		t.Fatalf("share: status %d: %s", r.status, r.body)
	}
	var shared api.Shared
	r.decode(t, &shared)
	if shared.Offered != 1 {
		t.Errorf("offered %d, want 1", shared.Offered)
	}
	for _, m := range e.members(t, e.rw).Members {
		if m.ID == h.sam.ID && !m.SharesAuthenticator {
			t.Error("Sam does not share the authenticator")
		}
	}

	// Only Sam's desktop sees the offer.
	offers := func(token string) []api.ShareOffer {
		t.Helper()
		r := e.do(t, req{method: "GET", path: "/api/v1/shares", token: token})
		if r.status != http.StatusOK {
			t.Fatalf("GET shares: status %d: %s", r.status, r.body)
		}
		var list api.ShareOfferList
		r.decode(t, &list)
		return list.Offers
	}
	if os := offers(h.aliceTok); len(os) != 0 {
		t.Errorf("the owner's desk sees %+v, want nothing", os)
	}
	os := offers(h.samTok)
	if len(os) != 1 {
		t.Fatalf("Sam's desktop sees %+v, want one offer", os)
	}
	o := os[0]
	if o.Account.ID != e.alice.ID || o.Account.Email != "alice@example.com" || o.From != "Alice" || o.Label != "Phone app" || o.Rekeyed {
		t.Errorf("offer = %+v", o)
	}
	box, err := b64.DecodeString(o.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sealed.Open(h.samLaptop.priv, box)
	if err != nil {
		t.Fatalf("the offer does not open with Sam's desktop key: %v", err)
	}
	var enr api.SharedEnrollment
	if err := json.Unmarshal(plain, &enr); err != nil || !strings.HasPrefix(enr.URI, "otpauth://totp/Countersign:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Countersign") {
		t.Errorf("enrollment %s (%v)", plain, err)
	}
	if _, err := sealed.Open(h.aliceDesk.priv, box); err == nil {
		t.Error("the offer opens with another desktop's key")
	}

	// Answered once, by its device only.
	accept := "/api/v1/shares/" + o.ID + "/accept"
	wantError(t, e.do(t, req{method: "POST", path: accept, token: h.aliceTok}), http.StatusNotFound, api.CodeNotFound, "no such offer")
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/shares/" + o.ID, token: h.aliceTok}), http.StatusNotFound, api.CodeNotFound, "no such offer")
	if r := e.do(t, req{method: "POST", path: accept, token: h.samTok}); r.status != http.StatusNoContent {
		t.Fatalf("accept: status %d: %s", r.status, r.body)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActShareAccepted || a.Member != "Sam" {
		t.Errorf("activity = %+v", a)
	}
	wantError(t, e.do(t, req{method: "POST", path: accept, token: h.samTok}), http.StatusNotFound, api.CodeNotFound, "no such offer")
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/shares/" + o.ID, token: h.samTok}), http.StatusNotFound, api.CodeNotFound, "no such offer")
	if os := offers(h.samTok); len(os) != 0 {
		t.Errorf("offers after accepting: %+v", os)
	}
	if stored, err := e.db.ShareOffer(ctx, o.ID); err != nil || stored.AcceptedAt.IsZero() || len(stored.Sealed) != 0 {
		t.Errorf("accepted offer = %+v, %v; want accepted with its secret gone", stored, err)
	}

	// Shared again: declined this time.
	if r := e.send(t, "POST", share, ""); r.status != http.StatusOK {
		t.Fatalf("share again: status %d: %s", r.status, r.body)
	}
	os = offers(h.samTok)
	if len(os) != 1 {
		t.Fatalf("offers = %+v, want one", os)
	}
	if r := e.do(t, req{method: "DELETE", path: "/api/v1/shares/" + os[0].ID, token: h.samTok}); r.status != http.StatusNoContent {
		t.Fatalf("decline: status %d: %s", r.status, r.body)
	}
	if a := e.lastActivity(t, e.alice); a.Kind != store.ActShareDeclined {
		t.Errorf("activity = %+v", a)
	}
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/shares/" + os[0].ID + "/accept", token: h.samTok}), http.StatusNotFound, api.CodeNotFound, "")

	// Stopping withdraws what is not answered.
	if r := e.send(t, "POST", share, ""); r.status != http.StatusOK {
		t.Fatalf("share a third time: status %d: %s", r.status, r.body)
	}
	if r := e.send(t, "DELETE", share, ""); r.status != http.StatusNoContent {
		t.Fatalf("stop sharing: status %d: %s", r.status, r.body)
	}
	if os := offers(h.samTok); len(os) != 0 {
		t.Errorf("offers after stopping: %+v", os)
	}
	for _, m := range e.members(t, e.rw).Members {
		if m.ID == h.sam.ID && m.SharesAuthenticator {
			t.Error("Sam still shares the authenticator")
		}
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/household/members/no-such-member/authenticator", ""), http.StatusNotFound, api.CodeNotFound, "no such member")
}

// TestActivityCategories: one category at a time, with the member who did
// it.
func TestActivityCategories(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, kind := range []string{store.ActSignIn, store.ActSignInFailed, store.ActSignOut, store.ActTwoStepUsed, store.ActLockedOut,
		store.ActApprovalRequested, store.ActDeviceRenamed, store.ActMemberAdded, store.ActKeyAdded} {
		if err := e.db.AddActivity(ctx, &store.Activity{UserID: e.alice.ID, At: e.clock.Now(), Kind: kind, OK: true, Member: "Sam", Detail: kind}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{
		api.ActivitySignIns:   {store.ActLockedOut, store.ActTwoStepUsed, store.ActSignOut, store.ActSignInFailed, store.ActSignIn},
		api.ActivityApprovals: {store.ActApprovalRequested},
		api.ActivityChanges:   {store.ActKeyAdded, store.ActMemberAdded, store.ActDeviceRenamed},
	}
	for category, kinds := range want {
		var p api.ActivityPage
		e.get(t, "/api/v1/activity?category="+category).decode(t, &p)
		var got []string
		for _, ev := range p.Events {
			got = append(got, ev.Kind)
			if ev.Category != category || ev.Member != "Sam" {
				t.Errorf("%s: event %+v, want category %s and member Sam", category, ev, category)
			}
		}
		if !slices.Equal(got, kinds) {
			t.Errorf("%s: %v, want %v", category, got, kinds)
		}
	}
	// Paging within a category.
	var p api.ActivityPage
	e.get(t, "/api/v1/activity?category=signins&limit=2").decode(t, &p)
	if len(p.Events) != 2 || p.Next == "" {
		t.Fatalf("first page %+v", p)
	}
	e.get(t, "/api/v1/activity?category=signins&limit=10&before="+p.Next).decode(t, &p)
	if len(p.Events) != 3 || p.Events[0].Kind != store.ActSignOut || p.Next != "" {
		t.Errorf("second page %+v", p)
	}
	for _, q := range []string{"category=all", "category=SIGNINS", "category="} {
		r := e.get(t, "/api/v1/activity?"+q)
		if q == "category=" {
			if r.status != http.StatusOK {
				t.Errorf("%s: status %d, want every category", q, r.status)
			}
			continue
		}
		wantError(t, r, http.StatusBadRequest, api.CodeInvalidRequest, "category must be signins, approvals or changes")
	}
}

// TestNoHouseholdService: without the service the household answers 503;
// everything else works.
func TestNoHouseholdService(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Household = nil })
	for _, q := range []req{
		{method: "GET", path: "/api/v1/household"},
		{method: "POST", path: "/api/v1/household/members", body: `{"name":"Sam"}`},
		{method: "POST", path: "/api/v1/household/members/x/invitations"},
	} {
		q.token = e.rw
		wantError(t, e.do(t, q), http.StatusServiceUnavailable, api.CodeUnavailable, "household is not set up")
	}
	if r := e.get(t, "/api/v1/devices"); r.status != http.StatusOK {
		t.Errorf("GET devices: status %d", r.status)
	}
}

// places is a Locator of fixed places.
type places map[string]string

func (p places) Place(ip string) string {
	if s, ok := p[ip]; ok {
		return s
	}
	return approval.UnknownPlace
}

// TestDevicePlace: a browser's place comes from the locator; an unknown
// one is left empty.
func TestDevicePlace(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Locator = places{"198.51.100.7": "Paris, France"} })
	d := e.device(t, e.alice, "Desk", e.clock.Now())
	other := e.device(t, e.alice, "Laptop", e.clock.Now())
	other.IP = "192.0.2.200"
	if err := e.db.UpdateDevice(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	ds := e.listDevices(t, e.rw)
	if got := ds[d.ID].Place; got != "Paris, France" {
		t.Errorf("place %q, want Paris, France", got)
	}
	if got := ds[other.ID].Place; got != "" {
		t.Errorf("unknown place %q, want empty", got)
	}
}
