package console

import (
	"os"

	"golang.org/x/sys/windows"
)

// attachParentProcess is AttachConsole's "the console of my parent".
const attachParentProcess = ^uint32(0) // (DWORD)-1

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole = kernel32.NewProc("AttachConsole")
	procFreeConsole   = kernel32.NewProc("FreeConsole")
)

// stdStream is one standard stream: its handle's id, the os.File that
// stands for it, and the console device it is opened on.
type stdStream struct {
	id   uint32
	file **os.File
	name string
}

// bound are the streams Attach bound to the parent's console; Detach
// lets go of them.
var bound []stdStream

// Attach lets the command line print and read when Countersign is
// started from a console (cmd, PowerShell, Windows Terminal). The program
// is built for the Windows GUI subsystem, so that starting the window from
// the Start menu opens no console window; Windows then gives it no
// console either. Standard handles that already lead somewhere (output
// redirected to a file or a pipe) are kept; the others are bound to the
// parent's console, when the parent has one. Started from the Start menu
// or Explorer, there is none, and nothing changes.
func Attach() {
	std := []stdStream{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$"},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$"},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$"},
	}
	var missing []int
	for i, s := range std {
		if h, err := windows.GetStdHandle(s.id); err != nil || !leadsSomewhere(h) {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return
	}
	if r, _, _ := procAttachConsole.Call(uintptr(attachParentProcess)); r == 0 {
		return // no parent console (or one attached already)
	}
	for _, i := range missing {
		s := std[i]
		// AttachConsole may have set the handle itself (Windows 8 and
		// later, Wine); else the console's own device is opened.
		h, err := windows.GetStdHandle(s.id)
		if err != nil || !leadsSomewhere(h) {
			name, _ := windows.UTF16PtrFromString(s.name)
			h, err = windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE,
				windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
			if err != nil {
				continue
			}
			_ = windows.SetStdHandle(s.id, h) // for the runtime's own messages (a panic)
		}
		*s.file = os.NewFile(uintptr(h), s.name)
		bound = append(bound, s)
	}
}

// Detach lets go of the console Attach took: the window, once it is the
// one that stays, must not go with the console (closing cmd's window, or
// Ctrl+C there, ends every program attached to it). The streams Attach
// bound write to NUL from then on, as when the window starts from the
// Start menu.
func Detach() {
	if len(bound) == 0 {
		return
	}
	procFreeConsole.Call()
	for _, s := range bound {
		if f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			_ = windows.SetStdHandle(s.id, windows.Handle(f.Fd()))
			*s.file = f
		}
	}
	bound = nil
}

// leadsSomewhere reports whether h is a usable handle: a console, a file,
// a pipe.
func leadsSomewhere(h windows.Handle) bool {
	if h == 0 || h == windows.InvalidHandle {
		return false
	}
	t, err := windows.GetFileType(h)
	return err == nil && t != windows.FILE_TYPE_UNKNOWN
}
