package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/seckey/seckeytest"
	"github.com/countersign/countersign/internal/store"
)

// begin calls a WebAuthn begin endpoint.
func begin(t *testing.T, c *client, path string) (string, json.RawMessage) {
	t.Helper()
	r := c.postJSON(path, "{}")
	var out struct {
		ChallengeID string          `json:"challenge_id"`
		Options     json.RawMessage `json:"options"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	return out.ChallengeID, out.Options
}

func TestSecurityKeyRegistrationAndSignin(t *testing.T) {
	e := newEnv(t)
	_, _, backup := twoStepUser(t, e)
	u := e.user("ada@example.com")
	key := seckeytest.New(t, testURL)
	ctx := context.Background()

	// Register: signed in, from the settings page.
	c2 := e.client()
	c2.signin("ada@example.com", pw)
	c2.get("/signin/verify?method=backup")
	c2.submit("/signin/verify", url.Values{"method": {"backup"}, "code": {backup[0]}})
	c2.get("/account/security")
	id, opts := begin(t, c2, "/account/security-keys/begin")
	body, _ := json.Marshal(map[string]any{"challenge_id": id, "name": "YubiKey 5C", "credential": key.Create(t, opts)})
	r := c2.postJSON("/account/security-keys/finish", string(body))
	if r.status != http.StatusOK {
		t.Fatalf("finish registration: %d %s", r.status, r.body)
	}
	r = c2.sections()
	if n := strings.Count(sectionOf(r.body, "security-keys"), "<li>"); n != 1 {
		t.Errorf("%d keys listed, want 1", n)
	}
	mustContain(t, r.body, "YubiKey 5C")
	// The same key again is refused.
	id, opts = begin(t, c2, "/account/security-keys/begin")
	body, _ = json.Marshal(map[string]any{"challenge_id": id, "name": "Again", "credential": key.Create(t, opts)})
	if r := c2.postJSON("/account/security-keys/finish", string(body)); r.status != http.StatusConflict {
		t.Errorf("registering twice: %d %s", r.status, r.body)
	}

	// Sign in with it, trusting the browser.
	b := e.client()
	b.signin("ada@example.com", pw)
	r = b.get("/signin/verify")
	mustContain(t, r.body, `id="use-security-key"`, `<script src="/static/`+staticFiles["webauthn.js"].hash+`/webauthn.js" defer></script>`, `id="security-key-error"`)
	id, opts = begin(t, b, "/signin/key/begin")
	body, _ = json.Marshal(map[string]any{"challenge_id": id, "credential": key.Get(t, opts, nil), "remember": true})
	r = b.postJSON("/signin/key/finish", string(body))
	if r.status != http.StatusOK || !strings.Contains(r.body, `"redirect":"/account/security"`) {
		t.Fatalf("finish sign-in: %d %s", r.status, r.body)
	}
	if b.cookie(deviceCookie) == "" {
		t.Error("remember did not trust the browser")
	}
	if r := b.get("/account/security"); r.status != http.StatusOK {
		t.Errorf("not signed in after the key: %d", r.status)
	}
	// A replayed challenge is refused and counted.
	b2 := e.client()
	b2.signin("ada@example.com", pw)
	b2.get("/signin/verify")
	if r := b2.postJSON("/signin/key/finish", string(body)); r.status != http.StatusBadRequest {
		t.Errorf("replayed assertion: %d %s", r.status, r.body)
	}
	acts, _ := e.db.ActivityPage(ctx, u.ID, 0, 30)
	var kinds []string
	for _, a := range acts {
		kinds = append(kinds, a.Kind+":"+a.Detail)
	}
	all := strings.Join(kinds, "\n")
	for _, want := range []string{store.ActKeyAdded + ":YubiKey 5C", store.ActTwoStepUsed + ":Security key YubiKey 5C", store.ActTwoStepFailed + ":Security key"} {
		if !strings.Contains(all, want) {
			t.Errorf("activity lacks %q:\n%s", want, all)
		}
	}

	// Remove it.
	keys, _ := e.db.SecurityKeys(ctx, u.ID)
	r = c2.submit(fmt.Sprintf("/account/security-keys/%s/remove", keys[0].ID), url.Values{"confirm": {"1"}})
	mustContain(t, r.body, "is removed")
	if keys, _ := e.db.SecurityKeys(ctx, u.ID); len(keys) != 0 {
		t.Errorf("%d keys left", len(keys))
	}
}
