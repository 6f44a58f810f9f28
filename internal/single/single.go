// Package single keeps one window per user and data directory: the first
// start listens on a Unix socket in the user's runtime directory (on
// Windows, a named pipe only that user may open); a later start hands its
// request (which screen to show) to it and exits.
package single

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrRunning means another process holds the window: the request went to
// it.
var ErrRunning = errors.New("countersign is running already: its window was asked to show")

// Request is what a later start asks of the running window.
type Request struct {
	Show string `json:"show"` // the screen to show, "" for the window as it is
}

// Instance is the claim of the process that holds the window.
type Instance struct {
	ln       listener
	cleanup  func() // after the listener closed: the socket file removed
	requests chan Request
	done     chan struct{}
	once     sync.Once
}

// listener takes the connections of later starts: a Unix socket's, or a
// named pipe's on Windows.
type listener interface {
	Accept() (conn, error)
	Close() error
}

// conn is one later start's connection.
type conn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// Requests delivers what later starts ask.
func (in *Instance) Requests() <-chan Request { return in.requests }

// Close stops listening (and removes the socket).
func (in *Instance) Close() error {
	var err error
	in.once.Do(func() {
		close(in.done)
		err = in.ln.Close()
		in.cleanup()
	})
	return err
}

func (in *Instance) serve() {
	for {
		c, err := in.ln.Accept()
		if err != nil {
			select {
			case <-in.done:
				return
			default:
			}
			time.Sleep(100 * time.Millisecond) // e.g. too many open files: do not spin
			continue
		}
		go in.read(c)
	}
}

// read takes one request (a line of JSON, at most 1 KiB) and says "ok".
func (in *Instance) read(c conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(&limited{r: c, n: 1024}).ReadBytes('\n')
	var req Request
	if err != nil || json.Unmarshal(line, &req) != nil {
		return
	}
	select {
	case in.requests <- req:
	case <-in.done:
		return
	}
	if _, err := c.Write([]byte("ok\n")); err != nil {
		return
	}
	// The asker hangs up once it has read the "ok": closing first could
	// lose it on Windows, where closing a pipe drops what was not read.
	_, _ = c.Read(make([]byte, 1))
}

// send hands req to the process listening on path and waits for its "ok".
func send(path string, req Request) error {
	c, err := dial(path, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return err
	}
	ack, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || ack != "ok\n" {
		return fmt.Errorf("the running window did not answer: %v", err)
	}
	return nil
}

type limited struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request too long")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}
