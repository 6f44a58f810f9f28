package server

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approval"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/sealed"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

var (
	pairCodeRe = regexp.MustCompile(`<code id="pair-code" class="secret">([A-Z0-9]{4}-[A-Z0-9]{4})</code>`)
	pairURIRe  = regexp.MustCompile(`<code id="pair-uri">([^<]+)</code>`)
	pairQRRe   = regexp.MustCompile(`<img id="pair-qr" src="data:image/png;base64,([^"]+)"`)
	numberRe   = regexp.MustCompile(`<p id="approval-number" class="approval-number">(\d+)</p>`)
)

// desktop is a paired approver: the companion's key and its record.
type desktop struct {
	priv ed25519.PrivateKey
	a    *store.Approver
}

// pairDesktop makes a pairing code on the page, as the signed-in c, and
// redeems it the way the companion does.
func (c *client) pairDesktop(name string) *desktop {
	c.t.Helper()
	c.get("/account/security")
	r := c.post("/account/approvers/pair", nil)
	m := pairCodeRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		c.t.Fatalf("no pairing code: %d %s", r.status, r.body)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx := context.Background()
	res, err := c.e.srv.approvals.Redeem(ctx, api.Pairing{
		Code: strings.ToLower(m[1]), PublicKey: base64.RawURLEncoding.EncodeToString(pub), Name: name, Platform: "linux",
	}, "198.51.100.7", "countersign-desktop/1.0")
	if err != nil {
		c.t.Fatalf("redeem %s: %v", m[1], err)
	}
	a, err := c.e.db.Approver(ctx, res.DeviceID)
	if err != nil {
		c.t.Fatal(err)
	}
	return &desktop{priv: priv, a: a}
}

// decide signs a decision on req and sends it, as the companion does; it
// returns the resulting status.
func (d *desktop) decide(t *testing.T, e *env, req *store.ApprovalRequest, decision string, number int) string {
	t.Helper()
	sig := ed25519.Sign(d.priv, api.DecisionMessage(req.ID, req.Nonce, decision, number))
	status, err := e.srv.approvals.Decide(context.Background(), d.a, req.ID, api.Decision{
		Decision: decision, Number: number, Nonce: req.Nonce, Signature: base64.RawURLEncoding.EncodeToString(sig),
	})
	if err != nil {
		t.Fatalf("decide %s: %v", decision, err)
	}
	return status
}

// approverUser signs up, turns two-step on (authenticator app and phone),
// pairs a desktop and signs out.
func approverUser(t *testing.T, e *env) (*client, *desktop) {
	t.Helper()
	c := e.client()
	c.signup("ada@example.com", pw)
	c.addTOTP()
	c.addPhone(phone)
	c.enableTwoStep()
	d := c.pairDesktop("Ada's laptop")
	c.signout()
	return c, d
}

// waitingRequest signs c in with the password, opens the second step and
// returns the approval request the page made and the number it shows.
func waitingRequest(t *testing.T, e *env, c *client) (*store.ApprovalRequest, int) {
	t.Helper()
	if r := c.signin("ada@example.com", pw); r.loc != "/signin/verify" {
		t.Fatalf("sign-in went to %q", r.loc)
	}
	r := c.get("/signin/verify")
	m := numberRe.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("no number on the verify page: %d %s", r.status, r.body)
	}
	n, _ := strconv.Atoi(m[1])
	req, err := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie)))
	if err != nil {
		t.Fatal(err)
	}
	return req, n
}

func activityKinds(t *testing.T, e *env, userID string) []string {
	t.Helper()
	act, err := e.db.ActivityPage(context.Background(), userID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range act {
		kinds = append(kinds, a.Kind+": "+a.Detail)
	}
	return kinds
}

func hasActivity(kinds []string, prefix string) bool {
	for _, k := range kinds {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func TestPairingPageAndRemoval(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)

	r := c.sections()
	approvers := sectionOf(r.body, "approvers")
	mustContain(t, approvers, "Desktops that approve sign-ins", "No desktop approves your sign-ins yet.", `action="/account/approvers/pair"`)
	if strings.Contains(r.body, `id="require-key-form"`) {
		t.Error("require-key form offered without security keys")
	}
	if r := c.get("/account/approvers/pair"); r.status != http.StatusOK || !strings.Contains(r.body, `id="pair-desktop"`) {
		t.Errorf("GET pairing page: %d", r.status)
	}

	r = c.post("/account/approvers/pair", nil)
	if r.status != http.StatusOK {
		t.Fatalf("pair: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, "In Countersign on your desktop choose Pair with an account and scan this code, or type the server address and the code.",
		`id="pair-expires"`, "22 Nov 2026, 12:10 UTC", `<code id="pair-server">`+testURL+`</code>`)
	code := pairCodeRe.FindStringSubmatch(r.body)
	uri := pairURIRe.FindStringSubmatch(r.body)
	png := pairQRRe.FindStringSubmatch(r.body)
	if code == nil || uri == nil || png == nil {
		t.Fatalf("pairing page lacks the code, URI or QR: %s", r.body)
	}
	want := "countersign://pair?server=" + url.QueryEscape(testURL) + "&code=" + strings.ReplaceAll(code[1], "-", "")
	if got := html.UnescapeString(uri[1]); got != want {
		t.Errorf("#pair-uri: got %q, want %q", got, want)
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(png[1]))
	if err != nil {
		t.Fatal(err)
	}
	codes, err := qr.DecodeBytes(raw)
	if err != nil || len(codes) != 1 || codes[0].Text != want {
		t.Errorf("the QR code holds %v (%v), want %q", codes, err, want)
	}

	// A desktop pairs with a fresh code; it is listed with a remove button.
	d := c.pairDesktop("Ada's laptop")
	r = c.sections()
	approvers = sectionOf(r.body, "approvers")
	if n := strings.Count(approvers, "<li>"); n != 1 {
		t.Errorf("%d approvers listed, want 1", n)
	}
	mustContain(t, approvers, "Ada&#39;s laptop", "Linux · paired <time datetime=\"2026-11-22T12:00:15Z\" data-local>22 Nov 2026, 12:00 UTC</time> · last seen",
		`action="/account/approvers/`+d.a.ID+`/remove"`)
	mustContain(t, r.body, "Desktop paired: Paired Ada&#39;s laptop (linux)")

	if r := c.post("/account/approvers/nope/remove", nil); r.status != http.StatusNotFound {
		t.Errorf("removing an unknown approver: %d", r.status)
	}
	other := e.client()
	other.signup("bob@example.com", pw)
	if r := other.post("/account/approvers/"+d.a.ID+"/remove", nil); r.status != http.StatusNotFound {
		t.Errorf("removing another account's approver: %d", r.status)
	}
	// It asks first, naming the desktop, and nothing goes until confirmed.
	r = c.post("/account/approvers/"+d.a.ID+"/remove", nil)
	mustContain(t, html.UnescapeString(r.body), "Remove the desktop “Ada's laptop”?", `id="confirm-form"`, `name="confirm" value="1"`)
	if list, _ := e.srv.approvals.Approvers(context.Background(), e.user("ada@example.com").ID); len(list) != 1 {
		t.Fatalf("%d desktops after asking, want 1", len(list))
	}
	r = c.post("/account/approvers/"+d.a.ID+"/remove", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/account/security/devices#approvers" {
		t.Fatalf("remove: %d %q", r.status, r.loc)
	}
	r = c.follow(r)
	mustContain(t, r.body, "“Ada&#39;s laptop” is removed", "No desktop approves your sign-ins yet.")
	mustContain(t, c.get("/account/security").body, "Desktop removed")
	if list, _ := e.srv.approvals.Approvers(context.Background(), e.user("ada@example.com").ID); len(list) != 0 {
		t.Errorf("%d approvers left after removal", len(list))
	}
	checkAccessible(t, c.post("/account/approvers/pair", nil).body)
}

func TestApprovalSignIn(t *testing.T) {
	e := newEnv(t)
	c, d := approverUser(t, e)
	u := e.user("ada@example.com")
	req, n := waitingRequest(t, e, c)
	if n != req.Number || n < 10 || n > 99 {
		t.Fatalf("the page shows %d, the request has %d", n, req.Number)
	}
	r := c.get("/signin/verify")
	mustContain(t, r.body, "We sent a request to your devices. Pick this number on your desktop.",
		`<p id="approval-status" role="status" aria-live="polite" data-state="pending">`,
		`<form id="approval-complete-form" method="post" action="/signin/approval/complete">`,
		`id="remember"`, `<button type="submit" id="approval-check" class="primary">I approved it — continue</button>`,
		`<script src="/static/`+staticFiles["approval.js"].hash+`/approval.js" defer></script>`,
		`href="/signin/verify?method=totp"`, `href="/signin/verify?method=sms"`, `href="/signin/verify?method=backup"`)
	if strings.Contains(r.body, `id="verify-form"`) {
		t.Error("the code form is shown with the approve method")
	}
	checkAccessible(t, r.body)
	// A reload shows the same request.
	if again, _ := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie))); again.ID != req.ID {
		t.Error("a reload made a new request")
	}
	// The other methods still work from here, and link back.
	r = c.get("/signin/verify?method=totp")
	mustContain(t, r.body, `id="verify-form"`, `href="/signin/verify?method=approve"`, "Approve on your desktop")

	// Too early.
	r = c.post("/signin/approval/complete", url.Values{"remember": {"1"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "Not approved yet.") {
		t.Fatalf("complete before approval: %d %s", r.status, r.body)
	}
	if st := c.get("/account/security"); st.status != http.StatusSeeOther {
		t.Fatal("signed in before approval")
	}

	if got := d.decide(t, e, req, api.DecisionApprove, n); got != "approved" {
		t.Fatalf("decision: %s", got)
	}
	r = c.post("/signin/approval/complete", url.Values{"remember": {"1"}})
	if r.status != http.StatusSeeOther || r.loc != "/account/security" {
		t.Fatalf("complete after approval: %d %q %s", r.status, r.loc, r.body)
	}
	r = c.follow(r)
	mustContain(t, r.body, `<h1>Login &amp; security</h1>`, "Signed in: Approved on Ada&#39;s laptop", "Approved on a desktop: Sign-in approved on Ada&#39;s laptop")
	if c.cookie(deviceCookie) == "" {
		t.Error("remember did not trust the browser")
	}
	kinds := activityKinds(t, e, u.ID)
	for _, want := range []string{store.ActApprovalRequested, store.ActApprovalApproved, store.ActSignIn + ": Approved on Ada's laptop", store.ActDeviceTrusted} {
		if !hasActivity(kinds, want) {
			t.Errorf("no activity %q in %q", want, kinds)
		}
	}
}

func TestApprovalDeniedAndWrongNumber(t *testing.T) {
	e := newEnv(t)
	c, d := approverUser(t, e)

	req, _ := waitingRequest(t, e, c)
	if got := d.decide(t, e, req, api.DecisionDeny, 0); got != "denied" {
		t.Fatalf("deny: %s", got)
	}
	r := c.post("/signin/approval/complete", nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("complete after denial: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, "The request was denied.", `href="/signin/verify?method=approve&amp;new=1"`, `href="/signin/verify?method=totp"`)
	if strings.Contains(r.body, `id="approval-number"`) || strings.Contains(r.body, `id="approval-complete-form"`) {
		t.Error("a denied request still shows its number or form")
	}
	// A reload does not send another request by itself; asking does.
	r = c.get("/signin/verify")
	mustContain(t, r.body, "The request was denied.")
	e.clock.Advance(time.Second) // the session's newest request is the one created last
	r = c.get("/signin/verify?method=approve&new=1")
	m := numberRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no new request: %s", r.body)
	}
	req2, err := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie)))
	if err != nil || req2.ID == req.ID {
		t.Fatalf("no new request: %v", err)
	}

	// Approving with the wrong number is a denial.
	wrong := req2.Decoys[0]
	if got := d.decide(t, e, req2, api.DecisionApprove, wrong); got != "denied" {
		t.Fatalf("wrong number: %s", got)
	}
	if r := c.post("/signin/approval/complete", nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "The request was denied.") {
		t.Fatalf("complete after a wrong number: %d", r.status)
	}
	if c.get("/account/security").status != http.StatusSeeOther {
		t.Fatal("signed in after a denial")
	}

	// A third denial locks the password step: no more requests.
	e.clock.Advance(time.Second)
	c.get("/signin/verify?method=approve&new=1")
	req3, _ := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie)))
	d.decide(t, e, req3, api.DecisionDeny, 0)
	r = c.get("/signin/verify?method=approve&new=1")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many attempts; try again in 15 minutes.") {
		t.Fatalf("after three denials: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, `id="verify-form"`, `name="method" value="totp"`)
}

func TestApprovalReported(t *testing.T) {
	e := newEnv(t)
	c, d := approverUser(t, e)
	req, _ := waitingRequest(t, e, c)
	if got := d.decide(t, e, req, api.DecisionReport, 0); got != "reported" {
		t.Fatalf("report: %s", got)
	}
	r := c.post("/signin/approval/complete", nil)
	if r.status != http.StatusForbidden {
		t.Fatalf("complete after a report: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, msgBlocked, `href="/password/forgot"`)
	if strings.Contains(r.body, `id="verify-form"`) || strings.Contains(r.body, "Other ways to verify") {
		t.Error("a blocked sign-in still offers other methods")
	}
	if r := c.get("/signin/verify?method=totp"); r.status != http.StatusSeeOther || r.loc != "/signin" {
		t.Errorf("the blocked session lives on: %d %q", r.status, r.loc)
	}
	if !hasActivity(activityKinds(t, e, e.user("ada@example.com").ID), store.ActApprovalReported) {
		t.Error("no approval.reported activity")
	}
	// The mail goes out in the background.
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := e.outbox.Last("ada@example.com")
		if err == nil && m.Subject == "Someone signed in with your password — change it now" {
			if !strings.Contains(m.Text, testURL+"/password/forgot") {
				t.Errorf("the mail lacks the reset link: %s", m.Text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report mail: %v %+v", err, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestApprovalTooManyPending(t *testing.T) {
	e := newEnv(t)
	approverUser(t, e)
	for i := range 3 {
		c := e.client()
		c.ip = "192.0.2." + strconv.Itoa(20+i)
		waitingRequest(t, e, c)
	}
	c := e.client()
	c.signin("ada@example.com", pw)
	r := c.get("/signin/verify")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("a fourth request: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, "Too many sign-in requests are waiting", `id="verify-form"`, `name="method" value="totp"`,
		`href="/signin/verify?method=sms"`)
	if strings.Contains(r.body, `id="approval-number"`) {
		t.Error("a number is shown without a request")
	}
}

func TestApprovalRequireKeySetting(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	r := c.refused(c.post("/account/approvers/require-key", url.Values{"require_key": {"1"}}), "/account/security/devices#approvers")
	mustContain(t, sectionOf(r.body, "approvers"), "Add a security key first")
	key := seckeytest.New(t, testURL)
	c.get("/account/security")
	id, opts := begin(t, c, "/account/security-keys/begin")
	body, _ := json.Marshal(map[string]any{"challenge_id": id, "name": "YubiKey", "credential": key.Create(t, opts)})
	if r := c.postJSON("/account/security-keys/finish", string(body)); r.status != http.StatusOK {
		t.Fatalf("add key: %d %s", r.status, r.body)
	}
	r = c.sections()
	mustContain(t, r.body, `<form id="require-key-form" method="post" action="/account/approvers/require-key">`,
		"Require a security-key touch to approve")
	if strings.Contains(r.body, `name="require_key" value="1" checked`) {
		t.Error("require-key checked before it was set")
	}
	r = c.submit("/account/approvers/require-key", url.Values{"require_key": {"1"}})
	mustContain(t, r.body, `name="require_key" value="1" checked`, "now takes a security-key touch")
	if on, _ := e.srv.approvals.RequireKey(context.Background(), e.user("ada@example.com").ID); !on {
		t.Error("the setting is off")
	}
	r = c.submit("/account/approvers/require-key", nil)
	if strings.Contains(r.body, `name="require_key" value="1" checked`) {
		t.Error("require-key still checked after turning it off")
	}
}

// streamEvents opens the approval stream of c's session through a real
// HTTP server and returns the answer and a reader of its body.
func streamEvents(t *testing.T, e *env, c *client) (*http.Response, *bufio.Reader) {
	t.Helper()
	hs := httptest.NewServer(e.h)
	t.Cleanup(hs.Close)
	req, err := http.NewRequestWithContext(t.Context(), "GET", hs.URL+"/signin/approval/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie(sessionCookie)})
	req.Header.Set("Accept", "text/event-stream")
	res, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res, bufio.NewReader(res.Body)
}

func TestApprovalStream(t *testing.T) {
	e := newEnv(t)
	c, d := approverUser(t, e)

	anon := e.client()
	if r := anon.get("/signin/approval/stream"); r.status != http.StatusUnauthorized {
		t.Errorf("stream without a pending session: %d", r.status)
	}

	req, n := waitingRequest(t, e, c)
	e.srv.ping = 10 * time.Millisecond // before streamEvents starts the HTTP server
	res, rd := streamEvents(t, e, c)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{"retry: 2000\n", "\n", ": ping\n"} {
		if line, err := rd.ReadString('\n'); err != nil || line != want {
			t.Fatalf("stream line %q (%v), want %q", line, err, want)
		}
	}
	d.decide(t, e, req, api.DecisionApprove, n)
	var got []string
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			break // the stream ends after its event
		}
		if line = strings.TrimSpace(line); line != "" && line != ": ping" {
			got = append(got, line)
		}
	}
	want := []string{"event: decided", `data: {"status":"approved"}`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stream sent %q, want %q", got, want)
	}

	// A request decided already is told at once.
	r := c.post("/signin/approval/complete", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("complete: %d", r.status)
	}
	c2 := e.client()
	req2, _ := waitingRequest(t, e, c2)
	d.decide(t, e, req2, api.DecisionDeny, 0)
	_, rd = streamEvents(t, e, c2)
	var all strings.Builder
	for {
		line, err := rd.ReadString('\n')
		all.WriteString(line)
		if err != nil {
			break
		}
	}
	if !strings.Contains(all.String(), "event: decided\ndata: {\"status\":\"denied\"}\n\n") {
		t.Errorf("stream of a denied request: %q", all.String())
	}
}

func TestApprovalExpired(t *testing.T) {
	e := newEnv(t)
	c, d := approverUser(t, e)
	req, n := waitingRequest(t, e, c)
	e.clock.Advance(2*time.Minute + time.Second)
	r := c.post("/signin/approval/complete", nil)
	if r.status != http.StatusGone {
		t.Fatalf("complete after expiry: %d %s", r.status, r.body)
	}
	mustContain(t, r.body, "The request expired.", `href="/signin/verify?method=approve&amp;new=1"`)
	sig := ed25519.Sign(d.priv, api.DecisionMessage(req.ID, req.Nonce, api.DecisionApprove, n))
	_, err := e.srv.approvals.Decide(context.Background(), d.a, req.ID, api.Decision{
		Decision: api.DecisionApprove, Number: n, Nonce: req.Nonce, Signature: base64.RawURLEncoding.EncodeToString(sig),
	})
	if !errors.Is(err, approval.ErrExpired) {
		t.Errorf("deciding an expired request: %v, want ErrExpired", err)
	}
	r = c.get("/signin/verify?method=approve&new=1")
	m := numberRe.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no new request after expiry: %s", r.body)
	}
	req2, _ := e.srv.approvals.SessionRequest(context.Background(), sessionID(c.cookie(sessionCookie)))
	if req2.ID == req.ID {
		t.Fatal("the expired request came back")
	}
	d.decide(t, e, req2, api.DecisionApprove, req2.Number)
	if r := c.post("/signin/approval/complete", nil); r.status != http.StatusSeeOther {
		t.Fatalf("complete a fresh approval: %d %s", r.status, r.body)
	}
}

// TestHouseholdSignInAndReshare: a browser approved by a member's desktop is
// that member's, and its session acts as them; a new authenticator set up on
// the pages (by the owner) is offered again to the members who share it; the
// pages tell companions what changed.
func TestHouseholdSignInAndReshare(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, adaDesk := approverUser(t, e)
	u := e.user("ada@example.com")
	sam, err := e.srv.house.AddMember(ctx, u.ID, "Sam")
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	code, _, _, err := e.srv.house.Invite(ctx, u.ID, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.srv.approvals.Redeem(ctx, api.Pairing{Code: code, PublicKey: base64.RawURLEncoding.EncodeToString(pub), Name: "Sam's desktop"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.db.Approver(ctx, res.DeviceID)
	samDesk := &desktop{priv: priv, a: a}
	if n, err := e.srv.house.Share(ctx, u.ID, sam.ID, "Ada"); err != nil || n != 1 {
		t.Fatalf("Share = %d, %v", n, err)
	}

	req, n := waitingRequest(t, e, c)
	samDesk.decide(t, e, req, api.DecisionApprove, n)
	r := c.post("/signin/approval/complete", url.Values{"remember": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("complete after approval: %d %s", r.status, r.body)
	}
	ds, err := e.db.Devices(ctx, u.ID)
	if err != nil || len(ds) != 1 || ds[0].MemberID != sam.ID {
		t.Fatalf("trusted devices = %+v, %v; want one of Sam's", ds, err)
	}
	if !hasActivity(activityKinds(t, e, u.ID), store.ActSignIn+": Approved on Sam's desktop (Sam)") {
		t.Errorf("no sign-in activity naming Sam's desktop in %q", activityKinds(t, e, u.ID))
	}

	// Signed in by Sam's approval, the session is Sam's: the account's
	// two-step settings are the owner's.
	if r := c.get("/account/two-step/totp"); r.status != http.StatusForbidden ||
		!strings.Contains(html.UnescapeString(r.body), "Only the account's owner can change two-step verification.") {
		t.Errorf("Sam's session on the TOTP page: %d %s", r.status, r.body)
	}
	// Ada signs in on another browser with her own desktop's approval.
	c = e.client()
	req, n = waitingRequest(t, e, c)
	adaDesk.decide(t, e, req, api.DecisionApprove, n)
	if r := c.post("/signin/approval/complete", nil); r.status != http.StatusSeeOther {
		t.Fatalf("complete after Ada's approval: %d %s", r.status, r.body)
	}

	before, err := e.db.LastApprovalEventSeq(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	secret := c.addTOTP()
	offers, err := e.srv.house.Offers(ctx, samDesk.a.ID)
	if err != nil || len(offers) != 1 || !offers[0].Rekeyed {
		t.Fatalf("Sam's offers after a new authenticator = %+v, %v; want one rekeyed", offers, err)
	}
	plain, err := sealed.Open(samDesk.priv, offers[0].Sealed)
	if err != nil || !strings.Contains(string(plain), otp.Key{Secret: secret}.SecretBase32()) {
		t.Errorf("the rekeyed offer does not hold the new secret (%v)", err)
	}
	evs, err := e.db.ApprovalEvents(ctx, u.ID, before, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Kind+" "+string(ev.Data))
	}
	for _, want := range []string{`share {"id":"` + offers[0].ID + `","device_id":"` + samDesk.a.ID + `"}`, `changed {"what":"account"}`} {
		if !slices.Contains(got, want) {
			t.Errorf("events after a new authenticator = %q, want %s among them", got, want)
		}
	}
}
