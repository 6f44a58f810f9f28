// Package notify sends the server's messages to people: mail (password
// resets, sign-in alerts) and SMS or voice calls (one-time codes).
//
// Mailer and SMSSender are what the server needs; SMTP delivers mail through
// a relay, and Outbox keeps every message as a file for development and
// tests. No SMS gateway is built in: production deployments that enable SMS
// codes plug in their own SMSSender.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Mail is a plain-text email to one person.
type Mail struct {
	To, Subject, Text string
}

// Mailer sends mail.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// SMS is a text message, or a voice call reading Text aloud when Voice is
// set, to a phone number (E.164).
type SMS struct {
	To, Text string
	Voice    bool
}

// SMSSender sends text messages and places voice calls.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// ErrHeaderInjection is wrapped by the errors for a recipient or subject that
// contains a line break, which would let it add headers of its own.
var ErrHeaderInjection = errors.New("line break in a header field")

// checkHeader refuses header values that could start a new header line.
func checkHeader(field, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("%s %.40q: %w; remove it", field, v, ErrHeaderInjection)
	}
	return nil
}

// parseRecipient checks a mail recipient: one bare address, no line breaks.
func parseRecipient(to string) (*mail.Address, error) {
	if err := checkHeader("mail recipient", to); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("mail recipient %.80q is not an email address: %w", to, err)
	}
	return a, nil
}

// maxSubject keeps the Subject header line within RFC 5322's 998 characters.
const maxSubject = 900

func checkMail(m Mail) (*mail.Address, error) {
	a, err := parseRecipient(m.To)
	if err != nil {
		return nil, err
	}
	if err := checkHeader("mail subject", m.Subject); err != nil {
		return nil, err
	}
	if len(m.Subject) > maxSubject {
		return nil, fmt.Errorf("mail subject is %d bytes long; keep it under %d", len(m.Subject), maxSubject)
	}
	return a, nil
}

func checkSMS(m SMS) error {
	if m.To == "" {
		return errors.New("sms recipient is empty; give a phone number")
	}
	return checkHeader("sms recipient", m.To)
}
