package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver/approvertest"
)

// TestSyncCommands: two desktops of one person sync their vaults with
// the command line: start on one, join on the other, approve with the
// code it shows, then each one's accounts reach the other; a wrong code
// approves nothing; off stops it.
func TestSyncCommands(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	_, uri := srv.PairingCode(ada)
	a, _ := pairedHarness(t, srv, uri, "Ada's laptop")
	_, uri = srv.PairingCode(ada)
	b, _ := pairedHarness(t, srv, uri, "Ada's desktop")

	if out := a.mustRun("sync", "status"); !strings.Contains(out, "not syncing: run countersign sync start") {
		t.Errorf("status before starting: %q", out)
	}
	a.mustRun("add", rfcURI)
	if out := a.mustRun("sync", "start"); !strings.Contains(out, "1 sent") {
		t.Errorf("start: %q", out)
	}
	code := strings.TrimSpace(b.mustRun("sync", "join"))
	if len(code) != 6 {
		t.Fatalf("join printed %q, want the 6-digit code", code)
	}
	if out := a.mustRun("sync", "status"); !strings.Contains(out, "code "+code) || !strings.Contains(out, `"Ada's desktop" asks to join`) {
		t.Errorf("status with a join request: %q", out)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, _, err := a.run("", "sync", "approve", wrong); err == nil || !strings.Contains(err.Error(), "the code does not match") {
		t.Errorf("approve with a wrong code: %v", err)
	}
	if out := a.mustRun("sync", "approve", code); !strings.Contains(out, `gave the sync key to "Ada's desktop"`) {
		t.Errorf("approve: %q", out)
	}
	if out := b.mustRun("sync", "now"); !strings.Contains(out, "1 changes made here") {
		t.Errorf("now on the joined desktop: %q", out)
	}
	if out := b.mustRun("list"); !strings.Contains(out, "alice@example.com") {
		t.Errorf("the joined desktop's vault: %q", out)
	}
	b.mustRun("add", strings.Replace(rfcURI, "alice", "bob", 1))
	b.mustRun("sync", "now")
	a.mustRun("sync", "now")
	if out := a.mustRun("list"); !strings.Contains(out, "bob@example.com") {
		t.Errorf("the first desktop's vault after the other's add: %q", out)
	}
	// watch takes in what the other desktop sends while it runs.
	type result struct {
		out string
		err error
	}
	watched := make(chan result, 1)
	go func() {
		out, _, err := b.run("", "sync", "watch", "--for", "4s")
		watched <- result{out, err}
	}()
	time.Sleep(time.Second)
	a.mustRun("add", strings.Replace(rfcURI, "alice", "carol", 1))
	a.mustRun("sync", "now")
	w := <-watched
	if w.err != nil || !strings.Contains(w.out, "synced: 1 changes made here") {
		t.Errorf("watch: %q, %v", w.out, w.err)
	}
	if out := b.mustRun("list"); !strings.Contains(out, "carol@example.com") {
		t.Errorf("the watching desktop's vault: %q", out)
	}

	if out := b.mustRun("sync", "off"); !strings.Contains(out, "no longer syncs") {
		t.Errorf("off: %q", out)
	}
	if out := a.mustRun("sync", "status"); !strings.Contains(out, "rotates it") {
		t.Errorf("status after the other left: %q", out)
	}
	if out := a.mustRun("sync", "now"); !strings.Contains(out, "the key was rotated") {
		t.Errorf("now after the other left: %q", out)
	}
}
