// Package client is the typed client of countersign-server's API v1 for
// the account dashboard and the household: one method per endpoint, over
// any Caller (a paired desktop's device token through approver.Manager, or
// a fake in tests), and the pure logic that turns the answers into words
// for people (Overview, DeviceKindName).
//
// It holds no state and draws nothing: the window (app/ui) and the command
// line (internal/cli) are built on it. Sign-in approvals are not here but
// in package approver.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver"
)

// Caller makes one API v1 request: path is the API's path
// ("/api/v1/devices"), in the JSON body (nil for none), out what the
// answer's JSON is decoded into (nil to drop it). *approver.Manager is one
// for each paired account (ForAccount).
type Caller interface {
	Call(ctx context.Context, method, path string, in, out any) error
}

// ForAccount is the Caller of one account paired with m.
func ForAccount(m *approver.Manager, accountID string) Caller {
	return accountCaller{m: m, id: accountID}
}

type accountCaller struct {
	m  *approver.Manager
	id string
}

func (c accountCaller) Call(ctx context.Context, method, path string, in, out any) error {
	return c.m.Call(ctx, c.id, method, path, in, out)
}

func (c accountCaller) StepUp(ctx context.Context, password string) error {
	return c.m.StepUp(ctx, c.id, password)
}

func (c accountCaller) StepUpWithKey(ctx context.Context) error {
	return c.m.StepUpWithKey(ctx, c.id)
}

// stepUpper is a Caller that can confirm it is the account's person
// (approver.Manager's step-up, for one account).
type stepUpper interface {
	StepUp(ctx context.Context, password string) error
	StepUpWithKey(ctx context.Context) error
}

var errNoStepUp = errors.New("this connection to the server cannot confirm it is you: use the web pages")

// StepUp confirms with the account's password that the account's person is
// here, for the requests of the next five minutes that need it (those that
// fail with approver.NeedsStepUp).
func (c *Client) StepUp(ctx context.Context, password string) error {
	if s, ok := c.c.(stepUpper); ok {
		return s.StepUp(ctx, password)
	}
	return errNoStepUp
}

// StepUpWithKey is StepUp with a touch of a security key of this desktop's
// member.
func (c *Client) StepUpWithKey(ctx context.Context) error {
	if s, ok := c.c.(stepUpper); ok {
		return s.StepUpWithKey(ctx)
	}
	return errNoStepUp
}

// Client calls API v1. Its errors are the Caller's (with a Manager: an
// *approver.APIError carrying the server's sentence, or an error that is
// approver.ErrOffline).
type Client struct {
	c Caller
}

// New returns a Client over c.
func New(c Caller) *Client { return &Client{c: c} }

const v1 = "/api/v1/"

// path joins the API's prefix and escaped segments.
func path(segments ...string) string {
	p := v1
	for i, s := range segments {
		if i > 0 {
			p += "/"
		}
		if i%2 == 0 {
			p += s // collection names, written here
		} else {
			p += url.PathEscape(s) // ids, from outside
		}
	}
	return p
}

// Account returns the account and the state of its 2-step verification.
func (c *Client) Account(ctx context.Context) (api.Account, error) {
	var a api.Account
	err := c.c.Call(ctx, http.MethodGet, path("account"), nil, &a)
	return a, err
}

// Devices returns every device of the account, newest seen first.
func (c *Client) Devices(ctx context.Context) ([]api.Device, error) {
	var l api.DeviceList
	err := c.c.Call(ctx, http.MethodGet, path("devices"), nil, &l)
	return l.Devices, err
}

// UpdateDevice renames a device, moves it to another member, or both.
func (c *Client) UpdateDevice(ctx context.Context, id string, u api.DeviceUpdate) (api.Device, error) {
	var d api.Device
	err := c.c.Call(ctx, http.MethodPatch, path("devices", id), u, &d)
	return d, err
}

// RemoveDevice removes a device: a trusted browser with its sessions, a
// paired desktop (its tokens stop at once), or a security key.
func (c *Client) RemoveDevice(ctx context.Context, id string) error {
	return c.c.Call(ctx, http.MethodDelete, path("devices", id), nil, nil)
}

// AddSecurityKey registers a security key with the account under name: a
// passkey (a resident credential, the key's PIN required) when passkey is
// set. make answers the server's creation options with the key's
// PublicKeyCredential JSON (approver.MakeCredential, with libfido2).
func (c *Client) AddSecurityKey(ctx context.Context, name string, passkey bool, make func(ctx context.Context, options json.RawMessage) (json.RawMessage, error)) (api.SecurityKey, error) {
	var begin api.RegistrationBegin
	if err := c.c.Call(ctx, http.MethodPost, path("security-keys", "registrations"), api.RegistrationStart{Passkey: passkey}, &begin); err != nil {
		return api.SecurityKey{}, err
	}
	cred, err := make(ctx, begin.Options)
	if err != nil {
		return api.SecurityKey{}, err
	}
	var k api.SecurityKey
	err = c.c.Call(ctx, http.MethodPost, path("security-keys", "registrations")+"/"+url.PathEscape(begin.ChallengeID),
		api.RegistrationFinish{Name: name, Credential: cred}, &k)
	return k, err
}

// SignOutDevice ends the sessions of a trusted browser and returns how many
// ended.
func (c *Client) SignOutDevice(ctx context.Context, id string) (int, error) {
	var s api.SignedOut
	err := c.c.Call(ctx, http.MethodPost, path("devices", id, "sign-out"), nil, &s)
	return s.Ended, err
}

// Sessions returns the signed-in browser sessions.
func (c *Client) Sessions(ctx context.Context) ([]api.Session, error) {
	var l api.SessionList
	err := c.c.Call(ctx, http.MethodGet, path("sessions"), nil, &l)
	return l.Sessions, err
}

// EndSession signs one session out.
func (c *Client) EndSession(ctx context.Context, id string) error {
	return c.c.Call(ctx, http.MethodDelete, path("sessions", id), nil, nil)
}

// EndAllSessions signs every session out (the owner's right) and returns
// how many ended.
func (c *Client) EndAllSessions(ctx context.Context) (int, error) {
	var s api.SignedOut
	err := c.c.Call(ctx, http.MethodDelete, path("sessions"), nil, &s)
	return s.Ended, err
}

// Apps returns the apps the account lets sign in with Countersign.
func (c *Client) Apps(ctx context.Context) ([]api.App, error) {
	var l api.AppList
	err := c.c.Call(ctx, http.MethodGet, path("apps"), nil, &l)
	return l.Apps, err
}

// RevokeApp takes an app's access away: its grant and tokens end at once.
func (c *Client) RevokeApp(ctx context.Context, clientID string) error {
	return c.c.Call(ctx, http.MethodDelete, path("apps", clientID), nil, nil)
}

// Activity returns one page of the account's activity, newest first:
// category is one of api.Activity… or "" for all, before the Next of the
// previous page or "" for the newest, limit 1–200 or 0 for the server's
// default.
func (c *Client) Activity(ctx context.Context, category, before string, limit int) (api.ActivityPage, error) {
	q := url.Values{}
	if category != "" {
		q.Set("category", category)
	}
	if before != "" {
		q.Set("before", before)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	p := path("activity")
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var page api.ActivityPage
	err := c.c.Call(ctx, http.MethodGet, p, nil, &page)
	return page, err
}

// Household returns the members, every device with its member, and which
// member the caller is.
func (c *Client) Household(ctx context.Context) (api.Household, error) {
	var h api.Household
	err := c.c.Call(ctx, http.MethodGet, path("household"), nil, &h)
	return h, err
}

// AddMember adds a person to the household (the owner's right).
func (c *Client) AddMember(ctx context.Context, name string) (api.Member, error) {
	var m api.Member
	err := c.c.Call(ctx, http.MethodPost, path("household/members"), api.MemberName{Name: name}, &m)
	return m, err
}

// RenameMember renames a member.
func (c *Client) RenameMember(ctx context.Context, id, name string) (api.Member, error) {
	var m api.Member
	err := c.c.Call(ctx, http.MethodPatch, path("household/members", id), api.MemberName{Name: name}, &m)
	return m, err
}

// RemoveMember removes a member and all their devices at once.
func (c *Client) RemoveMember(ctx context.Context, id string) error {
	return c.c.Call(ctx, http.MethodDelete, path("household/members", id), nil, nil)
}

// Invite makes a pairing code for a member's desktop.
func (c *Client) Invite(ctx context.Context, memberID string) (api.Invitation, error) {
	var inv api.Invitation
	err := c.c.Call(ctx, http.MethodPost, path("household/members", memberID, "invitations"), nil, &inv)
	return inv, err
}

// ShareAuthenticator shares the account's authenticator with a member's
// desktops and returns how many were offered it.
func (c *Client) ShareAuthenticator(ctx context.Context, memberID string) (int, error) {
	var s api.Shared
	err := c.c.Call(ctx, http.MethodPost, path("household/members", memberID, "authenticator"), nil, &s)
	return s.Offered, err
}

// StopSharing stops sharing the authenticator with a member: offers not yet
// answered are withdrawn, and it is no longer offered again when re-keyed.
func (c *Client) StopSharing(ctx context.Context, memberID string) error {
	return c.c.Call(ctx, http.MethodDelete, path("household/members", memberID, "authenticator"), nil, nil)
}
