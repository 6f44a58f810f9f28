package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/capture/xvfbtest"
	"github.com/countersign/countersign/internal/otp"
	"github.com/countersign/countersign/internal/server"
	"github.com/countersign/countersign/internal/server/webtest"
)

// TestAccountScreensOnX11 runs the real countersign-server (--dev, SQLite,
// the demo account) and the real window on a real X server, and looks at
// each tab of the Account screen, opened with --show. The window is paired
// with the demo account as its owner's desktop; a second desktop is paired
// as the household member Sam's, two browsers sign in with authenticator
// codes, one of them trusted, and two apps are allowed to sign in with
// Countersign. Each tab's picture, taken once
// the window stops changing, must show something (many colours) and differ
// from every other tab's. With COUNTERSIGN_SCREENSHOTS=DIR the pictures are
// written there, cut to the window (make screenshots puts them in
// packaging/screenshots for the README).
func TestAccountScreensOnX11(t *testing.T) {
	needKeyring(t)
	display := xvfbtest.Start(t, image.Pt(1024, 768))
	base, db := startDevServer(t)
	home, samHome := t.TempDir(), t.TempDir()

	pairingURI := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(serverBinary(t), append([]string{"pairing-code", "--db", db, "--public-url", base, "--login", server.DemoEmail}, args...)...).Output()
		if err != nil {
			t.Fatalf("pairing-code %q: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	ok(t, home, "pair", pairingURI(), "--name", "Demo's desktop")
	ok(t, samHome, "pair", pairingURI("--member", server.DemoMember), "--name", "Sam's laptop")

	// Two browsers: the first with the previous step's code (the server
	// takes one step of drift, and each step only once), trusted; the
	// second with this step's.
	key, err := otp.ParseURI(server.DemoTOTPURI)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	earlier, _ := otp.Code(key, now.Add(-30*time.Second))
	current, _ := otp.Code(key, now)
	firefox := webtest.New(t, base)
	firefox.UserAgent = webtest.FirefoxWindows
	firefox.SignInWithCode(server.DemoEmail, server.DemoPassword, earlier, true)
	iphone := webtest.New(t, base)
	iphone.UserAgent = webtest.SafariIPhone
	iphone.SignInWithCode(server.DemoEmail, server.DemoPassword, current, false)
	// Two apps the account let sign in with Countersign.
	firefox.AllowApp("Photo Prints", "openid email profile")
	firefox.AllowApp("Recipe Box", "openid email")

	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")
	seen := map[[32]byte]string{}
	for _, name := range []string{"overview", "devices", "apps", "sessions", "activity", "household"} {
		img := settledScreen(t, home, name)
		win := windowArea(img)
		if n := colours(win); n < 8 {
			t.Errorf("%s: the window shows %d colours: nothing drawn?", name, n)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, win); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf.Bytes())
		if other, dup := seen[sum]; dup {
			t.Errorf("%s looks exactly like %s", name, other)
		}
		seen[sum] = name
		if dir := os.Getenv("COUNTERSIGN_SCREENSHOTS"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, screenshotName("account-"+name)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// settledScreen opens the window on screen name and returns the screen once
// it has not changed for two seconds (the tab loaded and drawn).
func settledScreen(t *testing.T, home, name string) image.Image {
	t.Helper()
	cmd := exec.Command(binary, "--show", name)
	cmd.Env = append(os.Environ(), "COUNTERSIGN_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	var last [32]byte
	var img image.Image
	stableSince := time.Time{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("--show %s: the window exited: %v\n%s", name, err, stderr.String())
		default:
		}
		screens, err := capture.Screens(context.Background(), capture.Options{})
		if err != nil {
			t.Fatal(err)
		}
		img = screens[0].Image
		sum := sha256.Sum256(pixels(img))
		switch {
		case sum != last || colours(img) < 8:
			last, stableSince = sum, time.Now()
		case time.Since(stableSince) >= 2*time.Second:
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("--show %s: the screen did not settle within 60 s\n%s", name, stderr.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func pixels(img image.Image) []byte {
	if rgba, ok := img.(*image.RGBA); ok {
		return rgba.Pix
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// windowArea cuts img to the box around everything that is not the X
// server's black background.
func windowArea(img image.Image) image.Image {
	b := img.Bounds()
	box := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r|g|bl != 0 {
				box.Min.X, box.Min.Y = min(box.Min.X, x), min(box.Min.Y, y)
				box.Max.X, box.Max.Y = max(box.Max.X, x+1), max(box.Max.Y, y+1)
			}
		}
	}
	if box.Empty() {
		return img
	}
	out := image.NewRGBA(image.Rect(0, 0, box.Dx(), box.Dy()))
	for y := 0; y < box.Dy(); y++ {
		for x := 0; x < box.Dx(); x++ {
			out.Set(x, y, img.At(box.Min.X+x, box.Min.Y+y))
		}
	}
	return out
}

// colours counts the distinct colours of img, up to 1,000.
func colours(img image.Image) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

var serverBin string

// serverBinary builds countersign-server once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	if serverBin == "" {
		path := filepath.Join(filepath.Dir(binary), "countersign-server")
		build := exec.Command("go", "build", "-o", path, "../countersign-server")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			t.Fatalf("build countersign-server: %v", err)
		}
		serverBin = path
	}
	return serverBin
}

// startDevServer runs countersign-server --dev on a free loopback port with
// a fresh SQLite database until the test ends; it returns its URL and the
// database.
func startDevServer(t *testing.T) (base, db string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	db = "sqlite://" + filepath.Join(dir, "countersign.db")
	base = fmt.Sprintf("http://localhost:%d", port)
	cmd := exec.Command(serverBinary(t), "--dev", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--metrics-addr", "off", "--db", db,
		"--outbox", filepath.Join(dir, "outbox"))
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, db
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("countersign-server did not get ready in 30 s\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
