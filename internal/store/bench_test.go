package store

import (
	"fmt"
	"testing"
	"time"
)

// The benchmarks run on both backends; PostgreSQL is skipped where pgtest
// cannot start it.

func BenchmarkSessionLookup(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b, WithClock(func() time.Time { return t0 }))
			u := &User{Email: "a@example.com"}
			if err := db.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			const n = 1000
			for i := range n {
				s := &Session{ID: fmt.Sprintf("%064x", i), UserID: u.ID, Stage: StageFull, ExpiresAt: t0.Add(time.Hour)}
				if err := db.CreateSession(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				if _, err := db.Session(ctx, fmt.Sprintf("%064x", i%n)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkDevicesList(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db := be.open(b)
			u := &User{Email: "a@example.com"}
			if err := db.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			for i := range 200 {
				d := &Device{UserID: u.ID, Name: fmt.Sprint("device ", i), Kind: "browser", Browser: "Firefox 133", OS: "Linux",
					IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", TokenHash: []byte(fmt.Sprint("token", i)),
					CreatedAt: t0.Add(time.Duration(i) * time.Second), LastSeenAt: t0, TrustedUntil: t0.Add(time.Hour)}
				if err := db.AddDevice(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				ds, err := db.Devices(ctx, u.ID)
				if err != nil || len(ds) != 200 {
					b.Fatalf("Devices = %d, %v", len(ds), err)
				}
			}
		})
	}
}
