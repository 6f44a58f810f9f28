package single

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The pipe is served with the Windows API directly. go-winio's listener was
// tried first: it makes its first pipe instance without read or write
// access, relying on NT leaving such an instance disconnected; Wine (where
// the tests run) connects the first client to it, and nobody reads it.
// Here every instance is a plain overlapped one that ConnectNamedPipe
// waits on; once a client is connected, the handle becomes an *os.File,
// which Go (≥ 1.25) serves from its I/O completion port with deadlines.

// pipeListener serves one named pipe: always one instance waiting for the
// next client.
type pipeListener struct {
	path    string
	sa      *windows.SecurityAttributes
	closing windows.Handle // an event, set by Close

	accepting sync.Mutex // held by Accept while it runs, and by Close
	mu        sync.Mutex
	closed    bool
	next      windows.Handle // the instance waiting for a client
}

// listenPipe makes the first instance of the pipe at path, admitting whom
// sddl says. It fails with ERROR_ACCESS_DENIED when the pipe exists.
func listenPipe(path, sddl string) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("the pipe's security descriptor: %w", err)
	}
	l := &pipeListener{path: path, sa: &windows.SecurityAttributes{SecurityDescriptor: sd}}
	l.sa.Length = uint32(unsafe.Sizeof(*l.sa))
	if l.next, err = l.instance(true); err != nil {
		return nil, &os.PathError{Op: "listen", Path: path, Err: err}
	}
	if l.closing, err = windows.CreateEvent(nil, 1, 0, nil); err != nil {
		windows.CloseHandle(l.next)
		return nil, err
	}
	return l, nil
}

func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.path)
	if err != nil {
		return 0, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	return windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, l.sa)
}

// Accept waits for a client on the waiting instance, puts a new instance
// in its place, and returns the connected one.
func (l *pipeListener) Accept() (conn, error) {
	l.accepting.Lock()
	defer l.accepting.Unlock()
	for {
		l.mu.Lock()
		closed, h := l.closed, l.next
		l.mu.Unlock()
		if closed {
			return nil, net.ErrClosed
		}
		connected, err := l.wait(h)
		if err != nil {
			return nil, err
		}
		if !connected { // the client left before it was seen: wait again
			_ = windows.DisconnectNamedPipe(h)
			continue
		}
		next, err := l.instance(false)
		if err != nil {
			return nil, fmt.Errorf("a new instance of %s: %w", l.path, err)
		}
		l.mu.Lock()
		l.next = next
		l.mu.Unlock()
		return os.NewFile(uintptr(h), l.path), nil
	}
}

// wait waits for a client to connect to h, or for Close.
func (l *pipeListener) wait(h windows.Handle) (connected bool, err error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return false, err
	}
	defer windows.CloseHandle(ev)
	ov := windows.Overlapped{HEvent: ev}
	switch err := windows.ConnectNamedPipe(h, &ov); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return true, nil
	case errors.Is(err, windows.ERROR_NO_DATA):
		return false, nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return false, fmt.Errorf("waiting on %s: %w", l.path, err)
	}
	which, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.closing}, false, windows.INFINITE)
	if err != nil {
		return false, err
	}
	var n uint32
	if which == windows.WAIT_OBJECT_0+1 {
		_ = windows.CancelIoEx(h, &ov)
		_ = windows.GetOverlappedResult(h, &ov, &n, true)
		return false, net.ErrClosed
	}
	switch err := windows.GetOverlappedResult(h, &ov, &n, false); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return true, nil
	case errors.Is(err, windows.ERROR_NO_DATA), errors.Is(err, windows.ERROR_BROKEN_PIPE):
		return false, nil
	default:
		return false, fmt.Errorf("waiting on %s: %w", l.path, err)
	}
}

// Close stops Accept and closes the waiting instance, so that the pipe is
// gone (with the connections already accepted) once Close returns.
func (l *pipeListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	_ = windows.SetEvent(l.closing)
	l.accepting.Lock() // an Accept under way sees the event and returns
	defer l.accepting.Unlock()
	windows.CloseHandle(l.closing)
	return windows.CloseHandle(l.next)
}

// dialPipe opens the pipe at path, waiting up to timeout while all its
// instances are busy. The server may identify the caller but not act as it
// (SECURITY_IDENTIFICATION).
func dialPipe(path string, timeout time.Duration) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OVERLAPPED|windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		if err == nil {
			return os.NewFile(uintptr(h), path), nil
		}
		if !errors.Is(err, windows.ERROR_PIPE_BUSY) || time.Now().After(deadline) {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		time.Sleep(10 * time.Millisecond)
	}
}
