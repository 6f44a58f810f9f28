package browsertest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/internal/browsertest"
)

// page registers a credential with navigator.credentials.create when asked
// and reports the outcome in #result; the form posts a name back to /hello.
const page = `<!doctype html>
<title>browsertest</title>
<p id="result">idle</p>
<form id="f" method="post" action="/hello">
<input name="who"><input type="checkbox" name="agree"><button>Go</button>
</form>
<button id="reload" onclick="setTimeout(() => location.reload(), 100)">Reload</button>
<button id="fail" onclick="setTimeout(() => { document.getElementById('err').textContent = 'no luck'; }, 100)">Fail</button>
<p id="err"></p>
<script>
async function register() {
	const rnd = n => crypto.getRandomValues(new Uint8Array(n));
	try {
		const cred = await navigator.credentials.create({publicKey: {
			rp: {id: "localhost", name: "browsertest"},
			user: {id: rnd(16), name: "ada", displayName: "Ada"},
			challenge: rnd(32),
			pubKeyCredParams: [{type: "public-key", alg: -7}],
			authenticatorSelection: {residentKey: "required", userVerification: "required"},
			timeout: 10000,
		}});
		const got = await navigator.credentials.get({publicKey: {
			rpId: "localhost", challenge: rnd(32), userVerification: "required", timeout: 10000,
			allowCredentials: [{type: "public-key", id: cred.rawId}],
		}});
		return got.id === cred.id ? "ok" : "mismatch";
	} catch (e) {
		return "error: " + e.name + ": " + e.message;
	}
}
</script>`

// server serves page on a loopback port and returns its URL with the host
// "localhost", the WebAuthn relying party ID the page uses.
func server(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, page)
	})
	mux.HandleFunc("POST /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<p id=hello>hello %s agree=%s</p>", r.FormValue("who"), r.FormValue("agree"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return fmt.Sprintf("http://localhost:%d/", ln.Addr().(*net.TCPAddr).Port)
}

func TestVirtualAuthenticator(t *testing.T) {
	ctx := browsertest.Start(t)
	base := server(t)

	id, err := browsertest.AddVirtualAuthenticator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := browsertest.Credentials(ctx, id); err != nil || n != 0 {
		t.Fatalf("before: got %d credentials (%v), want 0", n, err)
	}
	if status, err := browsertest.Open(ctx, base); err != nil || status != http.StatusOK {
		t.Fatalf("open: status %d, %v", status, err)
	}
	var outcome string
	if err := browsertest.Eval(ctx, "register()", &outcome); err != nil {
		t.Fatal(err)
	}
	if outcome != "ok" {
		t.Fatalf("register and assert: got %q, want ok", outcome)
	}
	if n, err := browsertest.Credentials(ctx, id); err != nil || n != 1 {
		t.Fatalf("after: got %d credentials (%v), want 1", n, err)
	}
}

func TestPageHelpers(t *testing.T) {
	browser := browsertest.Start(t)
	base := server(t)

	tab := browsertest.NewTab(t, browser)
	if _, err := browsertest.Open(tab, base); err != nil {
		t.Fatal(err)
	}
	status, err := browsertest.Submit(tab, "form#f", map[string]string{"who": "Ada", "agree": "on"})
	if err != nil || status != http.StatusOK {
		t.Fatalf("submit: status %d, %v", status, err)
	}
	if got, err := browsertest.Text(tab, "#hello"); err != nil || got != "hello Ada agree=on" {
		t.Errorf("after submit: got %q (%v), want %q", got, err, "hello Ada agree=on")
	}
	if _, err := browsertest.Open(tab, base); err != nil {
		t.Fatal(err)
	}
	if status, err := browsertest.Click(tab, "form#f button"); err != nil || status != http.StatusOK {
		t.Fatalf("click: status %d, %v", status, err)
	}
	if got, err := browsertest.Text(tab, "#hello"); err != nil || got != "hello agree=" {
		t.Errorf("after click: got %q (%v), want %q", got, err, "hello agree=")
	}
	if got, err := browsertest.Path(tab); err != nil || got != "/hello" {
		t.Errorf("path: got %q (%v), want /hello", got, err)
	}
	if n, err := browsertest.Count(tab, "p"); err != nil || n != 1 {
		t.Errorf("count p: got %d (%v), want 1", n, err)
	}
	if _, err := browsertest.Text(tab, "#missing"); err == nil {
		t.Error("text of a missing element: no error")
	}

	// A cookie set in one tab is seen by another tab of the same profile
	// and not by a tab of a new profile.
	if err := browsertest.Eval(tab, `document.cookie = "k=v; path=/"`, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ctx  func() string
		want string
	}{
		{"same profile", func() string { return cookies(t, browsertest.NewTab(t, browser), base) }, "k=v"},
		{"new profile", func() string { return cookies(t, browsertest.NewProfile(t, browser), base) }, ""},
	} {
		if got := c.ctx(); got != c.want {
			t.Errorf("%s: got cookies %q, want %q", c.name, got, c.want)
		}
	}

	if _, err := browsertest.Open(tab, base); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.ClickScript(tab, "#reload", "#err"); err != nil {
		t.Errorf("click #reload: %v", err)
	}
	if err := browsertest.ClickScript(tab, "#fail", "#err"); err == nil || !strings.Contains(err.Error(), "no luck") {
		t.Errorf("click #fail: got error %v, want one saying no luck", err)
	}

	path := filepath.Join(t.TempDir(), "hello.png")
	if err := browsertest.Screenshot(tab, path); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("screenshot is not a PNG (%v)", err)
	}
}

// cookies opens base in the tab of ctx and returns document.cookie.
func cookies(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	if _, err := browsertest.Open(ctx, base); err != nil {
		t.Fatal(err)
	}
	var c string
	if err := browsertest.Eval(ctx, "document.cookie", &c); err != nil {
		t.Fatal(err)
	}
	return c
}
