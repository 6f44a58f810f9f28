package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/loopback"
)

// TLS modes of SMTPConfig.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption; only for a relay on the loopback interface
)

// SMTPConfig says how to reach the mail relay.
type SMTPConfig struct {
	Addr     string // host:port
	Username string // empty for no authentication
	Password string
	From     string // "Countersign <no-reply@example.com>" or a bare address
	TLS      string // TLSStartTLS (default when empty), TLSImplicit or TLSNone

	// TLSConfig is optional: nil verifies the relay's certificate against
	// the system roots for the host of Addr.
	TLSConfig *tls.Config
}

// SMTP is a Mailer that hands mail to a relay over SMTP.
type SMTP struct {
	cfg  SMTPConfig
	host string
	from *mail.Address
	now  func() time.Time
}

// NewSMTP checks cfg and returns a Mailer using it. Authentication (PLAIN)
// needs TLS; TLSNone is accepted only for a loopback relay.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("smtp address %q: want host:port, e.g. smtp.example.com:587", cfg.Addr)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !loopback.Host(host) {
			return nil, fmt.Errorf("smtp tls %q is only allowed for a relay on the loopback interface, not %s; use %q or %q", TLSNone, host, TLSStartTLS, TLSImplicit)
		}
		if cfg.Username != "" {
			return nil, fmt.Errorf("smtp tls %q would send the password in clear; use %q or %q, or no username", TLSNone, TLSStartTLS, TLSImplicit)
		}
	default:
		return nil, fmt.Errorf("smtp tls %q: want %q, %q or %q", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if cfg.Username == "" && cfg.Password != "" {
		return nil, errors.New("smtp password given without a username; set both or neither")
	}
	if cfg.Username != "" && cfg.Password == "" {
		return nil, errors.New("smtp username given without a password; set both or neither")
	}
	if err := checkHeader("smtp sender", cfg.From); err != nil {
		return nil, err
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp sender %q is not an email address: %w", cfg.From, err)
	}
	return &SMTP{cfg: cfg, host: host, from: from, now: time.Now}, nil
}

// DefaultSMTPTimeout bounds SendMail when ctx has no deadline of its own.
const DefaultSMTPTimeout = time.Minute

// SendMail delivers m to the relay, giving up when ctx is done (or after
// DefaultSMTPTimeout when ctx has no deadline).
func (s *SMTP) SendMail(ctx context.Context, m Mail) error {
	to, err := checkMail(m)
	if err != nil {
		return err
	}
	msg, err := s.compose(to, m)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSMTPTimeout)
		defer cancel()
	}
	if err := s.send(ctx, to.Address, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("send mail via %s: %w", s.cfg.Addr, ctx.Err())
		}
		return fmt.Errorf("send mail via %s: %w", s.cfg.Addr, err)
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		c = s.cfg.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	return c
}

func (s *SMTP) send(ctx context.Context, to string, msg []byte) error {
	var conn net.Conn
	var err error
	if s.cfg.TLS == TLSImplicit {
		d := tls.Dialer{Config: s.tlsConfig()}
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	// Unblock any read or write once ctx is done; ctx.Err() is set by then,
	// so the caller reports the context's error rather than an I/O timeout.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("the relay does not offer STARTTLS; use tls %q if it expects TLS from the start", TLSImplicit)
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.host)); err != nil {
			return fmt.Errorf("authenticate as %s: %w", s.cfg.Username, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose builds the message: headers, then the text as quoted-printable
// UTF-8 with CRLF line endings.
func (s *SMTP) compose(to *mail.Address, m Mail) ([]byte, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("message id: %w", err)
	}
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("Date", s.now().Format(time.RFC1123Z))
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")

	qp := quotedprintable.NewWriter(&b)
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// encodeSubject encodes a non-ASCII subject as RFC 2047 encoded-words, each
// on its own folded line so no line grows past the limits of RFC 5322.
func encodeSubject(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
