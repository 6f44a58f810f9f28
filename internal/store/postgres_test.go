package store

import (
	"context"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/store/pgtest"
)

// TestListenDatabaseGone stops PostgreSQL under a listener, so that its
// reconnections fail, then stops the listener: it must end cleanly, its
// channel closed, whatever became of the database.
func TestListenDatabaseGone(t *testing.T) {
	pg := pgtest.Start(t)
	db := openURL(t, pg.DSN())
	c, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := db.Listen(c, ApprovalChannel)
	must(t, "Listen", err)

	pg.Crash()
	// The listener retries after 100 ms, 200 ms, 400 ms …: give it a few
	// refused reconnections.
	time.Sleep(time.Second)
	select {
	case p, ok := <-ch:
		t.Fatalf("the listener sent %q (open %v) with the database gone", p, ok)
	default:
	}
	db.Close()
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("the listener sent a payload after its context ended")
		}
	case <-time.After(5 * time.Second):
		t.Error("the channel did not close when the context ended")
	}
}
