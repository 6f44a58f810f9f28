package apiv1

import (
	"context"
	"net/http"
	"testing"

	"github.com/countersign/countersign/internal/api"
)

// TestNamesRefuseHiddenCharacters: every name the API takes — a device's,
// a paired desktop's, a household member's, an app's — is refused with a
// control, text-direction or invisible character in it, as the approval
// prompt and the Account screen would show it as something else.
func TestNamesRefuseHiddenCharacters(t *testing.T) {
	e := newEnv(t)
	d := e.device(t, e.alice, "Work laptop", e.clock.Now())
	for _, bad := range []string{
		"Sam\u202Epot\u202C", // RIGHT-TO-LEFT OVERRIDE … POP DIRECTIONAL FORMATTING
		"Sam\u2067x\u2069",   // RIGHT-TO-LEFT ISOLATE … POP DIRECTIONAL ISOLATE
		"Sam\u200F",          // RIGHT-TO-LEFT MARK
		"Sam\nApproved",      // a line break
		"Sam\u200Bx",         // ZERO WIDTH SPACE
	} {
		pub, _ := newKey(t)
		app := api.NewDeveloperApp{Name: bad, RedirectURIs: []string{devRedirect}, Scopes: []string{"openid"}}
		for _, tc := range []struct {
			what string
			r    response
		}{
			{"device rename", e.send(t, "PATCH", "/api/v1/devices/"+d.ID, jsonOf(t, api.DeviceUpdate{Name: bad}))},
			{"new member", e.send(t, "POST", "/api/v1/household/members", jsonOf(t, api.MemberName{Name: bad}))},
			{"new app", e.send(t, "POST", "/api/v1/developer/apps", jsonOf(t, app))},
			{"pairing", e.do(t, req{method: "POST", path: "/api/v1/pairings", body: pairingBody(t, e.pairingCode(t, e.alice), pub, bad)})},
		} {
			if tc.r.status != http.StatusBadRequest || tc.r.apiErr(t).Code != api.CodeInvalidRequest {
				t.Errorf("%s named %q: status %d %s, want 400 invalid_request", tc.what, bad, tc.r.status, tc.r.body)
			}
		}
	}
	if stored, err := e.db.Device(context.Background(), e.alice.ID, d.ID); err != nil || stored.Name != "Work laptop" {
		t.Errorf("device after refused renames = %+v, %v; want it unchanged", stored, err)
	}
}
