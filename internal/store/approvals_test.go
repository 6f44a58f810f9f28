package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/testkit"
)

func ev(kind, data string) *ApprovalEvent {
	return &ApprovalEvent{Kind: kind, Data: []byte(data)}
}

func TestPairingAndApprovers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		other := newUser(t, db, "bob@example.com", "")
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("code-1"), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}))
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("code-old"), UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))

		a := &Approver{Name: "Sam's laptop", Platform: "linux", PublicKey: []byte("pk-32"), CreatedAt: t0, LastSeenAt: t0}
		must(t, "RedeemPairingCode", db.RedeemPairingCode(ctx, []byte("code-1"), t0.Add(time.Minute), a))
		if a.ID == "" || a.UserID != u.ID {
			t.Fatalf("redeemed approver %+v: want an id and user %s", a, u.ID)
		}
		wantErr(t, "RedeemPairingCode(again)", db.RedeemPairingCode(ctx, []byte("code-1"), t0.Add(time.Minute), &Approver{PublicKey: []byte("x")}), ErrUsed)
		wantErr(t, "RedeemPairingCode(expired)", db.RedeemPairingCode(ctx, []byte("code-old"), t0.Add(time.Minute), &Approver{PublicKey: []byte("x")}), ErrNotFound)
		wantErr(t, "RedeemPairingCode(unknown)", db.RedeemPairingCode(ctx, []byte("nope"), t0, &Approver{PublicKey: []byte("x")}), ErrNotFound)

		got, err := db.Approver(ctx, a.ID)
		must(t, "Approver", err)
		if fmt.Sprint(*got) != fmt.Sprint(*a) {
			t.Errorf("Approver:\n got %+v\nwant %+v", *got, *a)
		}
		must(t, "TouchApprover", db.TouchApprover(ctx, a.ID, t0.Add(time.Hour)))
		wantErr(t, "TouchApprover(unknown)", db.TouchApprover(ctx, "nope", t0), ErrNotFound)
		list, err := db.Approvers(ctx, u.ID)
		must(t, "Approvers", err)
		if len(list) != 1 || !list[0].LastSeenAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("Approvers = %+v, want the one approver seen at t0+1h", list)
		}

		must(t, "AddDeviceChallenge", db.AddDeviceChallenge(ctx, &DeviceChallenge{Hash: []byte("ch"), DeviceID: a.ID, ExpiresAt: t0.Add(time.Minute)}))
		must(t, "AddDeviceToken", db.AddDeviceToken(ctx, &DeviceToken{Hash: []byte("tok"), DeviceID: a.ID, UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}))

		wantErr(t, "RemoveApprover(other user)", db.RemoveApprover(ctx, other.ID, a.ID, t0, nil), ErrNotFound)
		e := ev("unpaired", `{"device_id":"`+a.ID+`"}`)
		must(t, "RemoveApprover", db.RemoveApprover(ctx, u.ID, a.ID, t0.Add(2*time.Hour), e))
		if e.Seq == 0 || e.UserID != u.ID || !e.CreatedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("unpaired event %+v: want a seq, user and time", e)
		}
		wantErr(t, "RemoveApprover(again)", db.RemoveApprover(ctx, u.ID, a.ID, t0, nil), ErrNotFound)
		if list, _ := db.Approvers(ctx, u.ID); len(list) != 0 {
			t.Errorf("Approvers after removal = %+v, want none", list)
		}
		got, err = db.Approver(ctx, a.ID)
		if err != nil || !got.RemovedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("Approver after removal = %+v, %v; want RemovedAt set", got, err)
		}
		_, err = db.TakeDeviceChallenge(ctx, []byte("ch"))
		wantErr(t, "TakeDeviceChallenge after removal", err, ErrNotFound)
		// Tokens stay so that their use reads as "device removed".
		tok, err := db.DeviceTokenByHash(ctx, []byte("tok"))
		if err != nil || tok.DeviceID != a.ID || tok.UserID != u.ID || !tok.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("DeviceTokenByHash = %+v, %v", tok, err)
		}
		_, err = db.DeviceTokenByHash(ctx, []byte("nope"))
		wantErr(t, "DeviceTokenByHash(unknown)", err, ErrNotFound)
	})
}

func TestPairingCodeRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("c"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}))
		errs := race(8, func(i int) error {
			return db.RedeemPairingCode(ctx, []byte("c"), t0, &Approver{Name: fmt.Sprint(i), PublicKey: []byte("k")})
		})
		oneWins(t, errs, ErrUsed)
		if list, _ := db.Approvers(ctx, u.ID); len(list) != 1 {
			t.Errorf("%d approvers after the race, want 1", len(list))
		}
	})
}

func TestDeviceChallengeSingleUse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("c"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}))
		a := &Approver{PublicKey: []byte("k")}
		must(t, "RedeemPairingCode", db.RedeemPairingCode(ctx, []byte("c"), t0, a))
		must(t, "AddDeviceChallenge", db.AddDeviceChallenge(ctx, &DeviceChallenge{Hash: []byte("ch"), DeviceID: a.ID, ExpiresAt: t0.Add(time.Minute)}))
		errs := race(6, func(int) error {
			c, err := db.TakeDeviceChallenge(ctx, []byte("ch"))
			if err == nil && (c.DeviceID != a.ID || !c.ExpiresAt.Equal(t0.Add(time.Minute))) {
				return fmt.Errorf("took %+v", c)
			}
			return err
		})
		oneWins(t, errs, ErrNotFound)
		wantErr(t, "AddDeviceChallenge(unknown device)", db.AddDeviceChallenge(ctx, &DeviceChallenge{Hash: []byte("x"), DeviceID: "nope"}), ErrNotFound)
	})
}

func newRequest(userID, session string, created time.Time) *ApprovalRequest {
	return &ApprovalRequest{UserID: userID, SessionID: session, Nonce: "nonce-" + session, Number: 42, Decoys: []int{17, 88},
		Browser: "Firefox 133", OS: "Windows 10", IP: "203.0.113.7", UserAgent: "Mozilla/5.0", Place: "Paris, France",
		CreatedAt: created, ExpiresAt: created.Add(2 * time.Minute)}
}

func TestApprovalRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		other := newUser(t, db, "bob@example.com", "")

		r1 := newRequest(u.ID, "s1", t0)
		r1.RequireKey, r1.KeyChallengeID, r1.KeyOptions = true, "kc", []byte(`{"publicKey":{}}`)
		e1 := ev("approval", `{"id":"r1"}`)
		must(t, "CreateApprovalRequest", db.CreateApprovalRequest(ctx, r1, 3, e1))
		if r1.ID == "" || r1.Status != ApprovalPending || e1.Seq == 0 || e1.UserID != u.ID {
			t.Fatalf("created %+v with event %+v", r1, e1)
		}
		got, err := db.ApprovalRequest(ctx, r1.ID)
		must(t, "ApprovalRequest", err)
		if fmt.Sprint(*got) != fmt.Sprint(*r1) {
			t.Errorf("ApprovalRequest:\n got %+v\nwant %+v", *got, *r1)
		}
		_, err = db.ApprovalRequest(ctx, "nope")
		wantErr(t, "ApprovalRequest(unknown)", err, ErrNotFound)

		// Limit: pending, unexpired ones count; an expired one does not.
		must(t, "CreateApprovalRequest 2", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s2", t0.Add(-3*time.Minute)), 3, nil))
		must(t, "CreateApprovalRequest 3", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s3", t0.Add(time.Second)), 3, nil))
		must(t, "CreateApprovalRequest 4", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s1", t0.Add(2*time.Second)), 3, nil))
		wantErr(t, "CreateApprovalRequest over the limit", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s5", t0.Add(3*time.Second)), 3, ev("approval", "{}")), ErrLimit)
		must(t, "CreateApprovalRequest other user", db.CreateApprovalRequest(ctx, newRequest(other.ID, "o1", t0), 3, nil))
		wantErr(t, "CreateApprovalRequest unknown user", db.CreateApprovalRequest(ctx, newRequest("nobody", "x", t0), 3, nil), ErrNotFound)

		s1, err := db.SessionApprovalRequest(ctx, "s1")
		if err != nil || !s1.CreatedAt.Equal(t0.Add(2*time.Second)) {
			t.Errorf("SessionApprovalRequest(s1) = %+v, %v; want the newer one", s1, err)
		}
		_, err = db.SessionApprovalRequest(ctx, "")
		wantErr(t, "SessionApprovalRequest(\"\")", err, ErrNotFound)

		pending, err := db.PendingApprovalRequests(ctx, u.ID, t0.Add(3*time.Second))
		must(t, "PendingApprovalRequests", err)
		var sessions []string
		for _, p := range pending {
			sessions = append(sessions, p.SessionID)
		}
		if !slices.Equal(sessions, []string{"s1", "s3", "s1"}) {
			t.Errorf("pending sessions %v, want [s1 s3 s1]", sessions)
		}
		expired, err := db.ExpiredApprovalRequests(ctx, t0.Add(3*time.Second), 10)
		if err != nil || len(expired) != 1 || expired[0].SessionID != "s2" {
			t.Errorf("ExpiredApprovalRequests = %+v, %v; want s2", expired, err)
		}

		// Resolve: an expired request can't be decided, only expired.
		s2 := expired[0]
		wantErr(t, "Resolve(expired, approve)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: s2.ID, Status: ApprovalApproved, At: t0}, nil), ErrUsed)
		wantErr(t, "Resolve(live, expire)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: r1.ID, Status: ApprovalExpired, At: t0}, nil), ErrUsed)
		must(t, "Resolve(expired, expire)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: s2.ID, Status: ApprovalExpired, At: t0}, ev("resolved", "{}")))
		wantErr(t, "Resolve(unknown)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: "nope", Status: ApprovalDenied, At: t0}, nil), ErrNotFound)

		at := t0.Add(10 * time.Second)
		e := ev("resolved", `{"id":"r1"}`)
		must(t, "Resolve(approve)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: r1.ID, Status: ApprovalApproved,
			DecidedBy: "dev1", DecidedByName: "Sam's laptop", At: at}, e))
		wantErr(t, "Resolve(again)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: r1.ID, Status: ApprovalDenied, At: at}, nil), ErrUsed)
		got, _ = db.ApprovalRequest(ctx, r1.ID)
		if got.Status != ApprovalApproved || got.DecidedBy != "dev1" || got.DecidedByName != "Sam's laptop" || !got.DecidedAt.Equal(at) {
			t.Errorf("after approval: %+v", got)
		}

		// Consume: the session's approved request, once.
		wantErr(t, "Consume(other session)", db.ConsumeApprovalRequest(ctx, r1.ID, "s3", at), ErrNotFound)
		wantErr(t, "Consume(not approved)", db.ConsumeApprovalRequest(ctx, s2.ID, "s2", at), ErrNotFound)
		must(t, "Consume", db.ConsumeApprovalRequest(ctx, r1.ID, "s1", at))
		wantErr(t, "Consume(again)", db.ConsumeApprovalRequest(ctx, r1.ID, "s1", at), ErrUsed)

		// Denials are counted by decision time.
		for _, p := range pending[1:] {
			must(t, "Resolve(deny)", db.ResolveApprovalRequest(ctx, Resolution{RequestID: p.ID, Status: ApprovalDenied, At: at}, nil))
		}
		n, err := db.CountApprovalRequests(ctx, u.ID, t0, ApprovalDenied, ApprovalReported)
		if err != nil || n != 2 {
			t.Errorf("CountApprovalRequests = %d, %v; want 2", n, err)
		}
		if n, _ := db.CountApprovalRequests(ctx, u.ID, at.Add(time.Second), ApprovalDenied); n != 0 {
			t.Errorf("CountApprovalRequests after them = %d, want 0", n)
		}
		if n, _ := db.CountApprovalRequests(ctx, u.ID, t0); n != 0 {
			t.Errorf("CountApprovalRequests with no status = %d, want 0", n)
		}
	})
}

func TestApprovalRequestLimitRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		errs := race(8, func(i int) error {
			return db.CreateApprovalRequest(ctx, newRequest(u.ID, fmt.Sprint(i), t0), 3, ev("approval", "{}"))
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrLimit):
				t.Errorf("racer got %v, want ErrLimit", err)
			}
		}
		if ok != 3 {
			t.Errorf("%d requests made it, want 3", ok)
		}
	})
}

func TestResolveRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		r := newRequest(u.ID, "s", t0)
		must(t, "CreateApprovalRequest", db.CreateApprovalRequest(ctx, r, 3, nil))
		errs := race(6, func(i int) error {
			return db.ResolveApprovalRequest(ctx, Resolution{RequestID: r.ID, Status: ApprovalApproved, DecidedBy: fmt.Sprint(i), At: t0.Add(time.Second)},
				ev("resolved", fmt.Sprintf(`{"by":%d}`, i)))
		})
		oneWins(t, errs, ErrUsed)
		evs, _ := db.ApprovalEvents(ctx, u.ID, 0, 100)
		if len(evs) != 1 {
			t.Errorf("%d events after the race, want the winner's only", len(evs))
		}
	})
}

func TestApprovalEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		other := newUser(t, db, "bob@example.com", "")
		if n, err := db.LastApprovalEventSeq(ctx, u.ID); err != nil || n != 0 {
			t.Errorf("LastApprovalEventSeq with none = %d, %v", n, err)
		}
		var seqs []int64
		for i := range 5 {
			who := u.ID
			if i%2 == 1 {
				who = other.ID
			}
			e := ev("approval", fmt.Sprintf(`{"n":%d}`, i))
			must(t, "CreateApprovalRequest", db.CreateApprovalRequest(ctx, newRequest(who, fmt.Sprint(i), t0.Add(time.Duration(i)*time.Minute)), 10, e))
			if who == u.ID {
				seqs = append(seqs, e.Seq)
			}
		}
		evs, err := db.ApprovalEvents(ctx, u.ID, 0, 100)
		must(t, "ApprovalEvents", err)
		var got []int64
		for _, e := range evs {
			got = append(got, e.Seq)
			if e.UserID != u.ID || e.Kind != "approval" {
				t.Errorf("event %+v", e)
			}
		}
		if !slices.Equal(got, seqs) || !slices.IsSorted(got) {
			t.Errorf("seqs %v, want %v increasing", got, seqs)
		}
		if string(evs[1].Data) != `{"n":2}` || !evs[1].CreatedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("second event %+v", evs[1])
		}
		if evs, _ := db.ApprovalEvents(ctx, u.ID, seqs[0], 1); len(evs) != 1 || evs[0].Seq != seqs[1] {
			t.Errorf("ApprovalEvents(after first, 1) = %+v", evs)
		}
		if n, _ := db.LastApprovalEventSeq(ctx, u.ID); n != seqs[2] {
			t.Errorf("LastApprovalEventSeq = %d, want %d", n, seqs[2])
		}
		// Purge keeps a day of events.
		must(t, "Purge", db.Purge(ctx, t0.Add(24*time.Hour+90*time.Second)))
		if evs, _ := db.ApprovalEvents(ctx, u.ID, 0, 100); len(evs) != 2 {
			t.Errorf("%d events after purge, want 2", len(evs))
		}
	})
}

func TestPurgeApprovalRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("old"), UserID: u.ID, ExpiresAt: t0}))
		must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: []byte("new"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}))
		a := &Approver{PublicKey: []byte("k")}
		must(t, "RedeemPairingCode", db.RedeemPairingCode(ctx, []byte("new"), t0, a))
		must(t, "AddDeviceToken", db.AddDeviceToken(ctx, &DeviceToken{Hash: []byte("t-old"), DeviceID: a.ID, UserID: u.ID, ExpiresAt: t0}))
		must(t, "AddDeviceToken", db.AddDeviceToken(ctx, &DeviceToken{Hash: []byte("t-new"), DeviceID: a.ID, UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}))
		must(t, "AddDeviceChallenge", db.AddDeviceChallenge(ctx, &DeviceChallenge{Hash: []byte("c-old"), DeviceID: a.ID, ExpiresAt: t0}))
		must(t, "Purge", db.Purge(ctx, t0))
		_, err := db.DeviceTokenByHash(ctx, []byte("t-old"))
		wantErr(t, "old token", err, ErrNotFound)
		_, err = db.DeviceTokenByHash(ctx, []byte("t-new"))
		must(t, "new token", err)
		_, err = db.TakeDeviceChallenge(ctx, []byte("c-old"))
		wantErr(t, "old challenge", err, ErrNotFound)
		wantErr(t, "old pairing code", db.RedeemPairingCode(ctx, []byte("old"), t0.Add(-time.Hour), &Approver{PublicKey: []byte("k")}), ErrNotFound)
	})
}

func TestApprovalRequireKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, _ *testkit.Clock) {
		u := newUser(t, db, "ada@example.com", "")
		if on, err := db.ApprovalRequireKey(ctx, u.ID); err != nil || on {
			t.Errorf("ApprovalRequireKey never set = %v, %v; want false", on, err)
		}
		for _, want := range []bool{true, true, false, true} {
			must(t, "SetApprovalRequireKey", db.SetApprovalRequireKey(ctx, u.ID, want))
			if on, err := db.ApprovalRequireKey(ctx, u.ID); err != nil || on != want {
				t.Errorf("ApprovalRequireKey = %v, %v; want %v", on, err, want)
			}
		}
		wantErr(t, "SetApprovalRequireKey(unknown user)", db.SetApprovalRequireKey(ctx, "nobody", true), ErrNotFound)
	})
}

func TestListen(t *testing.T) {
	lite := openSQLite(t)
	if _, err := lite.Listen(ctx, ApprovalChannel); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("sqlite Listen: %v, want ErrUnsupported", err)
	}
	if err := lite.Notify(ctx, ApprovalChannel, "x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("sqlite Notify: %v, want ErrUnsupported", err)
	}

	db := openPostgresTest(t)
	c, cancel := context.WithCancel(ctx)
	ch, err := db.Listen(c, ApprovalChannel)
	must(t, "Listen", err)
	next := func() string {
		t.Helper()
		select {
		case p := <-ch:
			return p
		case <-time.After(5 * time.Second):
			t.Fatal("no notification within 5 s")
			return ""
		}
	}
	must(t, "Notify", db.Notify(ctx, ApprovalChannel, "hello"))
	if p := next(); p != "hello" {
		t.Errorf("payload %q, want hello", p)
	}
	// Appending an event announces its account on commit.
	u := newUser(t, db, "ada@example.com", "")
	must(t, "CreateApprovalRequest", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s", t0), 3, ev("approval", "{}")))
	if p := next(); p != u.ID {
		t.Errorf("payload %q, want the user id %s", p, u.ID)
	}
	// Without an event nothing is announced; a failed transaction neither.
	must(t, "CreateApprovalRequest", db.CreateApprovalRequest(ctx, newRequest(u.ID, "s2", t0), 3, nil))
	_ = db.CreateApprovalRequest(ctx, newRequest(u.ID, "s3", t0), 2, ev("approval", "{}"))
	must(t, "Notify", db.Notify(ctx, ApprovalChannel, "marker"))
	if p := next(); p != "marker" {
		t.Errorf("payload %q, want only the marker", p)
	}
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(5 * time.Second):
		t.Error("the channel did not close when the context ended")
	}
}
