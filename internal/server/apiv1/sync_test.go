package apiv1

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/api"
)

// TestSyncEndpoints walks the vault sync API as a member's two desktops
// and the owner's: each member's desktops are a scope of their own, bad
// input is refused with the sentence and code, a stale push gets the
// current versions, the "vault" event reaches the scope's other desktops
// only, and joining ends with the key sealed to the joining desktop.
func TestSyncEndpoints(t *testing.T) {
	e := newEnv(t)
	h := e.household(t)
	samB := e.pairAs(t, h.sam.ID, "Sam's Desktop")
	aTok, bTok, ownerTok := h.samTok, e.signIn(t, samB), h.aliceTok
	call := func(tok, method, path, body string) response {
		t.Helper()
		return e.do(t, req{method: method, path: path, token: tok, body: body})
	}
	wantCode := func(what string, r response, status int, code string) {
		t.Helper()
		if r.status != status || (code != "" && !strings.Contains(string(r.body), `"code":"`+code+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
		}
	}
	sealed := base64.RawURLEncoding.EncodeToString([]byte("a key sealed to the desktop"))
	rec := func(entry string, version int64, gen int) string {
		return fmt.Sprintf(`{"entry":%q,"version":%d,"generation":%d,"sealed":%q,"seq":0,"device_id":""}`, entry, version, gen, sealed)
	}
	push := func(gen int, recs ...string) string {
		return fmt.Sprintf(`{"generation":%d,"records":[%s]}`, gen, strings.Join(recs, ","))
	}

	wantCode("push before starting", call(aTok, "POST", "/api/v1/sync/records", push(1, rec("e1", 1, 1))), 409, api.CodeNotSyncing)
	wantCode("join before anyone started", call(bTok, "POST", "/api/v1/sync/joins", `{"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}`), 409, api.CodeNotSyncing)
	wantCode("start at generation 2", call(aTok, "POST", "/api/v1/sync/start", `{"generation":2,"sealed":"`+sealed+`"}`), 400, api.CodeInvalidRequest)
	wantCode("start", call(aTok, "POST", "/api/v1/sync/start", `{"generation":1,"sealed":"`+sealed+`"}`), 204, "")
	wantCode("start again", call(bTok, "POST", "/api/v1/sync/start", `{"generation":1,"sealed":"`+sealed+`"}`), 409, api.CodeSyncing)

	var st api.SyncStatus
	r := call(bTok, "GET", "/api/v1/sync", "")
	r.decode(t, &st)
	if !st.Syncing || st.Key != "" || len(st.Devices) != 1 || st.Devices[0].ID != h.samLaptop.id || !st.Devices[0].Live {
		t.Errorf("status of Sam's other desktop: %+v", st)
	}
	call(ownerTok, "GET", "/api/v1/sync", "").decode(t, &st)
	if st.Syncing {
		t.Errorf("the owner's desktop sees Sam's sync: %+v", st)
	}

	for name, c := range map[string]struct{ body, code string }{
		"no records":         {push(1), api.CodeInvalidRequest},
		"not base64":         {push(1, `{"entry":"e1","version":1,"generation":1,"sealed":"*"}`), api.CodeInvalidRequest},
		"version 0":          {push(1, rec("e1", 0, 1)), api.CodeInvalidRequest},
		"a long entry id":    {push(1, rec(strings.Repeat("e", 65), 1, 1)), api.CodeInvalidRequest},
		"a record too large": {push(1, `{"entry":"e1","version":1,"generation":1,"sealed":"`+strings.Repeat("A", 22000)+`"}`), api.CodeInvalidRequest},
		"unknown field":      {`{"generation":1,"records":[],"x":1}`, api.CodeInvalidRequest},
	} {
		wantCode("push with "+name, call(aTok, "POST", "/api/v1/sync/records", c.body), 400, c.code)
	}
	wantCode("push with another generation", call(aTok, "POST", "/api/v1/sync/records", push(2, rec("e1", 1, 2))), 409, api.CodeGeneration)
	wantCode("push by a desktop without the key", call(bTok, "POST", "/api/v1/sync/records", push(1, rec("e1", 1, 1))), 409, api.CodeNotSyncing)

	var pushed api.SyncPushed
	r = call(aTok, "POST", "/api/v1/sync/records", push(1, rec("e1", 1, 1), rec("e2", 1, 1)))
	r.decode(t, &pushed)
	r = call(aTok, "POST", "/api/v1/sync/records", push(1, rec("e3", 1, 1), rec("e1", 1, 1)))
	var conflict api.SyncConflict
	r.decode(t, &conflict)
	if r.status != http.StatusConflict || conflict.Code != api.CodeSyncConflict || conflict.Versions["e1"] != 1 || len(conflict.Versions) != 1 {
		t.Errorf("a stale push: %d %s", r.status, r.body)
	}
	var page api.SyncRecords
	call(aTok, "GET", "/api/v1/sync/records?after=0", "").decode(t, &page)
	if len(page.Records) != 2 || page.Cursor != pushed.Cursor || page.More || page.Records[0].DeviceID != h.samLaptop.id {
		t.Errorf("pull: %+v (pushed to %d)", page, pushed.Cursor)
	}
	call(aTok, "GET", "/api/v1/sync/records?after=0&limit=1", "").decode(t, &page)
	if len(page.Records) != 1 || !page.More || page.Cursor != page.Records[0].Seq {
		t.Errorf("pull one: %+v", page)
	}
	wantCode("pull with a bad limit", call(aTok, "GET", "/api/v1/sync/records?limit=0", ""), 400, api.CodeInvalidRequest)
	wantCode("pull with a bad cursor", call(aTok, "GET", "/api/v1/sync/records?after=-1", ""), 400, api.CodeInvalidRequest)

	// The vault event: Sam's other desktop, not the writer, not the owner.
	vaultEvents := func(tok string) []api.VaultChanged {
		t.Helper()
		var res api.PollResult
		call(tok, "GET", "/api/v1/approvals/poll?timeout=0&after=1", "").decode(t, &res)
		var out []api.VaultChanged
		for _, ev := range res.Events {
			if ev.Event == api.EventVault {
				var v api.VaultChanged
				if err := json.Unmarshal(ev.Data, &v); err != nil {
					t.Fatal(err)
				}
				out = append(out, v)
			}
		}
		return out
	}
	if evs := vaultEvents(bTok); len(evs) != 1 || evs[0].Cursor != pushed.Cursor || evs[0].DeviceID != h.samLaptop.id {
		t.Errorf("vault events on Sam's other desktop: %+v, want one with cursor %d", evs, pushed.Cursor)
	}
	if evs := vaultEvents(aTok); len(evs) != 0 {
		t.Errorf("the writer got its own vault events: %+v", evs)
	}
	if evs := vaultEvents(ownerTok); len(evs) != 0 {
		t.Errorf("the owner's desktop got Sam's vault events: %+v", evs)
	}

	// Joining.
	wantCode("join with a short nonce", call(bTok, "POST", "/api/v1/sync/joins", `{"nonce":"AAAA"}`), 400, api.CodeInvalidRequest)
	var j api.SyncJoin
	r = call(bTok, "POST", "/api/v1/sync/joins", `{"nonce":"AAAAAAAAAAAAAAAAAAAAAA"}`)
	r.decode(t, &j)
	if r.status != http.StatusCreated || j.PublicKey != base64.RawURLEncoding.EncodeToString(samB.priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	wantCode("joins listed by a desktop without the key", call(ownerTok, "GET", "/api/v1/sync/joins", ""), 409, api.CodeNotSyncing)
	var js api.SyncJoinList
	call(aTok, "GET", "/api/v1/sync/joins", "").decode(t, &js)
	if len(js.Joins) != 1 || js.Joins[0].ID != j.ID || js.Joins[0].PublicKey != j.PublicKey || js.Joins[0].Nonce != j.Nonce {
		t.Errorf("joins: %+v, want %+v", js, j)
	}
	wantCode("approve an unknown request", call(aTok, "POST", "/api/v1/sync/joins/nope/approve", `{"generation":1,"sealed":"`+sealed+`"}`), 404, api.CodeNotFound)
	wantCode("approve by the joining desktop", call(bTok, "POST", "/api/v1/sync/joins/"+j.ID+"/approve", `{"generation":1,"sealed":"`+sealed+`"}`), 409, api.CodeNotSyncing)
	wantCode("approve", call(aTok, "POST", "/api/v1/sync/joins/"+j.ID+"/approve", `{"generation":1,"sealed":"`+sealed+`"}`), 204, "")
	call(bTok, "GET", "/api/v1/sync", "").decode(t, &st)
	if st.Key != sealed || len(st.Devices) != 2 {
		t.Errorf("status after joining: %+v", st)
	}

	// Rotation: the new key to exactly the live desktops, every entry.
	rot := func(keys map[string]string, recs ...string) string {
		b, _ := json.Marshal(keys)
		return fmt.Sprintf(`{"generation":2,"keys":%s,"records":[%s]}`, b, strings.Join(recs, ","))
	}
	both := map[string]string{h.samLaptop.id: sealed, samB.id: sealed}
	wantCode("rotate leaving out a desktop", call(aTok, "POST", "/api/v1/sync/rotate", rot(map[string]string{h.samLaptop.id: sealed}, rec("e1", 2, 2), rec("e2", 2, 2))), 409, api.CodeConflict)
	wantCode("rotate leaving out an entry", call(aTok, "POST", "/api/v1/sync/rotate", rot(both, rec("e1", 2, 2))), 409, api.CodeConflict)
	wantCode("rotate", call(aTok, "POST", "/api/v1/sync/rotate", rot(both, rec("e1", 2, 2), rec("e2", 2, 2))), 200, "")

	// Leaving: the other must rotate before writing.
	wantCode("stop", call(bTok, "DELETE", "/api/v1/sync", ""), 204, "")
	wantCode("push after a desktop left", call(aTok, "POST", "/api/v1/sync/records", push(2, rec("e1", 3, 2))), 409, api.CodeRotateFirst)
	var acts api.ActivityPage
	call(ownerTok, "GET", "/api/v1/activity", "").decode(t, &acts)
	var kinds []string
	for _, a := range acts.Events {
		if strings.HasPrefix(a.Kind, "sync.") {
			kinds = append(kinds, a.Kind+" "+a.Member)
		}
	}
	if want := []string{"sync.left Sam", "sync.rotated Sam", "sync.joined Sam", "sync.started Sam"}; strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("sync activity %v, want %v", kinds, want)
	}
	wantCode("approve while the key must rotate", call(aTok, "POST", "/api/v1/sync/joins/x/approve", `{"generation":2,"sealed":"`+sealed+`"}`), 409, api.CodeRotateFirst)
}
