package server

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/qr"
	"github.com/countersign/countersign/internal/store"
)

const phone = "+12065550100"

// twoStepUser signs up, sets up an authenticator app and a phone, turns
// two-step on and signs out. It returns the client, the app's secret and the
// backup codes.
func twoStepUser(t *testing.T, e *env) (*client, []byte, []string) {
	t.Helper()
	c := e.client()
	c.signup("ada@example.com", pw)
	secret := c.addTOTP()
	r := c.get("/account/two-step")
	mustContain(t, r.body, "Step 2: add a backup method", `href="/account/two-step/phone"`)
	if strings.Contains(r.body, `id="enable-form"`) {
		t.Error("enable form offered with one method")
	}
	c.addPhone(phone)
	r = c.get("/account/two-step")
	mustContain(t, r.body, `id="enable-form"`)
	codes := c.enableTwoStep()
	if len(codes) != 10 {
		t.Fatalf("%d backup codes shown, want 10", len(codes))
	}
	if r := c.sections(); !strings.Contains(r.body, `<strong id="two-step-status" class="on">On</strong>`) {
		t.Fatalf("status not On: %s", r.body)
	}
	c.signout()
	return c, secret, codes
}

func TestTwoStepSetupAndTOTPSignin(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	e.clock.Advance(30 * time.Second) // past the step that confirmed the app
	u := e.user("ada@example.com")
	if !u.TwoStep {
		t.Fatal("two-step is off")
	}

	r := c.signin("ada@example.com", pw)
	if r.loc != "/signin/verify" {
		t.Fatalf("sign-in with two-step went to %q", r.loc)
	}
	pending := c.cookie(sessionCookie)
	if r := c.get("/account/security"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/signin") {
		t.Errorf("a pending session reached the settings: %d %q", r.status, r.loc)
	}
	r = c.get("/signin/verify")
	mustContain(t, r.body, `id="verify-form"`, `name="method" value="totp"`, `id="remember"`, `value="1"`,
		"Don't require codes on this browser", `href="/signin/verify?method=sms"`, `href="/signin/verify?method=backup"`)

	// Codes two steps away are refused, and each refusal counts.
	for _, d := range []int64{-2, 2} {
		r = c.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, d)}})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "That code is not right") {
			t.Errorf("code from step %+d: %d", d, r.status)
		}
	}
	if u := e.user("ada@example.com"); u.FailedLogins != 2 {
		t.Errorf("FailedLogins = %d, want 2", u.FailedLogins)
	}
	// One step back is fine.
	r = c.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, -1)}})
	if r.status != http.StatusSeeOther || r.loc != "/account/security" {
		t.Fatalf("code from step -1: %d %s", r.status, r.body)
	}
	if full := c.cookie(sessionCookie); full == pending || full == "" {
		t.Error("the session id did not change at the second step")
	}
	if u := e.user("ada@example.com"); u.FailedLogins != 0 {
		t.Errorf("FailedLogins = %d after success, want 0", u.FailedLogins)
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 5)
	if acts[0].Kind != store.ActSignIn || acts[1].Kind != store.ActTwoStepUsed || acts[1].Detail != "Authenticator app" {
		t.Errorf("activity %+v %+v", acts[0], acts[1])
	}

	// The same code again, in another browser: refused as used.
	c2 := e.client()
	c2.signin("ada@example.com", pw)
	c2.get("/signin/verify")
	r = c2.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, -1)}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "used already") {
		t.Errorf("replayed code: %d %s", r.status, r.body)
	}
	// Nor an older step than one already used.
	e.clock.Advance(30 * time.Second)
	r = c2.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, -2)}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("older step after a newer one: %d", r.status)
	}
	// One step ahead works.
	r = c2.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 1)}})
	if r.status != http.StatusSeeOther {
		t.Errorf("code from step +1: %d %s", r.status, r.body)
	}
}

func TestTrustedDevice(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	r := c.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}, "remember": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if c.cookie(deviceCookie) == "" {
		t.Fatal("no cs_device cookie")
	}
	u := e.user("ada@example.com")
	devs, _ := e.db.Devices(context.Background(), u.ID)
	if len(devs) != 1 || devs[0].Name != "Chrome on Linux" || !devs[0].TrustedUntil.Equal(e.clock.Now().Add(60*24*time.Hour)) {
		t.Fatalf("devices = %+v", devs)
	}
	mustContain(t, c.follow(r).body, "Login &amp; security")
	mustContain(t, c.get("/account/security/devices").body, "Chrome on Linux", "this browser")

	// Signed out and in again: no code asked.
	c.signout()
	r = c.signin("ada@example.com", pw)
	if r.loc != "/account/security" {
		t.Fatalf("trusted browser asked for a code: %q", r.loc)
	}
	c.follow(r)

	// Another browser's cookie is no use for another account.
	other := e.client()
	other.signup("bob@example.com", pw)
	other.signout()
	other.setCookie(deviceCookie, c.cookie(deviceCookie))
	if r := other.signin("ada@example.com", "wrong password entirely"); r.status != http.StatusUnauthorized {
		t.Errorf("trusted browser skipped the password: %d", r.status)
	}

	// Removing the device from a second browser ends the first's session.
	c3 := e.client()
	c3.signin("ada@example.com", pw)
	c3.get("/signin/verify")
	c3.post("/signin/verify", url.Values{"method": {"backup"}, "code": {"zzzz-zzzz"}})
	e.clock.Advance(30 * time.Second)
	c3.submit("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}})
	r = c3.post("/account/devices/"+devs[0].ID+"/remove", url.Values{"confirm": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove device: %d %s", r.status, r.body)
	}
	if r := c.get("/account/security"); r.status != http.StatusSeeOther {
		t.Errorf("the removed device's session still works: %d", r.status)
	}
	c.signout()
	if r := c.signin("ada@example.com", pw); r.loc != "/signin/verify" {
		t.Errorf("a removed device still skips the code: %q", r.loc)
	}
	acts, _ := e.db.ActivityPage(context.Background(), u.ID, 0, 50)
	var kinds []string
	for _, a := range acts {
		kinds = append(kinds, a.Kind)
	}
	for _, want := range []string{store.ActDeviceTrusted, store.ActDeviceRemoved, store.ActTwoStepFailed} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("activity lacks %s: %v", want, kinds)
		}
	}
}

func TestSMSCodes(t *testing.T) {
	e := newEnv(t)
	c, _, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	r := c.get("/signin/verify?method=sms")
	mustContain(t, r.body, `id="send-code"`, `name="method" value="sms"`, "•••• 0100", ">Text me a code</button>")
	send := func() string {
		t.Helper()
		r := c.submit("/signin/verify/send", url.Values{"method": {"sms"}})
		if !strings.Contains(r.body, "We texted a code to •••• 0100") || !strings.Contains(r.body, ">Send again</button>") {
			t.Fatalf("send: %d %s", r.status, r.body)
		}
		return e.lastCode(phone)
	}
	// Expired after 10 minutes.
	code := send()
	e.clock.Advance(10*time.Minute + time.Second)
	r = c.post("/signin/verify", url.Values{"method": {"sms"}, "code": {code}})
	if !strings.Contains(r.body, "expired") {
		t.Errorf("expired code: %d %s", r.status, r.body)
	}
	// Five tries, then even the right code is refused.
	e.clock.Advance(time.Minute)
	code = send()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	u := e.user("ada@example.com")
	for i := range 5 {
		r = c.post("/signin/verify", url.Values{"method": {"sms"}, "code": {wrong}})
		if r.status != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i+1, r.status)
		}
		// The account lockout is tested elsewhere; here only the code's tries.
		if err := e.db.ResetLoginFailures(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	r = c.post("/signin/verify", url.Values{"method": {"sms"}, "code": {code}})
	if !strings.Contains(r.body, "tried too many times") {
		t.Errorf("sixth try: %d %s", r.status, r.body)
	}
	// A fresh code works once.
	e.clock.Advance(time.Minute)
	code = send()
	r = c.post("/signin/verify", url.Values{"method": {"sms"}, "code": {code}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("right code: %d %s", r.status, r.body)
	}
	c.follow(r)
	c.signout()
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=sms")
	if r := c.post("/signin/verify", url.Values{"method": {"sms"}, "code": {code}}); r.status == http.StatusSeeOther {
		t.Error("a used SMS code worked again")
	}
}

func TestSendLimit(t *testing.T) {
	e := newEnv(t)
	c, _, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=sms")
	var r *resp
	for range 4 {
		r = c.post("/signin/verify/send", url.Values{"method": {"sms"}})
	}
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Wait a minute") {
		t.Errorf("fourth send in a minute: %d", r.status)
	}
}

func TestBackupCodes(t *testing.T) {
	e := newEnv(t)
	c, _, codes := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	r := c.get("/signin/verify")
	mustContain(t, r.body, `Use a backup code</a> (10 left)`)
	r = c.get("/signin/verify?method=backup")
	mustContain(t, r.body, `name="method" value="backup"`, `<label for="code">Enter one of your backup codes</label>`)
	// Typed in capitals with a space: still the code.
	typed := strings.ToUpper(strings.Replace(codes[3], "-", " ", 1))
	r = c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {typed}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("backup code: %d %s", r.status, r.body)
	}
	c.follow(r)
	r = c.sections()
	mustContain(t, r.body, "9 of 10 backup codes unused")
	c.signout()
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	r = c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {codes[3]}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "used already") {
		t.Errorf("reused backup code: %d %s", r.status, r.body)
	}
	// The hashes are stored, never the codes.
	u := e.user("ada@example.com")
	stored, _ := e.db.BackupCodes(context.Background(), u.ID)
	for _, s := range stored {
		for _, code := range codes {
			if strings.Contains(string(s.Hash), code) {
				t.Fatal("a backup code is stored in clear")
			}
		}
	}
	// Regenerating replaces them all.
	r = c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {codes[4]}})
	c.follow(r)
	c.get("/account/security")
	r = c.post("/account/backup-codes", nil)
	mustContain(t, r.body, "Your current backup codes stop working at once")
	if got := backupRe.FindAllStringSubmatch(r.body, -1); len(got) != 0 {
		t.Fatalf("new codes shown before confirming: %d", len(got))
	}
	r = c.submit("/account/backup-codes", url.Values{"confirm": {"1"}})
	fresh := backupRe.FindAllStringSubmatch(r.body, -1)
	if len(fresh) != 10 {
		t.Fatalf("%d new codes", len(fresh))
	}
	c.signout()
	c.signin("ada@example.com", pw)
	c.get("/signin/verify?method=backup")
	if r := c.post("/signin/verify", url.Values{"method": {"backup"}, "code": {codes[5]}}); r.status == http.StatusSeeOther {
		t.Error("an old backup code works after regenerating")
	}
}

func TestRemovingMethods(t *testing.T) {
	e := newEnv(t)
	c, secret, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	c.submit("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(secret, 0)}})
	u := e.user("ada@example.com")
	ms, _ := e.db.Methods(context.Background(), u.ID)
	if len(ms) != 2 {
		t.Fatalf("%d methods", len(ms))
	}
	r := c.sections()
	if n := strings.Count(sectionOf(r.body, "two-step"), "<li>"); n != 2 {
		t.Errorf("%d methods listed, want 2", n)
	}
	r = c.refused(c.post("/account/methods/"+ms[0].ID+"/remove", nil), "/account/security/sign-in#two-step")
	mustContain(t, sectionOf(r.body, "two-step"), "a backup method is required")
	// Turning off asks first, with the password; a wrong one asks again.
	r = c.post("/account/two-step/disable", nil)
	mustContain(t, r.body, "Turn off two-step verification?", `name="password"`, `id="confirm-form"`)
	r = c.post("/account/two-step/disable", url.Values{"confirm": {"1"}, "password": {"not my password"}})
	if r.status != http.StatusUnauthorized || !e.user("ada@example.com").TwoStep || !strings.Contains(r.body, `id="confirm-form"`) {
		t.Errorf("disable with a wrong password: %d", r.status)
	}
	before := c.cookie(sessionCookie)
	r = c.submit("/account/two-step/disable", url.Values{"confirm": {"1"}, "password": {pw}})
	mustContain(t, r.body, `<strong id="two-step-status" class="off">Off</strong>`)
	if c.cookie(sessionCookie) == before {
		t.Error("the session id did not change when two-step went off")
	}
	// Off: methods may go.
	r = c.submit("/account/methods/"+ms[0].ID+"/remove", url.Values{"confirm": {"1"}})
	mustContain(t, r.body, "is removed")
	if ms, _ := e.db.Methods(context.Background(), u.ID); len(ms) != 1 {
		t.Errorf("%d methods left", len(ms))
	}
}

// sectionOf is the text of <section id="id"> in a page.
func sectionOf(body, id string) string {
	i := strings.Index(body, `<section id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

func TestTOTPSetupPage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	r := c.get("/account/two-step/totp")
	mustContain(t, r.body, `<img id="totp-qr" src="data:image/png;base64,`, `id="totp-secret"`, `id="totp-form"`,
		`autocomplete="one-time-code"`, `inputmode="numeric"`)
	// The QR code carries the otpauth URI with the secret shown in text.
	src := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(r.body)
	png, err := base64.StdEncoding.DecodeString(html.UnescapeString(src[1]))
	if err != nil {
		t.Fatal(err)
	}
	codes, err := qr.DecodeBytes(png)
	if err != nil || len(codes) != 1 {
		t.Fatalf("QR: %v %v", codes, err)
	}
	key, err := otp.ParseURI(codes[0].Text)
	if err != nil {
		t.Fatal(err)
	}
	shown := strings.ReplaceAll(secretRe.FindStringSubmatch(r.body)[1], " ", "")
	if key.Issuer != "Countersign" || key.Name != "ada@example.com" || key.SecretBase32() != shown || key.Digits != 6 || key.Period != 30 {
		t.Errorf("QR key = %+v, secret shown %s", key, shown)
	}
	// A reload shows the same secret.
	again := c.get("/account/two-step/totp")
	if secretRe.FindString(r.body) != secretRe.FindString(again.body) {
		t.Error("the secret changed on reload")
	}
	r = c.refused(c.post("/account/two-step/totp", url.Values{"code": {"123456"}}), "/account/two-step/totp")
	mustContain(t, r.body, "not right", `aria-invalid="true"`)
	if secretRe.FindString(r.body) != secretRe.FindString(again.body) {
		t.Error("the secret changed after a wrong code")
	}
	// An unconfirmed app is not a method.
	if r := c.sections(); strings.Contains(sectionOf(r.body, "two-step"), "<li>") {
		t.Error("an unconfirmed app is listed")
	}
}

func TestSecondAuthenticatorAsBackup(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	first := c.addTOTP()
	second := c.addTOTP()
	if string(first) == string(second) {
		t.Fatal("the second app got the first one's secret")
	}
	r := c.get("/account/two-step")
	mustContain(t, r.body, "Authenticator app 2", `id="enable-form"`)
	if codes := c.enableTwoStep(); len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	c.signout()
	c.signin("ada@example.com", pw)
	c.get("/signin/verify")
	if r := c.post("/signin/verify", url.Values{"method": {"totp"}, "code": {e.totpCode(second, 0)}}); r.status != http.StatusSeeOther {
		t.Errorf("the second app's code: %d %s", r.status, r.body)
	}
}

func TestVoiceEnrollment(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.signup("ada@example.com", pw)
	c.get("/account/two-step/phone?kind=voice")
	r := c.submit("/account/two-step/phone", url.Values{"phone": {"+44 20 7946 0000"}, "kind": {"voice"}})
	mustContain(t, r.body, `id="phone-verify-form"`, "are calling a code to •••• 0000")
	// A reload asks for the code again; it does not send another.
	sent := func() int {
		ms, err := e.outbox.Messages()
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	before := sent()
	mustContain(t, c.get("/account/two-step/phone?method="+regexp.MustCompile(`name="method_id" value="([0-9a-f]+)"`).FindStringSubmatch(r.body)[1]).body, `id="phone-verify-form"`)
	if after := sent(); after != before {
		t.Errorf("reloading the code page sent %d more messages", after-before)
	}
	m, err := e.outbox.Last("+442079460000")
	if err != nil || m.Kind != "voice" {
		t.Fatalf("message %+v, %v", m, err)
	}
	id := regexp.MustCompile(`name="method_id" value="([0-9a-f]+)"`).FindStringSubmatch(r.body)[1]
	wrong := c.refused(c.post("/account/two-step/phone/verify", url.Values{"method_id": {id}, "code": {"000000"}}), "/account/two-step/phone?method="+id)
	mustContain(t, wrong.body, `id="phone-verify-form"`, `aria-invalid="true"`)
	code := strings.ReplaceAll(strings.TrimPrefix(m.Text, "Your Countersign code is "), " ", "")[:6]
	r = c.submit("/account/two-step/phone/verify", url.Values{"method_id": {id}, "code": {code}})
	mustContain(t, r.body, "Voice call to •••• 0000 is set up.")
	// The same number again is refused.
	c.get("/account/two-step/phone")
	r = c.refused(c.post("/account/two-step/phone", url.Values{"phone": {"+442079460000"}, "kind": {"voice"}}), "/account/two-step/phone")
	mustContain(t, r.body, "This number is set up already for voice calls.", `id="kind-voice" name="kind" value="voice" checked`)
	// A bad number comes back as typed, marked.
	r = c.refused(c.post("/account/two-step/phone", url.Values{"phone": {"12345"}, "kind": {"sms"}}), "/account/two-step/phone")
	mustContain(t, r.body, `value="12345"`, `aria-invalid="true"`)
}

func TestPendingSessionExpires(t *testing.T) {
	e := newEnv(t)
	c, _, _ := twoStepUser(t, e)
	c.signin("ada@example.com", pw)
	if r := c.get("/signin/verify"); r.status != http.StatusOK {
		t.Fatalf("verify page: %d", r.status)
	}
	e.clock.Advance(31 * time.Minute)
	if r := c.get("/signin/verify"); r.status != http.StatusSeeOther || r.loc != "/signin" {
		t.Errorf("after 31 minutes: %d %q", r.status, r.loc)
	}
}

// TestSecondStepOffersWhatTheAccountHas: with no backup codes left, the
// second step does not offer them; the methods the account has are offered.
func TestSecondStepOffersWhatTheAccountHas(t *testing.T) {
	e := newEnv(t)
	c, _, _ := twoStepUser(t, e)
	if err := e.db.ReplaceBackupCodes(context.Background(), e.user("ada@example.com").ID, nil); err != nil {
		t.Fatal(err)
	}
	c.signin("ada@example.com", pw)
	r := c.get("/signin/verify")
	if strings.Contains(r.body, "Use a backup code") {
		t.Error("the second step offers backup codes the account does not have")
	}
	mustContain(t, r.body, "Enter the code from your authenticator app", `href="/signin/verify?method=sms"`)
	// Asked for by address, backup codes give the first method it has.
	r = c.get("/signin/verify?method=backup")
	if strings.Contains(r.body, `value="backup"`) {
		t.Error("the backup code form shown to an account with none")
	}
}
