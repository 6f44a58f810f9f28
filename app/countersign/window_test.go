package main

import (
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/countersign/countersign/internal/capture"
	"github.com/countersign/countersign/internal/capture/xvfbtest"
	"github.com/countersign/countersign/internal/testkit"
)

// avatarRed is GitHub's avatar (app/ui avatarPalette[0]): on screen when
// the window lists the accounts of aegis-plain.json.
var avatarRed = color.RGBA{0xC6, 0x28, 0x28, 0xff}

// x11Home starts a private X server of size for the test, points the
// test's environment at it, and returns a data folder holding the accounts
// of testdata/transfer/aegis-plain.json.
func x11Home(t *testing.T, size image.Point) string {
	t.Helper()
	needKeyring(t)
	display := xvfbtest.Start(t, size)
	home := t.TempDir()
	ok(t, home, "import", "../../testdata/transfer/aegis-plain.json")
	t.Setenv("DISPLAY", display)
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_SESSION_TYPE", "x11")
	return home
}

// realWindow is the real binary's window, running until the test ends.
type realWindow struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *testkit.Buffer
	exited chan error
}

// startWindow runs the binary with home as its data folder and env added.
func startWindow(t *testing.T, home string, env ...string) *realWindow {
	t.Helper()
	w := &realWindow{t: t, cmd: exec.Command(binary), stderr: &testkit.Buffer{}, exited: make(chan error, 1)}
	w.cmd.Env = append(append(os.Environ(), "COUNTERSIGN_HOME="+home), env...)
	w.cmd.Stderr = w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.exited <- w.cmd.Wait() }()
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.exited
	})
	return w
}

// waitScreen looks at the screen every poll until cond holds, and returns
// what it saw; it fails when the window exits or after 30 s.
func (w *realWindow) waitScreen(what string, poll time.Duration, cond func(image.Image) bool) image.Image {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-w.exited:
			w.t.Fatalf("the window exited: %v\n%s", err, w.stderr.String())
		default:
		}
		screens, err := capture.Screens(context.Background(), capture.Options{})
		if err != nil {
			w.t.Fatal(err)
		}
		if img := screens[0].Image; cond(img) {
			return img
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no %s on screen after 30 s\n%s", what, w.stderr.String())
		}
		time.Sleep(poll)
	}
}

// running fails the test if the window has exited.
func (w *realWindow) running() {
	w.t.Helper()
	select {
	case err := <-w.exited:
		w.t.Fatalf("the window exited: %v\n%s", err, w.stderr.String())
	default:
	}
}
