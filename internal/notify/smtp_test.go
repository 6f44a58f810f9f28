package notify

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a minimal SMTP server for tests: EHLO, STARTTLS (when it has
// a certificate), AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT. It keeps
// what it receives.
type smtpServer struct {
	addr     string
	starttls *tls.Config // offer STARTTLS with this config; nil: don't

	mu    sync.Mutex
	got   []received
	auth  []string // decoded AUTH PLAIN responses
	tlsed []bool   // per message: was the session encrypted
}

type received struct {
	from string
	to   []string
	data string
}

// startSMTP serves on 127.0.0.1. implicit wraps every connection in TLS.
func startSMTP(t *testing.T, implicit, starttls *tls.Config) *smtpServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit != nil {
		l = tls.NewListener(l, implicit)
	}
	s := &smtpServer{addr: l.Addr().String(), starttls: starttls}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c, implicit != nil) })
		}
	})
	return s
}

func (s *smtpServer) serve(c net.Conn, encrypted bool) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	reply := func(lines ...string) {
		for _, l := range lines {
			io.WriteString(c, l+"\r\n")
		}
	}
	reply("220 test.example ESMTP")
	var cur received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			lines := []string{"250-test.example"}
			if s.starttls != nil && !encrypted {
				lines = append(lines, "250-STARTTLS")
			}
			reply(append(lines, "250-AUTH PLAIN", "250 8BITMIME")...)
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(c, s.starttls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, r, encrypted = tc, bufio.NewReader(tc), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			if mech != "PLAIN" || err != nil {
				reply("504 unsupported")
				continue
			}
			s.mu.Lock()
			s.auth = append(s.auth, string(b))
			s.mu.Unlock()
			reply("235 authenticated")
		case "MAIL":
			cur = received{from: arg}
			reply("250 ok")
		case "RCPT":
			cur.to = append(cur.to, arg)
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = data.String()
			s.mu.Lock()
			s.got = append(s.got, cur)
			s.tlsed = append(s.tlsed, encrypted)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func newSMTP(t *testing.T, cfg SMTPConfig) *SMTP {
	t.Helper()
	m, err := NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP(%+v): %v", cfg, err)
	}
	return m
}

func TestSMTPSend(t *testing.T) {
	srv := startSMTP(t, nil, nil)
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "Countersign <no-reply@countersign.test>", TLS: TLSNone})
	m.now = func() time.Time { return time.Date(2026, 11, 22, 16, 1, 2, 0, time.UTC) }

	text := "Hello Ada,\n\nreset your password here:\nhttps://countersign.test/reset?t=abc=def\n.\n.leading dot\nUnicode: Grüße ✓\n"
	err := m.SendMail(context.Background(), Mail{To: "Ada@Example.com", Subject: "Reset your password – Countersign", Text: text})
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if !strings.HasPrefix(got[0].from, "FROM:<no-reply@countersign.test>") {
		t.Errorf("MAIL %s, want FROM:<no-reply@countersign.test>", got[0].from)
	}
	if len(got[0].to) != 1 || got[0].to[0] != "TO:<Ada@Example.com>" {
		t.Errorf("RCPT %q, want [TO:<Ada@Example.com>]", got[0].to)
	}

	msg, err := mail.ReadMessage(strings.NewReader(got[0].data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, got[0].data)
	}
	for k, want := range map[string]string{
		"Date":                      "Sun, 22 Nov 2026 16:01:02 +0000",
		"From":                      `"Countersign" <no-reply@countersign.test>`,
		"To":                        "<Ada@Example.com>",
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if v := msg.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	rawSubject := msg.Header.Get("Subject")
	if !strings.HasPrefix(rawSubject, "=?utf-8?q?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", rawSubject)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
	if err != nil || subject != "Reset your password – Countersign" {
		t.Errorf("Subject decodes to %q, %v; want %q", subject, err, "Reset your password – Countersign")
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@countersign.test>") {
		t.Errorf("Message-ID = %q, want <…@countersign.test>", id)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	if want := strings.ReplaceAll(text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	for _, line := range strings.Split(got[0].data, "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
}

func TestSMTPLongSubjectFolded(t *testing.T) {
	srv := startSMTP(t, nil, nil)
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", TLS: TLSNone})
	subject := strings.Repeat("Grüße ", 100)
	if err := m.SendMail(context.Background(), Mail{To: "ada@example.com", Subject: subject, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	data := srv.messages()[0].data
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject decodes to %q, %v; want %q", got, err, subject)
	}
	for _, line := range strings.Split(data, "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d characters", len(line))
		}
	}
}

func TestSMTPHeaderInjection(t *testing.T) {
	srv := startSMTP(t, nil, nil)
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", TLS: TLSNone})
	for _, tt := range []Mail{
		{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "hi", Text: "x"},
		{To: "ada@example.com\nBcc: eve@example.com", Subject: "hi", Text: "x"},
		{To: "ada@example.com", Subject: "hi\r\nBcc: eve@example.com", Text: "x"},
		{To: "ada@example.com", Subject: "hi\rBcc: eve@example.com", Text: "x"},
		{To: "ada@example.com", Subject: "hi\n\nforged body", Text: "x"},
	} {
		err := m.SendMail(context.Background(), tt)
		if !errors.Is(err, ErrHeaderInjection) {
			t.Errorf("SendMail(%q, %q) = %v, want ErrHeaderInjection", tt.To, tt.Subject, err)
		}
		if err != nil && !strings.Contains(err.Error(), "line break") {
			t.Errorf("error %q does not say what is wrong", err)
		}
	}
	for _, tt := range []Mail{
		{To: "not an address", Subject: "hi"},
		{To: "ada@example.com, eve@example.com", Subject: "hi"},
		{To: "", Subject: "hi"},
		{To: "ada@example.com", Subject: strings.Repeat("x", 1000)},
	} {
		if err := m.SendMail(context.Background(), tt); err == nil {
			t.Errorf("SendMail(%q, %d-byte subject) succeeded, want an error", tt.To, len(tt.Subject))
		}
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server received %d messages, want none", n)
	}
}

func TestSMTPContextDeadline(t *testing.T) {
	// A relay that accepts the connection and then says nothing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m := newSMTP(t, SMTPConfig{Addr: l.Addr().String(), From: "no-reply@countersign.test", TLS: TLSNone})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.SendMail(ctx, Mail{To: "ada@example.com", Subject: "hi", Text: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("SendMail to a silent relay = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("SendMail took %v to give up, want about 200ms", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := m.SendMail(ctx, Mail{To: "ada@example.com", Subject: "hi", Text: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SendMail cancelled midway = %v, want context.Canceled", err)
	}
}

// testCert returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config trusting it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test relay"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestSMTPStartTLSAndAuth(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := startSMTP(t, nil, serverTLS)
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", Username: "relay-user", Password: "relay-pass", TLSConfig: clientTLS})
	if err := m.SendMail(context.Background(), Mail{To: "ada@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("SendMail over STARTTLS: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.got) != 1 || !srv.tlsed[0] {
		t.Fatalf("got %d messages (encrypted: %v), want 1 sent after STARTTLS", len(srv.got), srv.tlsed)
	}
	if len(srv.auth) != 1 || srv.auth[0] != "\x00relay-user\x00relay-pass" {
		t.Errorf("AUTH PLAIN responses %q, want one for relay-user", srv.auth)
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	_, clientTLS := testCert(t)
	srv := startSMTP(t, nil, nil) // offers no STARTTLS
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", TLSConfig: clientTLS})
	err := m.SendMail(context.Background(), Mail{To: "ada@example.com", Subject: "hi", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("SendMail to a relay without STARTTLS = %v, want an error naming STARTTLS", err)
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("relay received %d messages in clear, want none", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	srv := startSMTP(t, serverTLS, nil)
	m := newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", TLS: TLSImplicit, Username: "u", Password: "p", TLSConfig: clientTLS})
	if err := m.SendMail(context.Background(), Mail{To: "ada@example.com", Subject: "hi", Text: "x"}); err != nil {
		t.Fatalf("SendMail over implicit TLS: %v", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("relay received %d messages, want 1", n)
	}

	// An untrusted certificate is refused.
	m = newSMTP(t, SMTPConfig{Addr: srv.addr, From: "no-reply@countersign.test", TLS: TLSImplicit})
	if err := m.SendMail(context.Background(), Mail{To: "ada@example.com", Subject: "hi", Text: "x"}); err == nil {
		t.Error("SendMail to a relay with an untrusted certificate succeeded")
	}
}

func TestNewSMTPValidates(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  SMTPConfig
		ok   bool
	}{
		{"starttls default", SMTPConfig{Addr: "smtp.example.com:587", From: "a@example.com", Username: "u", Password: "p"}, true},
		{"implicit", SMTPConfig{Addr: "smtp.example.com:465", From: "Ada <a@example.com>", TLS: "tls"}, true},
		{"none on loopback", SMTPConfig{Addr: "127.0.0.1:25", From: "a@example.com", TLS: "none"}, true},
		{"none on localhost", SMTPConfig{Addr: "localhost:25", From: "a@example.com", TLS: "none"}, true},
		{"none on ::1", SMTPConfig{Addr: "[::1]:25", From: "a@example.com", TLS: "none"}, true},
		{"none remote", SMTPConfig{Addr: "smtp.example.com:25", From: "a@example.com", TLS: "none"}, false},
		{"none with password", SMTPConfig{Addr: "127.0.0.1:25", From: "a@example.com", TLS: "none", Username: "u", Password: "p"}, false},
		{"unknown tls", SMTPConfig{Addr: "smtp.example.com:587", From: "a@example.com", TLS: "ssl"}, false},
		{"no port", SMTPConfig{Addr: "smtp.example.com", From: "a@example.com"}, false},
		{"no addr", SMTPConfig{From: "a@example.com"}, false},
		{"no from", SMTPConfig{Addr: "smtp.example.com:587"}, false},
		{"bad from", SMTPConfig{Addr: "smtp.example.com:587", From: "countersign"}, false},
		{"from with line break", SMTPConfig{Addr: "smtp.example.com:587", From: "a@example.com\r\nBcc: e@example.com"}, false},
		{"username only", SMTPConfig{Addr: "smtp.example.com:587", From: "a@example.com", Username: "u"}, false},
		{"password only", SMTPConfig{Addr: "smtp.example.com:587", From: "a@example.com", Password: "p"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSMTP(tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("NewSMTP(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "relay-pass") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
