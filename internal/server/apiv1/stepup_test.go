package apiv1

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/household"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// TestStepUp: an action that hands out access (here an invitation for a
// member's desktop) needs a confirmation of the last five minutes, made
// with the password or a security key of the caller's member, by the same
// token or desktop; without one, or with another's, a stale or a forged
// one, nothing is done. Wrong passwords count, and a lock says how long.
func TestStepUp(t *testing.T) {
	e := newEnv(t)
	h := e.household(t)
	a := seckeytest.New(t, publicOrigin)
	samKey := e.registerKeyAs(t, h.samTok, a, "Sam's key")
	e.steps.strict()

	invitations := func() int {
		n := 0
		for _, ev := range e.activity(t, e.alice) {
			if ev.Kind == store.ActInvited {
				n++
			}
		}
		return n
	}
	before := invitations()
	invite := func(token, mark string) response {
		return e.do(t, req{method: "POST", path: "/api/v1/household/members/" + h.sam.ID + "/invitations", token: token, stepUp: mark})
	}

	// No confirmation: refused, saying what to do, and nothing done.
	r := invite(h.aliceTok, "")
	wantError(t, r, http.StatusForbidden, api.CodeStepUpRequired, "confirm it is you to invite a household member's desktop")
	if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_user_authentication"`) || !strings.Contains(got, `max_age="300"`) {
		t.Errorf("WWW-Authenticate %q, want RFC 9470's insufficient_user_authentication with max_age", got)
	}
	if n := invitations(); n != before {
		t.Fatalf("%d invitations after a refusal, want %d", n, before)
	}

	// A wrong password: refused and counted.
	r = e.do(t, req{method: "POST", path: "/api/v1/step-up", token: h.aliceTok, body: `{"password":"not it"}`})
	wantError(t, r, http.StatusForbidden, api.CodeWrongPassword, "not the account's password")
	if e.steps.fails != 1 {
		t.Errorf("%d failures counted, want 1", e.steps.fails)
	}

	// The password: the desktop's mark works for five minutes, for it only.
	mark := e.stepUp(t, h.aliceTok)
	if r := invite(h.aliceTok, mark); r.status != http.StatusCreated {
		t.Fatalf("with a fresh confirmation: %d %s", r.status, r.body)
	}
	if ev := e.lastActivity(t, e.alice); ev.Kind != store.ActInvited {
		t.Errorf("last activity %s, want the invitation", ev.Kind)
	}
	wantError(t, invite(e.rw, mark), http.StatusForbidden, api.CodeStepUpRequired, "confirm it is you")
	wantError(t, invite(h.aliceTok, mark[:len(mark)-2]+"AA"), http.StatusForbidden, api.CodeStepUpRequired, "confirm it is you")
	e.clock.Advance(household.StepUpWindow - time.Second)
	if r := invite(h.aliceTok, mark); r.status != http.StatusCreated {
		t.Fatalf("just inside five minutes: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Second)
	wantError(t, invite(h.aliceTok, mark), http.StatusForbidden, api.CodeStepUpRequired, "confirm it is you")

	// An API token confirms too, and its answer says when it ends.
	r = e.do(t, req{method: "POST", path: "/api/v1/step-up", token: e.rw, body: `{"password":"` + testPassword + `"}`})
	var su api.StepUp
	r.decode(t, &su)
	if !su.ExpiresAt.Equal(e.clock.Now().Add(household.StepUpWindow)) {
		t.Errorf("expires at %v, want five minutes from now", su.ExpiresAt)
	}
	if r := invite(e.rw, su.Token); r.status != http.StatusCreated {
		t.Fatalf("a token's fresh confirmation: %d %s", r.status, r.body)
	}
	if ev := e.lastActivity(t, e.alice); ev.Kind != store.ActInvited {
		t.Errorf("last activity %s, want the invitation", ev.Kind)
	}

	// A security key: Sam's confirms for Sam's desktop, not for the owner's.
	withKey := func(token string) response {
		var begin api.LoginBegin
		r := e.do(t, req{method: "POST", path: "/api/v1/security-keys/assertions", token: token})
		if r.status != http.StatusCreated {
			t.Fatalf("begin assertion: %d %s", r.status, r.body)
		}
		r.decode(t, &begin)
		body, _ := json.Marshal(api.StepUpRequest{ChallengeID: begin.ChallengeID, Credential: a.Get(t, begin.Options, e.alice.WebAuthnID)})
		return e.do(t, req{method: "POST", path: "/api/v1/step-up", token: token, body: string(body)})
	}
	wantError(t, withKey(h.aliceTok), http.StatusForbidden, api.CodeForbidden, `"Sam's key" is not Alice's`)
	r = withKey(h.samTok)
	if r.status != http.StatusOK {
		t.Fatalf("Sam's key for Sam's desktop: %d %s", r.status, r.body)
	}
	if ev := e.lastActivity(t, e.alice); ev.Kind != store.ActConfirmed || !strings.Contains(ev.Detail, `security key "`+samKey.Name+`"`) {
		t.Errorf("last activity %+v, want the confirmation by Sam's key", ev)
	}

	// Neither both nor nothing.
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/step-up", token: h.aliceTok, body: `{"password":"x","challenge_id":"y"}`}),
		http.StatusBadRequest, api.CodeInvalidRequest, "not both")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/step-up", token: h.aliceTok, body: `{}`}),
		http.StatusBadRequest, api.CodeInvalidRequest, "Send password")

	// Locked after wrong passwords: 429, and how long.
	e.steps.lockAfter = 1
	r = e.do(t, req{method: "POST", path: "/api/v1/step-up", token: h.aliceTok, body: `{"password":"` + testPassword + `"}`})
	wantError(t, r, http.StatusTooManyRequests, api.CodeTooManyAttempts, "try again in 5 minutes")
	if got := r.header.Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After %q, want 300", got)
	}
}
