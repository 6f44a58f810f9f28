package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/seckey"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

func TestRequest(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		d := e.pair(t, e.ada, "Sam's laptop")
		in := SignIn{UserID: e.ada.ID, SessionID: "s1", IP: "203.0.113.7",
			UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"}
		r, err := e.svc.Request(ctx, in)
		must(t, "Request", err)
		if r.Status != store.ApprovalPending || r.Browser != "Firefox 133" || r.OS != "Windows 10" || r.Place != "Paris, France" ||
			!r.ExpiresAt.Equal(t0.Add(2*time.Minute)) || r.RequireKey {
			t.Errorf("request %+v", r)
		}
		nums := append([]int{r.Number}, r.Decoys...)
		for _, n := range nums {
			if n < 10 || n > 99 {
				t.Errorf("number %d out of 10–99", n)
			}
		}
		if len(nums) != 3 || nums[0] == nums[1] || nums[0] == nums[2] || nums[1] == nums[2] {
			t.Errorf("numbers %v: want three different ones", nums)
		}
		if n, err := b64.DecodeString(r.Nonce); err != nil || len(n) != 16 {
			t.Errorf("nonce %q", r.Nonce)
		}

		// The same session gets its pending request back.
		again, err := e.svc.Request(ctx, in)
		if err != nil || again.ID != r.ID {
			t.Errorf("Request again = %v, %v; want the same request", again, err)
		}
		got, err := e.svc.SessionRequest(ctx, "s1")
		if err != nil || got.ID != r.ID {
			t.Errorf("SessionRequest = %v, %v", got, err)
		}
		_, err = e.svc.SessionRequest(ctx, "nope")
		wantErr(t, "SessionRequest(unknown)", err, ErrNotFound)

		// What the device sees.
		list, err := e.svc.Pending(ctx, d.Approver)
		must(t, "Pending", err)
		sorted := slices.Clone(nums)
		slices.Sort(sorted)
		want := api.Approval{ID: r.ID, Nonce: r.Nonce, Numbers: sorted,
			Account: api.AccountRef{ID: e.ada.ID, Name: "Ada Lovelace", Email: "ada@example.com"},
			Browser: "Firefox 133", OS: "Windows 10", IP: "203.0.113.7", Place: "Paris, France",
			CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Minute)}
		if len(list) != 1 || fmt.Sprint(list[0]) != fmt.Sprint(want) {
			t.Errorf("Pending:\n got %+v\nwant %+v", list, want)
		}
		b, _ := json.Marshal(list[0])
		if !strings.Contains(string(b), `"key_options":null`) || !strings.Contains(string(b), `"app":""`) {
			t.Errorf("Approval JSON %s", b)
		}
		if a := e.activity(t, e.ada)[store.ActApprovalRequested]; len(a) != 1 || a[0].IP != "203.0.113.7" {
			t.Errorf("requested activity %+v", a)
		}

		// After its expiry the session gets a new one.
		e.clk.Advance(2 * time.Minute)
		got, err = e.svc.SessionRequest(ctx, "s1")
		if err != nil || got.ID != r.ID || got.Status != store.ApprovalExpired {
			t.Errorf("SessionRequest after expiry = %+v, %v; want it expired", got, err)
		}
		r2, err := e.svc.Request(ctx, in)
		if err != nil || r2.ID == r.ID {
			t.Errorf("Request after expiry = %+v, %v; want a new one", r2, err)
		}
		if list, _ := e.svc.Pending(ctx, d.Approver); len(list) != 1 || list[0].ID != r2.ID {
			t.Errorf("Pending = %+v, want the new one only", list)
		}
	})
}

func TestTooManyPending(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		e.pair(t, e.ada, "Sam's laptop")
		for range 3 {
			e.request(t, e.ada)
		}
		_, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "fourth"})
		wantErr(t, "Request(4th)", err, ErrTooManyPending)
		e.clk.Advance(2 * time.Minute)
		if _, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "fourth"}); err != nil {
			t.Errorf("Request after the others expired: %v", err)
		}
	})
}

func TestDecide(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		kim := e.pair(t, e.ada, "Kim's desktop")
		bob := e.newUser(t, "bob@example.com", "Bob")
		bobs := e.pair(t, bob, "Bob's laptop")

		t.Run("approve", func(t *testing.T) {
			r := e.request(t, e.ada)
			st, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number))
			if err != nil || st != "approved" {
				t.Fatalf("Decide = %q, %v; want approved", st, err)
			}
			got, err := e.svc.WaitDecided(ctx, r.ID)
			if err != nil || got.Status != store.ApprovalApproved || got.DecidedBy != sam.ID || got.DecidedByName != "Sam's laptop (Ada Lovelace)" {
				t.Errorf("WaitDecided = %+v, %v", got, err)
			}
			// Replaying the same decision, or another device's, is too late.
			var ad *AlreadyDecidedError
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number))
			if !errors.As(err, &ad) || !errors.Is(err, ErrAlreadyDecided) || ad.Status != "approved" || ad.DecidedBy != "Sam's laptop (Ada Lovelace)" {
				t.Errorf("replayed decision: %v", err)
			}
			_, err = e.svc.Decide(ctx, kim.Approver, r.ID, kim.decision(r, "deny", 0))
			if !errors.As(err, &ad) || ad.DecidedBy != "Sam's laptop (Ada Lovelace)" {
				t.Errorf("second device: %v, want already decided by Sam's laptop (Ada Lovelace)", err)
			}
			// The browser finishes with it once, in its own session.
			wantErr(t, "Consume(other session)", e.svc.Consume(ctx, r.ID, "other"), ErrNotFound)
			must(t, "Consume", e.svc.Consume(ctx, r.ID, r.SessionID))
			wantErr(t, "Consume(again)", e.svc.Consume(ctx, r.ID, r.SessionID), ErrConsumed)
			if a := e.activity(t, e.ada)[store.ActApprovalApproved]; len(a) != 1 || a[0].Detail != "Sign-in approved on Sam's laptop (Ada Lovelace)" || a[0].Member != "Ada Lovelace" || !a[0].OK {
				t.Errorf("approved activity %+v", a)
			}
		})

		t.Run("consume late", func(t *testing.T) {
			r := e.request(t, e.ada)
			e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number))
			e.clk.Advance(2 * time.Minute)
			wantErr(t, "Consume(late)", e.svc.Consume(ctx, r.ID, r.SessionID), ErrExpired)
		})

		t.Run("wrong number", func(t *testing.T) {
			r := e.request(t, e.ada)
			st, err := e.svc.Decide(ctx, kim.Approver, r.ID, kim.decision(r, "approve", wrong(r)))
			if err != nil || st != "denied" {
				t.Fatalf("Decide = %q, %v; want denied", st, err)
			}
			got, _ := e.svc.SessionRequest(ctx, r.SessionID)
			if got.Status != store.ApprovalDenied || got.Reason != "wrong number picked" {
				t.Errorf("request after a wrong number: %+v", got)
			}
			wantErr(t, "Consume(denied)", e.svc.Consume(ctx, r.ID, r.SessionID), ErrNotFound)
		})

		t.Run("refused", func(t *testing.T) {
			r := e.request(t, e.ada)
			_, err := e.svc.Decide(ctx, bobs.Approver, r.ID, bobs.decision(r, "approve", r.Number))
			wantErr(t, "Decide(foreign device)", err, ErrForeign)
			_, err = e.svc.Decide(ctx, sam.Approver, "nope", sam.decision(r, "approve", r.Number))
			wantErr(t, "Decide(unknown request)", err, ErrNotFound)
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, kim.decision(r, "approve", r.Number))
			wantErr(t, "Decide(signed by another device)", err, ErrSignature)
			dd := sam.decision(r, "approve", r.Number)
			dd.Number = wrong(r)
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, dd)
			wantErr(t, "Decide(number not signed)", err, ErrSignature)
			dd = sam.decision(r, "deny", 0)
			dd.Decision = "report"
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, dd)
			wantErr(t, "Decide(decision not signed)", err, ErrSignature)
			// Signed, but over another nonce.
			other := *r
			other.Nonce = "AAAAAAAAAAAAAAAAAAAAAA"
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(&other, "approve", r.Number))
			wantErr(t, "Decide(wrong nonce)", err, ErrSignature)
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "maybe", 0))
			wantErr(t, "Decide(unknown decision)", err, ErrInvalid)
			if got, _ := e.svc.SessionRequest(ctx, r.SessionID); got.Status != store.ApprovalPending {
				t.Errorf("status %s after refused decisions, want pending", got.Status)
			}
			// Expired: two minutes.
			e.clk.Advance(2 * time.Minute)
			_, err = e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number))
			wantErr(t, "Decide(expired)", err, ErrExpired)
		})
	})
}

func TestDenyAndReport(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		r := e.request(t, e.ada)
		if st, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "deny", 0)); err != nil || st != "denied" {
			t.Fatalf("deny = %q, %v", st, err)
		}
		r = e.request(t, e.ada)
		if st, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "report", 0)); err != nil || st != "reported" {
			t.Fatalf("report = %q, %v", st, err)
		}
		select {
		case m := <-e.mail.sent:
			if m.To != "ada@example.com" || m.Subject != "Someone signed in with your password — change it now" ||
				!strings.Contains(m.Text, publicURL+"/password/forgot") || !strings.Contains(m.Text, "203.0.113.7") {
				t.Errorf("mail %+v", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no mail after a report")
		}
		acts := e.activity(t, e.ada)
		if a := acts[store.ActApprovalReported]; len(a) != 1 || a[0].OK || a[0].IP != "203.0.113.7" {
			t.Errorf("reported activity %+v", a)
		}
		if a := acts[store.ActApprovalDenied]; len(a) != 1 || a[0].Detail != "Sign-in denied on Sam's laptop (Ada Lovelace): denied" {
			t.Errorf("denied activity %+v", a)
		}
		if len(acts[store.ActLockedOut]) != 0 {
			t.Error("locked after two denials")
		}
		u, _ := e.db.UserByID(ctx, e.ada.ID)
		if !u.LockedUntil.IsZero() {
			t.Errorf("LockedUntil %v after two denials", u.LockedUntil)
		}

		// The third denial within 15 minutes locks the password step for 15.
		e.clk.Advance(14 * time.Minute)
		r = e.request(t, e.ada)
		e.clk.Advance(30 * time.Second)
		if st, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", wrong(r))); err != nil || st != "denied" {
			t.Fatalf("wrong number = %q, %v", st, err)
		}
		u, _ = e.db.UserByID(ctx, e.ada.ID)
		if want := t0.Add(14*time.Minute + 30*time.Second + 15*time.Minute); !u.LockedUntil.Equal(want) {
			t.Errorf("LockedUntil %v, want %v", u.LockedUntil, want)
		}
		if a := e.activity(t, e.ada)[store.ActLockedOut]; len(a) != 1 || !strings.Contains(a[0].Detail, "3 denied") {
			t.Errorf("lock activity %+v", a)
		}
		_, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "after-lock"})
		wantErr(t, "Request while locked", err, ErrLocked)
		e.clk.Advance(15 * time.Minute)
		if _, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: "after-lock"}); err != nil {
			t.Errorf("Request after the lock: %v", err)
		}
	})
}

func TestDecideRace(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		var devs []*device
		for i := range 4 {
			devs = append(devs, e.pair(t, e.ada, fmt.Sprintf("device %d", i)))
		}
		for round := range 3 {
			r := e.request(t, e.ada)
			errs := make([]error, len(devs))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, d := range devs {
				wg.Go(func() {
					decision, n := "approve", r.Number
					if i%2 == 1 {
						decision, n = "deny", 0
					}
					<-start
					_, errs[i] = e.svc.Decide(ctx, d.Approver, r.ID, d.decision(r, decision, n))
				})
			}
			close(start)
			wg.Wait()
			got, _ := e.svc.SessionRequest(ctx, r.SessionID)
			wins := 0
			for i, err := range errs {
				var ad *AlreadyDecidedError
				switch {
				case err == nil:
					wins++
					if got.DecidedBy != devs[i].ID {
						t.Errorf("round %d: device %d won but %s is recorded", round, i, got.DecidedByName)
					}
				case errors.As(err, &ad):
					if ad.DecidedBy != got.DecidedByName || ad.Status != got.Status {
						t.Errorf("round %d: loser told %+v, recorded %s by %s", round, ad, got.Status, got.DecidedByName)
					}
				default:
					t.Errorf("round %d: device %d: %v", round, i, err)
				}
			}
			if wins != 1 {
				t.Errorf("round %d: %d winners, want 1", round, wins)
			}
			evs, _ := e.db.ApprovalEvents(ctx, e.ada.ID, 0, 100)
			resolved := 0
			for _, ev := range evs {
				if ev.Kind == "resolved" && strings.Contains(string(ev.Data), r.ID) {
					resolved++
				}
			}
			if resolved != 1 {
				t.Errorf("round %d: %d resolved events, want 1", round, resolved)
			}
		}
	})
}

func TestRequireKey(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		wantErr(t, "SetRequireKey without keys", e.svc.SetRequireKey(ctx, e.ada.ID, true), seckey.ErrNoKeys)
		key := seckeytest.New(t, publicURL)
		id, opts, err := e.keys.BeginRegistration(ctx, e.ada)
		must(t, "BeginRegistration", err)
		_, err = e.keys.FinishRegistration(ctx, e.ada, id, "YubiKey", key.Create(t, opts))
		must(t, "FinishRegistration", err)
		must(t, "SetRequireKey", e.svc.SetRequireKey(ctx, e.ada.ID, true))
		if on, err := e.svc.RequireKey(ctx, e.ada.ID); !on || err != nil {
			t.Fatalf("RequireKey = %v, %v", on, err)
		}

		r := e.request(t, e.ada)
		list, err := e.svc.Pending(ctx, sam.Approver)
		must(t, "Pending", err)
		if len(list) != 1 || !list[0].RequireKey || !strings.Contains(string(list[0].KeyOptions), `"challenge"`) {
			t.Fatalf("Pending = %+v, want key options", list)
		}
		_, err = e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number))
		wantErr(t, "approve without a key", err, ErrKeyRequired)
		d := sam.decision(r, "approve", r.Number)
		d.Assertion = json.RawMessage("null")
		_, err = e.svc.Decide(ctx, sam.Approver, r.ID, d)
		wantErr(t, "approve with a null assertion", err, ErrKeyRequired)
		// Another key's answer fails (and spends the ceremony).
		stranger := seckeytest.New(t, publicURL)
		stranger.CredID = key.CredID
		d.Assertion = stranger.Get(t, list[0].KeyOptions, nil)
		_, err = e.svc.Decide(ctx, sam.Approver, r.ID, d)
		wantErr(t, "approve with a bad assertion", err, ErrKeyFailed)

		r = e.request(t, e.ada)
		list, _ = e.svc.Pending(ctx, sam.Approver)
		var opts2 json.RawMessage
		for _, a := range list {
			if a.ID == r.ID {
				opts2 = a.KeyOptions
			}
		}
		d = sam.decision(r, "approve", r.Number)
		d.Assertion = key.Get(t, opts2, nil)
		if st, err := e.svc.Decide(ctx, sam.Approver, r.ID, d); err != nil || st != "approved" {
			t.Fatalf("approve with the key = %q, %v", st, err)
		}
		// Denying needs no touch.
		r = e.request(t, e.ada)
		if st, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "deny", 0)); err != nil || st != "denied" {
			t.Errorf("deny = %q, %v", st, err)
		}

		must(t, "SetRequireKey off", e.svc.SetRequireKey(ctx, e.ada.ID, false))
		r = e.request(t, e.ada)
		if r.RequireKey {
			t.Error("a request asks for the key after the setting was turned off")
		}
	})
}

func TestNewValidates(t *testing.T) {
	db := openDB(t, ":memory:", testkit.NewClock(t0))
	for _, cfg := range []Config{
		{PublicURL: publicURL},
		{Store: db},
		{Store: db, PublicURL: "ftp://x"},
		{Store: db, PublicURL: "http://"},
	} {
		if s, err := New(ctx, cfg); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	s, err := New(ctx, Config{Store: db, PublicURL: publicURL + "/"})
	must(t, "New", err)
	code, uri, _, err := s.NewPairingCode(ctx, "nobody")
	if err == nil {
		t.Errorf("NewPairingCode for an unknown user = %q %q", code, uri)
	}
	must(t, "Close", s.Close())
	must(t, "Close again", s.Close())
}
