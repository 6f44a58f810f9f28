package apiv1

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/store"
)

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

func (e *env) device(t *testing.T, u *store.User, name string, seen time.Time) *store.Device {
	t.Helper()
	d := &store.Device{
		UserID: u.ID, Name: name, Kind: "laptop", Browser: "Firefox 133", OS: "Linux", IP: "198.51.100.7",
		UserAgent: firefoxUA, TokenHash: []byte(name + "-token-hash-0123456789abcdef"),
		CreatedAt: e.clock.Now().Add(-48 * time.Hour), LastSeenAt: seen, TrustedUntil: e.clock.Now().Add(30 * 24 * time.Hour),
	}
	if err := e.db.AddDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// session signs u in on the trusted browser deviceID (none: ""), as the
// browser's member, as the server does when a trusted browser skips the
// second step.
func (e *env) session(t *testing.T, u *store.User, id, deviceID string) *store.Session {
	t.Helper()
	member := ""
	if deviceID != "" {
		d, err := e.db.Device(context.Background(), u.ID, deviceID)
		if err != nil {
			t.Fatal(err)
		}
		member = d.MemberID
	}
	s := &store.Session{
		ID: id, UserID: u.ID, DeviceID: deviceID, MemberID: member, Stage: store.StageFull, IP: "203.0.113.9", UserAgent: firefoxUA,
		CreatedAt: e.clock.Now().Add(-time.Hour), LastSeenAt: e.clock.Now().Add(-time.Minute), ExpiresAt: e.clock.Now().Add(24 * time.Hour),
	}
	if err := e.db.CreateSession(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	older := e.device(t, e.alice, "Work laptop", now.Add(-2*time.Hour))
	newer := e.device(t, e.alice, "Home PC", now.Add(-time.Hour))
	e.device(t, e.bob, "Bob's phone", now)

	r := e.do(t, req{method: "GET", path: "/api/v1/devices", token: e.ro})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var list api.DeviceList
	r.decode(t, &list)
	if len(list.Devices) != 2 || list.Devices[0].ID != newer.ID || list.Devices[1].ID != older.ID {
		t.Fatalf("devices = %+v, want Home PC then Work laptop (most recently seen first)", list.Devices)
	}
	owner, err := e.db.OwnerMember(context.Background(), e.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := api.Device{
		ID: newer.ID, Type: api.DeviceBrowser, Name: "Home PC", Kind: "laptop", MemberID: owner.ID, Browser: "Firefox 133", OS: "Linux", IP: "198.51.100.7",
		UserAgent: firefoxUA, CreatedAt: now.Add(-48 * time.Hour), LastSeenAt: now.Add(-time.Hour), TrustedUntil: now.Add(30 * 24 * time.Hour),
	}
	if got := list.Devices[0]; got != want {
		t.Errorf("device = %+v\nwant %+v", got, want)
	}
	if !strings.Contains(string(r.body), `"trusted_until":"`+now.Add(30*24*time.Hour).Format(time.RFC3339)+`"`) {
		t.Errorf("times are not RFC 3339 UTC: %s", r.body)
	}
}

func TestRenameDevice(t *testing.T) {
	e := newEnv(t)
	d := e.device(t, e.alice, "Work laptop", e.clock.Now())
	bobs := e.device(t, e.bob, "Bob's phone", e.clock.Now())
	path := "/api/v1/devices/" + d.ID

	r := e.send(t, "PATCH", path, `{"name": "  Office ThinkPad "}`)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got api.Device
	r.decode(t, &got)
	if got.ID != d.ID || got.Name != "Office ThinkPad" {
		t.Errorf("answer = %+v, want the device named Office ThinkPad", got)
	}
	stored, err := e.db.Device(context.Background(), e.alice.ID, d.ID)
	if err != nil || stored.Name != "Office ThinkPad" {
		t.Errorf("stored device = %+v, %v; want it renamed", stored, err)
	}
	acts := e.activity(t, e.alice)
	if len(acts) != 1 || acts[0].Kind != store.ActDeviceRenamed || !acts[0].OK || acts[0].IP != "127.0.0.1" || acts[0].Member != "Alice" ||
		!strings.Contains(acts[0].Detail, `"Work laptop" of Alice renamed to "Office ThinkPad"`) || !strings.Contains(acts[0].UserAgent, "Chrome") {
		t.Errorf("activity = %+v, want one device.renamed with IP, user agent and both names", acts)
	}

	// Bad input changes nothing.
	long := strings.Repeat("n", 65)
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		status      int
		code, msg   string
	}{
		{"malformed JSON", path, "", `{"name": "x"`, 400, api.CodeInvalidRequest, "not valid JSON"},
		{"syntax error", path, "", `{"name": x}`, 400, api.CodeInvalidRequest, "not valid JSON (at byte"},
		{"unknown field", path, "", `{"name": "x", "kind": "tv"}`, 400, api.CodeInvalidRequest, `field "kind" is not known`},
		{"wrong type", path, "", `{"name": 42}`, 400, api.CodeInvalidRequest, `field "name" must be a string, not a number`},
		{"name is an object", path, "", `{"name": {}}`, 400, api.CodeInvalidRequest, `must be a string, not an object`},
		{"array body", path, "", `["x"]`, 400, api.CodeInvalidRequest, "must be a JSON object, not an array"},
		{"two values", path, "", `{"name": "a"} {"name": "b"}`, 400, api.CodeInvalidRequest, "single JSON object"},
		{"empty body", path, "", ``, 400, api.CodeInvalidRequest, "body is empty"},
		{"null", path, "", `null`, 400, api.CodeInvalidRequest, "name or member_id is required"},
		{"empty object", path, "", `{}`, 400, api.CodeInvalidRequest, "name or member_id is required"},
		{"blank name", path, "", `{"name": "   "}`, 400, api.CodeInvalidRequest, "name is required"},
		{"name too long", path, "", `{"name": "` + long + `"}`, 400, api.CodeInvalidRequest, "1 to 64 characters"},
		{"control character", path, "", `{"name": "a\u0007b"}`, 400, api.CodeInvalidRequest, "without control characters"},
		{"oversize body", path, "", `{"name": "` + strings.Repeat("x", 70<<10) + `"}`, 413, api.CodeTooLarge, "too large; the limit is 64 KiB"},
		{"form content type", path, "application/x-www-form-urlencoded", `name=x`, 415, api.CodeUnsupportedType, "must be JSON"},
		{"no content type", path, "-", `{"name": "x"}`, 415, api.CodeUnsupportedType, "must be JSON"},
		{"latin-1 JSON", path, "application/json; charset=iso-8859-1", `{"name": "x"}`, 415, api.CodeUnsupportedType, "must be JSON"},
		{"unknown device", "/api/v1/devices/nope", "", `{"name": "x"}`, 404, api.CodeNotFound, "no such device"},
		{"bob's device", "/api/v1/devices/" + bobs.ID, "", `{"name": "mine now"}`, 404, api.CodeNotFound, "no such device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, req{method: "PATCH", path: tt.path, token: e.rw, contentType: tt.contentType, body: tt.body})
			wantError(t, r, tt.status, tt.code, tt.msg)
			for _, u := range []*store.User{e.alice, e.bob} {
				ds, err := e.db.Devices(context.Background(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if ds[0].Name != "Office ThinkPad" && ds[0].Name != "Bob's phone" {
					t.Errorf("device renamed to %q", ds[0].Name)
				}
			}
			if n := len(e.activity(t, e.alice)); n != 1 {
				t.Errorf("%d activity events, want still 1", n)
			}
			if n := len(e.activity(t, e.bob)); n != 0 {
				t.Errorf("bob has %d activity events, want none", n)
			}
		})
	}
	// merge-patch+json is JSON too.
	r = e.do(t, req{method: "PATCH", path: path, token: e.rw, contentType: "application/merge-patch+json; charset=utf-8", body: `{"name":"Laptop"}`})
	if r.status != http.StatusOK {
		t.Errorf("merge-patch: status %d: %s", r.status, r.body)
	}
}

// TestRemoveDevice: removing a device ends its sessions at once and only
// its sessions.
func TestRemoveDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.device(t, e.alice, "Lost phone", e.clock.Now())
	kept := e.device(t, e.alice, "Desk", e.clock.Now())
	e.session(t, e.alice, "s-on-lost-1", d.ID)
	e.session(t, e.alice, "s-on-lost-2", d.ID)
	e.session(t, e.alice, "s-on-desk", kept.ID)
	e.session(t, e.alice, "s-no-device", "")
	bobs := e.device(t, e.bob, "Bob's", e.clock.Now())

	wantError(t, e.send(t, "DELETE", "/api/v1/devices/"+bobs.ID, ""), 404, api.CodeNotFound, "no such device")
	if _, err := e.db.Device(ctx, e.bob.ID, bobs.ID); err != nil {
		t.Errorf("bob's device after alice tried to remove it: %v", err)
	}

	r := e.send(t, "DELETE", "/api/v1/devices/"+d.ID, "")
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("status %d body %q, want 204 and no body", r.status, r.body)
	}
	if _, err := e.db.Device(ctx, e.alice.ID, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("device after removal: %v, want ErrNotFound", err)
	}
	for id, want := range map[string]bool{"s-on-lost-1": false, "s-on-lost-2": false, "s-on-desk": true, "s-no-device": true} {
		_, err := e.db.Session(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("session %s exists = %v (%v), want %v", id, got, err, want)
		}
	}
	acts := e.activity(t, e.alice)
	if len(acts) != 1 || acts[0].Kind != store.ActDeviceRemoved || !strings.Contains(acts[0].Detail, `"Lost phone"`) || !strings.Contains(acts[0].Detail, `API token "rw"`) {
		t.Errorf("activity = %+v, want one device.removed naming the device and the token", acts)
	}
	wantError(t, e.send(t, "DELETE", "/api/v1/devices/"+d.ID, ""), 404, api.CodeNotFound, "no such device")
	if n := len(e.activity(t, e.alice)); n != 1 {
		t.Errorf("%d activity events after removing a removed device, want 1", n)
	}
}

func TestSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.device(t, e.alice, "Desk", e.clock.Now())
	e.session(t, e.alice, "s-desk", d.ID)
	e.session(t, e.alice, "s-other", "")
	e.session(t, e.bob, "s-bob", "")
	half := &store.Session{ID: "s-half", UserID: e.alice.ID, Stage: store.StagePassword, CreatedAt: e.clock.Now(), LastSeenAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)}
	if err := e.db.CreateSession(ctx, half); err != nil {
		t.Fatal(err)
	}

	r := e.do(t, req{method: "GET", path: "/api/v1/sessions", token: e.ro})
	var list api.SessionList
	r.decode(t, &list)
	if len(list.Sessions) != 2 {
		t.Fatalf("sessions = %+v, want alice's two signed-in ones", list.Sessions)
	}
	var desk api.Session
	for _, s := range list.Sessions {
		if s.ID == "s-desk" {
			desk = s
		}
	}
	want := api.Session{ID: "s-desk", DeviceID: d.ID, Browser: "Firefox 133", OS: "Linux", IP: "203.0.113.9",
		CreatedAt: e.clock.Now().Add(-time.Hour), LastSeenAt: e.clock.Now().Add(-time.Minute)}
	if desk != want {
		t.Errorf("session = %+v\nwant %+v", desk, want)
	}

	wantError(t, e.send(t, "DELETE", "/api/v1/sessions/s-bob", ""), 404, api.CodeNotFound, "no such session")
	wantError(t, e.send(t, "DELETE", "/api/v1/sessions/nope", ""), 404, api.CodeNotFound, "no such session")
	if _, err := e.db.Session(ctx, "s-bob"); err != nil {
		t.Errorf("bob's session after alice tried to end it: %v", err)
	}
	if n := len(e.activity(t, e.alice)); n != 0 {
		t.Errorf("%d activity events after refused revocations, want 0", n)
	}

	r = e.send(t, "DELETE", "/api/v1/sessions/s-other", "")
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if _, err := e.db.Session(ctx, "s-other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked session: %v, want ErrNotFound", err)
	}
	if _, err := e.db.Session(ctx, "s-desk"); err != nil {
		t.Errorf("the other session: %v", err)
	}
	acts := e.activity(t, e.alice)
	if len(acts) != 1 || acts[0].Kind != store.ActSessionRevoked || !strings.Contains(acts[0].Detail, "Firefox 133 on Linux from 203.0.113.9") {
		t.Errorf("activity = %+v, want one session.revoked describing the browser", acts)
	}
}
