// Package browsertest drives Debian's Chromium from tests through the DevTools
// protocol (chromedp): one headless browser for a test, tabs and isolated
// profiles in it, the WebAuthn virtual authenticator that stands in for a
// security key, and a few helpers for the steps a sign-in flow is made of
// (fill and submit a form, wait for a page, read a text).
//
// It is for tests only. A test that calls Start is skipped when Chromium is
// not installed, unless COUNTERSIGN_TEST_BROWSER=1 says the browser must be
// there (CI), in which case it fails.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Timeout bounds each helper of this package that waits for the page, so that
// a page that never navigates fails the test instead of hanging it.
const Timeout = 20 * time.Second

// RequireEnv is the environment variable that turns a missing Chromium from a
// skip into a failure.
const RequireEnv = "COUNTERSIGN_TEST_BROWSER"

// flags are the switches the browser runs with, on top of chromedp's defaults
// (which already include most of them; they are repeated so the list here is
// the one DESIGN.md names).
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.NoFirstRun,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.WindowSize(1280, 900),
}

// execPath finds Chromium: "chromium" on PATH, else Debian's path.
func execPath() (string, error) {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/chromium"
	if _, err := os.Stat(debian); err != nil {
		return "", err
	}
	return debian, nil
}

// Start launches one headless Chromium for the test, with a fresh profile in a
// temporary directory, and returns the context of its first tab. The browser
// is closed by t.Cleanup. It skips the test when Chromium is not installed,
// unless COUNTERSIGN_TEST_BROWSER=1.
func Start(t testing.TB) context.Context {
	t.Helper()
	path, err := execPath()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("chromium not found (%v): install the Debian package chromium", err)
		}
		t.Skipf("chromium not installed (set %s=1 to make this a failure)", RequireEnv)
	}
	// Both directories are registered before the browser's cleanup, so they
	// are removed after the browser exits. TMPDIR catches the shared-memory
	// files that --disable-dev-shm-usage puts in the temporary directory.
	profile, tmp := t.TempDir(), t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], flags...)
	opts = append(opts, chromedp.ExecPath(path), chromedp.UserDataDir(profile), chromedp.Env("TMPDIR="+tmp))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp reports protocol errors from its own goroutines, which may
	// outlive the test by a moment; t.Logf then would panic.
	var mu sync.Mutex
	ended := false
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Logf("chromedp: "+format, args...)
		}
	}))
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancel()
		cancelAlloc() // waits for the process to exit
	})

	if err := first(ctx, 60*time.Second); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// first runs the first action on a chromedp context, which starts the browser
// or opens the tab. That binds the browser or tab to the context the action
// runs with, so it must be ctx itself, not one with a deadline; a slow start
// still must not hang the test.
func first(ctx context.Context, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("no answer in %v", limit)
	}
}

// NewTab opens a fresh tab in the browser of ctx (cookies shared with the
// browser's other tabs) and returns its context; the tab is closed by
// t.Cleanup.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	return open(t, ctx)
}

// NewProfile opens a tab in a new, incognito-like browser context of the
// browser of ctx: it shares no cookies or storage with other tabs. It is
// disposed of by t.Cleanup.
func NewProfile(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	return open(t, ctx, chromedp.WithNewBrowserContext())
}

func open(t testing.TB, parent context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	if err := first(ctx, Timeout); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// AddVirtualAuthenticator enables the DevTools WebAuthn domain on the tab of
// ctx and adds a CTAP2 USB authenticator that has resident keys and user
// verification and simulates the user's touch. It returns the authenticator's
// id. Pages in the tab then see it as a plugged-in security key.
func AddVirtualAuthenticator(ctx context.Context) (string, error) {
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		return "", fmt.Errorf("enable webauthn: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportUsb,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("add virtual authenticator: %w", err)
	}
	return string(res.AuthenticatorID), nil
}

// Credentials reports how many credentials the virtual authenticator holds.
func Credentials(ctx context.Context, authenticatorID string) (int, error) {
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{
		AuthenticatorID: webauthn.AuthenticatorID(authenticatorID),
	})
	if err != nil {
		return 0, fmt.Errorf("get credentials: %w", err)
	}
	return len(res.Credentials), nil
}

// Screenshot writes a PNG of the whole page of ctx's tab to path.
func Screenshot(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return os.WriteFile(path, buf, 0o644)
}

// Open navigates ctx's tab to u and waits for the page to load. It returns
// the HTTP status of the document.
func Open(ctx context.Context, u string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", u, err)
	}
	return int(resp.Status), nil
}

// Submit fills the form that the CSS selector form finds, field by name
// (a checkbox is checked for any value but "" and "false", a radio button
// with the value is chosen, a select takes an option's value), submits it as a press on its submit button would, and
// waits for the page that answers. It returns the HTTP status of that page.
func Submit(ctx context.Context, form string, fields map[string]string) (int, error) {
	if fields == nil {
		fields = map[string]string{}
	}
	const fill = `(form, fields) => {
		const f = document.querySelector(form);
		if (!f) throw new Error("no form " + form);
		for (const [name, value] of Object.entries(fields)) {
			const els = Array.from(f.elements).filter(el => el.name === name);
			if (els.length === 0) throw new Error("form " + form + " has no field " + name);
			// A hidden field beside a checkbox or radio of the same name is
			// the value sent when it is off: leave it.
			const shown = els.filter(el => el.type !== "hidden");
			for (const el of shown.length > 0 ? shown : els) {
				if (el.type === "checkbox") {
					el.checked = value !== "" && value !== "false";
				} else if (el.type === "radio") {
					el.checked = el.value === value;
				} else {
					el.value = value;
				}
				el.dispatchEvent(new Event("input", {bubbles: true}));
				el.dispatchEvent(new Event("change", {bubbles: true}));
			}
		}
		return true;
	}`
	if err := Eval(ctx, call(fill, form, fields), nil); err != nil {
		return 0, err
	}
	return Navigation(ctx, fmt.Sprintf("submit %s", form),
		chromedp.Evaluate[chromedp.Void](call(`(form) => {
			const f = document.querySelector(form);
			const b = f.querySelector("button[type=submit], input[type=submit], button:not([type])");
			f.requestSubmit(b || undefined);
		}`, form)))
}

// Click clicks the element that the CSS selector finds and waits for the
// page that the click leads to (by a link, a form or the page's script).
func Click(ctx context.Context, sel string) (int, error) {
	return Navigation(ctx, "click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Navigation runs the steps, which must make the tab load a new document, and
// waits until it has loaded. It returns the document's HTTP status. what
// names the steps in errors.
func Navigation(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if resp == nil {
		return 0, fmt.Errorf("%s: no response", what)
	}
	return int(resp.Status), nil
}

// Path returns the path of the tab's current URL.
func Path(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "", err
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	return u.Path, nil
}

// Text returns the text (as rendered, trimmed) of the first element that the
// CSS selector finds, without waiting: an element that is not there is an
// error.
func Text(ctx context.Context, sel string) (string, error) {
	var s string
	err := Eval(ctx, call(`(sel) => {
		const el = document.querySelector(sel);
		if (!el) throw new Error("no element " + sel);
		return (el.innerText || el.textContent || el.value || "").trim();
	}`, sel), &s)
	return s, err
}

// Count returns how many elements the CSS selector finds, without waiting.
func Count(ctx context.Context, sel string) (int, error) {
	var n int
	err := Eval(ctx, call(`(sel) => document.querySelectorAll(sel).length`, sel), &n)
	return n, err
}

// Eval evaluates the JavaScript expression in the tab, awaiting it when it is
// a promise, and decodes its JSON value into out (nil to ignore it).
func Eval(ctx context.Context, expr string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if out == nil {
		return chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](expr, chromedp.EvalAwaitPromise))
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s: %w", raw, err)
	}
	return nil
}

// call makes an expression that calls the function literal fn with the args
// encoded as JSON.
func call(fn string, args ...any) string {
	s := "(" + fn + ")("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		b, err := json.Marshal(a)
		if err != nil {
			panic(err) // only strings and string maps are passed
		}
		s += string(b)
	}
	return s + ")"
}

// ClickScript clicks the element that the CSS selector sel finds and waits
// until the page's script has loaded a new document (a reload or a
// location.assign after its fetches). While it waits, a non-empty text in
// the element that errSel finds (the page's error box) ends the wait with
// that text as the error, so a failure the script shows is not a timeout.
func ClickScript(ctx context.Context, sel, errSel string) error {
	if err := Eval(ctx, `window.__browsertestOld = true`, nil); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(cctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	deadline := time.Now().Add(Timeout)
	for {
		var state struct {
			Old   bool   `json:"old"`
			Ready string `json:"ready"`
			Err   string `json:"err"`
		}
		err := Eval(ctx, call(`(errSel) => {
			const box = errSel ? document.querySelector(errSel) : null;
			return {
				old: window.__browsertestOld === true,
				ready: document.readyState,
				err: box ? box.textContent.trim() : "",
			};
		}`, errSel), &state)
		switch {
		case err != nil:
			// The document went away under the evaluation; ask again.
		case state.Err != "":
			return fmt.Errorf("click %s: the page says: %s", sel, state.Err)
		case !state.Old && state.Ready == "complete":
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("click %s: no new page in %v", sel, Timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetTimezone makes the tab's pages see the time zone tz (an IANA name,
// "Europe/Berlin"), as a browser in that zone would.
func SetTimezone(ctx context.Context, tz string) error {
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: tz}); err != nil {
		return fmt.Errorf("set time zone: %w", err)
	}
	return nil
}

// SetColorScheme makes the tab's pages see prefers-color-scheme as scheme
// ("light" or "dark").
func SetColorScheme(ctx context.Context, scheme string) error {
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		return fmt.Errorf("set color scheme: %w", err)
	}
	return nil
}

// SetViewport sizes the tab's viewport in CSS pixels, as a phone's when
// mobile.
func SetViewport(ctx context.Context, width, height int64, mobile bool) error {
	_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: width, Height: height, DeviceScaleFactor: 1, Mobile: mobile,
	})
	if err != nil {
		return fmt.Errorf("set viewport: %w", err)
	}
	return nil
}

// Keys types keys into the element that has the focus, as a keyboard does
// (kb.Tab, kb.Enter and the like for the keys that type nothing).
func Keys(ctx context.Context, keys string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.KeyEvent(keys))
}

// Active describes the element that has the focus: its id, else its name,
// else its text ("" for the page itself).
func Active(ctx context.Context) (string, error) {
	var s string
	err := Eval(ctx, `(() => { const e = document.activeElement;
		if (!e || e === document.body) return '';
		return e.id || e.getAttribute('name') || e.textContent.trim(); })()`, &s)
	return s, err
}
