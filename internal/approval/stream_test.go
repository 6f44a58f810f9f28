package approval

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

func approvalID(t *testing.T, ev api.StreamEvent) string {
	t.Helper()
	if ev.Event != api.EventApproval {
		t.Fatalf("event %s %s, want an approval", ev.Event, ev.Data)
	}
	var a api.Approval
	must(t, "decode approval", json.Unmarshal(ev.Data, &a))
	return a.ID
}

func resolved(t *testing.T, ev api.StreamEvent) api.Resolved {
	t.Helper()
	if ev.Event != api.EventResolved {
		t.Fatalf("event %s %s, want resolved", ev.Event, ev.Data)
	}
	var r api.Resolved
	must(t, "decode resolved", json.Unmarshal(ev.Data, &r))
	return r
}

func openStream(t *testing.T, e *env, svc *Service, d *device, last int64) (<-chan api.StreamEvent, context.CancelFunc) {
	t.Helper()
	c, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	ch, err := svc.Stream(c, d.Approver, last)
	must(t, "Stream", err)
	return ch, cancel
}

func TestStreamLive(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		kim := e.pair(t, e.ada, "Kim's desktop")
		bob := e.newUser(t, "bob@example.com", "Bob")
		bobs := e.pair(t, bob, "Bob's laptop")
		ch, _ := openStream(t, e, e.svc, sam, 0)
		bch, _ := openStream(t, e, e.svc, bobs, 0)
		quiet(t, ch)

		r := e.request(t, e.ada)
		ev := next(t, ch, time.Second)
		if approvalID(t, ev) != r.ID || ev.ID <= 0 {
			t.Errorf("approval event %d for %s", ev.ID, approvalID(t, ev))
		}
		var a api.Approval
		json.Unmarshal(ev.Data, &a)
		if a.Nonce != r.Nonce || a.Place != "Paris, France" || a.Account.Email != "ada@example.com" || len(a.Numbers) != 3 {
			t.Errorf("approval data %s", ev.Data)
		}
		if _, err := e.svc.Decide(ctx, kim.Approver, r.ID, kim.decision(r, "approve", r.Number)); err != nil {
			t.Fatal(err)
		}
		ev2 := next(t, ch, time.Second)
		if res := resolved(t, ev2); res.ID != r.ID || res.Status != "approved" || res.DecidedBy != "Kim's desktop (Ada Lovelace)" || !res.DecidedAt.Equal(t0) {
			t.Errorf("resolved %+v", res)
		}
		if ev2.ID <= ev.ID {
			t.Errorf("ids %d then %d, want increasing", ev.ID, ev2.ID)
		}
		quiet(t, bch) // another account's events stay there
	})
}

func TestStreamReplay(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")

		// While the companion is away: one request decided, one expired
		// unanswered, three minutes pass, then one pending.
		decided := e.request(t, e.ada)
		e.svc.Decide(ctx, sam.Approver, decided.ID, sam.decision(decided, "deny", 0))
		expired := e.request(t, e.ada)
		e.clk.Advance(2 * time.Minute)
		must(t, "sweep", e.svc.sweep(ctx))
		e.clk.Advance(time.Minute)
		pending := e.request(t, e.ada)

		// Asleep since the start: only what is still pending.
		ch, _ := openStream(t, e, e.svc, sam, 0)
		ev := next(t, ch, time.Second)
		if id := approvalID(t, ev); id != pending.ID {
			t.Errorf("first replayed approval %s, want the pending %s", id, pending.ID)
		}
		quiet(t, ch)
		_ = expired

		// Resuming from an event id: only later events, resolutions of the
		// last two minutes included.
		e.clk.Advance(10 * time.Second)
		live := e.request(t, e.ada)
		ev2 := next(t, ch, time.Second)
		if approvalID(t, ev2) != live.ID {
			t.Fatalf("live approval %s", ev2.Data)
		}
		e.svc.Decide(ctx, sam.Approver, live.ID, sam.decision(live, "deny", 0))
		ev3 := next(t, ch, time.Second)
		resolved(t, ev3)

		// A companion that saw the live approval hears its resolution.
		ch2, _ := openStream(t, e, e.svc, sam, ev2.ID)
		got := next(t, ch2, time.Second)
		if got.ID != ev3.ID || resolved(t, got).ID != live.ID {
			t.Errorf("resumed from %d: got %d %s", ev2.ID, got.ID, got.Data)
		}
		if got := next(t, ch2, time.Second); approvalID(t, got) != pending.ID || got.ID != ev3.ID {
			t.Errorf("then %d %s, want the pending request", got.ID, got.Data)
		}
		quiet(t, ch2)
		// One that missed it does not hear of it.
		ch2, _ = openStream(t, e, e.svc, sam, ev2.ID-1)
		if got := next(t, ch2, time.Second); approvalID(t, got) != pending.ID {
			t.Errorf("resumed before the live one: %d %s", got.ID, got.Data)
		}
		quiet(t, ch2)

		// Resuming past a pending request's own event still shows it, with
		// the last event's id.
		ch3, _ := openStream(t, e, e.svc, sam, ev3.ID)
		ev4 := next(t, ch3, time.Second)
		if approvalID(t, ev4) != pending.ID || ev4.ID != ev3.ID {
			t.Errorf("pending not replayed: %d %s", ev4.ID, ev4.Data)
		}
		quiet(t, ch3)

		// Two minutes on, the resolution is no longer replayed.
		e.clk.Advance(2*time.Minute + time.Second)
		must(t, "sweep", e.svc.sweep(ctx)) // expires pending: a fresh resolved event
		ch4, _ := openStream(t, e, e.svc, sam, ev.ID)
		ev5 := next(t, ch4, time.Second)
		if res := resolved(t, ev5); res.ID != pending.ID || res.Status != "expired" || res.DecidedBy != "" {
			t.Errorf("replay two minutes on: %s", ev5.Data)
		}
		quiet(t, ch4)
	})
}

func TestUnpairedEndsStream(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		kim := e.pair(t, e.ada, "Kim's desktop")
		sch, _ := openStream(t, e, e.svc, sam, 0)
		kch, _ := openStream(t, e, e.svc, kim, 0)
		must(t, "RemoveApprover", e.svc.RemoveApprover(ctx, e.ada.ID, sam.ID, "", ""))
		ev := next(t, sch, time.Second)
		var u api.Unpaired
		json.Unmarshal(ev.Data, &u)
		if ev.Event != api.EventUnpaired || u.DeviceID != sam.ID {
			t.Errorf("event %s %s, want unpaired", ev.Event, ev.Data)
		}
		select {
		case e, ok := <-sch:
			if ok {
				t.Errorf("event after unpaired: %+v", e)
			}
		case <-time.After(time.Second):
			t.Error("the stream did not end after unpaired")
		}
		// The other device's stream goes on, told that the devices changed.
		if ev := next(t, kch, time.Second); ev.Event != api.EventChanged || string(ev.Data) != `{"what":"devices"}` {
			t.Errorf("other device: event %s %s, want changed devices", ev.Event, ev.Data)
		}
		quiet(t, kch)
		r := e.request(t, e.ada)
		if approvalID(t, next(t, kch, time.Second)) != r.ID {
			t.Error("the other device missed a request")
		}
		_, err := e.svc.Stream(ctx, sam.Approver, 0)
		wantErr(t, "Stream(removed)", err, ErrRevoked)
		_, _, err = e.svc.Poll(ctx, sam.Approver, 0, time.Second)
		wantErr(t, "Poll(removed)", err, ErrRevoked)
	})
}

func TestStreamEndsWithContext(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		ch, cancel := openStream(t, e, e.svc, sam, 0)
		e.request(t, e.ada) // not read: the stream is blocked sending it
		time.Sleep(50 * time.Millisecond)
		cancel()
		deadline := time.After(time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("the stream did not end with its context")
			}
		}
	})
}

func TestPoll(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		start := time.Now()
		evs, cur, err := e.svc.Poll(ctx, sam.Approver, 0, 100*time.Millisecond)
		if err != nil || len(evs) != 0 || evs == nil {
			t.Errorf("Poll with nothing = %v, %v; want an empty list", evs, err)
		}
		// A fresh poll reads past events it does not keep (the "changed"
		// of the pairing); its cursor says so.
		if cur == 0 {
			t.Error("a fresh Poll past a filtered event gave cursor 0; the next poll would read it again")
		}
		// A change after that cursor is not fresh any more: it comes.
		e.svc.Changed(ctx, e.ada.ID, api.ChangedHousehold)
		if evs, cur2, err := e.svc.Poll(ctx, sam.Approver, cur, time.Millisecond); err != nil || len(evs) != 1 || evs[0].Event != api.EventChanged || cur2 != evs[0].ID {
			t.Errorf("Poll after the fresh cursor = %+v, %d, %v; want the change and its id", evs, cur2, err)
		}
		if d := time.Since(start); d < 90*time.Millisecond {
			t.Errorf("Poll returned after %v, want it to wait the timeout", d)
		}

		// A request while polling answers the poll.
		made := make(chan *store.ApprovalRequest, 1)
		go func() {
			time.Sleep(50 * time.Millisecond)
			made <- e.request(t, e.ada)
		}()
		evs, _, err = e.svc.Poll(ctx, sam.Approver, 0, 5*time.Second)
		r := <-made
		if err != nil || len(evs) != 1 || approvalID(t, evs[0]) != r.ID {
			t.Fatalf("Poll = %+v, %v", evs, err)
		}
		// At once when there is something after the cursor.
		e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "deny", 0))
		r2 := e.request(t, e.ada)
		evs, _, err = e.svc.Poll(ctx, sam.Approver, evs[0].ID, 5*time.Second)
		if err != nil || len(evs) != 2 || resolved(t, evs[0]).ID != r.ID || approvalID(t, evs[1]) != r2.ID {
			t.Errorf("Poll after the first = %+v, %v", evs, err)
		}
		b, _ := json.Marshal(api.PollResult{Events: evs})
		var back api.PollResult
		if err := json.Unmarshal(b, &back); err != nil || len(back.Events) != 2 || back.Events[1].ID != evs[1].ID {
			t.Errorf("PollResult JSON round trip: %s", b)
		}
		// A poll whose client goes away returns nothing.
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if evs, _, err := e.svc.Poll(c, sam.Approver, evs[1].ID, 5*time.Second); err != nil || len(evs) != 0 {
			t.Errorf("cancelled Poll = %v, %v", evs, err)
		}
	})
}

func TestExpirySweep(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		ch, _ := openStream(t, e, e.svc, sam, 0)
		r := e.request(t, e.ada)
		approvalID(t, next(t, ch, time.Second))
		done := make(chan *store.ApprovalRequest)
		go func() {
			got, err := e.svc.WaitDecided(ctx, r.ID)
			if err != nil {
				t.Errorf("WaitDecided: %v", err)
			}
			done <- got
		}()
		must(t, "sweep", e.svc.sweep(ctx)) // not yet
		select {
		case <-done:
			t.Fatal("WaitDecided returned before the expiry")
		case <-time.After(100 * time.Millisecond):
		}
		e.clk.Advance(2 * time.Minute)
		must(t, "sweep", e.svc.sweep(ctx))
		res := resolved(t, next(t, ch, time.Second))
		if res.ID != r.ID || res.Status != "expired" || !res.DecidedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("resolved %+v", res)
		}
		select {
		case got := <-done:
			if got.Status != store.ApprovalExpired {
				t.Errorf("WaitDecided status %s, want expired", got.Status)
			}
		case <-time.After(time.Second):
			t.Fatal("WaitDecided did not return after the expiry")
		}
		must(t, "sweep again", e.svc.sweep(ctx))
		quiet(t, ch)
		if a := e.activity(t, e.ada)[store.ActApprovalExpired]; len(a) != 1 {
			t.Errorf("%d expired activities, want 1", len(a))
		}
		// A cancelled wait returns the context's error.
		r2 := e.request(t, e.ada)
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if got, err := e.svc.WaitDecided(c, r2.ID); err != context.DeadlineExceeded || got.Status != store.ApprovalPending {
			t.Errorf("WaitDecided(cancelled) = %+v, %v", got, err)
		}
	})
}

// TestTwoInstances: two servers on one PostgreSQL database hear each other's
// events through LISTEN/NOTIFY.
func TestTwoInstances(t *testing.T) {
	e := newEnv(t, backends[1].dsn(t))
	other := e.newService(t, openDB(t, e.dsn, e.clk))
	sam := e.pair(t, e.ada, "Sam's laptop")
	ch, _ := openStream(t, e, other, sam, 0)
	quiet(t, ch)

	for range 3 {
		start := time.Now()
		r := e.request(t, e.ada) // through the first instance
		if id := approvalID(t, next(t, ch, time.Second)); id != r.ID {
			t.Fatalf("approval %s, want %s", id, r.ID)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the other instance heard after %v", d)
		}
		// A decision through the second wakes a browser waiting on the first.
		done := make(chan string)
		go func() {
			got, err := e.svc.WaitDecided(ctx, r.ID)
			if err != nil {
				t.Errorf("WaitDecided: %v", err)
			}
			done <- got.Status
		}()
		time.Sleep(20 * time.Millisecond)
		if _, err := other.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number)); err != nil {
			t.Fatal(err)
		}
		select {
		case st := <-done:
			if st != "approved" {
				t.Errorf("status %s", st)
			}
		case <-time.After(time.Second):
			t.Fatal("the first instance did not hear the decision within a second")
		}
		resolved(t, next(t, ch, time.Second))
	}
}

// TestStreamMemory: an open stream costs a goroutine and a few small
// allocations, well under 64 KiB.
func TestStreamMemory(t *testing.T) {
	e := newEnv(t, backends[0].dsn(t))
	sam := e.pair(t, e.ada, "Sam's laptop")
	const n = 200
	measure := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	before := measure()
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	var chans []<-chan api.StreamEvent
	for range n {
		ch, err := e.svc.Stream(c, sam.Approver, 0)
		must(t, "Stream", err)
		chans = append(chans, ch)
	}
	after := measure()
	per := (after - min(before, after)) / n
	limit := uint64(64 << 10)
	if raceEnabled {
		limit *= 4 // the race detector's shadow memory
	}
	t.Logf("%d bytes per open stream", per)
	if per > limit {
		t.Errorf("%d bytes per open stream, want under %d", per, limit)
	}
	runtime.KeepAlive(chans)
}

func TestCancel(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		ch, _ := openStream(t, e, e.svc, sam, 0)
		r := e.request(t, e.ada)
		approvalID(t, next(t, ch, time.Second))
		wantErr(t, "Cancel(other session)", e.svc.Cancel(ctx, r.ID, "other"), ErrNotFound)
		wantErr(t, "Cancel(unknown)", e.svc.Cancel(ctx, "nope", r.SessionID), ErrNotFound)
		must(t, "Cancel", e.svc.Cancel(ctx, r.ID, r.SessionID))
		if res := resolved(t, next(t, ch, time.Second)); res.ID != r.ID || res.Status != "cancelled" {
			t.Errorf("resolved %+v", res)
		}
		must(t, "Cancel again", e.svc.Cancel(ctx, r.ID, r.SessionID))
		quiet(t, ch)
		var ad *AlreadyDecidedError
		if _, err := e.svc.Decide(ctx, sam.Approver, r.ID, sam.decision(r, "approve", r.Number)); !errors.As(err, &ad) || ad.Status != "cancelled" {
			t.Errorf("Decide(cancelled) = %v", err)
		}
		if got, err := e.svc.WaitDecided(ctx, r.ID); err != nil || got.Status != store.ApprovalCancelled {
			t.Errorf("WaitDecided = %+v, %v", got, err)
		}
		// A new request for the session after cancelling.
		r2, err := e.svc.Request(ctx, SignIn{UserID: e.ada.ID, SessionID: r.SessionID})
		if err != nil || r2.ID == r.ID {
			t.Errorf("Request after cancel = %+v, %v", r2, err)
		}
	})
}
