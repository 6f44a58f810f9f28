package seckey

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
	"github.com/countersign/countersign/internal/testkit"
)

// TestSQLite runs the ceremonies over the real store: credentials and
// ceremonies survive the round trip through SQL, and a ceremony is spent
// by its first use there too.
func TestSQLite(t *testing.T) {
	ctx := context.Background()
	clk := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &store.User{Email: "carol@example.com", Name: "Carol", WebAuthnID: []byte("carol-handle-0123456789abcdefghi"), CreatedAt: clk.Now()}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{RPID: testRPID, RPName: "Countersign", Origins: []string{testOrigin}, Store: db, Now: clk.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	a := seckeytest.New(t, testOrigin)

	id, opts, err := svc.BeginRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.FinishRegistration(ctx, u, id, "Green key", a.Create(t, opts))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	for range 2 {
		clk.Advance(time.Minute)
		id, opts, err = svc.BeginLogin(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		answer := a.Get(t, opts, u.WebAuthnID)
		got, err := svc.FinishLogin(ctx, u, id, answer)
		if err != nil {
			t.Fatalf("FinishLogin: %v", err)
		}
		if got.ID != k.ID || !got.LastUsedAt.Equal(clk.Now()) {
			t.Errorf("FinishLogin = %s used %v, want %s used %v", got.ID, got.LastUsedAt, k.ID, clk.Now())
		}
		if _, err := svc.FinishLogin(ctx, u, id, answer); !errors.Is(err, ErrChallenge) {
			t.Errorf("replayed answer: got %v, want ErrChallenge", err)
		}
	}
	keys, err := db.SecurityKeys(ctx, u.ID)
	if err != nil || len(keys) != 1 || keys[0].Name != "Green key" || !keys[0].LastUsedAt.Equal(clk.Now()) {
		t.Errorf("stored keys = %+v, %v; want Green key used now", keys, err)
	}

	id, opts, err = svc.BeginLogin(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Minute)
	if _, err := svc.FinishLogin(ctx, u, id, a.Get(t, opts, nil)); !errors.Is(err, ErrChallenge) {
		t.Errorf("expired ceremony: got %v, want ErrChallenge", err)
	}
}
