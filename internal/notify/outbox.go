package notify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Message kinds in the outbox.
const (
	KindMail  = "mail"
	KindSMS   = "sms"
	KindVoice = "voice"
)

// Message is a message read back from an Outbox.
type Message struct {
	Kind        string // KindMail, KindSMS or KindVoice
	To, Subject string // Subject is empty for SMS and voice
	Text        string
	At          time.Time // when it was sent, from the file name
}

// ErrNoMessage is returned by Last when the outbox holds no message to the
// address.
var ErrNoMessage = errors.New("no message in the outbox")

// timeLayout names outbox files; it sorts in time order.
const timeLayout = "20060102T150405.000000000Z"

// Outbox is a Mailer and SMSSender for development and tests: it sends
// nothing, but writes every message as a file in a directory, readable by
// its owner only (0600 in a 0700 directory), where a developer reads the
// codes and reset links. Its log line says only that a message was queued
// and in which file: the text holds secrets and the recipient is personal,
// and logs travel further than the outbox (journald, log shippers).
//
// Files are named by the time of sending ("20261122T160102.123456789Z-mail.txt",
// "…-sms.txt" for SMS and voice) and hold To, Subject and Kind headers, an
// empty line, then the text.
type Outbox struct {
	dir  string
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex
	last time.Time // last file time used, so names never repeat
}

// NewOutbox creates dir (mode 0700) if needed and returns an Outbox writing
// there. log and now may be nil (nothing logged; time.Now).
func NewOutbox(dir string, log *slog.Logger, now func() time.Time) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("outbox directory is empty; give a path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restrict outbox: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{dir: dir, log: log, now: now}, nil
}

// Dir is the directory the outbox writes to.
func (o *Outbox) Dir() string { return o.dir }

// SendMail writes m to the outbox.
func (o *Outbox) SendMail(ctx context.Context, m Mail) error {
	if _, err := checkMail(m); err != nil {
		return err
	}
	return o.write(ctx, Message{Kind: KindMail, To: m.To, Subject: m.Subject, Text: m.Text})
}

// SendSMS writes m to the outbox.
func (o *Outbox) SendSMS(ctx context.Context, m SMS) error {
	if err := checkSMS(m); err != nil {
		return err
	}
	kind := KindSMS
	if m.Voice {
		kind = KindVoice
	}
	return o.write(ctx, Message{Kind: kind, To: m.To, Text: m.Text})
}

func (o *Outbox) write(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\nSubject: %s\nKind: %s\n\n%s", m.To, m.Subject, m.Kind, m.Text)

	tmp, err := os.CreateTemp(o.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}

	suffix := "-mail.txt"
	if m.Kind != KindMail {
		suffix = "-sms.txt"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	at := o.now().UTC()
	for {
		if !at.After(o.last) {
			at = o.last.Add(time.Nanosecond)
		}
		o.last = at
		name := at.Format(timeLayout) + suffix
		// A hard link publishes the complete file at once and fails, rather
		// than overwrites, when another process took the name.
		err := os.Link(tmp.Name(), filepath.Join(o.dir, name))
		if err == nil {
			o.log.Info("outbox: message queued", "kind", m.Kind, "file", filepath.Join(o.dir, name))
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("outbox: %w", err)
		}
	}
}

// Messages returns every message in the outbox, oldest first.
func (o *Outbox) Messages() ([]Message, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	var msgs []Message
	for _, e := range entries { // ReadDir sorts by name, which is by time
		name := e.Name()
		stamp, ok := strings.CutSuffix(name, "-mail.txt")
		if !ok {
			stamp, ok = strings.CutSuffix(name, "-sms.txt")
		}
		if !ok || !e.Type().IsRegular() {
			continue
		}
		at, err := time.Parse(timeLayout, stamp)
		if err != nil {
			continue // not ours
		}
		m, err := readMessage(filepath.Join(o.dir, name))
		if err != nil {
			return nil, err
		}
		m.At = at
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// Last returns the newest message to the address to (compared ignoring
// case), or an error wrapping ErrNoMessage.
func (o *Outbox) Last(to string) (Message, error) {
	msgs, err := o.Messages()
	if err != nil {
		return Message{}, err
	}
	for _, m := range slices.Backward(msgs) {
		if strings.EqualFold(m.To, to) {
			return m, nil
		}
	}
	return Message{}, fmt.Errorf("%w to %s (in %s)", ErrNoMessage, to, o.dir)
}

func readMessage(path string) (Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return Message{}, fmt.Errorf("read outbox: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var m Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return Message{}, fmt.Errorf("read outbox: %s: headers not ended by an empty line", path)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "To":
			m.To = v
		case "Subject":
			m.Subject = v
		case "Kind":
			m.Kind = v
		}
	}
	text, err := io.ReadAll(r)
	if err != nil {
		return Message{}, fmt.Errorf("read outbox: %w", err)
	}
	m.Text = string(text)
	return m, nil
}
