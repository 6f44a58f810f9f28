package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/atrest"
	"github.com/countersign/countersign/internal/notify"
	"github.com/countersign/countersign/internal/server"
	"github.com/countersign/countersign/internal/server/webtest"
	"github.com/countersign/countersign/internal/store"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	getenv := env(map[string]string{
		"HOME":                      dir,
		"XDG_DATA_HOME":             filepath.Join(dir, "data"),
		"COUNTERSIGN_ADDR":          "127.0.0.1:9000",
		"COUNTERSIGN_DEV":           "true",
		"COUNTERSIGN_SMTP_PASSWORD": "from-env",
	})
	c, err := parseConfig([]string{"--addr", "127.0.0.1:9100"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:9100" {
		t.Errorf("addr = %q; the flag should win over COUNTERSIGN_ADDR", c.addr)
	}
	if !c.dev {
		t.Error("COUNTERSIGN_DEV=true did not turn on --dev")
	}
	if want := "sqlite://" + filepath.Join(dir, "data", "countersign-server", "countersign.db"); c.db != want {
		t.Errorf("db = %q, want %q", c.db, want)
	}
	if want := "http://localhost:9100"; c.publicURL != want {
		t.Errorf("public URL = %q, want %q (WebAuthn needs a host name, not an IP)", c.publicURL, want)
	}
	if want := filepath.Join(dir, "data", "countersign-server", "outbox"); c.outbox != want {
		t.Errorf("outbox = %q, want %q", c.outbox, want)
	}
	if c.smtpPassword != "from-env" {
		t.Errorf("SMTP password from COUNTERSIGN_SMTP_PASSWORD not taken")
	}
	if c.metricsAddr != defaultMetricsAddr || !strings.HasPrefix(c.metricsAddr, "127.0.0.1:") {
		t.Errorf("metrics address = %q, want the loopback default %s", c.metricsAddr, defaultMetricsAddr)
	}
	for _, off := range []struct {
		args    []string
		envAddr string // COUNTERSIGN_METRICS_ADDR
	}{
		{[]string{"--metrics-addr", ""}, ""},
		{[]string{"--metrics-addr", "off"}, ""},
		{nil, "off"},
	} {
		getenv := env(map[string]string{"HOME": dir, "COUNTERSIGN_METRICS_ADDR": off.envAddr})
		if c, err := parseConfig(off.args, getenv, io.Discard); err != nil || c.metricsAddr != "" {
			t.Errorf("%q, COUNTERSIGN_METRICS_ADDR=%q: metrics address %q (%v), want none", off.args, off.envAddr, c.metricsAddr, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "nope"}, "want host:port"},
		{[]string{"--metrics-addr", "9181"}, "--metrics-addr \"9181\": want host:port"},
		{[]string{"--tls-cert", "c.pem"}, "give both or neither"},
		{[]string{"--public-url", "ftp://x"}, "want an origin"},
		{[]string{"--public-url", "https://x.example/path"}, "no path"},
		{[]string{"--log-format", "xml"}, "want text or json"},
		{[]string{"--log-level", "loud"}, "want debug, info, warn or error"},
		{[]string{"--smtp-tls", "maybe"}, "want starttls, tls or none"},
		{[]string{"--smtp-addr", "mail:25"}, "needs --smtp-from"},
		{[]string{"--smtp-password-file", "/nonexistent/pw"}, "--smtp-password-file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseConfig(tc.args, env(map[string]string{"HOME": t.TempDir()}), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := parseConfig([]string{"--bogus"}, env(nil), io.Discard); err != errUsage {
		t.Errorf("unknown flag: got %v, want errUsage", err)
	}
	if _, err := parseConfig([]string{"serve"}, env(nil), io.Discard); err != errUsage {
		t.Errorf("stray argument: got %v, want errUsage", err)
	}
}

// TestPublicURLOnIPWarns: browsers refuse an IP address as the WebAuthn
// relying party id, so a --public-url on one is said at start.
func TestPublicURLOnIPWarns(t *testing.T) {
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"--public-url", "https://192.0.2.7"}, true},
		{[]string{"--public-url", "http://[2001:db8::7]:8080"}, true},
		{[]string{"--addr", "192.0.2.7:8080"}, true}, // the default public URL is then on the IP
		{[]string{"--public-url", "https://signin.example.com"}, false},
		{[]string{"--addr", "127.0.0.1:8080"}, false}, // localhost
		{[]string{"--addr", "0.0.0.0:8080"}, false},   // localhost
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := parseConfig(tc.args, env(map[string]string{"HOME": t.TempDir()}), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(c.warnings, "\n"), "security keys")
			if warned != tc.warn {
				t.Errorf("public URL %s: warnings %q, want a warning about security keys: %v", c.publicURL, c.warnings, tc.warn)
			}
		})
	}
	// And the server says so in its log at start, before it listens.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	keyFile, _ := newKeyFile(t, dir, "secrets.key")
	args := []string{"--addr", "127.0.0.1:0", "--metrics-addr", "off", "--public-url", "http://192.0.2.7:8080", "--db", "sqlite://" + filepath.Join(dir, "cs.db"),
		"--secrets-key-file", keyFile}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, env(map[string]string{"HOME": dir}), io.Discard, pw)
		pw.Close()
	}()
	var log strings.Builder
	for lines := bufio.NewScanner(pr); !strings.Contains(log.String(), "listening") && lines.Scan(); {
		log.WriteString(lines.Text() + "\n")
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`level=WARN.*security keys`).MatchString(log.String()) {
		t.Errorf("start with --public-url on an IP address logged no warning:\n%s", log.String())
	}
}

func TestHelpDocumentsEveryOption(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"--help"}, env(nil), &out)
	if err == nil {
		t.Fatal("--help returned no error; want flag.ErrHelp")
	}
	for _, o := range options(&config{}) {
		if !strings.Contains(out.String(), "-"+o.name) || !strings.Contains(out.String(), "$"+o.env) {
			t.Errorf("--help does not document --%s and $%s", o.name, o.env)
		}
	}
}

// TestServeAndShutdown runs the whole server in-process on a free loopback
// port with --dev: the demo account is seeded, /healthz and /readyz answer,
// and cancelling the context shuts it down cleanly.
func TestServeAndShutdown(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	args := []string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--dev", "--db", "sqlite://" + filepath.Join(dir, "cs.db")}
	go func() {
		done <- run(ctx, args, env(map[string]string{"HOME": dir}), io.Discard, pw)
		pw.Close()
	}()
	addrRE := regexp.MustCompile(`listening"? addr=(127\.0\.0\.1:\d+)`)
	metricsRE := regexp.MustCompile(`metrics_addr=(127\.0\.0\.1:\d+)`)
	lines := bufio.NewScanner(pr)
	var addr, metricsAddr string
	var log strings.Builder
	for addr == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			if m := metricsRE.FindStringSubmatch(lines.Text()); m != nil {
				metricsAddr = m[1]
			}
		}
	}
	if addr == "" {
		t.Fatalf("the server never said where it listens; log:\n%s", log.String())
	}
	if metricsAddr == "" {
		cancel()
		<-done
		t.Fatalf("the server did not say where it serves its metrics (--metrics-addr 127.0.0.1:0); log:\n%s", log.String())
	}
	logged := make(chan struct{}) // the rest of the log, read once the server stopped
	go func() { io.Copy(&log, pr); close(logged) }()
	if !strings.Contains(log.String(), "seeded the demo account") {
		t.Errorf("--dev on an empty database did not seed the demo account; log:\n%s", log.String())
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	// The metrics are on --metrics-addr only, not where everyone reaches.
	for _, tc := range []struct {
		addr string
		want int
	}{{addr, http.StatusNotFound}, {metricsAddr, http.StatusOK}} {
		resp, err := http.Get("http://" + tc.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == http.StatusOK) != strings.Contains(string(body), `countersign_http_requests_total{code="200",method="GET",route="/healthz"}`) {
			t.Errorf("GET http://%s/metrics = %d, want %d (metrics only on --metrics-addr %s)", tc.addr, resp.StatusCode, tc.want, metricsAddr)
		}
	}
	// A reset link for the demo account goes to the outbox, not the log,
	// even with --dev.
	if res := webtest.New(t, "http://"+addr).Post("/password/forgot", "/password/forgot", url.Values{"login": {server.DemoEmail}}); res.StatusCode != http.StatusOK {
		t.Errorf("forgot password: %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop within 20 s of its context ending")
	}
	<-logged
	if _, err := os.Stat(filepath.Join(dir, "outbox")); err != nil {
		t.Fatalf("the outbox directory was not made beside the database: %v", err)
	}
	outbox, err := notify.NewOutbox(filepath.Join(dir, "outbox"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mail, err := outbox.Last(server.DemoEmail)
	if err != nil || !strings.Contains(mail.Text, "/password/reset?token=") {
		t.Errorf("no reset link in the outbox (%v): %+v", err, mail)
	}
	if !strings.Contains(log.String(), "outbox: message queued") {
		t.Errorf("the log does not say a message was queued:\n%s", log.String())
	}
	if strings.Contains(log.String(), "token=") || strings.Contains(log.String(), "Someone, hopefully you") {
		t.Errorf("the reset link reached the log:\n%s", log.String())
	}

	// pairing-code makes a one-time pairing URI for an account of that database.
	db := []string{"--db", "sqlite://" + filepath.Join(dir, "cs.db"), "--public-url", "http://localhost:8080"}
	var out, errOut strings.Builder
	if err := run(context.Background(), append([]string{"pairing-code", "--login", "Demo@Countersign.test"}, db...), env(map[string]string{"HOME": dir}), &out, &errOut); err != nil {
		t.Fatalf("pairing-code: %v (%s)", err, errOut.String())
	}
	if uri := strings.TrimSpace(out.String()); !regexp.MustCompile(`^countersign://pair\?.*code=[2-9A-Z]{8}`).MatchString(uri) || !strings.Contains(uri, "localhost%3A8080") {
		t.Errorf("pairing-code printed %q, want a countersign://pair URI with the server and an 8-character code", uri)
	}
	err = run(context.Background(), append([]string{"pairing-code", "--login", "nobody@example.com"}, db...), env(map[string]string{"HOME": dir}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no account") {
		t.Errorf("pairing-code for an unknown account: got %v, want a clear refusal", err)
	}
	// With --member the code pairs as that household member's, made on first
	// use (the demo household has Sam already).
	for range 2 {
		errOut.Reset()
		err = run(context.Background(), append([]string{"pairing-code", "--login", "demo@countersign.test", "--member", "robin"}, db...),
			env(map[string]string{"HOME": dir}), io.Discard, &errOut)
		if err != nil || !strings.Contains(errOut.String(), "for robin of demo@countersign.test") {
			t.Errorf("pairing-code --member: %v, stderr %q", err, errOut.String())
		}
	}
	// --dev made the secrets key beside the database, readable by its owner
	// only, and the database's secrets are sealed under it.
	keyFile := filepath.Join(dir, "secrets.key")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("--dev made no secrets key of mode 0600 beside the database: %v", err)
	}
	if _, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "cs.db")); !errors.Is(err, store.ErrSecretsKeyNeeded) {
		t.Errorf("the --dev database opens without a secrets key (%v); its secrets are not sealed", err)
	}
	key, err := atrest.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "cs.db"), store.WithSecretsKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	u, err := sdb.UserByLogin(context.Background(), "demo@countersign.test")
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := sdb.Members(context.Background(), u.ID); err != nil || len(ms) != 3 || ms[1].Name != "Sam" || ms[2].Name != "robin" {
		t.Errorf("household after pairing-code --member twice = %+v, %v; want the owner, Sam and robin", ms, err)
	}

	// The raw database holds none of the demo's secrets in clear: its TOTP
	// secret, the CSRF and OAuth HMAC keys (the ID-token signing keys, made
	// when first needed, are sealed alike: see package store's tests).
	var secrets [][]byte
	ms, err := sdb.Methods(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if len(m.Secret) > 0 {
			secrets = append(secrets, m.Secret)
		}
	}
	for _, k := range []string{"csrf-key", "oauth-hmac"} {
		v, err := sdb.Setting(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, v)
	}
	if len(secrets) < 3 {
		t.Fatalf("found %d secrets of the demo server, want its TOTP secret and two HMAC keys", len(secrets))
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cs.db"))
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(filepath.Join(dir, "cs.db-wal")); err == nil {
		raw = append(raw, wal...)
	}
	for _, secret := range secrets {
		if bytes.Contains(raw, secret) {
			t.Errorf("the database file holds a secret in clear (%d bytes)", len(secret))
		}
	}
}

func TestDevRefusesPublicAddress(t *testing.T) {
	dir := t.TempDir()
	err := run(context.Background(), []string{"--addr", "0.0.0.0:0", "--dev", "--db", "sqlite://" + filepath.Join(dir, "cs.db")},
		env(map[string]string{"HOME": dir}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("got %v, want a refusal to seed a demo account on a public address", err)
	}
}
