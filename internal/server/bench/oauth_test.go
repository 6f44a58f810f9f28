package bench_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/oauth"
)

// oauthEnv is a server with one confidential app that Ada has allowed
// already (a remembered grant, so authorize answers with a code at once)
// and a browser of hers that is signed in.
type oauthEnv struct {
	*env
	clientID, secret, redirect string
	browser                    *client // signed in to the server
}

func newOAuthEnv(b *testing.B) *oauthEnv {
	b.Helper()
	return newOAuthEnvOn(b, newEnv(b))
}

// newOAuthEnvOn is newOAuthEnv on the server of e.
func newOAuthEnvOn(b *testing.B, e *env) *oauthEnv {
	b.Helper()
	ctx := context.Background()
	u := e.users(b, 1, false)[0]
	user, err := e.store.UserByLogin(ctx, u.email)
	if err != nil {
		b.Fatal(err)
	}
	// The app is registered and allowed through the server's provider:
	// the benchmark is of the endpoints, not of the developer and consent
	// pages.
	p := e.srv.OAuth()
	o := &oauthEnv{env: e, redirect: "http://127.0.0.1:9/callback"}
	c, secret, err := p.RegisterClient(ctx, user.ID, oauth.NewClient{
		Name: "Bench App", RedirectURIs: []string{o.redirect}, Scopes: []string{"openid", "profile", "email"},
	})
	if err != nil {
		b.Fatal(err)
	}
	o.clientID, o.secret = c.ID, secret
	_, challenge := pkcePair()
	req := httptest.NewRequest(http.MethodGet, e.url+"/oauth/authorize?"+o.authorizeQuery(challenge).Encode(), nil)
	ar, err := p.ParseAuthorize(ctx, req)
	if err != nil {
		b.Fatalf("ParseAuthorize: %v", err)
	}
	rec := httptest.NewRecorder()
	p.Authorize(ctx, rec, req, ar, user.ID)
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "code=") {
		b.Fatalf("Authorize: %d to %q, want a redirect with a code", rec.Code, loc)
	}

	o.browser = newClient()
	token, err := o.browser.csrf(e.url + "/signin")
	if err != nil {
		b.Fatal(err)
	}
	resp, _, err := o.browser.do("POST", e.url+"/signin", url.Values{"csrf": {token}, "login": {u.email}, "password": {benchPassword}})
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign-in: status %d", resp.StatusCode)
	}
	return o
}

func pkcePair() (verifier, challenge string) {
	r := make([]byte, 32)
	rand.Read(r)
	verifier = base64.RawURLEncoding.EncodeToString(r)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (o *oauthEnv) authorizeQuery(challenge string) url.Values {
	state := make([]byte, 12)
	rand.Read(state)
	s := base64.RawURLEncoding.EncodeToString(state)
	return url.Values{
		"response_type": {"code"}, "client_id": {o.clientID}, "redirect_uri": {o.redirect},
		"scope": {"openid profile email"}, "state": {s}, "nonce": {s},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

// tab is Ada's signed-in browser as one concurrent client sees it: the
// browser's cookies, an address of its own.
func (o *oauthEnv) tab() *client {
	c := newClient()
	c.http.Jar = o.browser.http.Jar
	return c
}

// post sends a form to the provider as the app (HTTP Basic).
func (o *oauthEnv) post(c *client, path string, form url.Values, out any) error {
	req, err := http.NewRequest("POST", o.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", c.ip)
	req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return fmt.Errorf("POST %s: %d, %w", path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// code drives the authorize endpoint with the signed-in browser and
// returns a fresh code and its verifier.
func (o *oauthEnv) code(c *client) (code, verifier string, err error) {
	verifier, challenge := pkcePair()
	resp, _, err := c.do("GET", o.url+"/oauth/authorize?"+o.authorizeQuery(challenge).Encode(), nil)
	if err != nil {
		return "", "", err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || !strings.HasPrefix(loc.String(), o.redirect) {
		return "", "", fmt.Errorf("GET /oauth/authorize: %d to %q, want a redirect to the app with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code"), verifier, nil
}

// exchange authorizes and trades the code for tokens; it adds the time
// the token endpoint took to tokenTime.
func (o *oauthEnv) exchange(c *client, tokenTime *atomic.Int64) (tokens, error) {
	code, verifier, err := o.code(c)
	if err != nil {
		return tokens{}, err
	}
	t0 := time.Now()
	var t tokens
	err = o.post(c, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {o.redirect}, "code_verifier": {verifier}}, &t)
	if tokenTime != nil {
		tokenTime.Add(int64(time.Since(t0)))
	}
	if err == nil && (t.AccessToken == "" || t.RefreshToken == "") {
		err = fmt.Errorf("the code exchange answered no tokens")
	}
	return t, err
}

// BenchmarkOAuth measures the provider's busy endpoints over loopback with
// concurrent clients of one confidential app: the code exchange (each
// operation drives authorize with a signed-in browser for a fresh code,
// then posts it to the token endpoint), refresh-token rotation, and
// introspection.
func BenchmarkOAuth(b *testing.B) {
	o := newOAuthEnv(b)
	workers := clients * runtimeProcs() // RunParallel's goroutines

	b.Run("code-exchange", func(b *testing.B) {
		var tokenTime atomic.Int64
		b.SetParallelism(clients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := o.tab()
			for pb.Next() {
				if _, err := o.exchange(c, &tokenTime); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
		b.ReportMetric(float64(tokenTime.Load())/float64(b.N)/1e6, "token-ms/op")
	})

	b.Run("refresh", func(b *testing.B) {
		// Each goroutine rotates a chain of its own: a refresh token is
		// good once, and using one twice would revoke the grant.
		chains := make(chan tokens, workers)
		for range workers {
			t, err := o.exchange(o.tab(), nil)
			if err != nil {
				b.Fatal(err)
			}
			chains <- t
		}
		b.SetParallelism(clients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := o.tab()
			t := <-chains
			for pb.Next() {
				var next tokens
				if err := o.post(c, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.RefreshToken}}, &next); err != nil {
					b.Error(err)
					return
				}
				if next.RefreshToken == "" || next.RefreshToken == t.RefreshToken {
					b.Error("the refresh answered no new refresh token")
					return
				}
				t = next
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})

	b.Run("introspect", func(b *testing.B) {
		t, err := o.exchange(o.tab(), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(clients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			c := o.tab()
			for pb.Next() {
				var ans struct {
					Active bool `json:"active"`
				}
				if err := o.post(c, "/oauth/introspect", url.Values{"token": {t.AccessToken}}, &ans); err != nil {
					b.Error(err)
					return
				}
				if !ans.Active {
					b.Error("introspection: the access token is not active")
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "introspections/s")
	})
}
