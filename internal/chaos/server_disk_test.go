//go:build chaos

package chaos

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/approver"
)

// fullDisk is a small filesystem of the test's own that can be filled.
type fullDisk struct {
	dir  string // where it is mounted
	kind string // what it is, for the table
}

// smallDisk mounts a 24 MiB filesystem: a tmpfs, else an ext4 image on a
// loop device; it says why when neither can be had (not root, no mount
// rights in a container …).
func smallDisk(t *testing.T) (*fullDisk, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", dir).CombinedOutput()
	if err == nil {
		t.Cleanup(func() { unmount(t, dir) })
		return &fullDisk{dir: dir, kind: "a 24 MiB tmpfs"}, ""
	}
	why := fmt.Sprintf("mount -t tmpfs: %v %s", err, strings.TrimSpace(string(out)))
	img := filepath.Join(t.TempDir(), "disk.img")
	steps := [][]string{{"fallocate", "-l", "24M", img}, {"mkfs.ext4", "-q", "-F", img}, {"mount", "-o", "loop", img, dir}}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return nil, fmt.Sprintf("%s; %s: %v %s", why, s[0], err, strings.TrimSpace(string(out)))
		}
	}
	t.Cleanup(func() { unmount(t, dir) })
	return &fullDisk{dir: dir, kind: "a 24 MiB ext4 image on a loop device"}, ""
}

func unmount(t *testing.T, dir string) {
	if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
		t.Logf("umount %s: %v %s; detaching it lazily", dir, err, out)
		exec.Command("umount", "-l", dir).Run()
	}
}

// fill writes a file until the filesystem has no room left, and returns
// its path.
func (d *fullDisk) fill(t *testing.T) string {
	t.Helper()
	path := filepath.Join(d.dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for _, size := range []int{64 << 10, 4 << 10, 512, 1} {
		for {
			if _, err := f.Write(chunk[:size]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", d.dir, err)
				}
				break
			}
		}
	}
	return path
}

// leaks finds what people must not be shown: the database's own words, a
// path, a Go error.
var leaks = regexp.MustCompile(`(?i)sqlite|sql:|database or disk|no space|disk i/o|/tmp/|\.db\b|errno|panic|goroutine|runtime\.`)

// answer is what one request got while the disk was full.
type answer struct {
	what   string
	status int
	says   string
	leak   string
}

func (a answer) String() string {
	return fmt.Sprintf("%s → %d %q", a.what, a.status, a.says)
}

// diskFull: countersign-server on SQLite whose filesystem fills up. While
// it is full, sign-ins, approvals and API writes must fail with a plain
// 503 and no internals, /readyz must say the database cannot write, and
// nothing may be corrupted; once room returns, everything must work again
// without a restart, with what was written before still there.
func diskFull(t *testing.T) {
	row := Begin(t, "4. SQLite on a full disk")
	disk, why := smallDisk(t)
	if disk == nil {
		Skip(t, row, why)
	}
	path := filepath.Join(disk.dir, "countersign.db")
	dsn := "sqlite://" + path
	login := seedAccounts(t, dsn, "disk", 1)[0]
	token := apiToken(t, dsn, login, "read", "write")
	srv := newServer(t, "D", dsn, "")
	srv.args = append(srv.args[:0:0], srv.args...)
	for i, a := range srv.args {
		if a == "--outbox" {
			srv.args[i+1] = filepath.Join(disk.dir, "outbox") // everything on the small disk
		}
	}
	srv.start()
	d := pairDesk(t, srv.pairingURI(login), "Ada's laptop", "")

	// Before: one browser signed in, one waiting for its approval.
	before := newBrowser(t, srv.public, "198.51.100.50", "")
	if _, err := before.signIn(login); err != nil {
		t.Fatal(err)
	}
	r0, err := d.requestFrom(before.ip, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := d.approve(r0, before.number); err != nil || st != "approved" {
		t.Fatalf("approving before the disk filled: %q, %v", st, err)
	}
	if p, err := before.complete(); err != nil || p.status != http.StatusSeeOther {
		t.Fatalf("signing in before the disk filled: %v, %v", p, err)
	}
	waiting := newBrowser(t, srv.public, "198.51.100.51", "")
	if _, err := waiting.signIn(login); err != nil {
		t.Fatal(err)
	}
	r1, err := d.requestFrom(waiting.ip, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	filler := disk.fill(t)
	var got []answer
	note := func(what string, status int, says string) {
		a := answer{what: what, status: status, says: says, leak: leaks.FindString(says)}
		t.Logf("full disk: %v", a)
		got = append(got, a)
	}
	// A new sign-in.
	fresh := newBrowser(t, srv.public, "198.51.100.52", "")
	p, err := fresh.post("/signin", "/signin", map[string][]string{"login": {login}, "password": {chaosPassword}})
	if err != nil && p.status == 0 {
		t.Fatalf("signing in on the full disk: %v", err)
	}
	note("a new sign-in's password", p.status, p.says())
	// The waiting sign-in approved on the desktop.
	_, decideErr := d.approve(r1, waiting.number)
	var ae *approver.APIError
	if !errors.As(decideErr, &ae) {
		t.Fatalf("approving on the full disk: %v, want the server's refusal", decideErr)
	}
	note("the desktop's approval", ae.Status, ae.Message)
	// An API write.
	st, body, err := apiCall(http.MethodPost, srv.public+"/api/v1/household/members", token, `{"name":"Sam"}`)
	if err != nil {
		t.Fatal(err)
	}
	note("API POST /household/members", st, apiMessage(body))
	for _, a := range got {
		if a.status != http.StatusServiceUnavailable || a.leak != "" {
			t.Errorf("%v: want 503 with a plain sentence (it shows %q)", a, a.leak)
		}
	}
	// The browser already signed in still reads its page.
	p, err = before.do(http.MethodGet, "/account/security", nil)
	if err != nil || p.status != http.StatusOK {
		t.Errorf("the signed-in browser's security page on the full disk: %v, %v", p, err)
	}
	rst, rbody, _ := get(srv.base + "/readyz")
	hst, _, _ := get(srv.base + "/healthz")
	if rst != http.StatusServiceUnavailable || !strings.Contains(rbody, "disk full") || hst != http.StatusOK {
		t.Errorf("on the full disk: /readyz %d %q, /healthz %d; want 503 saying disk full, and 200", rst, rbody, hst)
	}
	icFull := integrity(t, path)
	// A crash on the full disk, and the start that follows (systemd's).
	srv.kill()
	srv.start()
	rst2, rbody2, _ := get(srv.base + "/readyz")
	p2, err := newBrowser(t, srv.public, "198.51.100.54", "").post("/signin", "/signin", map[string][]string{"login": {login}, "password": {chaosPassword}})
	if err != nil && p2.status == 0 {
		t.Fatal(err)
	}
	if rst2 != http.StatusServiceUnavailable || p2.status != http.StatusServiceUnavailable {
		t.Errorf("started again on the full disk: /readyz %d %q, a sign-in %v; want 503s", rst2, rbody2, p2)
	}

	// Room again: everything works without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	readyAgain, ok := waitFor(30*time.Second, func() bool { st, _, _ := get(srv.base + "/readyz"); return st == http.StatusOK })
	if !ok {
		t.Errorf("/readyz not 200 within 30 s of space returning")
	}
	if st, err := d.approve(r1, waiting.number); err != nil || st != "approved" {
		t.Errorf("approving the waiting sign-in once there is room: %q, %v", st, err)
	}
	if p, err := waiting.complete(); err != nil || p.status != http.StatusSeeOther || p.loc != "/account/security" {
		t.Errorf("finishing the waiting sign-in once there is room: %v, %v", p, err)
	}
	after := newBrowser(t, srv.public, "198.51.100.53", "")
	if _, err := after.signIn(login); err != nil {
		t.Fatalf("a sign-in once there is room: %v", err)
	}
	r2, err := d.requestFrom(after.ip, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := d.approve(r2, after.number); err != nil || st != "approved" {
		t.Fatalf("approving once there is room: %q, %v", st, err)
	}
	if p, err := after.complete(); err != nil || p.status != http.StatusSeeOther {
		t.Fatalf("signing in once there is room: %v, %v", p, err)
	}
	if st, body, _ := apiCall(http.MethodPost, srv.public+"/api/v1/household/members", token, `{"name":"Sam"}`); st != http.StatusCreated {
		t.Errorf("the API write once there is room: %d %s", st, body)
	}
	if !before.signedIn() {
		t.Errorf("the browser signed in before the disk filled is signed out")
	}
	n := signIns(t, dsn, login)
	icAfter := integrity(t, path)
	if !srv.alive() {
		t.Errorf("the server died:\n%s", srv.logText())
	}
	if n != 3 {
		t.Errorf("%d sign-ins logged, want 3", n)
	}
	var saw []string
	for _, a := range got {
		saw = append(saw, a.String())
	}
	row.Done = fmt.Sprintf("countersign-server's database and outbox on %s, filled to the last byte while a browser was signed in and a sign-in waited on the desktop; the server SIGKILLed and started again on the full disk; then the filler removed", disk.kind)
	row.Saw = strings.Join(saw, "; ") + fmt.Sprintf("; the signed-in browser still read its pages; /readyz %d %q, /healthz %d; integrity_check %s while full, %s after; started again on the full disk it came up and answered the same 503s; once the file was removed, /readyz 200 within %.1f s, the waiting sign-in approved and finished, a new one and the API write worked, without another restart; %d sign-ins logged",
		rst, strings.TrimSpace(rbody), hst, icFull, icAfter, readyAgain.Seconds(), n)
	if !t.Failed() {
		row.Lost = Nothing
	}
}
