package client

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/countersign/countersign/internal/api"
)

// fakeCaller records one request and answers it with reply's JSON.
type fakeCaller struct {
	method, path string
	body         string // in as JSON, "" for none
	reply        any
	err          error
}

func (f *fakeCaller) Call(_ context.Context, method, path string, in, out any) error {
	f.method, f.path, f.body = method, path, ""
	if in != nil {
		b, _ := json.Marshal(in)
		f.body = string(b)
	}
	if f.err != nil {
		return f.err
	}
	if out != nil && f.reply != nil {
		b, _ := json.Marshal(f.reply)
		return json.Unmarshal(b, out)
	}
	return nil
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	dev := api.Device{ID: "d1", Name: "Sam's laptop"}
	mem := api.Member{ID: "m/1", Name: "Sam"}
	tests := []struct {
		name       string
		reply      any
		do         func(c *Client) (any, error)
		method     string
		path, body string
		want       any
	}{
		{"account", api.Account{Email: "a@example.com"}, func(c *Client) (any, error) { return c.Account(ctx) },
			"GET", "/api/v1/account", "", api.Account{Email: "a@example.com"}},
		{"devices", api.DeviceList{Devices: []api.Device{dev}}, func(c *Client) (any, error) { return c.Devices(ctx) },
			"GET", "/api/v1/devices", "", []api.Device{dev}},
		{"update device", dev, func(c *Client) (any, error) {
			return c.UpdateDevice(ctx, "d 1/x", api.DeviceUpdate{Name: "Sam's laptop"})
		}, "PATCH", "/api/v1/devices/d%201%2Fx", `{"name":"Sam's laptop"}`, dev},
		{"move device", dev, func(c *Client) (any, error) {
			return c.UpdateDevice(ctx, "d1", api.DeviceUpdate{MemberID: "m1"})
		}, "PATCH", "/api/v1/devices/d1", `{"member_id":"m1"}`, dev},
		{"remove device", nil, func(c *Client) (any, error) { return nil, c.RemoveDevice(ctx, "d1") },
			"DELETE", "/api/v1/devices/d1", "", nil},
		{"sign out device", api.SignedOut{Ended: 3}, func(c *Client) (any, error) { return c.SignOutDevice(ctx, "d1") },
			"POST", "/api/v1/devices/d1/sign-out", "", 3},
		{"sessions", api.SessionList{Sessions: []api.Session{{ID: "s1"}}}, func(c *Client) (any, error) { return c.Sessions(ctx) },
			"GET", "/api/v1/sessions", "", []api.Session{{ID: "s1"}}},
		{"end session", nil, func(c *Client) (any, error) { return nil, c.EndSession(ctx, "s1") },
			"DELETE", "/api/v1/sessions/s1", "", nil},
		{"end all sessions", api.SignedOut{Ended: 2}, func(c *Client) (any, error) { return c.EndAllSessions(ctx) },
			"DELETE", "/api/v1/sessions", "", 2},
		{"apps", api.AppList{Apps: []api.App{{ClientID: "c1"}}}, func(c *Client) (any, error) { return c.Apps(ctx) },
			"GET", "/api/v1/apps", "", []api.App{{ClientID: "c1"}}},
		{"revoke app", nil, func(c *Client) (any, error) { return nil, c.RevokeApp(ctx, "c?1") },
			"DELETE", "/api/v1/apps/c%3F1", "", nil},
		{"activity", api.ActivityPage{Next: "7"}, func(c *Client) (any, error) { return c.Activity(ctx, "", "", 0) },
			"GET", "/api/v1/activity", "", api.ActivityPage{Next: "7"}},
		{"activity page", api.ActivityPage{}, func(c *Client) (any, error) { return c.Activity(ctx, "signins", "42", 10) },
			"GET", "/api/v1/activity?before=42&category=signins&limit=10", "", api.ActivityPage{}},
		{"household", api.Household{You: "m1"}, func(c *Client) (any, error) { return c.Household(ctx) },
			"GET", "/api/v1/household", "", api.Household{You: "m1"}},
		{"add member", mem, func(c *Client) (any, error) { return c.AddMember(ctx, "Sam") },
			"POST", "/api/v1/household/members", `{"name":"Sam"}`, mem},
		{"rename member", mem, func(c *Client) (any, error) { return c.RenameMember(ctx, "m/1", "Sam") },
			"PATCH", "/api/v1/household/members/m%2F1", `{"name":"Sam"}`, mem},
		{"remove member", nil, func(c *Client) (any, error) { return nil, c.RemoveMember(ctx, "m1") },
			"DELETE", "/api/v1/household/members/m1", "", nil},
		{"invite", api.Invitation{Code: "K7Q9-M2XD"}, func(c *Client) (any, error) { return c.Invite(ctx, "m1") },
			"POST", "/api/v1/household/members/m1/invitations", "", api.Invitation{Code: "K7Q9-M2XD"}},
		{"share", api.Shared{Offered: 2}, func(c *Client) (any, error) { return c.ShareAuthenticator(ctx, "m1") },
			"POST", "/api/v1/household/members/m1/authenticator", "", 2},
		{"stop sharing", nil, func(c *Client) (any, error) { return nil, c.StopSharing(ctx, "m1") },
			"DELETE", "/api/v1/household/members/m1/authenticator", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCaller{reply: tt.reply}
			got, err := tt.do(New(f))
			if err != nil {
				t.Fatal(err)
			}
			if f.method != tt.method || f.path != tt.path || f.body != tt.body {
				t.Errorf("sent %s %s %s, want %s %s %s", f.method, f.path, f.body, tt.method, tt.path, tt.body)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestErrorsPassThrough(t *testing.T) {
	want := errors.New("the server answered 500")
	c := New(&fakeCaller{err: want})
	if _, err := c.Devices(context.Background()); !errors.Is(err, want) {
		t.Errorf("Devices: %v, want the caller's error", err)
	}
	if err := c.RemoveMember(context.Background(), "m1"); !errors.Is(err, want) {
		t.Errorf("RemoveMember: %v, want the caller's error", err)
	}
}
