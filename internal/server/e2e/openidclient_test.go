package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/oauth"
)

// rpDir holds the relying party of TestOpenIDClient: a script over panva's
// openid-client, which make deps installs with npm ci.
const rpDir = "testdata/openid-client"

// needOpenIDClient returns the node binary, or skips t when node or
// openid-client is missing; with COUNTERSIGN_TEST_NODE set (make test) it
// fails instead.
func needOpenIDClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(rpDir, "node_modules", "openid-client", "package.json"))
	}
	if err != nil {
		msg := fmt.Sprintf("needs Node.js and openid-client in %s (make deps runs npm ci there): %v", rpDir, err)
		if os.Getenv("COUNTERSIGN_TEST_NODE") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// rpMessage is a line of the relying party (see rp.mjs).
type rpMessage struct {
	Flow      string          `json:"flow"`
	Authorize string          `json:"authorize"`
	Visit     string          `json:"visit"`
	Result    json.RawMessage `json:"result"`
	Error     string          `json:"error"`
	Message   string          `json:"message"`
	Done      bool            `json:"done"`
}

// rpSignIn is what a sign-in flow reports: the ID token's claims and
// userinfo, as openid-client validated them.
type rpSignIn struct {
	Sub      string   `json:"sub"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	AMR      []string `json:"amr"`
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Refresh  bool     `json:"refresh"`
	State    bool     `json:"state"` // the callback carried a state
	Error    string   `json:"error"` // the refusal, for flows that expect one
}

// browser is a person's browser as far as the provider's pages go: cookies,
// the sign-in form, the consent form. It stops at the app's redirect URI.
type browser struct {
	t        *testing.T
	http     *http.Client
	origin   string
	stop     string   // the app's redirect URI
	password string   // typed on every sign-in page
	pages    []string // the provider's pages seen since the last reset
}

var (
	metaCSRF     = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)
	hiddenNext   = regexp.MustCompile(`name="next" value="([^"]*)"`)
	hiddenCarry  = regexp.MustCompile(`name="request" value="([^"]*)"`)
	formErrorMsg = regexp.MustCompile(`id="form-error" role="alert">([^<]*)<`)
)

func newBrowser(t *testing.T, origin, stop string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, origin: origin, stop: stop, password: userPassword, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// visit opens u and goes where the provider sends it, signing in as
// userLogin and allowing consent when asked, until it reaches the app; it
// returns that URL.
func (b *browser) visit(u string) (string, error) {
	b.pages = nil
	req, _ := http.NewRequest("GET", u, nil)
	for range 12 {
		resp, err := b.http.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 == 3 {
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(loc.String(), b.stop) {
				return loc.String(), nil
			}
			req, _ = http.NewRequest("GET", loc.String(), nil)
			continue
		}
		page := string(body)
		csrf := metaCSRF.FindStringSubmatch(page)
		form := url.Values{}
		switch {
		case resp.StatusCode == http.StatusOK && req.URL.Path == "/signin" && csrf != nil:
			b.pages = append(b.pages, "signin")
			form.Set("login", userLogin)
			form.Set("password", b.password)
			if m := hiddenNext.FindStringSubmatch(page); m != nil {
				form.Set("next", html.UnescapeString(m[1]))
			}
			req, _ = http.NewRequest("POST", b.origin+"/signin", nil)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `id="consent"`) && csrf != nil:
			b.pages = append(b.pages, "consent")
			m := hiddenCarry.FindStringSubmatch(page)
			if m == nil {
				return "", fmt.Errorf("a consent page without its request")
			}
			form.Set("request", html.UnescapeString(m[1]))
			form.Set("decision", "allow")
			req, _ = http.NewRequest("POST", b.origin+"/oauth/consent", nil)
		default:
			msg := formErrorMsg.FindStringSubmatch(page)
			return "", fmt.Errorf("stuck at %s: %d %v", req.URL, resp.StatusCode, msg)
		}
		form.Set("csrf", html.UnescapeString(csrf[1]))
		enc := form.Encode()
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.origin)
	}
	return "", fmt.Errorf("more than 12 steps from %s", u)
}

// TestOpenIDClient signs in to a real countersign-server with openid-client,
// an OpenID Certified relying party (one node process for every flow):
// discovery, the code flow with PKCE with and without state, nonce, the ID
// token's checks, userinfo, refresh rotation and reuse, introspection,
// revocation, end-session, and each prompt and max_age case. The person's
// part (sign-in, consent) is a Go browser over the provider's real pages.
func TestOpenIDClient(t *testing.T) {
	node := needOpenIDClient(t)
	in := newApprovalSite(t, nil)
	srv, db, base := in.srv, in.db, in.base
	user, _ := newAccount(t, db, userLogin, userName, false)
	dev, _ := newAccount(t, db, "dev@example.com", "Developer", false)
	const redirect = "http://127.0.0.1:9/callback" // the browser stops there; nothing listens
	register := func(name string, public bool) map[string]string {
		c, secret, err := srv.OAuth().RegisterClient(t.Context(), dev.ID, oauth.NewClient{
			Name: name, Homepage: "https://example.com/", RedirectURIs: []string{redirect}, Scopes: appScopes, Public: public})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"id": c.ID, "secret": secret}
	}
	confidential := register("Notes", false)
	setup, _ := json.Marshal(map[string]any{"issuer": base, "redirect": redirect,
		"confidential": confidential, "public": register("Notes CLI", true), "fresh": register("Never asked", false)})

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = rpDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("node rp.mjs: %v\n%s", err, stderr.String())
		} else if stderr.Len() > 0 {
			t.Logf("node rp.mjs said on stderr:\n%s", stderr.String())
		}
	}()
	fmt.Fprintf(stdin, "%s\n", setup)
	answer := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(stdin, "%s\n", b)
	}

	signedIn := newBrowser(t, base, redirect)
	results := map[string]rpMessage{}
	pages := map[string][]string{}
	started := map[string]int64{}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var m rpMessage
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("the relying party said %q: %v", lines.Text(), err)
		}
		if m.Done {
			break
		}
		switch {
		case m.Authorize != "" || m.Visit != "":
			b := signedIn
			if m.Flow == "prompt-none-signed-out" {
				b = newBrowser(t, base, redirect)
			}
			if _, ok := started[m.Flow]; !ok {
				started[m.Flow] = time.Now().Unix()
			}
			landed, err := b.visit(m.Authorize + m.Visit)
			if err != nil {
				t.Errorf("%s: the browser: %v", m.Flow, err)
			}
			pages[m.Flow] = append(pages[m.Flow], b.pages...)
			if m.Visit != "" {
				answer(map[string]string{"landed": landed})
			} else {
				answer(map[string]string{"callback": landed})
			}
		default:
			results[m.Flow] = m
		}
	}

	signIn := func(flow string, wantPages ...string) rpSignIn {
		t.Helper()
		m, ok := results[flow]
		var r rpSignIn
		if !ok || m.Error != "" || json.Unmarshal(m.Result, &r) != nil {
			t.Errorf("%s: %s %s", flow, m.Error, m.Message)
			return r
		}
		if got := pages[flow]; !slices.Equal(got, wantPages) {
			t.Errorf("%s: the browser was shown %q, want %q", flow, got, wantPages)
		}
		if r.Error == "" && (r.Sub != user.ID || r.Email != userLogin || r.Name != userName || !slices.Contains(r.AMR, "pwd") || r.AuthTime == 0) {
			t.Errorf("%s: %+v, want %s's ID token and userinfo", flow, r, userLogin)
		}
		return r
	}
	var d struct {
		Issuer     string   `json:"issuer"`
		PKCE       bool     `json:"supportsPKCE"`
		Algs       []string `json:"algs"`
		RequestURI *bool    `json:"request_uri_parameter_supported"`
		Prompts    []string `json:"prompts"`
	}
	if m := results["discovery"]; json.Unmarshal(m.Result, &d) != nil || d.Issuer != base || !d.PKCE || !slices.Equal(d.Algs, []string{"RS256"}) ||
		d.RequestURI == nil || *d.RequestURI || !slices.Contains(d.Prompts, "login") {
		t.Errorf("discovery: %+v %s", d, m.Message)
	}
	if r := signIn("quick-start", "signin", "consent"); r.State || r.Nonce != "" || !r.Refresh {
		t.Errorf("quick-start: %+v, want no state, no nonce and a refresh token", r)
	}
	if r := signIn("state-and-nonce"); !r.State || r.Nonce == "" {
		t.Errorf("state-and-nonce: %+v, want the state back and the nonce in the ID token", r)
	}
	signIn("prompt-none")
	if r := signIn("prompt-none-signed-out"); r.Error != "login_required" {
		t.Errorf("prompt=none signed out: %q, want login_required", r.Error)
	}
	if r := signIn("prompt-none-never-asked"); r.Error != "consent_required" {
		t.Errorf("prompt=none never asked: %q, want consent_required", r.Error)
	}
	signIn("prompt-consent", "consent")
	for _, flow := range []string{"prompt-login", "max-age-0"} {
		if r := signIn(flow, "signin"); r.AuthTime < started[flow] {
			t.Errorf("%s: auth_time %d, want the new sign-in's (at or after %d)", flow, r.AuthTime, started[flow])
		}
	}
	signIn("max-age-3600")
	signIn("public-client", "consent")

	var refresh struct {
		Rotated   bool   `json:"rotated"`
		Sub       string `json:"id_token_sub"`
		Reuse     string `json:"reuse"`
		Successor string `json:"successor"`
	}
	if m := results["refresh"]; m.Error != "" || json.Unmarshal(m.Result, &refresh) != nil {
		t.Errorf("refresh: %s %s", m.Error, m.Message)
	}
	if !refresh.Rotated || refresh.Sub != user.ID || refresh.Reuse != "invalid_grant" || refresh.Successor != "invalid_grant" {
		t.Errorf("refresh: %+v, want rotation, the ID token of %s, and invalid_grant for the reused token and its successor", refresh, user.ID)
	}
	var ir map[string]any
	if m := results["introspect-revoke"]; m.Error != "" || json.Unmarshal(m.Result, &ir) != nil {
		t.Errorf("introspect-revoke: %s %s", m.Error, m.Message)
	}
	if ir["live"] != true || ir["client_id"] != confidential["id"] || ir["sub"] != user.ID || ir["revoked"] != false ||
		ir["userinfo"] != "invalid_token" || ir["refresh"] != "invalid_grant" {
		t.Errorf("introspect-revoke: %v, want active, then inactive, userinfo invalid_token and the refresh token refused", ir)
	}
	var es struct{ Landed, State string }
	if m := results["end-session"]; m.Error != "" || json.Unmarshal(m.Result, &es) != nil || es.Landed != redirect+"?state="+es.State {
		t.Errorf("end-session: landed at %q (%s %s), want %s with the state", es.Landed, m.Error, m.Message, redirect)
	}
	if t.Failed() {
		t.Logf("the relying party's stderr:\n%s", stderr.String())
	}
}
