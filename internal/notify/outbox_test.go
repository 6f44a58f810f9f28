package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	clock := time.Date(2026, 11, 22, 16, 1, 2, 123456789, time.UTC)
	now := func() time.Time { return clock }
	var logs bytes.Buffer
	o, err := NewOutbox(dir, slog.New(slog.NewTextHandler(&logs, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := o.Last("ada@example.com"); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Last on an empty outbox = %v, want ErrNoMessage", err)
	}

	mail1 := Mail{To: "ada@example.com", Subject: "Reset your password", Text: "Open https://countersign.test/reset?t=one\n\nTo: not a header\n"}
	if err := o.SendMail(ctx, mail1); err != nil {
		t.Fatal(err)
	}
	if err := o.SendSMS(ctx, SMS{To: "+15555550100", Text: "Your code is 123456"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	if err := o.SendSMS(ctx, SMS{To: "+15555550100", Text: "Your code is 654321", Voice: true}); err != nil {
		t.Fatal(err)
	}
	if err := o.SendMail(ctx, Mail{To: "ada@example.com", Subject: "Reset your password", Text: "https://countersign.test/reset?t=two"}); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	wantNames := []string{
		"20261122T160102.123456789Z-mail.txt",
		"20261122T160102.123456790Z-sms.txt", // same instant: one nanosecond later
		"20261122T160103.123456789Z-sms.txt",
		"20261122T160103.123456790Z-mail.txt",
	}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Errorf("files %q, want %q", names, wantNames)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, wantNames[0]))
	if want := "To: ada@example.com\nSubject: Reset your password\nKind: mail\n\n" + mail1.Text; string(raw) != want {
		t.Errorf("file content %q, want %q", raw, want)
	}

	msgs, err := o.Messages()
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{Kind: KindMail, To: "ada@example.com", Subject: "Reset your password", Text: mail1.Text, At: time.Date(2026, 11, 22, 16, 1, 2, 123456789, time.UTC)},
		{Kind: KindSMS, To: "+15555550100", Text: "Your code is 123456", At: time.Date(2026, 11, 22, 16, 1, 2, 123456790, time.UTC)},
		{Kind: KindVoice, To: "+15555550100", Text: "Your code is 654321", At: time.Date(2026, 11, 22, 16, 1, 3, 123456789, time.UTC)},
		{Kind: KindMail, To: "ada@example.com", Subject: "Reset your password", Text: "https://countersign.test/reset?t=two", At: time.Date(2026, 11, 22, 16, 1, 3, 123456790, time.UTC)},
	}
	if len(msgs) != len(want) {
		t.Fatalf("Messages() returned %d, want %d", len(msgs), len(want))
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d\n got %+v\nwant %+v", i, msgs[i], want[i])
		}
	}

	last, err := o.Last("ADA@example.com")
	if err != nil || last != want[3] {
		t.Errorf("Last(ada) = %+v, %v; want %+v", last, err, want[3])
	}
	last, err = o.Last("+15555550100")
	if err != nil || last != want[2] {
		t.Errorf("Last(phone) = %+v, %v; want %+v", last, err, want[2])
	}
	if _, err := o.Last("eve@example.com"); !errors.Is(err, ErrNoMessage) {
		t.Errorf("Last(eve) = %v, want ErrNoMessage", err)
	}

	// The log says a message was queued and in which file, and nothing of
	// what it says or to whom: codes and links never reach a log.
	for _, name := range wantNames {
		if !strings.Contains(logs.String(), "outbox: message queued") || !strings.Contains(logs.String(), filepath.Join(dir, name)) {
			t.Errorf("log does not name %s:\n%s", name, logs.String())
		}
	}
	for _, secret := range []string{"ada@example.com", "+15555550100", "Reset your password", "t=one", "t=two", "Your code is", "654321", "not a header"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log mentions %q:\n%s", secret, logs.String())
		}
	}
}

func TestOutboxRefusesHeaderInjection(t *testing.T) {
	o, err := NewOutbox(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := o.SendMail(ctx, Mail{To: "ada@example.com\nSubject: forged", Subject: "x"}); !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("SendMail with a line break in To = %v, want ErrHeaderInjection", err)
	}
	if err := o.SendMail(ctx, Mail{To: "ada@example.com", Subject: "x\n\nforged"}); !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("SendMail with a line break in Subject = %v, want ErrHeaderInjection", err)
	}
	if err := o.SendSMS(ctx, SMS{To: "+1555\nKind: mail"}); !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("SendSMS with a line break in To = %v, want ErrHeaderInjection", err)
	}
	if msgs, _ := o.Messages(); len(msgs) != 0 {
		t.Errorf("outbox holds %d messages, want none", len(msgs))
	}
}

func TestOutboxIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"README", ".tmp-123", "notatime-mail.txt"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
	}
	o, err := NewOutbox(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SendSMS(context.Background(), SMS{To: "+15555550100", Text: "123456"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := o.Messages()
	if err != nil || len(msgs) != 1 || msgs[0].Text != "123456" {
		t.Errorf("Messages() = %+v, %v; want the one SMS", msgs, err)
	}
}

func TestOutboxCancelled(t *testing.T) {
	o, err := NewOutbox(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.SendMail(ctx, Mail{To: "ada@example.com"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SendMail with a cancelled context = %v, want context.Canceled", err)
	}
}

// The interfaces the server consumes.
var (
	_ Mailer    = (*Outbox)(nil)
	_ SMSSender = (*Outbox)(nil)
	_ Mailer    = (*SMTP)(nil)
)
