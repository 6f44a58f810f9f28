package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/testkit"
)

func syncRec(entry string, version int64, gen int, device string) SyncRecord {
	return SyncRecord{Entry: entry, Version: version, Generation: gen, Sealed: []byte("sealed " + entry), DeviceID: device}
}

func TestVaultSync(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB, clk *testkit.Clock) {
		f := newHouse(t, db)
		pair := func(member, name string) *Approver {
			code := []byte("sync-code-" + name)
			must(t, "AddPairingCode", db.AddPairingCode(ctx, &PairingCode{Hash: code, UserID: f.ada.ID, MemberID: member, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
			a := &Approver{Name: name, Platform: "linux", PublicKey: []byte("pk-" + name), CreatedAt: t0}
			must(t, "RedeemPairingCode", db.RedeemPairingCode(ctx, code, t0, a))
			return a
		}
		one, two, three := pair(f.sam.ID, "one"), pair(f.sam.ID, "two"), pair(f.sam.ID, "three")
		uid, mid := f.ada.ID, f.sam.ID

		_, err := db.SyncScope(ctx, uid, mid)
		wantErr(t, "SyncScope before starting", err, ErrNotFound)
		must(t, "StartSync", db.StartSync(ctx, uid, mid, SyncKey{DeviceID: one.ID, Generation: 1, Sealed: []byte("k1-one")}, t0))
		wantErr(t, "StartSync again", db.StartSync(ctx, uid, mid, SyncKey{DeviceID: two.ID, Generation: 1, Sealed: []byte("k")}, t0), ErrConflict)

		ev := func() *ApprovalEvent { return &ApprovalEvent{Kind: api.EventVault, Data: []byte("{}")} }
		filled := int64(-1)
		fill := func(c int64) []byte { filled = c; return []byte(`{"cursor":1}`) }
		cur, err := db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e1", 1, 1, one.ID), syncRec("e2", 1, 1, one.ID)}, ev(), fill)
		must(t, "PushSync", err)
		if cur == 0 || filled != cur {
			t.Errorf("PushSync cursor %d, event filled with %d", cur, filled)
		}
		// A stale version conflicts, names the current one, and writes nothing.
		_, err = db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e3", 1, 1, one.ID), syncRec("e1", 1, 1, one.ID)}, nil, nil)
		var conflict *SyncConflictError
		if !errors.As(err, &conflict) || conflict.Versions["e1"] != 1 || len(conflict.Versions) != 1 || !errors.Is(err, ErrConflict) {
			t.Fatalf("PushSync(stale) = %v, want a conflict naming e1 at 1", err)
		}
		_, err = db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e2", 3, 1, one.ID)}, nil, nil)
		if !errors.As(err, &conflict) || conflict.Versions["e2"] != 1 {
			t.Fatalf("PushSync(a version skipped) = %v, want a conflict naming e2 at 1", err)
		}
		_, err = db.PushSync(ctx, uid, mid, 2, []SyncRecord{syncRec("e3", 1, 2, one.ID)}, nil, nil)
		wantErr(t, "PushSync(another generation)", err, ErrGeneration)
		_, err = db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e1", 2, 1, one.ID), syncRec("e1", 2, 1, one.ID)}, nil, nil)
		wantErr(t, "PushSync(twice the same version)", err, ErrConflict)
		cur2, err := db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e1", 2, 1, one.ID)}, nil, nil)
		must(t, "PushSync(v2)", err)

		// Only each entry's latest version is read, oldest first.
		rs, err := db.SyncRecords(ctx, uid, mid, 0, 10)
		must(t, "SyncRecords", err)
		var got []string
		for _, r := range rs {
			got = append(got, r.Entry+"@"+string(rune('0'+r.Version)))
		}
		if !slices.Equal(got, []string{"e2@1", "e1@2"}) || rs[1].Seq != cur2 || rs[1].DeviceID != one.ID {
			t.Errorf("SyncRecords = %v (%+v), want [e2@1 e1@2]", got, rs)
		}
		if rs, _ := db.SyncRecords(ctx, uid, mid, cur2, 10); len(rs) != 0 {
			t.Errorf("SyncRecords after the cursor = %+v, want none", rs)
		}

		// Joining: an unexpired request of a live desktop of the member.
		j := &SyncJoin{UserID: uid, MemberID: mid, DeviceID: two.ID, Nonce: []byte("nonce"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, "AddSyncJoin", db.AddSyncJoin(ctx, j, ev()))
		js, err := db.SyncJoins(ctx, uid, mid, t0.Add(time.Minute))
		must(t, "SyncJoins", err)
		if len(js) != 1 || js[0].DeviceName != "two" || string(js[0].DevicePublicKey) != "pk-two" {
			t.Fatalf("SyncJoins = %+v", js)
		}
		if js, _ := db.SyncJoins(ctx, uid, mid, t0.Add(11*time.Minute)); len(js) != 0 {
			t.Errorf("SyncJoins after expiry = %+v", js)
		}
		// An expired request is deleted by the purge, an unexpired one kept.
		must(t, "Purge", db.Purge(ctx, t0.Add(time.Minute)))
		if js, _ := db.SyncJoins(ctx, uid, mid, t0.Add(time.Minute)); len(js) != 1 {
			t.Errorf("SyncJoins after a purge before expiry = %+v, want the request", js)
		}
		must(t, "Purge", db.Purge(ctx, t0.Add(11*time.Minute)))
		var left int
		must(t, "count", db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM sync_joins").Scan(&left))
		if left != 0 {
			t.Errorf("after the purge past its expiry, sync_joins has %d rows, want 0", left)
		}
		wantErr(t, "ApproveSyncJoin(another device)", db.ApproveSyncJoin(ctx, uid, mid, j.ID, SyncKey{DeviceID: three.ID, Generation: 1, Sealed: []byte("k")}, t0), ErrNotFound)
		j = &SyncJoin{UserID: uid, MemberID: mid, DeviceID: two.ID, Nonce: []byte("nonce"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, "AddSyncJoin", db.AddSyncJoin(ctx, j, ev()))
		wantErr(t, "ApproveSyncJoin(expired)", db.ApproveSyncJoin(ctx, uid, mid, j.ID, SyncKey{DeviceID: two.ID, Generation: 1, Sealed: []byte("k")}, t0.Add(time.Hour)), ErrNotFound)
		j = &SyncJoin{UserID: uid, MemberID: mid, DeviceID: two.ID, Nonce: []byte("nonce"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, "AddSyncJoin", db.AddSyncJoin(ctx, j, ev()))
		must(t, "ApproveSyncJoin", db.ApproveSyncJoin(ctx, uid, mid, j.ID, SyncKey{DeviceID: two.ID, Generation: 1, Sealed: []byte("k1-two")}, t0))
		j3 := &SyncJoin{UserID: uid, MemberID: mid, DeviceID: three.ID, Nonce: []byte("n3"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, "AddSyncJoin", db.AddSyncJoin(ctx, j3, ev()))
		must(t, "ApproveSyncJoin", db.ApproveSyncJoin(ctx, uid, mid, j3.ID, SyncKey{DeviceID: three.ID, Generation: 1, Sealed: []byte("k1-three")}, t0))

		s, err := db.SyncScope(ctx, uid, mid)
		must(t, "SyncScope", err)
		if s.Generation != 1 || s.RotateFirst || len(s.Keys) != 3 || s.Cursor != cur2 {
			t.Fatalf("scope = %+v", s)
		}

		// A removed desktop: rotate first.
		must(t, "RemoveApprover", db.RemoveApprover(ctx, uid, three.ID, t0, nil))
		s, _ = db.SyncScope(ctx, uid, mid)
		if !s.RotateFirst {
			t.Fatalf("scope after removing a key holder = %+v, want rotate first", s)
		}
		_, err = db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e2", 2, 1, one.ID)}, nil, nil)
		wantErr(t, "PushSync before rotating", err, ErrRotateFirst)

		// A rotation must seal to exactly the live desktops and re-seal
		// every entry at its next version.
		k2 := func(ids ...string) []SyncKey {
			var ks []SyncKey
			for _, id := range ids {
				ks = append(ks, SyncKey{DeviceID: id, Generation: 2, Sealed: []byte("k2-" + id)})
			}
			return ks
		}
		all := []SyncRecord{syncRec("e1", 3, 2, one.ID), syncRec("e2", 2, 2, one.ID)}
		for name, c := range map[string]struct {
			gen  int
			keys []SyncKey
			recs []SyncRecord
			want error
		}{
			"the removed desktop's key": {2, k2(one.ID, two.ID, three.ID), all, ErrKeySet},
			"a desktop left out":        {2, k2(one.ID), all, ErrKeySet},
			"an entry left out":         {2, k2(one.ID, two.ID), all[:1], ErrKeySet},
			"a new entry":               {2, k2(one.ID, two.ID), append(slices.Clone(all), syncRec("e9", 1, 2, one.ID)), ErrKeySet},
			"a generation skipped":      {3, k2(one.ID, two.ID), all, ErrGeneration},
			"a stale version":           {2, k2(one.ID, two.ID), []SyncRecord{syncRec("e1", 2, 2, one.ID), all[1]}, ErrConflict},
		} {
			_, err := db.RotateSync(ctx, uid, mid, c.gen, c.keys, c.recs, nil, nil)
			wantErr(t, "RotateSync("+name+")", err, c.want)
		}
		_, err = db.RotateSync(ctx, uid, mid, 2, k2(one.ID, two.ID), all, ev(), fill)
		must(t, "RotateSync", err)
		s, _ = db.SyncScope(ctx, uid, mid)
		if s.Generation != 2 || s.RotateFirst || len(s.Keys) != 2 || string(s.Keys[0].Sealed) != "k2-"+s.Keys[0].DeviceID {
			t.Fatalf("scope after rotating = %+v", s)
		}

		// A desktop moved to another member also forces a rotation.
		must(t, "SetDeviceMember", db.SetDeviceMember(ctx, uid, api.DeviceApprover, two.ID, f.owner.ID))
		if s, _ = db.SyncScope(ctx, uid, mid); !s.RotateFirst {
			t.Errorf("scope after moving a key holder away = %+v, want rotate first", s)
		}
		must(t, "RotateSync", func() error {
			_, err := db.RotateSync(ctx, uid, mid, 3, []SyncKey{{DeviceID: one.ID, Generation: 3, Sealed: []byte("k3")}},
				[]SyncRecord{syncRec("e1", 4, 3, one.ID), syncRec("e2", 3, 3, one.ID)}, nil, nil)
			return err
		}())

		// Leaving marks the scope; the last one leaving deletes it.
		p := pair(f.sam.ID, "four")
		j4 := &SyncJoin{UserID: uid, MemberID: mid, DeviceID: p.ID, Nonce: []byte("n4"), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		must(t, "AddSyncJoin", db.AddSyncJoin(ctx, j4, ev()))
		must(t, "ApproveSyncJoin", db.ApproveSyncJoin(ctx, uid, mid, j4.ID, SyncKey{DeviceID: p.ID, Generation: 3, Sealed: []byte("k3-four")}, t0))
		must(t, "StopSync", db.StopSync(ctx, uid, mid, p.ID))
		if s, _ = db.SyncScope(ctx, uid, mid); !s.RotateFirst || len(s.Keys) != 1 {
			t.Errorf("scope after a desktop left = %+v", s)
		}
		wantErr(t, "StopSync(not a holder)", db.StopSync(ctx, uid, mid, p.ID), ErrNotFound)
		must(t, "StopSync(last)", db.StopSync(ctx, uid, mid, one.ID))
		_, err = db.SyncScope(ctx, uid, mid)
		wantErr(t, "SyncScope after the last left", err, ErrNotFound)
		var n int
		must(t, "count records", db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM sync_records").Scan(&n))
		if n != 0 {
			t.Errorf("%d records left after the last desktop left", n)
		}

		// Removing the member removes their sync with them.
		must(t, "StartSync", db.StartSync(ctx, uid, mid, SyncKey{DeviceID: one.ID, Generation: 1, Sealed: []byte("k")}, t0))
		_, err = db.PushSync(ctx, uid, mid, 1, []SyncRecord{syncRec("e1", 1, 1, one.ID)}, nil, nil)
		must(t, "PushSync", err)
		must(t, "RemoveMember", db.RemoveMember(ctx, uid, mid, t0, nil))
		_, err = db.SyncScope(ctx, uid, mid)
		wantErr(t, "SyncScope after removing the member", err, ErrNotFound)
		for _, table := range []string{"sync_records", "sync_keys", "sync_joins"} {
			must(t, "count "+table, db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n))
			if n != 0 {
				t.Errorf("%d rows left in %s after removing the member", n, table)
			}
		}
		_ = clk
	})
}
