package e2e_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/browsertest"
)

// companion is the desktop approver as the API sees it: an Ed25519 key, a
// device id from pairing and a device token, talking JSON to API v1.
type companion struct {
	t      *testing.T
	base   string
	priv   ed25519.PrivateKey
	device string
	token  string
	after  int64 // the last event seq read
}

var b64 = base64.RawURLEncoding

// call sends v as JSON (nil: no body) and decodes the answer into out; it
// fails the test unless the status is want.
func (c *companion) call(method, path string, v any, want int, out any) {
	c.t.Helper()
	var body bytes.Buffer
	if v != nil {
		if err := json.NewEncoder(&body).Encode(v); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(res.Body)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw.String())
	}
	if out != nil {
		if err := json.Unmarshal(raw.Bytes(), out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw.String())
		}
	}
}

// pair redeems the pairing code shown in the browser and signs in as the
// device (challenge, signature, token), all through API v1.
func pair(t *testing.T, base, code string) *companion {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := &companion{t: t, base: base, priv: priv}
	var paired api.PairingResult
	c.call("POST", "/api/v1/pairings", api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: "Ada's laptop", Platform: "linux"},
		http.StatusCreated, &paired)
	if paired.Account.Email != userLogin || paired.Server != base {
		t.Errorf("paired with %+v at %q", paired.Account, paired.Server)
	}
	c.device = paired.DeviceID
	var ch api.AuthChallenge
	c.call("POST", "/api/v1/auth/challenge", api.AuthChallengeRequest{DeviceID: c.device}, http.StatusOK, &ch)
	sig := ed25519.Sign(priv, api.AuthMessage(c.device, ch.Challenge))
	var tok api.AuthToken
	c.call("POST", "/api/v1/auth/token", api.AuthTokenRequest{DeviceID: c.device, Challenge: ch.Challenge, Signature: b64.EncodeToString(sig)},
		http.StatusOK, &tok)
	c.token = tok.Token
	return c
}

// next long-polls for the next sign-in request.
func (c *companion) next() api.Approval {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var poll api.PollResult
		c.call("GET", "/api/v1/approvals/poll?timeout=5&after="+strconv.FormatInt(c.after, 10), nil, http.StatusOK, &poll)
		for _, e := range poll.Events {
			c.after = max(c.after, e.ID)
			if e.Event != api.EventApproval {
				continue
			}
			var a api.Approval
			if err := json.Unmarshal(e.Data, &a); err != nil {
				c.t.Fatal(err)
			}
			return a
		}
	}
	c.t.Fatal("no sign-in request reached the companion")
	return api.Approval{}
}

// decide signs and sends a decision; it returns the status the server
// answers.
func (c *companion) decide(a api.Approval, decision string, number int) string {
	c.t.Helper()
	sig := ed25519.Sign(c.priv, api.DecisionMessage(a.ID, a.Nonce, decision, number))
	var res api.DecisionResult
	c.call("POST", "/api/v1/approvals/"+a.ID+"/decision",
		api.Decision{Decision: decision, Number: number, Nonce: a.Nonce, Signature: b64.EncodeToString(sig)}, http.StatusOK, &res)
	return res.Status
}

// shownNumber reads the number the approval page shows.
func (s *site) shownNumber() int {
	s.t.Helper()
	s.shot("approval")
	n, err := strconv.Atoi(s.text("#approval-number"))
	if err != nil {
		s.t.Fatalf("#approval-number: %v", err)
	}
	return n
}

// waitFor polls cond every 20 ms until it holds or within passes.
func (s *site) waitFor(what string, within time.Duration, cond func() (bool, string)) time.Duration {
	s.t.Helper()
	start := time.Now()
	last := ""
	for {
		ok, got := cond()
		if ok {
			return time.Since(start)
		}
		last = got
		if time.Since(start) > within {
			s.t.Fatalf("%s: not within %v (last seen %q)", what, within, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestApproveOnDesktop: an account with 2-step on pairs a desktop through
// the pairing page and API v1; a password sign-in then waits on the
// approval page, the desktop picks the number the page shows, and the page
// signs in by itself. A denial and a wrong number leave it denied.
func TestApproveOnDesktop(t *testing.T) {
	s := newSite(t)
	s.signUp()
	s.enableTwoStep()

	s.open("/account/security/devices")
	s.submit("form#pair-start-form", nil)
	s.wantPath("/account/approvers/pair")
	s.wantCount("img#pair-qr", 1)
	s.shot("pair")
	code := s.text("#pair-code")
	desk := pair(t, s.base, code)
	s.open("/account/security/devices")
	s.wantCount("#approvers li", 1)
	s.shot("approvers")
	s.signOut()

	// Approve: the page finishes the sign-in itself.
	s.signIn()
	s.wantPath("/signin/verify")
	n := s.shownNumber()
	if got := s.text("#approval-status"); got != "Waiting for your approval…" {
		t.Errorf("#approval-status: got %q", got)
	}
	// While the page follows the request there is nothing to press, and it
	// counts down the time the request has left.
	s.waitFor("the button hidden while following", 3*time.Second, func() (bool, string) {
		var hidden bool
		err := browsertest.Eval(s.tab, `document.getElementById('approval-check-line').hidden`, &hidden)
		return err == nil && hidden, fmt.Sprint(hidden, err)
	})
	left := s.text("#approval-left")
	if left != "2:00" && !strings.HasPrefix(left, "1:5") {
		t.Errorf("time left %q, want about the two minutes a request lives", left)
	}
	s.waitFor("the countdown moving", 3*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#approval-left")
		return err == nil && got != left, got
	})
	s.shot("approve")
	a := desk.next()
	if !slices.Contains(a.Numbers, n) || len(a.Numbers) != 3 {
		t.Fatalf("the desktop is offered %v, the page shows %d", a.Numbers, n)
	}
	if got := desk.decide(a, api.DecisionApprove, n); got != api.StatusApproved {
		t.Fatalf("approve: %s", got)
	}
	took := s.waitFor("landing on /account/security", time.Second, func() (bool, string) {
		p, err := browsertest.Path(s.tab)
		return err == nil && p == "/account/security", p
	})
	t.Logf("signed in %v after the approval", took)
	s.wantCount("#two-step-status", 1)
	s.signOut()

	// Deny: the page says so.
	s.signIn()
	s.wantPath("/signin/verify")
	s.shownNumber()
	a = desk.next()
	if got := desk.decide(a, api.DecisionDeny, 0); got != api.StatusDenied {
		t.Fatalf("deny: %s", got)
	}
	s.waitFor("the denial shown", 2*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#approval-status")
		return err == nil && got == "The request was denied. Send a new request", got
	})
	s.shot("denied")
	s.wantPath("/signin/verify")

	// A new request, approved with the wrong number: denied too.
	s.open("/signin/verify?method=approve&new=1")
	n = s.shownNumber()
	a = desk.next()
	wrong := a.Numbers[0]
	if wrong == n {
		wrong = a.Numbers[1]
	}
	if got := desk.decide(a, api.DecisionApprove, wrong); got != api.StatusDenied {
		t.Fatalf("approving with the wrong number: %s", got)
	}
	s.waitFor("the wrong number's denial shown", 2*time.Second, func() (bool, string) {
		got, err := browsertest.Text(s.tab, "#approval-status")
		return err == nil && got == "The request was denied. Send a new request", got
	})
	// Pressing the button anyway does not sign in.
	s.open("/signin/verify")
	if got := s.text("#approval-status"); got != "The request was denied. Send a new request" {
		t.Errorf("after reload: %q", got)
	}
	s.open("/account/security")
	s.wantPath("/signin")
}
