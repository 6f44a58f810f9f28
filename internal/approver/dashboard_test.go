package approver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/api"
	"github.com/countersign/countersign/internal/approver/approvertest"
	"github.com/countersign/countersign/internal/sealed"
	"github.com/countersign/countersign/internal/store"
)

func TestCall(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada Lovelace")
	c := newCompanion(t, srv)
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	ctx := context.Background()

	var acc api.Account
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, &acc); err != nil {
		t.Fatal(err)
	}
	if acc.ID != ada.ID || acc.Email != "ada@example.com" || !acc.TwoStep {
		t.Errorf("account = %+v, want Ada's with 2-step on", acc)
	}
	var devs api.DeviceList
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/devices", nil, &devs); err != nil {
		t.Fatal(err)
	}
	if n := c.rec.count("/api/v1/auth/token"); n != 1 {
		t.Errorf("two calls made %d tokens, want 1", n)
	}
	// A token the server no longer knows is replaced once, and the call goes through.
	c.mu.Lock()
	c.accounts[a.ID].token = "csd_" + strings.Repeat("A", 43)
	c.mu.Unlock()
	acc = api.Account{}
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, &acc); err != nil || acc.ID != ada.ID {
		t.Fatalf("with a refused token: %+v, %v", acc, err)
	}
	if n := c.rec.count("/api/v1/auth/token"); n != 2 {
		t.Errorf("after a refused token: %d tokens, want a second", n)
	}
	// An expired one is replaced before it is sent.
	srv.Clock.Advance(10 * time.Minute)
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := c.rec.count("/api/v1/auth/token"); n != 3 {
		t.Errorf("10 minutes on: %d tokens, want a third", n)
	}

	// The server's errors come back as APIError.
	err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/nothing-here", nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != api.CodeNotFound || ae.Message == "" {
		t.Errorf("an unknown path: %v, want a 404 APIError with the server's sentence", err)
	}
	if err := c.Call(ctx, a.ID, http.MethodGet, "/elsewhere", nil, nil); err == nil {
		t.Error("a path outside API v1 was called")
	}
	if err := c.Call(ctx, "nobody", http.MethodGet, "/api/v1/account", nil, nil); !errors.Is(err, ErrNoAccount) {
		t.Errorf("an unknown account: %v, want ErrNoAccount", err)
	}

	// An unreachable server is ErrOffline, named.
	c.mu.Lock()
	server := c.accounts[a.ID].Server
	c.accounts[a.ID].Server = "http://127.0.0.1:1"
	c.mu.Unlock()
	err = c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, nil)
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "cannot reach http://127.0.0.1:1") {
		t.Errorf("an unreachable server: %v, want ErrOffline naming it", err)
	}
	c.mu.Lock()
	c.accounts[a.ID].Server = server
	c.mu.Unlock()

	// A device removed on the server is marked unpaired.
	srv.RemoveApprover(ada, a.ID)
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, nil); !errors.Is(err, ErrUnpaired) {
		t.Errorf("after removal: %v, want ErrUnpaired", err)
	}
	c.wait(EventUnpaired, nil)
	if as := c.Accounts(); !as[0].Unpaired {
		t.Error("not marked unpaired")
	}
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, nil); !errors.Is(err, ErrUnpaired) {
		t.Errorf("calling as an unpaired device: %v, want ErrUnpaired", err)
	}
}

// addAccount makes the companion paired with server without a pairing,
// for fake servers; it returns the device key.
func (c *companion) addAccount(id, server string) ed25519.PrivateKey {
	c.t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	if err := c.secrets.Set(id, base64.StdEncoding.EncodeToString(seed)); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.accounts[id] = &account{Account: Account{ID: id, Server: server, Email: "ada@example.com"}, seen: map[string]time.Time{}}
	c.mu.Unlock()
	return ed25519.NewKeyFromSeed(seed)
}

func TestDashboardEvents(t *testing.T) {
	c := newCompanion(t, nil)
	c.addAccount("dev1", "http://127.0.0.1:1")
	c.mu.Lock()
	a := c.accounts["dev1"]
	c.mu.Unlock()
	for i, ev := range []api.StreamEvent{
		{Event: api.EventChanged, Data: json.RawMessage(`{"what":"devices"}`)},
		{Event: api.EventChanged, Data: json.RawMessage(`{}`)},                           // nothing named: dropped
		{Event: api.EventChanged, Data: json.RawMessage(`[1]`)},                          // unreadable: dropped
		{Event: api.EventShare, Data: json.RawMessage(`{"id":"s1","device_id":"dev2"}`)}, // another device's
		{Event: api.EventShare, Data: json.RawMessage(`{"id":"s2","device_id":"dev1"}`)},
		{Event: api.EventShare, Data: json.RawMessage(`{"device_id":"dev1"}`)}, // no offer id: dropped
	} {
		ev.ID = int64(i + 1)
		if err := c.handle(a, ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	evs := c.drain(100 * time.Millisecond)
	if len(evs) != 2 {
		t.Fatalf("got %d events %+v, want a change and a share", len(evs), evs)
	}
	if e := evs[0]; e.Kind != EventChanged || e.Changed == nil || e.Changed.What != api.ChangedDevices || e.Account.ID != "dev1" {
		t.Errorf("first event %v %+v, want changed devices of dev1", e.Kind, e)
	}
	if e := evs[1]; e.Kind != EventShare || e.Share == nil || e.Share.ID != "s2" || e.Account.ID != "dev1" {
		t.Errorf("second event %v %+v, want the share s2 of dev1", e.Kind, e)
	}
	if a.lastSeq != 6 {
		t.Errorf("last event seen = %d, want 6", a.lastSeq)
	}
	if EventChanged.String() != "changed" || EventShare.String() != "share" {
		t.Errorf("kinds read %q and %q", EventChanged, EventShare)
	}
}

// shareServer is a fake countersign-server with share offers for one device.
type shareServer struct {
	*httptest.Server
	mu       sync.Mutex
	offers   []api.ShareOffer
	answered map[string]string // offer id → "accepted" or "declined"
}

func newShareServer(t *testing.T) *shareServer {
	s := &shareServer{answered: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/challenge", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.AuthChallenge{Challenge: "c", ExpiresAt: time.Now().Add(time.Minute)})
	})
	mux.HandleFunc("POST /api/v1/auth/token", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.AuthToken{Token: "csd_fake", ExpiresAt: time.Now().Add(10 * time.Minute)})
	})
	mux.HandleFunc("GET /api/v1/shares", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var open []api.ShareOffer
		for _, o := range s.offers {
			if s.answered[o.ID] == "" {
				open = append(open, o)
			}
		}
		json.NewEncoder(w).Encode(api.ShareOfferList{Offers: open})
	})
	answer := func(how string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			defer s.mu.Unlock()
			id := r.PathValue("id")
			for _, o := range s.offers {
				if o.ID == id && s.answered[id] == "" {
					s.answered[id] = how
					w.WriteHeader(http.StatusNoContent)
					return
				}
			}
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.Error{Error: "There is no such offer.", Code: api.CodeNotFound})
		}
	}
	mux.HandleFunc("POST /api/v1/shares/{id}/accept", answer("accepted"))
	mux.HandleFunc("DELETE /api/v1/shares/{id}", answer("declined"))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *shareServer) answer(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered[id]
}

// seal seals an enrollment as the server does.
func seal(t *testing.T, pub ed25519.PublicKey, msg string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString(mustSeal(t, pub, msg))
}

func TestShares(t *testing.T) {
	srv := newShareServer(t)
	var logs bytes.Buffer
	c := newCompanion(t, nil, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	priv := c.addAccount("dev1", srv.URL)
	pub := priv.Public().(ed25519.PublicKey)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	const uri = "otpauth://totp/Countersign:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Countersign&algorithm=SHA1&digits=6&period=30"
	const otherURI = "otpauth://totp/Countersign:ada@example.com?secret=GEZDGNBVGY3TQOJQ&issuer=Countersign"
	srv.mu.Lock()
	srv.offers = []api.ShareOffer{
		{ID: "good", From: "Ada", Label: "Phone", Sealed: seal(t, pub, `{"uri":"`+uri+`"}`)},
		{ID: "padded", From: "Ada", Rekeyed: true, Sealed: base64.URLEncoding.EncodeToString(mustSeal(t, pub, `{"uri":"`+otherURI+`"}`))},
		{ID: "foreign", Sealed: seal(t, other, `{"uri":"`+uri+`"}`)},
		{ID: "notjson", Sealed: seal(t, pub, `otpauth://totp/x?secret=JBSWY3DPEHPK3PXP`)},
		{ID: "nototp", Sealed: seal(t, pub, `{"uri":"https://example.com/?secret=JBSWY3DPEHPK3PXP"}`)},
		{ID: "garbage", Sealed: "!!"},
	}
	srv.mu.Unlock()
	ctx := context.Background()
	shares, err := c.Shares(ctx, "dev1")
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 2 || shares[0].ID != "good" || shares[0].URI != uri || shares[0].From != "Ada" || shares[0].Label != "Phone" ||
		shares[0].Sealed != "" || shares[1].ID != "padded" || shares[1].URI != otherURI || !shares[1].Rekeyed {
		t.Fatalf("Shares = %+v, want good and padded opened", shares)
	}
	for _, id := range []string{"foreign", "notjson", "nototp", "garbage"} {
		if got := srv.answer(id); got != "declined" {
			t.Errorf("offer %s is %q on the server, want declined", id, got)
		}
	}
	if strings.Contains(logs.String(), "JBSWY3DPEHPK3PXP") || strings.Contains(logs.String(), "GEZDGNBVGY3TQOJQ") {
		t.Errorf("a secret reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "offer=foreign") {
		t.Errorf("the declined offer was not logged:\n%s", logs.String())
	}

	if err := c.AcceptShare(ctx, "dev1", "good"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeclineShare(ctx, "dev1", "padded"); err != nil {
		t.Fatal(err)
	}
	if srv.answer("good") != "accepted" || srv.answer("padded") != "declined" {
		t.Errorf("answers on the server: good %q, padded %q", srv.answer("good"), srv.answer("padded"))
	}
	if shares, err := c.Shares(ctx, "dev1"); err != nil || len(shares) != 0 {
		t.Errorf("Shares after answering = %+v, %v; want none", shares, err)
	}
	var ae *APIError
	if err := c.AcceptShare(ctx, "dev1", "good"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Errorf("accepting twice: %v, want the server's 404", err)
	}
	if err := c.AcceptShare(ctx, "dev1", ""); err == nil {
		t.Error("accepting no offer was sent")
	}
	if _, err := c.Shares(ctx, "nobody"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Shares of an unknown account: %v", err)
	}
}

func mustSeal(t *testing.T, pub ed25519.PublicKey, msg string) []byte {
	t.Helper()
	b, err := sealed.Seal(rand.Reader, pub, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ownerCall makes an API v1 request with an owner's API token.
func ownerCall(t *testing.T, srv *approvertest.Server, token, method, path string, out any) {
	t.Helper()
	ownerCallBody(t, srv, token, method, path, nil, out)
}

// ownerCallBody calls the API with an API token as the owner, confirming
// with the account's password first for what needs it (step-up).
func ownerCallBody(t *testing.T, srv *approvertest.Server, token, method, path string, in, out any) {
	t.Helper()
	var su api.StepUp
	if method != http.MethodGet && path != "/api/v1/step-up" {
		ownerCallBody(t, srv, token, http.MethodPost, "/api/v1/step-up", api.StepUpRequest{Password: approvertest.Password}, &su)
	}
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, err := http.NewRequest(method, srv.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if su.Token != "" {
		req.Header.Set(api.StepUpHeader, su.Token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("%s %s: %d %s %s", method, path, resp.StatusCode, e.Code, e.Error)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHouseholdEvents follows a member's desktop on a real server: a
// change it makes comes back as EventChanged, and the owner's sharing of
// the authenticator as EventShare, an offer that opens to the account's
// TOTP enrollment.
func TestHouseholdEvents(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	owner := srv.APIToken(ada, api.ScopeRead, api.ScopeWrite)
	secret := []byte("12345678901234567890") // RFC 6238's: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ in base32
	if err := srv.Store.AddMethod(context.Background(), &store.Method{UserID: ada.ID, Kind: store.MethodTOTP, Label: "Phone",
		Secret: secret, Confirmed: true, CreatedAt: srv.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	var sam api.Member
	ownerCallBody(t, srv, owner, http.MethodPost, "/api/v1/household/members", api.MemberName{Name: "Sam"}, &sam)
	var inv api.Invitation
	ownerCall(t, srv, owner, http.MethodPost, "/api/v1/household/members/"+sam.ID+"/invitations", &inv)

	c := newCompanion(t, srv)
	a := c.pair(srv, inv.URI, "Sam's laptop")
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	ctx := context.Background()

	// A change made elsewhere: the owner adds a member.
	ownerCallBody(t, srv, owner, http.MethodPost, "/api/v1/household/members", api.MemberName{Name: "Kim"}, nil)
	if e := c.wait(EventChanged, func(e Event) bool { return e.Changed.What == api.ChangedHousehold }); e.Account.ID != a.ID {
		t.Errorf("the change came for %s, want %s", e.Account.ID, a.ID)
	}

	var shared api.Shared
	ownerCall(t, srv, owner, http.MethodPost, "/api/v1/household/members/"+sam.ID+"/authenticator", &shared)
	if shared.Offered != 1 {
		t.Errorf("offered to %d desktops, want 1", shared.Offered)
	}
	e := c.wait(EventShare, nil)
	if e.Share.DeviceID != a.ID || e.Share.ID == "" {
		t.Errorf("share event %+v, want one for %s", e.Share, a.ID)
	}
	shares, err := c.Shares(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 1 || shares[0].ID != e.Share.ID || shares[0].Account.Email != "ada@example.com" || shares[0].From != "Ada" ||
		!strings.Contains(shares[0].URI, "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") || !strings.HasPrefix(shares[0].URI, "otpauth://totp/Countersign:") {
		t.Fatalf("Shares = %+v, want the offer opening to the account's authenticator", shares)
	}
	if err := c.AcceptShare(ctx, a.ID, shares[0].ID); err != nil {
		t.Fatal(err)
	}
	if shares, err := c.Shares(ctx, a.ID); err != nil || len(shares) != 0 {
		t.Errorf("Shares after accepting = %+v, %v; want none", shares, err)
	}

	// Offered again and declined.
	ownerCall(t, srv, owner, http.MethodPost, "/api/v1/household/members/"+sam.ID+"/authenticator", nil)
	e = c.wait(EventShare, nil)
	if err := c.DeclineShare(ctx, a.ID, e.Share.ID); err != nil {
		t.Fatal(err)
	}
	if shares, err := c.Shares(ctx, a.ID); err != nil || len(shares) != 0 {
		t.Errorf("Shares after declining = %+v, %v; want none", shares, err)
	}

	// A change made here: the desktop renames itself.
	var dev api.Device
	if err := c.Call(ctx, a.ID, http.MethodPatch, "/api/v1/devices/"+a.ID, api.DeviceUpdate{Name: "Sam's old laptop"}, &dev); err != nil {
		t.Fatal(err)
	}
	if dev.Name != "Sam's old laptop" || dev.MemberID != sam.ID || !dev.Current {
		t.Errorf("renamed device = %+v, want Sam's current one", dev)
	}
	e = c.wait(EventChanged, func(e Event) bool { return e.Changed.What == api.ChangedDevices })
	if e.Account.ID != a.ID {
		t.Errorf("the change came for %s, want %s", e.Account.ID, a.ID)
	}

	// Removing Sam removes the desktop at once.
	ownerCall(t, srv, owner, http.MethodDelete, "/api/v1/household/members/"+sam.ID, nil)
	c.wait(EventUnpaired, nil)
	if err := c.Call(ctx, a.ID, http.MethodGet, "/api/v1/account", nil, nil); !errors.Is(err, ErrUnpaired) {
		t.Errorf("a call after Sam was removed: %v, want ErrUnpaired", err)
	}
}

// TestChangedByPoll: the long-poll fallback passes dashboard events on too,
// also a change made right after the account went online, before the first
// long poll reached the server (every poll is held 300 ms here; a fresh poll
// would skip it, and the window had reloaded before it).
func TestChangedByPoll(t *testing.T) {
	srv := approvertest.Start(t)
	ada := srv.User("ada@example.com", "Ada")
	owner := srv.APIToken(ada, api.ScopeRead, api.ScopeWrite)
	c := newCompanion(t, srv)
	c.rec.delay = map[string]time.Duration{"/api/v1/approvals/poll": 300 * time.Millisecond}
	c.forcePoll, c.pollTimeout = true, 2
	_, uri := srv.PairingCode(ada)
	a := c.pair(srv, uri, "desk")
	c.run()
	c.wait(EventConnection, func(e Event) bool { return e.Account.Online })
	ownerCallBody(t, srv, owner, http.MethodPost, "/api/v1/household/members", api.MemberName{Name: "Sam"}, nil)
	e := c.wait(EventChanged, func(e Event) bool { return e.Changed.What == api.ChangedHousehold })
	if e.Account.ID != a.ID {
		t.Errorf("the change came for %s, want %s", e.Account.ID, a.ID)
	}
	if n := c.rec.count("/api/v1/approvals/stream"); n != 0 {
		t.Errorf("%d streams were opened, want polls only", n)
	}
}
