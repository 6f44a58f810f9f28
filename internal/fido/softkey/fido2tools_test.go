//go:build linux

package softkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// needTool finds a fido2-tools binary. Without it the test skips, unless
// COUNTERSIGN_TEST_FIDO=1 says the machine must have it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("COUNTERSIGN_TEST_FIDO") == "1" {
		t.Fatalf("%s not found and COUNTERSIGN_TEST_FIDO=1: apt-get install fido2-tools", name)
	}
	t.Skipf("%s not installed (apt-get install fido2-tools); set COUNTERSIGN_TEST_FIDO=1 to fail instead", name)
	return ""
}

var pinPrompt = regexp.MustCompile(`Enter [^\n]*PIN[^\n]*: `)

// runTool runs a fido2-tools command on a terminal of its own, as
// readpassphrase reads PINs from /dev/tty, and types the next of pins at
// each PIN prompt. It returns stdout and what the terminal showed.
func runTool(t *testing.T, pins []string, name string, args ...string) (stdout, terminal string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	tty, err := pty.Start(cmd)
	if err != nil {
		return "", "", err
	}
	defer tty.Close()

	var mu sync.Mutex
	var screen []byte
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 1024)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			screen = append(screen, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	answered := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err = <-waitErr:
			select {
			case <-readDone:
			case <-time.After(time.Second):
			}
			mu.Lock()
			defer mu.Unlock()
			return out.String(), string(screen), err
		case <-tick.C:
			mu.Lock()
			prompts := len(pinPrompt.FindAllIndex(screen, -1))
			mu.Unlock()
			for ; answered < prompts; answered++ {
				if answered >= len(pins) {
					cancel()
					break
				}
				if _, err := tty.Write([]byte(pins[answered] + "\n")); err != nil {
					t.Errorf("type PIN: %v", err)
				}
			}
		}
	}
}

// startKey serves a fresh key on a pty for the test's lifetime.
func startKey(t *testing.T, opts Options) *Key {
	t.Helper()
	k, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return k
}

func TestFIDO2TokenInfo(t *testing.T) {
	tool := needTool(t, "fido2-token")
	k := startKey(t, Options{})
	out, screen, err := runTool(t, nil, tool, "-I", k.Path())
	if err != nil {
		t.Fatalf("fido2-token -I: %v\n%s", err, screen)
	}
	for _, want := range []string{
		"version strings: FIDO_2_0, FIDO_2_1",
		"aaguid: 612994a48f8e420b99f88d494e0836cd",
		"options: rk, up, noplat, credMgmt, noclientPin, pinUvAuthToken",
		"pin protocols: 2, 1",
		"pin retries: 8",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("fido2-token -I output lacks %q; got:\n%s", want, out)
		}
	}
}

// TestFIDO2ToolsLifecycle drives one key through fido2-tools the way a
// person would: PIN, credentials, assertions, credential management, reset.
func TestFIDO2ToolsLifecycle(t *testing.T) {
	token := needTool(t, "fido2-token")
	credTool := needTool(t, "fido2-cred")
	assertTool := needTool(t, "fido2-assert")
	k := startKey(t, Options{})
	dev := k.Path()
	r := newToolRun(t)
	write, must := r.write, r.must
	info := func() string { return must("fido2-token -I", nil, token, "-I", dev) }

	must("set PIN", []string{"1234", "1234"}, token, "-S", dev)
	if got := info(); !strings.Contains(got, " clientPin,") || !strings.Contains(got, "pin retries: 8") {
		t.Fatalf("after setting a PIN, info is:\n%s\nwant clientPin and 8 retries", got)
	}
	if _, _, err := runTool(t, []string{"9999", "5678", "5678"}, token, "-C", dev); err == nil {
		t.Fatal("changing the PIN with a wrong current PIN succeeded")
	}
	if got := info(); !strings.Contains(got, "pin retries: 7") {
		t.Fatalf("after one wrong PIN, info is:\n%s\nwant 7 retries", got)
	}
	must("change PIN", []string{"1234", "5678", "5678"}, token, "-C", dev)
	if got := info(); !strings.Contains(got, "pin retries: 8") {
		t.Fatalf("after a right PIN, info is:\n%s\nwant 8 retries again", got)
	}

	cdh := b64(bytes.Repeat([]byte{1}, 32))
	userID := b64(bytes.Repeat([]byte{2}, 32))
	for _, tc := range []struct {
		name string
		flag []string
	}{
		{"non-discoverable", nil},
		{"discoverable", []string{"-r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			param := write(tc.name+".param", cdh, "example.org", "alice", userID)
			args := append(append([]string{"-M"}, tc.flag...), "-i", param, dev, "es256")
			made := write(tc.name+".cred", strings.TrimSpace(must("fido2-cred -M", []string{"5678"}, credTool, args...)))
			verified := must("fido2-cred -V", nil, credTool, "-V", "-i", made, "es256")
			credID, pubPEM, _ := strings.Cut(verified, "\n")
			pub := write(tc.name+".pub", strings.TrimSpace(pubPEM))

			lines := []string{cdh, "example.org"}
			var getFlags []string
			if tc.flag == nil {
				lines = append(lines, credID)
			} else {
				getFlags = []string{"-r"}
			}
			aparam := write(tc.name+".aparam", lines...)
			for _, uv := range []bool{false, true} {
				flags := getFlags
				var pins []string
				if uv {
					flags = append(append([]string(nil), flags...), "-v")
					pins = []string{"5678"}
				}
				args := append(append([]string{"-G"}, flags...), "-i", aparam, dev)
				asserted := write(tc.name+".assert", strings.TrimSpace(must("fido2-assert -G", pins, assertTool, args...)))
				vflags := []string{"-V", "-p"}
				if uv {
					vflags = append(vflags, "-v")
				}
				must("fido2-assert -V", nil, assertTool, append(vflags, "-i", asserted, pub, "es256")...)
			}
		})
	}

	rps := must("list RPs", []string{"5678"}, token, "-L", "-r", dev)
	if !strings.Contains(rps, "example.org") {
		t.Fatalf("fido2-token -L -r listed:\n%s\nwant example.org", rps)
	}
	creds := must("list credentials", []string{"5678"}, token, "-L", "-k", "example.org", dev)
	fields := strings.Fields(creds)
	if len(fields) < 2 {
		t.Fatalf("fido2-token -L -k listed:\n%s\nwant one credential", creds)
	}
	must("delete credential", []string{"5678"}, token, "-D", "-i", fields[1], dev)
	if got := k.ResidentCredentials(); got != 0 {
		t.Errorf("after fido2-token -D, %d discoverable credentials left, want 0", got)
	}

	if err := k.Replug(); err != nil {
		t.Fatal(err)
	}
	must("reset", nil, token, "-R", dev)
	if got := info(); !strings.Contains(got, "noclientPin") {
		t.Errorf("after reset, info is:\n%s\nwant noclientPin", got)
	}
}

// TestFIDO2ToolsHMACSecret checks the hmac-secret extension with libfido2's
// own tools: fido2-cred -M -h makes a credential with it, fido2-assert -G -h
// gets the secret for a salt. One credential and salt always give the same
// secret; another salt or another credential gives another; with the PIN
// (user verified) the secret is another again.
func TestFIDO2ToolsHMACSecret(t *testing.T) {
	credTool := needTool(t, "fido2-cred")
	assertTool := needTool(t, "fido2-assert")
	token := needTool(t, "fido2-token")
	k := startKey(t, Options{})
	dev := k.Path()
	r := newToolRun(t)
	write, must := r.write, r.must
	if info, _, _ := runTool(t, nil, token, "-I", dev); !strings.Contains(info, "extension strings: hmac-secret") {
		t.Errorf("fido2-token -I does not list hmac-secret:\n%s", info)
	}
	cdh := b64(bytes.Repeat([]byte{1}, 32))
	newCred := func(name string) (credID, pub string) {
		param := write(name+".param", cdh, "countersign-vault", "vault", b64([]byte(name)))
		made := write(name+".cred", strings.TrimSpace(must("fido2-cred -M -h", nil, credTool, "-M", "-h", "-i", param, dev, "es256")))
		// -V -h fails unless the signed authenticator data says hmac-secret.
		verified := must("fido2-cred -V -h", nil, credTool, "-V", "-h", "-i", made, "es256")
		credID, pubPEM, _ := strings.Cut(verified, "\n")
		return credID, write(name+".pub", strings.TrimSpace(pubPEM))
	}
	secret := func(credID, pub string, salt []byte, pins ...string) string {
		t.Helper()
		flags := []string{"-G", "-h"}
		vflags := []string{"-V", "-h", "-p"}
		if len(pins) > 0 {
			flags = append(flags, "-v")
			vflags = append(vflags, "-v")
		}
		param := write("assert.param", cdh, "countersign-vault", credID, b64(salt))
		out := strings.TrimSpace(must("fido2-assert -G -h", pins, assertTool, append(flags, "-i", param, dev)...))
		lines := strings.Split(out, "\n")
		if len(lines) != 5 {
			t.Fatalf("fido2-assert -G -h printed %d lines, want 5 (the last the hmac secret):\n%s", len(lines), out)
		}
		must("fido2-assert -V -h", nil, assertTool, append(vflags, "-i", write("assert.out", lines...), pub, "es256")...)
		s, err := base64.StdEncoding.DecodeString(lines[4])
		if err != nil || len(s) != 32 {
			t.Fatalf("hmac secret %q: %d bytes, %v; want 32", lines[4], len(s), err)
		}
		return lines[4]
	}

	id1, pub1 := newCred("one")
	id2, pub2 := newCred("two")
	salt, other := bytes.Repeat([]byte{0x5a}, 32), bytes.Repeat([]byte{0xa5}, 32)
	first := secret(id1, pub1, salt)
	if again := secret(id1, pub1, salt); again != first {
		t.Errorf("the same credential and salt gave %s, then %s", first, again)
	}
	if s := secret(id1, pub1, other); s == first {
		t.Error("another salt gave the same secret")
	}
	if s := secret(id2, pub2, salt); s == first {
		t.Error("another credential gave the same secret")
	}
	must("set PIN", []string{"1234", "1234"}, token, "-S", dev)
	withUV := secret(id1, pub1, salt, "1234")
	if withUV == first {
		t.Error("the secret with the PIN (user verified) is the one without")
	}
	if again := secret(id1, pub1, salt, "1234"); again != withUV {
		t.Errorf("with the PIN, the same credential and salt gave %s, then %s", withUV, again)
	}
	if s := secret(id1, pub1, salt); s != first {
		t.Errorf("without the PIN after setting one: %s, want the secret without user verification %s", s, first)
	}
}

// toolRun is one test's files for fido2-tools and its runs of them.
type toolRun struct {
	t   *testing.T
	dir string
}

func newToolRun(t *testing.T) *toolRun { return &toolRun{t: t, dir: t.TempDir()} }

// write writes lines to the file name in the run's folder, as the tools
// read their input, and returns its path.
func (r *toolRun) write(name string, lines ...string) string {
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// must runs a tool (typing pins at its prompts) and returns its output,
// failing the test at step when it fails.
func (r *toolRun) must(step string, pins []string, name string, args ...string) string {
	r.t.Helper()
	out, screen, err := runTool(r.t, pins, name, args...)
	if err != nil {
		r.t.Fatalf("%s: %v\nterminal:\n%s", step, err, screen)
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
