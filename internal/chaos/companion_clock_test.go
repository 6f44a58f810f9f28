//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/cli"
	"github.com/countersign/countersign/internal/keyring"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/internal/vault"
)

// rfc6238 is an independent TOTP: RFC 6238 over RFC 4226's truncation.
func rfc6238(k otp.Key, t time.Time) string {
	var h func() hash.Hash
	switch k.Algorithm {
	case otp.SHA256:
		h = sha256.New
	case otp.SHA512:
		h = sha512.New
	default:
		h = sha1.New
	}
	period, digits := int64(k.Period), k.Digits
	if period == 0 {
		period = 30
	}
	if digits == 0 {
		digits = 6
	}
	mac := hmac.New(h, k.Secret)
	binary.Write(mac, binary.BigEndian, uint64(t.Unix()/period))
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	bin := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// TestCompanionClockJumps: the desktop's clock (the approver's, the
// vault's and the command line's Now) jumps 10 minutes back and forth
// while a request waits and codes are shown, against a server whose clock
// does not; then the server is stopped (SIGSTOP) under a desktop for
// longer than the stream's keepalive, as a suspend would, and continued.
func TestCompanionClockJumps(t *testing.T) {
	needKeyringSession(t)
	t.Parallel()
	row := Begin(t, "C4. companion: clock jumps ±10 min, and a suspend")
	row.Done = "desktop clock (approver, vault, CLI) set −10 and +20 min (the elapsed time not moving, as when a person or NTP sets it) while requests waited and codes were shown, against a real server in-process whose own clock was moved on 2 min to expire one; codes compared with an independent RFC 6238; beside it, countersign-server SIGSTOPped for longer than the 45 s keepalive under a desktop with a request waiting, and SIGCONTed"
	// The two halves run side by side (the suspend waits out the
	// keepalive); the row is put together when both are done.
	var jumps, sleep []string // what the user saw, then what was lost
	t.Cleanup(func() {
		if len(jumps) == 0 || len(sleep) == 0 {
			return
		}
		row.Saw = jumps[0] + "; " + sleep[0]
		lost := append(jumps[1:], sleep[1:]...)
		row.Lost = Nothing
		if len(lost) > 0 {
			row.Lost = strings.Join(lost, "; ")
		}
	})
	t.Run("jumps", func(t *testing.T) {
		t.Parallel()
		jumps = clockJumps(t)
	})
	t.Run("suspend", func(t *testing.T) {
		t.Parallel()
		sleep = suspend(t)
	})
}

// clockJumps moves the desktop's clock under a waiting request and shown
// codes. It returns what the user saw, then what was lost.
func clockJumps(t *testing.T) []string {
	var saw, lost []string
	out := func() []string { return append([]string{strings.Join(saw, "; ")}, lost...) }
	srv := approvertest.Start(t)
	sam := srv.User("sam@example.com", "Sam")
	clock := testkit.NewClock(srv.Clock.Now())
	home := t.TempDir()
	d := openDesktop(t, "Desk", home, func(o *approver.Options) { o.Now, o.Elapsed = clock.Now, clock.Elapsed })
	_, uri := srv.PairingCode(sam)
	if _, err := d.Pair(context.Background(), uri, "", "Desk"); err != nil {
		t.Fatal(err)
	}
	d.run()
	if _, ok := d.online(true, 15*time.Second); !ok {
		return out()
	}
	acct := d.Accounts()[0].ID

	// Codes: the vault's accounts as the window (otp.CodeCache) and the
	// command line (code --json, with the same clock) show them.
	keys := keyring.New(keyring.Service).WithTimeout(20 * time.Second)
	v, err := vault.Open(home, vault.Options{Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	sha256Key := testKey("Bank", "8 digits SHA256 60 s", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	sha256Key.Algorithm, sha256Key.Digits, sha256Key.Period = otp.SHA256, 8, 60
	sha512Key := testKey("Cloud", "SHA512", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	sha512Key.Algorithm = otp.SHA512
	steam := testKey("Steam", "gamer", "JBSWY3DPEHPK3PXP")
	steam.Encoder = otp.EncoderSteam
	for _, k := range []otp.Key{testKey("GitHub", "sam", "JBSWY3DPEHPK3PXP"), sha256Key, sha512Key, steam} {
		if _, _, err := v.Add(vault.Account{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	var window otp.CodeCache
	checkCodes := func(when string) {
		t.Helper()
		now := clock.Now()
		var stdout, stderr bytes.Buffer
		env := cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Now: clock.Now, Keys: keys,
			Getenv: func(k string) string {
				if k == "COUNTERSIGN_HOME" {
					return home
				}
				return ""
			},
			IsTerminal: func() bool { return false }}
		if err := cli.Run(env, []string{"code", "--json"}); err != nil {
			t.Errorf("%s: countersign code: %v %s", when, err, stderr.String())
			lost = append(lost, when+": the command line's codes")
			return
		}
		var shown []struct{ ID, Code string }
		if err := json.Unmarshal(stdout.Bytes(), &shown); err != nil {
			t.Fatalf("%s: code --json: %v", when, err)
		}
		for _, a := range v.Accounts() {
			want, _ := otp.Code(a.Key, now)
			if a.Encoder == "" && rfc6238(a.Key, now) != want {
				t.Errorf("%s: %s: internal/otp says %s, RFC 6238 %s", when, a.Label(), want, rfc6238(a.Key, now))
				lost = append(lost, when+": a wrong code")
			}
			got, _ := window.Code(a.Key, now)
			var cliCode string
			for _, s := range shown {
				if s.ID == a.ID {
					cliCode = s.Code
				}
			}
			if got != want || cliCode != want {
				t.Errorf("%s: %s: the window shows %s, the command line %s, want %s", when, a.Label(), got, cliCode, want)
				lost = append(lost, when+": a wrong code shown")
			}
		}
	}
	checkCodes("before")

	// A request waits while the clock is set by step: it stays, its
	// countdown moved with the clock, and it is approved and the server
	// takes it. It returns false when no request came.
	stepWhileWaiting := func(step time.Duration, when string) bool {
		t.Helper()
		mark := d.mark()
		r := srv.SignIn(sam)
		if _, ok := d.request(mark, 15*time.Second); !ok {
			return false
		}
		clock.Step(step)
		checkCodes(when)
		time.Sleep(2500 * time.Millisecond) // two of Run's expiry rounds
		left := pendingLeft(d, r.ID, clock.Now())
		if left <= 0 || left > 2*time.Minute {
			t.Errorf("%s: the waiting request shows %v left, want up to 2m", when, left)
			lost = append(lost, when+": the waiting request's countdown")
		}
		status, err := d.Decide(context.Background(), acct, r.ID, approver.Approve, r.Number)
		if err != nil || status != api.StatusApproved || srv.Request(r.ID).Status != api.StatusApproved {
			t.Errorf("%s: approving: %q, %v; the server: %s", when, status, err, srv.Request(r.ID).Status)
			lost = append(lost, when+": the approval")
		}
		saw = append(saw, fmt.Sprintf("%s with a request waiting: it stayed, its countdown moved with the clock (%s left), was approved and the server took it", when, left.Round(time.Second)))
		return true
	}
	if !stepWhileWaiting(-10*time.Minute, "10 min back") {
		return out()
	}

	// Still 10 min behind, a new request comes: shown for its 2 minutes.
	// The server's clock passes its expiry: the server's word closes it.
	mark := d.mark()
	r2 := srv.SignIn(sam)
	req2, ok := d.request(mark, 15*time.Second)
	if !ok {
		return out()
	}
	shown2 := req2.ExpiresAt.Sub(clock.Now())
	if shown2 < 2*time.Minute-2*time.Second || shown2 > 2*time.Minute {
		t.Errorf("a request 10 min ahead of the desktop's clock shows %v left, want 2m", shown2)
		lost = append(lost, "the countdown of a request that came after the jump")
	}
	srv.Clock.Advance(2*time.Minute + time.Second)
	closed := time.Now()
	e, ok := d.event(mark, 20*time.Second, "the server's expiry", func(e approver.Event) bool {
		return e.Kind == approver.EventResolved && e.Resolved.ID == r2.ID
	})
	if !ok || e.Resolved.Status != api.StatusExpired {
		lost = append(lost, "an expired request stayed on the desktop")
	}
	_, err = d.Decide(context.Background(), acct, r2.ID, approver.Approve, r2.Number)
	if !errors.Is(err, approver.ErrNotPending) && !errors.Is(err, approver.ErrExpired) {
		t.Errorf("approving an expired request: %v", err)
		lost = append(lost, "an expired request could be answered")
	}
	saw = append(saw, fmt.Sprintf("a request arriving while 10 min behind showed %s; when it expired on the server the desktop closed it as expired %s later and refused to answer it (%q)",
		shown2.Round(time.Second), secs(time.Since(closed)), errText(err)))

	// The clock is set 20 min forward (10 min ahead of the server) with a
	// request waiting.
	if !stepWhileWaiting(20*time.Minute, "20 min forward") {
		return out()
	}

	// A request arriving 10 min ahead: shown for its 2 minutes, approved.
	mark = d.mark()
	r4 := srv.SignIn(sam)
	req4, ok := d.request(mark, 15*time.Second)
	if !ok {
		return out()
	}
	shown4 := req4.ExpiresAt.Sub(clock.Now())
	if shown4 < 2*time.Minute-2*time.Second || shown4 > 2*time.Minute {
		lost = append(lost, "the countdown of a request 10 min behind the desktop's clock")
	}
	if status, err := d.Decide(context.Background(), acct, r4.ID, approver.Approve, r4.Number); err != nil || status != api.StatusApproved {
		t.Errorf("approving while 10 min ahead: %q, %v", status, err)
		lost = append(lost, "the approval while 10 min ahead")
	}
	saw = append(saw, fmt.Sprintf("a request arriving while 10 min ahead showed %s and was approved; codes (window and CLI, SHA1/SHA256/SHA512, 6 and 8 digits, 30 and 60 s, Steam) matched RFC 6238 and internal/otp at every jump", shown4.Round(time.Second)))

	return out()
}

// pendingLeft is how long the desktop gives request id from now, 0 when it
// is not pending.
func pendingLeft(d *desktop, id string, now time.Time) time.Duration {
	for _, r := range d.Pending() {
		if r.ID == id {
			return r.ExpiresAt.Sub(now)
		}
	}
	return 0
}

// suspend stops countersign-server (SIGSTOP) under a connected desktop
// with a request waiting, for longer than the stream's keepalive, then
// continues it. It returns what the user saw, then what was lost.
func suspend(t *testing.T) []string {
	srv := startLiveServer(t)
	d := newDesktop(t, "Sleepy desk")
	d.pair(srv)
	d.run()
	if _, ok := d.online(true, 15*time.Second); !ok {
		return []string{"", "the suspended desktop never connected"}
	}
	mark := d.mark()
	b, number := srv.signIn()
	req, ok := d.request(mark, 15*time.Second)
	if !ok {
		return []string{"", "the request before the suspend"}
	}
	srv.signal(syscall.SIGSTOP)
	stopped := time.Now()
	e, ok := d.event(mark, 70*time.Second, "the stream going silent", func(e approver.Event) bool {
		return e.Kind == approver.EventConnection && !e.Account.Online && e.Account.LastError != ""
	})
	silent := time.Since(stopped)
	srv.signal(syscall.SIGCONT)
	if !ok {
		return []string{"", "the stopped server went unnoticed"}
	}
	cont := time.Now()
	if _, ok := d.online(true, 40*time.Second); !ok {
		return []string{"", "no reconnection after the server continued"}
	}
	back := time.Since(cont)
	var lost []string
	n := 0
	for _, r := range d.Pending() {
		if r.ID == req.ID {
			n++
		}
	}
	if len(d.Pending()) != 1 || n != 1 {
		lost = append(lost, fmt.Sprintf("after the suspend %d requests pending, want the one waiting", len(d.Pending())))
	}
	if status, err := d.approve(req, number); err != nil || status != api.StatusApproved {
		t.Errorf("approving after the suspend: %q, %v", status, err)
		lost = append(lost, "the request waiting through the suspend")
	} else if ok, got := signedIn(b); !ok {
		lost = append(lost, "the browser after the suspend: "+got)
	}
	d.mu.Lock()
	dup := 0
	for _, e := range d.events[mark:] {
		if e.Kind == approver.EventRequest && e.Request.ID == req.ID {
			dup++
		}
	}
	d.mu.Unlock()
	if dup != 1 {
		lost = append(lost, fmt.Sprintf("the request was shown %d times", dup))
	}
	return append([]string{fmt.Sprintf("server SIGSTOPped with a request waiting: %s later the desktop said %q (the Offline banner); SIGCONT: online again %s later by itself, the same request pending once, approved, browser signed in",
		secs(silent), e.Account.LastError, secs(back))}, lost...)
}
