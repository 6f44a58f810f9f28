package apiv1

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// storeAlerts is the server's side of "This wasn't me" for these tests:
// the store's DisownSignIn with "sid-" + the session id as the sid.
type storeAlerts struct {
	db  store.Store
	now func() time.Time
}

func (a storeAlerts) Disown(ctx context.Context, id string) (*store.SignInAlert, api.Disowned, string, error) {
	al, d, err := a.db.DisownSignIn(ctx, id, a.now(), func(s string) string { return "sid-" + s })
	if err != nil {
		return nil, api.Disowned{}, "", err
	}
	return al, api.Disowned{Sessions: len(d.Sessions), Apps: append([]string{}, d.OAuthApps...), PasswordURL: publicOrigin + "/account/password"}, al.Browser + " signed out", nil
}

// alertOf makes a sign-in alert naming a new session of member m and
// returns its id and the session's.
func (e *env) alertOf(t *testing.T, u *store.User, m, sessionID string) string {
	t.Helper()
	e.session(t, u, sessionID, "")
	now := e.clock.Now()
	a := &store.SignInAlert{UserID: u.ID, SessionID: sessionID, SessionCreatedAt: now, MemberID: m, Browser: "Firefox 133 on Windows 10",
		IP: "203.0.113.9", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.db.AddSignInAlert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestDisownSignIn(t *testing.T) {
	e := newEnv(t)
	h := e.household(t)
	ctx := context.Background()
	id := e.alertOf(t, e.alice, h.owner.ID, "mallory")
	path := "/api/v1/alerts/" + id + "/not-me"

	r := e.do(t, req{method: "POST", path: path, token: h.aliceTok})
	if r.status != http.StatusOK {
		t.Fatalf("not-me: %d %s", r.status, r.body)
	}
	var got api.Disowned
	if err := json.Unmarshal(r.body, &got); err != nil || got.Sessions != 1 || got.PasswordURL != publicOrigin+"/account/password" {
		t.Errorf("not-me answered %s (%v)", r.body, err)
	}
	if _, err := e.db.Session(ctx, "mallory"); err == nil {
		t.Error("the session is still there")
	}
	act, err := e.db.ActivityPage(ctx, e.alice.ID, 0, 1)
	if err != nil || len(act) != 1 || act[0].Kind != store.ActSignInDisowned || act[0].Member != h.owner.Name {
		t.Errorf("activity after not-me: %+v, %v", act, err)
	}

	wantError(t, e.do(t, req{method: "POST", path: path, token: h.aliceTok}), http.StatusConflict, api.CodeAlertUsed, "used on this sign-in already")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/alerts/nope/not-me", token: h.aliceTok}), http.StatusNotFound, api.CodeNotFound, "no such sign-in alert")

	old := e.alertOf(t, e.alice, h.owner.ID, "old")
	e.clock.Advance(2 * time.Hour) // past the device token too: the write token from here
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/alerts/" + old + "/not-me", token: e.rw}), http.StatusGone, api.CodeAlertExpired, "too old")
	if _, err := e.db.Session(ctx, "old"); err != nil {
		t.Errorf("an expired alert ended its session: %v", err)
	}

	// Another account's alert is not found, not ended.
	theirs := e.alertOf(t, e.bob, "", "bobs")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/alerts/" + theirs + "/not-me", token: e.rw}), http.StatusNotFound, api.CodeNotFound, "no such sign-in alert")
	if _, err := e.db.Session(ctx, "bobs"); err != nil {
		t.Errorf("another account's session ended: %v", err)
	}
}
