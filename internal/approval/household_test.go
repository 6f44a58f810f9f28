package approval

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

// pairAs pairs a new device named name as the household member's.
func (e *env) pairAs(t *testing.T, u *store.User, memberID, name string) *device {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, "GenerateKey", err)
	code, _, _, err := e.svc.NewMemberPairingCode(ctx, u.ID, memberID)
	must(t, "NewMemberPairingCode", err)
	res, err := e.svc.Redeem(ctx, api.Pairing{Code: code, PublicKey: b64.EncodeToString(pub), Name: name, Platform: "linux"}, "", "")
	must(t, "Redeem", err)
	a, err := e.db.Approver(ctx, res.DeviceID)
	must(t, "Approver", err)
	return &device{Approver: a, priv: priv}
}

func TestMemberPairingAndDecisions(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := &store.Member{UserID: e.ada.ID, Name: "Sam", CreatedAt: t0}
		must(t, "AddMember", e.db.AddMember(ctx, sam))
		bob := e.newUser(t, "bob@example.com", "Bob")
		owner, err := e.db.OwnerMember(ctx, e.ada.ID)
		must(t, "OwnerMember", err)

		_, _, _, err = e.svc.NewMemberPairingCode(ctx, bob.ID, sam.ID)
		wantErr(t, "NewMemberPairingCode(another account's member)", err, ErrNotFound)

		var paired []string
		e.svc.OnPaired(func(_ context.Context, a *store.Approver) { paired = append(paired, a.Name) })
		laptop := e.pairAs(t, e.ada, sam.ID, "Sam's laptop")
		desk := e.pairAs(t, e.ada, owner.ID, "Ada's desktop")
		if laptop.MemberID != sam.ID || desk.MemberID != owner.ID {
			t.Errorf("paired as %q and %q, want Sam's and the owner's", laptop.MemberID, desk.MemberID)
		}
		if len(paired) != 2 || paired[0] != "Sam's laptop" {
			t.Errorf("OnPaired saw %v", paired)
		}
		if a := e.activity(t, e.ada)[store.ActApproverPaired]; len(a) != 2 || a[1].Member != "Sam" || a[0].Member != "Ada Lovelace" {
			t.Errorf("pairing activity %+v", a)
		}
		if got := e.svc.DeviceName(ctx, laptop.Approver); got != "Sam's laptop (Sam)" {
			t.Errorf("DeviceName = %q", got)
		}

		tests := []struct {
			d      *device
			name   string
			member string
		}{
			{laptop, "Sam's laptop (Sam)", "Sam"},
			{desk, "Ada's desktop (Ada Lovelace)", "Ada Lovelace"},
		}
		for _, tt := range tests {
			ch, _ := openStream(t, e, e.svc, tt.d, 0)
			r := e.request(t, e.ada)
			next(t, ch, time.Second) // the request
			if _, err := e.svc.Decide(ctx, tt.d.Approver, r.ID, tt.d.decision(r, "approve", r.Number)); err != nil {
				t.Fatal(err)
			}
			got, err := e.db.ApprovalRequest(ctx, r.ID)
			must(t, "ApprovalRequest", err)
			if got.DecidedByName != tt.name {
				t.Errorf("decided_by_name = %q, want %q", got.DecidedByName, tt.name)
			}
			if res := resolved(t, next(t, ch, time.Second)); res.DecidedBy != tt.name {
				t.Errorf("resolved event decided_by = %q, want %q", res.DecidedBy, tt.name)
			}
			acts := e.activity(t, e.ada)[store.ActApprovalApproved]
			if acts[0].Member != tt.member || acts[0].Detail != "Sign-in approved on "+tt.name {
				t.Errorf("decision activity %+v, want member %s", acts[0], tt.member)
			}
		}
	})
}

func TestReplayOfDashboardEvents(t *testing.T) {
	forEach(t, func(t *testing.T, e *env) {
		sam := e.pair(t, e.ada, "Sam's laptop")
		kim := e.pair(t, e.ada, "Kim's desktop")
		share := func(d *device) {
			t.Helper()
			b, _ := json.Marshal(api.ShareOffered{ID: "offer-" + d.Name, DeviceID: d.ID})
			must(t, "Publish", e.svc.Publish(ctx, e.ada.ID, &store.ApprovalEvent{Kind: api.EventShare, Data: b}))
		}
		e.svc.Changed(ctx, e.ada.ID, api.ChangedApps)
		share(sam)
		share(kim)

		// A fresh stream skips "changed" (it reloads everything) and gets
		// only its own device's offer.
		ch, _ := openStream(t, e, e.svc, sam, 0)
		ev := next(t, ch, time.Second)
		if ev.Event != api.EventShare || string(ev.Data) != `{"id":"offer-Sam's laptop","device_id":"`+sam.ID+`"}` {
			t.Errorf("fresh stream: %s %s, want Sam's share", ev.Event, ev.Data)
		}
		quiet(t, ch)

		// Live, "changed" comes through; another device's offer does not.
		mark, err := e.db.LastApprovalEventSeq(ctx, e.ada.ID)
		must(t, "LastApprovalEventSeq", err)
		share(kim)
		e.svc.Changed(ctx, e.ada.ID, api.ChangedDevices)
		if ev := next(t, ch, time.Second); ev.Event != api.EventChanged || string(ev.Data) != `{"what":"devices"}` {
			t.Errorf("live: %s %s, want changed devices", ev.Event, ev.Data)
		}
		quiet(t, ch)

		// A poll that has read before gets "changed" of the replay window;
		// a fresh poll gets none.
		poll := func(d *device, after int64) []string {
			t.Helper()
			evs, _, err := e.svc.Poll(ctx, d.Approver, after, time.Millisecond)
			must(t, "Poll", err)
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Event+" "+string(ev.Data))
			}
			return got
		}
		kimShare := `share {"id":"offer-Kim's desktop","device_id":"` + kim.ID + `"}`
		if got, want := poll(kim, mark), []string{kimShare, `changed {"what":"devices"}`}; !slices.Equal(got, want) {
			t.Errorf("Kim's Poll = %q, want %q", got, want)
		}
		if got, want := poll(sam, mark), []string{`changed {"what":"devices"}`}; !slices.Equal(got, want) {
			t.Errorf("Sam's Poll = %q, want %q", got, want)
		}
		e.clk.Advance(replayWindow + time.Second)
		if got, want := poll(kim, mark), []string{kimShare}; !slices.Equal(got, want) {
			t.Errorf("Kim's Poll after the replay window = %q, want %q", got, want)
		}
		e.clk.Advance(-replayWindow - time.Second)
		if got, want := poll(sam, 0), []string{`share {"id":"offer-Sam's laptop","device_id":"` + sam.ID + `"}`}; !slices.Equal(got, want) {
			t.Errorf("Sam's fresh Poll = %q, want %q", got, want)
		}
	})
}
