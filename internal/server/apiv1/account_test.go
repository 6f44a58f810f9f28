package apiv1

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

func TestAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	e.alice.Phone, e.alice.TwoStep = "+4915112345678", true
	if err := e.db.UpdateUser(ctx, e.alice); err != nil {
		t.Fatal(err)
	}
	totp := &store.Method{UserID: e.alice.ID, Kind: store.MethodTOTP, Label: "Phone app", Secret: []byte("12345678901234567890"), Confirmed: true, CreatedAt: now.Add(-time.Hour), LastUsedAt: now.Add(-time.Minute)}
	sms := &store.Method{UserID: e.alice.ID, Kind: store.MethodSMS, Label: "Work phone", Phone: "+4915112345678", Confirmed: true, CreatedAt: now.Add(-30 * time.Minute)}
	pending := &store.Method{UserID: e.alice.ID, Kind: store.MethodTOTP, Label: "Not yet", Secret: []byte("abcdefghijabcdefghij"), CreatedAt: now}
	for _, m := range []*store.Method{totp, sms, pending} {
		if err := e.db.AddMethod(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var hashes [][]byte
	for i := range 10 {
		hashes = append(hashes, []byte(fmt.Sprintf("backup-code-hash-%02d-0123456789ab", i)))
	}
	if err := e.db.ReplaceBackupCodes(ctx, e.alice.ID, hashes); err != nil {
		t.Fatal(err)
	}
	if err := e.db.UseBackupCode(ctx, e.alice.ID, hashes[3], now); err != nil {
		t.Fatal(err)
	}
	e.registerKey(t, seckeytest.New(t, publicOrigin), "Key")

	r := e.do(t, req{method: "GET", path: "/api/v1/account", token: e.ro})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var a api.Account
	r.decode(t, &a)
	if a.ID != e.alice.ID || a.Email != "alice@example.com" || a.Phone != "+4915112345678" || a.Name != "Alice" ||
		!a.TwoStep || a.BackupCodesLeft != 9 || a.SecurityKeys != 1 || !a.CreatedAt.Equal(now) {
		t.Errorf("account = %+v", a)
	}
	if len(a.Methods) != 2 {
		t.Fatalf("methods = %+v, want the two confirmed ones", a.Methods)
	}
	for _, m := range a.Methods {
		switch m.Kind {
		case "totp":
			want := api.Method{ID: totp.ID, Kind: "totp", Label: "Phone app", CreatedAt: now.Add(-time.Hour), LastUsedAt: now.Add(-time.Minute)}
			if m != want {
				t.Errorf("totp = %+v, want %+v", m, want)
			}
		case "sms":
			want := api.Method{ID: sms.ID, Kind: "sms", Label: "Work phone", PhoneMasked: "+•••••••••••78", CreatedAt: now.Add(-30 * time.Minute)}
			if m != want {
				t.Errorf("sms = %+v, want %+v", m, want)
			}
		}
	}
	if strings.Contains(string(r.body), "last_used_at\":\"0001") {
		t.Errorf("a never-used method has a last use: %s", r.body)
	}
	if strings.Contains(string(r.body), "password") || strings.Contains(string(r.body), "secret") {
		t.Errorf("account answer leaks: %s", r.body)
	}
}

func TestActivityPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const total = 7
	for i := range total {
		err := e.db.AddActivity(ctx, &store.Activity{UserID: e.alice.ID, At: e.clock.Now().Add(time.Duration(i) * time.Minute),
			Kind: store.ActSignIn, OK: i%2 == 0, IP: "192.0.2.1", UserAgent: firefoxUA, Detail: "event " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.AddActivity(ctx, &store.Activity{UserID: e.bob.ID, At: e.clock.Now(), Kind: store.ActSignIn, Detail: "bob"}); err != nil {
		t.Fatal(err)
	}

	var details []string
	next, pages := "", 0
	for {
		path := "/api/v1/activity?limit=3"
		if next != "" {
			path += "&before=" + next
		}
		r := e.do(t, req{method: "GET", path: path, token: e.ro})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var p api.ActivityPage
		r.decode(t, &p)
		pages++
		for _, ev := range p.Events {
			details = append(details, ev.Detail)
			if ev.Browser != "Firefox 133" || ev.OS != "Linux" || ev.IP != "192.0.2.1" || ev.Kind != store.ActSignIn {
				t.Errorf("event = %+v", ev)
			}
		}
		if p.Next == "" {
			break
		}
		if pages > total {
			t.Fatal("paging does not end")
		}
		next = p.Next
	}
	want := "event 6,event 5,event 4,event 3,event 2,event 1,event 0"
	if got := strings.Join(details, ","); got != want || pages != 3 {
		t.Errorf("%d pages of %s, want 3 pages of %s", pages, got, want)
	}

	// An exactly full last page says there is no more.
	var p api.ActivityPage
	e.get(t, "/api/v1/activity?limit=7").decode(t, &p)
	if len(p.Events) != 7 || p.Next != "" {
		t.Errorf("limit=7 of 7: %d events, next %q; want 7 and no next", len(p.Events), p.Next)
	}
	// Default limit 50.
	for i := range 50 {
		if err := e.db.AddActivity(ctx, &store.Activity{UserID: e.alice.ID, At: e.clock.Now(), Kind: store.ActSignOut, Detail: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	p = api.ActivityPage{}
	e.get(t, "/api/v1/activity").decode(t, &p)
	if len(p.Events) != 50 || p.Next == "" {
		t.Errorf("default page: %d events, next %q; want 50 and more", len(p.Events), p.Next)
	}

	for _, q := range []string{"limit=0", "limit=201", "limit=-1", "limit=ten", "limit=1.5", "before=abc", "before=0", "before=-5"} {
		r := e.get(t, "/api/v1/activity?"+q)
		msg := "limit must be"
		if strings.HasPrefix(q, "before") {
			msg = "before must be"
		}
		wantError(t, r, 400, api.CodeInvalidRequest, msg)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.get(t, "/api/v1/nothing-here"), 404, api.CodeNotFound, "no such API address")
	wantError(t, e.get(t, "/api/v1/"), 404, api.CodeNotFound, "no such API address")
	r := e.send(t, "POST", "/api/v1/account", "{}")
	wantError(t, r, 405, api.CodeMethodNotAllowed, "does not accept POST")
	if got := r.header.Get("Allow"); got != "GET" {
		t.Errorf("Allow %q, want GET", got)
	}
	r = e.send(t, "PUT", "/api/v1/devices/x", "{}")
	wantError(t, r, 405, api.CodeMethodNotAllowed, "PATCH, DELETE")
	if r := e.get(t, "/api/v1/account"); r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v, want no-store and nosniff", r.header)
	}
}

// failingStore fails one call with an error full of internals.
type failingStore struct {
	*store.DB
}

func (failingStore) Devices(context.Context, string) ([]store.Device, error) {
	return nil, errors.New("dial tcp 10.0.0.5:5432: secret-internal-detail")
}

// TestInternalError: internals go to the log, a plain sentence to the client.
func TestInternalError(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Store = failingStore{o.Store.(*store.DB)} })
	r := e.get(t, "/api/v1/devices")
	wantError(t, r, 500, api.CodeInternal, "Something went wrong on the server")
	if strings.Contains(string(r.body), "secret-internal-detail") {
		t.Errorf("internals sent: %s", r.body)
	}
	if log := e.log.String(); !strings.Contains(log, "secret-internal-detail") {
		t.Errorf("internals not logged: %q", log)
	} else if strings.Contains(log, e.rw) {
		t.Errorf("the token was logged: %q", log)
	}
}

func TestMaxBody(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBody = 100 })
	d := e.device(t, e.alice, "Desk", e.clock.Now())
	wantError(t, e.send(t, "PATCH", "/api/v1/devices/"+d.ID, `{"name": "`+strings.Repeat("x", 100)+`"}`), 413, api.CodeTooLarge, "limit is 100 bytes")
	if r := e.send(t, "PATCH", "/api/v1/devices/"+d.ID, `{"name": "fits"}`); r.status != http.StatusOK {
		t.Errorf("small body: status %d: %s", r.status, r.body)
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := New(Options{Store: e.db, MaxBody: -1}); err == nil {
		t.Error("New with a negative MaxBody succeeded")
	}
}
