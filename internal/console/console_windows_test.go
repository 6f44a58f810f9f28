package console

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// consoleChild is set in the environment of the child the console tests
// start: the test binary again, which then runs TestConsoleChild.
const consoleChild = "COUNTERSIGN_TEST_CONSOLE_CHILD"

// TestConsoleChild is the child's side: bind the console as main does,
// then print a line to stdout and one to stderr.
func TestConsoleChild(t *testing.T) {
	if os.Getenv(consoleChild) == "" {
		t.Skip("run by TestCommandsPrintInTheConsole")
	}
	Attach()
	fmt.Fprintln(os.Stdout, "to-stdout")
	fmt.Fprintln(os.Stderr, "to-stderr")
	// Then, as the window does once it stays: no console any more, and
	// printing goes nowhere without failing.
	Detach()
	if w, _, _ := procGetConsoleWindow.Call(); w != 0 {
		os.Exit(3)
	}
	if _, err := fmt.Fprintln(os.Stderr, "after-detach"); err != nil {
		os.Exit(4)
	}
	os.Exit(0)
}

// TestCommandsPrintInTheConsole starts a child as Windows starts a
// GUI-subsystem program from cmd: no console of its own and no standard
// handles, its parent's console beside it. What it prints must land in
// that console; with its stdout redirected to a pipe, stdout must go to
// the pipe and stderr still to the console.
func TestCommandsPrintInTheConsole(t *testing.T) {
	if os.Getenv(consoleChild) != "" {
		t.Skip("the child")
	}
	// A console of this test's own, whose text can be read back. It
	// becomes this process's standard handles: the test's own output (and
	// a panic's) keeps going where it went.
	var std [3]windows.Handle
	ids := [3]uint32{windows.STD_INPUT_HANDLE, windows.STD_OUTPUT_HANDLE, windows.STD_ERROR_HANDLE}
	for i, id := range ids {
		std[i], _ = windows.GetStdHandle(id)
	}
	freeConsole()
	if r, _, err := procAllocConsole.Call(); r == 0 {
		t.Fatalf("AllocConsole: %v", err)
	}
	for i, id := range ids {
		windows.SetStdHandle(id, std[i])
	}
	// The console stays until the test ends: Wine ends a process that
	// frees a console another process was attached to.

	t.Run("no handles", func(t *testing.T) {
		clearConsole(t)
		runChild(t, 0)
		text := consoleText(t)
		for _, want := range []string{"to-stdout", "to-stderr"} {
			if !strings.Contains(text, want) {
				t.Errorf("the console lacks %q; it shows:\n%s", want, text)
			}
		}
	})
	t.Run("stdout to a pipe", func(t *testing.T) {
		clearConsole(t)
		var r, w windows.Handle
		sa := &windows.SecurityAttributes{InheritHandle: 1}
		sa.Length = uint32(unsafe.Sizeof(*sa))
		if err := windows.CreatePipe(&r, &w, sa, 0); err != nil {
			t.Fatal(err)
		}
		runChild(t, w)
		windows.CloseHandle(w)
		pipe := os.NewFile(uintptr(r), "pipe")
		defer pipe.Close()
		buf := make([]byte, 256)
		n, _ := pipe.Read(buf)
		if got := string(buf[:n]); !strings.Contains(got, "to-stdout") {
			t.Errorf("the redirected stdout got %q, want to-stdout", got)
		}
		text := consoleText(t)
		if strings.Contains(text, "to-stdout") || !strings.Contains(text, "to-stderr") {
			t.Errorf("the console shows:\n%s\nwant to-stderr only", text)
		}
	})
}

var (
	procAllocConsole                = kernel32.NewProc("AllocConsole")
	procGetConsoleWindow            = kernel32.NewProc("GetConsoleWindow")
	procReadConsoleOutputCharacterW = kernel32.NewProc("ReadConsoleOutputCharacterW")
	procFillConsoleOutputCharacterW = kernel32.NewProc("FillConsoleOutputCharacterW")
)

// runChild starts the test binary as a detached child (no console of its
// own) and waits for it. With stdout not 0, the child's stdout is that
// handle, as cmd passes a redirection; else it gets no handles at all.
func runChild(t *testing.T, stdout windows.Handle) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := windows.StringToUTF16Ptr(syscall.EscapeArg(exe) + " -test.run=^TestConsoleChild$")
	env := append(os.Environ(), consoleChild+"=1")
	var block []uint16 // each NAME=value ends in a NUL, the block in one more
	for _, kv := range env {
		u, err := windows.UTF16FromString(kv)
		if err != nil {
			t.Fatal(err)
		}
		block = append(block, u...)
	}
	block = append(block, 0)
	si := &windows.StartupInfo{}
	si.Cb = uint32(unsafe.Sizeof(*si))
	inherit := false
	if stdout != 0 {
		si.Flags = windows.STARTF_USESTDHANDLES
		si.StdOutput = stdout
		inherit = true
	}
	var pi windows.ProcessInformation
	err = windows.CreateProcess(nil, cmd, nil, nil, inherit,
		windows.DETACHED_PROCESS|windows.CREATE_UNICODE_ENVIRONMENT, &block[0], nil, si, &pi)
	if err != nil {
		t.Fatalf("starting the child: %v", err)
	}
	defer windows.CloseHandle(pi.Thread)
	defer windows.CloseHandle(pi.Process)
	if ev, err := windows.WaitForSingleObject(pi.Process, 30_000); err != nil || ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("the child did not end within 30 s: %v", err)
	}
	var code uint32
	if err := windows.GetExitCodeProcess(pi.Process, &code); err != nil {
		t.Fatal(err)
	}
	switch code {
	case 0:
	case 3:
		t.Error("the child still has a console after Detach")
	case 4:
		t.Error("printing after Detach failed")
	default:
		t.Errorf("the child exited with %d", code)
	}
	time.Sleep(100 * time.Millisecond) // the console has drawn what it was given
}

func conout(t *testing.T) (windows.Handle, windows.ConsoleScreenBufferInfo) {
	t.Helper()
	h, err := windows.CreateFile(windows.StringToUTF16Ptr("CONOUT$"), windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(h, &info); err != nil {
		windows.CloseHandle(h)
		t.Fatalf("reading this test's console: %v (under Wine a console has a screen buffer only on an X display: run under Xvfb)", err)
	}
	return h, info
}

// consoleText is the text of this test's console.
func consoleText(t *testing.T) string {
	t.Helper()
	h, info := conout(t)
	defer windows.CloseHandle(h)
	n := uint32(info.Size.X) * uint32(info.Size.Y)
	buf := make([]uint16, n)
	var read uint32
	if r, _, err := procReadConsoleOutputCharacterW.Call(uintptr(h), uintptr(unsafe.Pointer(&buf[0])), uintptr(n),
		0, uintptr(unsafe.Pointer(&read))); r == 0 {
		t.Fatalf("reading the console: %v", err)
	}
	var rows []string
	text := []rune(windows.UTF16ToString(buf[:read]))
	for w := int(info.Size.X); len(text) > 0; text = text[min(w, len(text)):] {
		if row := strings.TrimRight(string(text[:min(w, len(text))]), " "); row != "" {
			rows = append(rows, row)
		}
	}
	return strings.Join(rows, "\n")
}

// clearConsole blanks the console and puts its cursor home.
func clearConsole(t *testing.T) {
	t.Helper()
	h, info := conout(t)
	defer windows.CloseHandle(h)
	var written uint32
	procFillConsoleOutputCharacterW.Call(uintptr(h), ' ', uintptr(uint32(info.Size.X)*uint32(info.Size.Y)), 0,
		uintptr(unsafe.Pointer(&written)))
	_ = windows.SetConsoleCursorPosition(h, windows.Coord{})
}

func freeConsole() { procFreeConsole.Call() }
