//go:build linux

package softkey

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyDevice is the host side of a pseudo-terminal whose slave libfido2
// opens as if it were a hidraw node.
type ptyDevice struct {
	master, slave *os.File
	cancel        context.CancelFunc
	done          chan struct{}
}

// Start opens a fresh pseudo-terminal and serves CTAPHID on it in the
// background until Close. Path then names the device to give libfido2.
func (k *Key) Start() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dev != nil {
		return errors.New("softkey: already started")
	}
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("softkey: open pty: %w", err)
	}
	if err := rawReports(slave); err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("softkey: raw mode on %s: %w", slave.Name(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &ptyDevice{master: master, slave: slave, cancel: cancel, done: make(chan struct{})}
	reports := make(chan []byte, 32)
	srv := newHIDServer(k, d.writeReport, d.flushInput)
	go d.readReports(ctx, reports)
	go func() {
		defer close(d.done)
		srv.run(ctx, reports)
	}()
	if k.opts.Link != "" {
		if err := relink(slave.Name(), k.opts.Link); err != nil {
			cancel()
			master.Close()
			<-d.done
			slave.Close()
			return err
		}
	}
	k.dev = d
	return nil
}

// relink points link at target, replacing what was there.
func relink(target, link string) error {
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("softkey: replace link: %w", err)
	}
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("softkey: link the pty: %w", err)
	}
	return nil
}

// Unplug simulates pulling the key out: its pty (and Options.Link) goes
// away, so libfido2 can no longer open it. What the key holds stays.
// Unlike a real key's, a request the host is in the middle of may be left
// waiting: unplug between requests.
func (k *Key) Unplug() error { return k.Close() }

// Plug simulates plugging the key back in after Unplug: a fresh pty (Path
// may differ, as a real key's device node may; Options.Link follows it)
// and a power cycle, as Replug, which opens the reset window again.
func (k *Key) Plug() error {
	if err := k.Replug(); err != nil {
		return err
	}
	return k.Start()
}

// Path is the pty slave to open with libfido2, "" before Start.
func (k *Key) Path() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dev == nil {
		return ""
	}
	return k.dev.slave.Name()
}

// Close stops serving and closes the pseudo-terminal. The key's state stays
// usable in memory; Start opens a new pty.
func (k *Key) Close() error {
	k.mu.Lock()
	d := k.dev
	k.dev = nil
	k.mu.Unlock()
	if d == nil {
		return nil
	}
	var lerr error
	if k.opts.Link != "" {
		if err := os.Remove(k.opts.Link); err != nil && !errors.Is(err, os.ErrNotExist) {
			lerr = fmt.Errorf("softkey: remove link: %w", err)
		}
	}
	d.cancel()
	err := d.master.Close() // ends readReports
	<-d.done
	return errors.Join(lerr, err, d.slave.Close())
}

// rawReports puts the slave in raw mode with VMIN=64: no echo, no line
// editing or CR/LF translation, and a read returns one whole 64-byte report.
func rawReports(slave *os.File) error {
	return control(slave, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = reportSize
		t.Cc[unix.VTIME] = 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, t)
	})
}

// control runs f on the file's descriptor without switching it to blocking
// mode (as Fd would).
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// readReports cuts the host's writes (report id 0 and 64 bytes each) into
// reports until the master is closed.
func (d *ptyDevice) readReports(ctx context.Context, out chan<- []byte) {
	defer close(out)
	const record = 1 + reportSize
	var pending []byte
	buf := make([]byte, 4096)
	for {
		n, err := d.master.Read(buf)
		pending = append(pending, buf[:n]...)
		for len(pending) >= record {
			select {
			case out <- append([]byte(nil), pending[1:record]...):
			case <-ctx.Done():
				return
			}
			pending = pending[record:]
		}
		if err != nil {
			return
		}
	}
}

func (d *ptyDevice) writeReport(r []byte) error {
	// A host that went away stops reading; never let that wedge the server.
	if err := d.master.SetWriteDeadline(time.Now().Add(time.Second)); err != nil && !errors.Is(err, os.ErrNoDeadline) {
		return err
	}
	_, err := d.master.Write(r)
	return err
}

// flushInput drops reports written to the host but not read by it.
func (d *ptyDevice) flushInput() {
	_ = control(d.slave, func(fd int) error { return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH) })
}
