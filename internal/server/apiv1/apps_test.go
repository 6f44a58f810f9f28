package apiv1

import (
	"context"
	"net/http"
	"testing"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/oauth"
	"github.com/countersign/countersign/internal/store"
)

func TestApps(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app, _, err := e.oauth.RegisterClient(ctx, e.bob.ID, oauth.NewClient{
		Name: "Notes", Homepage: "https://notes.example/", RedirectURIs: []string{"https://notes.example/cb"}, Scopes: []string{"openid", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	if err := e.db.SaveOAuthGrant(ctx, &store.OAuthGrant{UserID: e.alice.ID, ClientID: app.ID, Scopes: []string{"openid", "email"}, GrantedAt: now, LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}

	var list api.AppList
	r := e.do(t, req{method: "GET", path: "/api/v1/apps", token: e.ro})
	if r.status != http.StatusOK {
		t.Fatalf("GET apps: %d %s", r.status, r.body)
	}
	r.decode(t, &list)
	if len(list.Apps) != 1 || list.Apps[0].ClientID != app.ID || list.Apps[0].Name != "Notes" || !list.Apps[0].GrantedAt.Equal(now) {
		t.Errorf("apps %+v", list.Apps)
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/apps", token: e.wo}), http.StatusForbidden, api.CodeInsufficientScope, "")
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/apps/" + app.ID, token: e.ro}), http.StatusForbidden, api.CodeInsufficientScope, "")
	wantError(t, e.send(t, "DELETE", "/api/v1/apps/nope", ""), http.StatusNotFound, api.CodeNotFound, "not authorized")

	if r := e.send(t, "DELETE", "/api/v1/apps/"+app.ID, ""); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	r = e.get(t, "/api/v1/apps")
	list = api.AppList{}
	r.decode(t, &list)
	if len(list.Apps) != 0 {
		t.Errorf("after DELETE: %+v", list.Apps)
	}
	if acts := e.activity(t, e.alice); len(acts) == 0 || acts[0].Kind != store.ActOAuthRevoked {
		t.Errorf("activity %+v", acts)
	}

	// Without the provider, the endpoints say so.
	off := newEnv(t, func(o *Options) { o.OAuth = nil })
	wantError(t, off.get(t, "/api/v1/apps"), http.StatusServiceUnavailable, api.CodeUnavailable, "Sign in with Countersign")
}
