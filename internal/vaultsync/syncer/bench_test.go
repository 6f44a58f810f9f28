package syncer_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/vault"
)

// follow runs d's approver core and syncs d whenever its stream brings a
// "vault" event (and every 30 s), until the test ends.
func (d *desk) follow(tb testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	tb.Cleanup(func() { cancel(); <-done; <-done })
	go func() { defer func() { done <- struct{}{} }(); d.m.Run(ctx) }()
	wake := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case e := <-d.m.Events():
				if e.Kind == approver.EventVault {
					select {
					case wake <- struct{}{}:
					default:
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(30 * time.Second)
	tb.Cleanup(tick.Stop)
	go func() { defer func() { done <- struct{}{} }(); d.s.Run(ctx, wake, tick.C, nil) }()
}

// BenchmarkSyncPropagation measures how long an edit on one desktop takes
// to reach another's vault on loopback (SQLite): the edit, the push, the
// server's "vault" event on the other's stream, its pull, merge and vault
// write. It reports p50 and p99 in milliseconds, and the bytes of one
// entry's record on the wire and in the database.
func BenchmarkSyncPropagation(b *testing.B) {
	srv := approvertest.Start(b)
	u := srv.User("ada@example.com", "Ada")
	a := newDesk(b, srv, u, "Ada's laptop", nil)
	c := newDesk(b, srv, u, "Ada's desktop", nil)
	ctx := context.Background()
	if _, err := a.m.SyncStart(ctx, a.id); err != nil {
		b.Fatal(err)
	}
	acc := a.add(b, secretURI("Octoforge", "ada.octo", false))
	for i := range 20 { // a vault of a realistic size
		a.add(b, secretURI("Site"+strconv.Itoa(i), "ada", false))
	}
	a.sync(b)
	c.join(b, a)
	c.sync(b)
	c.follow(b)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		want := "edit " + strconv.Itoa(i)
		t0 := time.Now()
		if _, err := a.v.Edit(acc.ID, func(x *vault.Account) error { x.Notes = want; return nil }); err != nil {
			b.Fatal(err)
		}
		a.sync(b)
		for deadline := t0.Add(10 * time.Second); ; {
			if c.find(b, "ada.octo").Notes == want {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("edit %d did not arrive in 10 s", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")

	page, err := a.m.SyncPull(ctx, a.id, 0, 0)
	if err != nil || len(page.Records) == 0 {
		b.Fatal(err)
	}
	wire := 0
	for _, r := range page.Records {
		j, _ := json.Marshal(r)
		wire += len(j)
	}
	b.ReportMetric(float64(wire)/float64(len(page.Records)), "wire-B/entry")
	// A row's columns: the ids, the ciphertext, and four 8-byte integers.
	var row float64
	err = openRaw(b, srv.DSN).QueryRow(`SELECT AVG(LENGTH(user_id) + LENGTH(member_id) + LENGTH(entry) + LENGTH(sealed) + LENGTH(device_id) + 32) FROM sync_records`).Scan(&row)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(row, "db-B/entry")
}
